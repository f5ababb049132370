"""``TemporalConv``: the temporal convolution of one neuron layer (Eq. 17/22) as an ``nn.Module`` whose
layout and method can be switched, the unit that ``shiftpsn autoselect`` times.

Selectable-layer protocol (what :mod:`shiftpsn.golden.accel.autoselect` looks for in a model): a module with
attributes ``layout`` and ``method`` (strings it reads at every forward), and optionally
``candidate_methods(layout, device) -> list[str]``; without it the candidates are
:func:`shiftpsn.golden.accel.available_methods`. Neuron modules that call :func:`shiftpsn.golden.accel.temporal_conv`
follow it by exposing the two attributes.
"""

from __future__ import annotations

import torch
from torch import nn

from . import available_methods, temporal_conv


class TemporalConv(nn.Module):
    """H = b + W * X along time, channel-wise, dilated, causal (Eq. 17/22), by a selectable method.

    Parameters
    ----------
    channels, order, dilation : int
        C, k and d.
    layout : {"time-first", "time-last"}
    method : str
        A key of :data:`shiftpsn.golden.accel.METHODS`.
    bias : bool
        Learn a per-channel bias (Eq. 22's b).
    """

    def __init__(self, channels: int, order: int, dilation: int = 1, layout: str = "time-first",
                 method: str = "vanilla", bias: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(channels, order) / order)
        self.bias = nn.Parameter(torch.zeros(channels)) if bias else None
        self.dilation = dilation
        self.layout = layout
        self.method = method

    def candidate_methods(self, layout: str, device) -> list[str]:
        return available_methods(layout, device, interpreted=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return temporal_conv(x, self.weight, self.dilation, self.layout, self.method, self.bias)

    def extra_repr(self) -> str:
        C, k = self.weight.shape
        return f"channels={C}, order={k}, dilation={self.dilation}, layout={self.layout}, method={self.method}"
