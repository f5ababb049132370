"""Spiking neurons the mul-free channel-wise PSN is compared against, and a registry of every neuron
the training code can build, by name.

Every neuron is an ``nn.Module`` that takes time-first float currents (T, N, C, ...) and returns spikes
of the same shape, with a surrogate gradient for the Heaviside step (:mod:`golden.surrogate`).

========================  ==================================================================
name                      neuron
========================  ==================================================================
``mulfree``               mul-free channel-wise PSN, power-of-two weights (papers/000 Eq. 10, 13-18)
``cwpsn``                 the same channel-wise dilated PSN without quantization (Eq. 10)
``psn``                   PSN (papers/002 Eq. 9-10)
``masked-psn``            k-order masked PSN, progressive masking (papers/002 Eq. 11-13)
``sliding-psn``           k-order sliding PSN, exponential init (papers/002 Eq. 14-16)
``lif-soft``, ``lif-hard``  serial LIF with soft / hard reset (papers/004 Eq. 1-3)
``psu``, ``ipsu``, ``rpsu``  parallel spiking units (papers/004 Eq. 4-12)
========================  ==================================================================

The first two come from :mod:`golden.neuron`; the others live in this package.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import nn

from shiftpsn.errors import UsageError

from ._common import default_surrogate
from .lif import LIF
from .psn import PSN, MaskedPSN, SlidingPSN, band_mask, masking_progress, sliding_matrix
from .psu import PSU, leak_matrix, reset_matrix

__all__ = ["PSN", "MaskedPSN", "SlidingPSN", "LIF", "PSU", "NEURONS", "NeuronArgs", "NeuronKind",
           "build_neuron", "check_neuron", "default_surrogate", "band_mask", "masking_progress",
           "sliding_matrix", "leak_matrix", "reset_matrix"]


@dataclass(frozen=True)
class NeuronArgs:
    """What a constructor may need to build one neuron layer.

    Attributes
    ----------
    channels : int
        C, the layer width.
    steps : int
        T, the sequence length (PSN, masked PSN and PSU weights are T x T).
    order : int
        k (channel-wise, masked and sliding PSN).
    dilation : int
        d of this layer (channel-wise PSN only; the network picks it, fixed or sawtooth).
    quantize : bool
        Power-of-two weights (channel-wise PSN only).
    surrogate : nn.Module or None
        Heaviside with surrogate gradient; None = :func:`default_surrogate`.
    method : str
        ``golden.accel.temporal_conv`` method of the channel-wise PSN (the same H whatever the method).
    """

    channels: int
    steps: int
    order: int = 4
    dilation: int = 1
    quantize: bool = True
    surrogate: nn.Module | None = None
    method: str = "shift_add"


@dataclass(frozen=True)
class NeuronKind:
    """A registry entry: how to build the neuron and which knobs it reads."""

    build: Callable[[NeuronArgs], nn.Module]
    description: str
    uses_order: bool = False
    uses_dilation: bool = False
    quantized: bool | None = None  # None: quantization does not apply


def _channel_wise(quantize: bool) -> Callable[[NeuronArgs], nn.Module]:
    def build(a: NeuronArgs) -> nn.Module:
        from golden.neuron import MulFreePSN

        return MulFreePSN(a.channels, a.order, dilation=a.dilation, quantize=quantize,
                          surrogate=a.surrogate or default_surrogate(), method=a.method)
    return build


NEURONS: dict[str, NeuronKind] = {
    "mulfree": NeuronKind(_channel_wise(True), "mul-free channel-wise PSN (papers/000 Eq. 10-18)",
                          uses_order=True, uses_dilation=True, quantized=True),
    "cwpsn": NeuronKind(_channel_wise(False), "channel-wise PSN, float weights (papers/000 Eq. 10)",
                        uses_order=True, uses_dilation=True, quantized=False),
    "psn": NeuronKind(lambda a: PSN(a.steps, a.surrogate), "PSN (papers/002 Eq. 9-10)"),
    "masked-psn": NeuronKind(lambda a: MaskedPSN(a.steps, min(a.order, a.steps), a.surrogate),
                             "masked PSN (papers/002 Eq. 11-13)", uses_order=True),
    "sliding-psn": NeuronKind(lambda a: SlidingPSN(a.order, a.surrogate),
                              "sliding PSN (papers/002 Eq. 14-16)", uses_order=True),
    "lif-soft": NeuronKind(lambda a: LIF("soft", surrogate=a.surrogate), "LIF, soft reset (serial)"),
    "lif-hard": NeuronKind(lambda a: LIF("hard", surrogate=a.surrogate), "LIF, hard reset (serial)"),
    "psu": NeuronKind(lambda a: PSU(a.steps, "psu", surrogate=a.surrogate), "PSU (papers/004 Eq. 10)"),
    "ipsu": NeuronKind(lambda a: PSU(a.steps, "ipsu", surrogate=a.surrogate), "IPSU (papers/004 Eq. 11)"),
    "rpsu": NeuronKind(lambda a: PSU(a.steps, "rpsu", surrogate=a.surrogate), "RPSU (papers/004 Eq. 11)"),
}


def check_neuron(name: str) -> NeuronKind:
    """The registry entry of ``name``; UsageError (one line) for an unknown neuron."""
    try:
        return NEURONS[name]
    except KeyError:
        raise UsageError(f"unknown neuron {name!r}; choose one of: {', '.join(NEURONS)}") from None


def build_neuron(name: str, args: NeuronArgs) -> nn.Module:
    """Build neuron ``name`` (see :data:`NEURONS`) for one layer."""
    return check_neuron(name).build(args)
