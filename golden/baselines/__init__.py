"""Spiking neurons the mul-free channel-wise PSN is compared against, and a registry of every neuron
the training code can build, by name.

Every neuron is an ``nn.Module`` that takes time-first float currents (T, N, C, ...) and returns spikes
of the same shape, with a surrogate gradient for the Heaviside step (:mod:`shiftpsn.golden.model.surrogate`).

========================  ==================================================================
name                      neuron
========================  ==================================================================
``mulfree``               mul-free channel-wise PSN, power-of-two weights (MF-PSN Eq. 10, 13-18)
``cwpsn``                 the same channel-wise dilated PSN without quantization (Eq. 10)
``psn``                   PSN (PSN Eq. 9-10)
``masked-psn``            k-order masked PSN, progressive masking (PSN Eq. 11-13)
``sliding-psn``           k-order sliding PSN, exponential init (PSN Eq. 14-16)
``lif-soft``, ``lif-hard``  serial LIF with soft / hard reset (PSU Eq. 1-3)
``psu``, ``ipsu``, ``rpsu``  parallel spiking units (PSU Eq. 4-12)
``window-lif``            LIF over normal / dilated windows with multi-direction potential fusion
                          (Window-LIF: Yao et al., Eq. 4-6, 9 and the appendix
                          algorithm); ``window-lif-normal`` (normal windows only),
                          ``window-lif-sum`` (linear fusion instead of Eq. 5) and
                          ``window-lif-g1`` (one window: no partition) are its ablations
========================  ==================================================================

The first two come from :mod:`shiftpsn.golden.model.neuron`; the others live in this package.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import nn

from shiftpsn.base.errors import UsageError

from ..neuron_names import NEURON_NAMES

from ._common import default_surrogate
from .lif import LIF
from .psn import PSN, MaskedPSN, SlidingPSN, band_mask, masking_progress, sliding_matrix
from .psu import PSU, leak_matrix, reset_matrix
from .window_lif import WindowLIF, is_dilated_layer

__all__ = ["PSN", "MaskedPSN", "SlidingPSN", "LIF", "PSU", "NEURONS", "NeuronArgs", "NeuronKind",
           "build_neuron", "check_neuron", "default_surrogate", "band_mask", "masking_progress",
           "sliding_matrix", "leak_matrix", "reset_matrix", "WindowLIF"]


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
        ``shiftpsn.golden.accel.temporal_conv`` method of the channel-wise PSN (the same H whatever the method).
    layer, layers : int
        This layer's index (0-based) and the number of neuron layers (Window-LIF alternates normal
        and dilated windows by layer).
    """

    channels: int
    steps: int
    order: int = 4
    dilation: int = 1
    quantize: bool = True
    surrogate: nn.Module | None = None
    method: str = "shift_add"
    layer: int = 0
    layers: int = 1


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
        from shiftpsn.golden.model.neuron import MulFreePSN

        return MulFreePSN(a.channels, a.order, dilation=a.dilation, quantize=quantize,
                          surrogate=a.surrogate or default_surrogate(), method=a.method)
    return build


def _window_lif(dilate: bool = True, fusion: str = "sin", windows: int = 2
                ) -> Callable[[NeuronArgs], nn.Module]:
    def build(a: NeuronArgs) -> nn.Module:
        return WindowLIF(a.channels, dilated=dilate and is_dilated_layer(a.layer, a.layers), fusion=fusion,
                         windows=windows, surrogate=a.surrogate)
    return build


NEURONS: dict[str, NeuronKind] = {
    "mulfree": NeuronKind(_channel_wise(True), "mul-free channel-wise PSN (MF-PSN Eq. 10-18)",
                          uses_order=True, uses_dilation=True, quantized=True),
    "cwpsn": NeuronKind(_channel_wise(False), "channel-wise PSN, float weights (MF-PSN Eq. 10)",
                        uses_order=True, uses_dilation=True, quantized=False),
    "psn": NeuronKind(lambda a: PSN(a.steps, a.surrogate), "PSN (PSN Eq. 9-10)"),
    "masked-psn": NeuronKind(lambda a: MaskedPSN(a.steps, min(a.order, a.steps), a.surrogate),
                             "masked PSN (PSN Eq. 11-13)", uses_order=True),
    "sliding-psn": NeuronKind(lambda a: SlidingPSN(a.order, a.surrogate),
                              "sliding PSN (PSN Eq. 14-16)", uses_order=True),
    "lif-soft": NeuronKind(lambda a: LIF("soft", surrogate=a.surrogate), "LIF, soft reset (serial)"),
    "lif-hard": NeuronKind(lambda a: LIF("hard", surrogate=a.surrogate), "LIF, hard reset (serial)"),
    "psu": NeuronKind(lambda a: PSU(a.steps, "psu", surrogate=a.surrogate), "PSU (PSU Eq. 10)"),
    "ipsu": NeuronKind(lambda a: PSU(a.steps, "ipsu", surrogate=a.surrogate), "IPSU (PSU Eq. 11)"),
    "rpsu": NeuronKind(lambda a: PSU(a.steps, "rpsu", surrogate=a.surrogate), "RPSU (PSU Eq. 11)"),
    "window-lif": NeuronKind(_window_lif(), "Window-LIF, normal/dilated windows, Eq. 5 fusion "
                             "(Yao et al.)"),
    "window-lif-normal": NeuronKind(_window_lif(dilate=False), "Window-LIF ablation: normal windows only"),
    "window-lif-sum": NeuronKind(_window_lif(fusion="sum"), "Window-LIF ablation: linear fusion G_m + G_m'"),
    "window-lif-g1": NeuronKind(_window_lif(dilate=False, windows=1),
                                "Window-LIF ablation: one window per layer (g = 1, no partition)"),
}


if tuple(NEURONS) != NEURON_NAMES:  # the light list the command line's help shows must match
    raise ImportError(f"shiftpsn.golden.neuron_names lists {NEURON_NAMES}, NEURONS has {tuple(NEURONS)}")


def check_neuron(name: str) -> NeuronKind:
    """The registry entry of ``name``; UsageError (one line) for an unknown neuron."""
    try:
        return NEURONS[name]
    except KeyError:
        raise UsageError(f"unknown neuron {name!r}; choose one of: {', '.join(NEURONS)}") from None


def build_neuron(name: str, args: NeuronArgs) -> nn.Module:
    """Build neuron ``name`` (see :data:`NEURONS`) for one layer."""
    return check_neuron(name).build(args)
