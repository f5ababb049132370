"""Stateless layers for either SNN data layout (MF-PSN Appendix B).

:class:`SeqLayer` wraps an ordinary per-time-step module (conv, pooling, linear, batch norm, flatten,
elementwise) and applies it to a whole sequence:

* time-first ``(T, N, ...)``: ``fuse``, SpikingJelly's time-batch fusion ``(T, N, ...) -> (TN, ...)``,
  a free view;
* time-last ``(N, C, ..., T)``, one of

  - ``reshape``: batch norm (statistics over everything but C, so T can be merged into the last spatial
    dimension, a free view) and flatten (``(N, C, H, W, T) -> (N, CHW, T)``);
  - ``highdim``: the (n+1)-D convolution / pooling with kernel 1, stride 1, padding 0 in the extra T
    dimension (as in Lava), and for linear layers a batched matmul over the feature dimension;
  - ``vmap``: ``torch.vmap`` of the module over the last (T) dimension (implies a copy per call);
  - ``elementwise``: the module does not care about the layout (activations, identity).

``layout`` and ``method`` are plain attributes, so :func:`shiftpsn.golden.accel.autoselect.autoselect` can switch
them (the selectable-layer protocol of :mod:`shiftpsn.golden.accel.module`); ``candidate_methods`` lists what
fits the wrapped module. Parameters and buffers stay those of the wrapped module.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.utils import _pair, _single

from shiftpsn.golden.accel.layout import check_layout

_BN = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
_CONV = (nn.Conv1d, nn.Conv2d)
_POOL = (nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d)
_ELEMENTWISE = (nn.Identity, nn.ReLU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.GELU)


def time_last_methods(module: nn.Module) -> list[str]:
    """Methods that can apply ``module`` to a time-last sequence, the default first."""
    if isinstance(module, _BN):
        return ["reshape"]  # vmap cannot update running statistics in place
    if isinstance(module, nn.Flatten):
        return ["reshape"] if module.start_dim == 1 and module.end_dim == -1 else ["vmap"]
    if isinstance(module, _ELEMENTWISE):
        return ["elementwise"]
    if isinstance(module, _CONV) and module.padding_mode == "zeros":
        return ["highdim", "vmap"]
    if isinstance(module, (_POOL, nn.Linear)):
        return ["highdim", "vmap"]
    return ["vmap"]


class SeqLayer(nn.Module):
    """Apply a stateless per-step ``module`` to a sequence in ``layout`` by ``method`` (Appendix B).

    Parameters
    ----------
    module : nn.Module
        Works on one time step, ``(N, C, ...)`` (or ``(N, F)`` for linear layers).
    layout : {"time-first", "time-last"}
    method : str or None
        None: the default for the layout (``fuse``; for time-last see :func:`time_last_methods`).
    """

    def __init__(self, module: nn.Module, layout: str = "time-first", method: str | None = None):
        super().__init__()
        check_layout(layout)
        self.module = module
        self.layout = layout
        self.method = method or self.candidate_methods(layout)[0]

    def candidate_methods(self, layout: str, device=None) -> list[str]:
        return ["fuse"] if layout == "time-first" else time_last_methods(self.module)

    def extra_repr(self) -> str:
        return f"layout={self.layout}, method={self.method}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_layout(self.layout)
        if self.method not in self.candidate_methods(self.layout):
            raise ValueError(f"method {self.method!r} does not apply {type(self.module).__name__} in the "
                             f"{self.layout} layout; candidates: {self.candidate_methods(self.layout)}")
        if self.layout == "time-first":
            T, N = x.shape[:2]
            y = self.module(x.flatten(0, 1))
            return y.reshape(T, N, *y.shape[1:])
        return getattr(self, f"_{self.method}")(x)

    # ---- time-last implementations -------------------------------------------------------------
    def _elementwise(self, x):
        return self.module(x)

    def _vmap(self, x):
        return torch.vmap(self.module, in_dims=-1, out_dims=-1)(x)

    def _reshape(self, x):
        m = self.module
        if isinstance(m, nn.Flatten):
            return x.flatten(1, -2)
        # BatchNorm{1,2,3}d want 3, 4, 5 dims; merging T into the last dimension keeps the statistics
        want = {nn.BatchNorm1d: 3, nn.BatchNorm2d: 4, nn.BatchNorm3d: 5}[type(m)]
        if x.dim() < want:
            raise ValueError(f"{type(m).__name__} needs at least {want} dims in time-last, got {tuple(x.shape)}")
        return m(x.reshape(*x.shape[:want - 1], -1)).reshape(x.shape)

    def _highdim(self, x):
        m = self.module
        if isinstance(m, nn.Linear):
            if x.dim() != 3:
                raise ValueError(f"a time-last linear layer takes (N, F, T), got {tuple(x.shape)}")
            y = torch.matmul(m.weight, x)  # (O, F) @ (N, F, T) -> (N, O, T)
            return y if m.bias is None else y + m.bias[:, None]
        if isinstance(m, _CONV):
            one = isinstance(m, nn.Conv1d)
            tup = _single if one else _pair
            pad = m.padding if isinstance(m.padding, str) else tuple(tup(m.padding)) + (0,)
            conv = F.conv2d if one else F.conv3d
            return conv(x, m.weight.unsqueeze(-1), m.bias, tuple(tup(m.stride)) + (1,), pad,
                        tuple(tup(m.dilation)) + (1,), m.groups)
        one = isinstance(m, (nn.MaxPool1d, nn.AvgPool1d, nn.AdaptiveAvgPool1d))
        tup = _single if one else _pair
        if isinstance(m, (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d)):
            size = tuple(s if s is not None else x.shape[2 + j] for j, s in enumerate(tup(m.output_size)))
            pool = F.adaptive_avg_pool2d if one else F.adaptive_avg_pool3d
            return pool(x, size + (x.shape[-1],))
        k = tuple(tup(m.kernel_size)) + (1,)
        s = tuple(tup(m.stride if m.stride is not None else m.kernel_size)) + (1,)
        p = tuple(tup(m.padding)) + (0,)
        if isinstance(m, (nn.MaxPool1d, nn.MaxPool2d)):
            if m.return_indices:
                raise ValueError("time-last max pooling with return_indices is not supported")
            pool = F.max_pool2d if one else F.max_pool3d
            return pool(x, k, s, p, tuple(tup(m.dilation)) + (1,), m.ceil_mode)
        if one:
            return F.avg_pool2d(x, k, s, p, m.ceil_mode, m.count_include_pad)
        return F.avg_pool3d(x, k, s, p, m.ceil_mode, m.count_include_pad, m.divisor_override)
