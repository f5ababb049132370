"""A trainable LIF neuron whose leak is a power of two (beta = 1 - 2^-s): the torch form of the ``lif``
layer (docs/CONTRACT.md section 5.1).

The leak shift s is a parameter trained through a straight-through rounding (forward round(s) clamped
to [1, 32], backward the identity), so the model always runs with the leak the hardware has. The
membrane lives on a grid of unit ``grid`` = 2^input_exp (the scale of the integer inputs the layer will
get); the leak term is floor(v 2^-s / grid) * grid (backward: the gradient of v 2^-s) and the threshold
is ceil(threshold / grid) * grid, so on inputs on that grid the forward pass is exactly the integer model
of :class:`shiftpsn.base.layers.LifLayer` (:meth:`ShiftLIF.to_layer`): u = v - leak + x,
spike = u >= threshold, v = u - threshold * spike ("subtract") or u * (1 - spike) ("zero"). Spikes use
the surrogate gradient of :mod:`.surrogate` (ATan by default).

To an integer network: :meth:`ShiftLIF.nir_node` gives the NIR ``LIF`` node (tau = r = 2^s, dt = 1),
so a trained ``Linear -> ShiftLIF -> Linear`` model becomes a NIR graph that ``shiftpsn nir import``
turns into a network file (``shiftpsn export --network`` handles the mul-free PSN networks only).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .surrogate import ATan, Surrogate

__all__ = ["ShiftLIF"]


def _straight_through(value: torch.Tensor, rounded: torch.Tensor) -> torch.Tensor:
    """``rounded`` forward, the gradient of ``value`` backward."""
    return value + (rounded - value).detach()


class ShiftLIF(nn.Module):
    """LIF layer of ``channels`` neurons on (B, T, C) input currents (module docstring).

    Parameters: ``leak_shift`` (initial s, float; None: IF, no leak), ``threshold`` (> 0, one for the
    layer), ``reset`` ("subtract" or "zero"), ``grid`` (a power of two: the unit of the integer inputs),
    ``surrogate`` (default ATan(2)), ``train_leak`` (whether s is trained).
    """

    def __init__(self, channels: int, *, leak_shift: float | None = 2.0, threshold: float = 1.0,
                 reset: str = "subtract", grid: float = 1.0, surrogate: Surrogate | None = None,
                 train_leak: bool = True):
        super().__init__()
        if reset not in ("subtract", "zero"):
            raise ValueError(f"reset must be 'subtract' or 'zero', got {reset!r}")
        if not (threshold > 0 and math.isfinite(threshold)):
            raise ValueError(f"threshold must be positive and finite, got {threshold!r}")
        if not (grid > 0 and math.log2(grid) == round(math.log2(grid))):
            raise ValueError(f"grid must be a power of two, got {grid!r}")
        self.channels, self.reset, self.threshold, self.grid = channels, reset, float(threshold), float(grid)
        self.leak = None if leak_shift is None else nn.Parameter(torch.tensor(float(leak_shift)),
                                                                requires_grad=train_leak)
        self.surrogate = surrogate or ATan()

    @property
    def leak_shift(self) -> int | None:
        """The integer leak shift the forward pass uses (None: IF)."""
        return None if self.leak is None else int(torch.round(self.leak.detach().clamp(1, 32)).item())

    @property
    def threshold_on_grid(self) -> float:
        return math.ceil(self.threshold / self.grid) * self.grid

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Spikes (B, T, C) of input currents x (B, T, C), every sequence from v = 0."""
        B, T, C = x.shape
        th = self.threshold_on_grid
        decay = None
        if self.leak is not None:
            s = self.leak.clamp(1, 32)
            decay = torch.exp2(-_straight_through(s, torch.round(s)))
        v = x.new_zeros(B, C)
        spikes = []
        for t in range(T):
            if decay is not None:
                z = v * decay / self.grid
                v = v - _straight_through(z, torch.floor(z)) * self.grid
            u = v + x[:, t]
            spike = self.surrogate(u - th)
            v = u - th * spike if self.reset == "subtract" else u * (1 - spike)
            spikes.append(spike)
        return torch.stack(spikes, dim=1)

    def to_layer(self, *, input_width: int, name: str | None = None, lanes: int | None = None):
        """The lif layer that computes this layer's spikes from the integer inputs x / grid."""
        from shiftpsn.base.layers import LifLayer

        T = max(1, math.ceil(self.threshold / self.grid))
        return LifLayer(channels=self.channels, input_width=input_width, leak_shift=self.leak_shift,
                        threshold=[T] * self.channels, reset=self.reset, name=name, lanes=lanes)

    def nir_node(self):
        """The NIR node (dt = 1): LIF(tau = r = 2^s, v_leak = 0, v_threshold, v_reset = 0), or IF(r = 1)."""
        import nir
        import numpy as np

        C, th = self.channels, np.full(self.channels, self.threshold)
        if self.leak is None:
            return nir.IF(r=np.ones(C), v_threshold=th, v_reset=np.zeros(C))
        tau = np.full(C, float(2 ** self.leak_shift))
        return nir.LIF(tau=tau, r=tau.copy(), v_leak=np.zeros(C), v_threshold=th, v_reset=np.zeros(C))

    def extra_repr(self) -> str:
        return (f"channels={self.channels}, leak_shift={self.leak_shift}, threshold={self.threshold}, "
                f"reset={self.reset}, grid={self.grid}")
