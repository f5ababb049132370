"""Shapes of the two SNN data layouts (MF-PSN section 4.3).

* time-first: ``(T, N, C, ...)``, SpikingJelly's layout; stateless layers fuse T and N for free;
* time-last: ``(N, C, ..., T)``; every time series of one (n, c, ...) is contiguous in memory.

"..." is any number of extra dimensions (H, W, ...); ``R`` below is their product.
"""

from __future__ import annotations

import math

import torch

LAYOUTS = ("time-first", "time-last")


def check_layout(layout: str) -> None:
    """Raise ValueError unless ``layout`` is one of :data:`LAYOUTS`."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")


def geometry(shape, layout: str) -> tuple[int, int, int, tuple]:
    """``(T, N, C, rest)`` of a tensor shape in ``layout``; ``rest`` is the "..." shape."""
    check_layout(layout)
    if len(shape) < 3:
        raise ValueError(f"a {layout} sequence needs at least 3 dimensions, got shape {tuple(shape)}")
    if layout == "time-first":
        return shape[0], shape[1], shape[2], tuple(shape[3:])
    return shape[-1], shape[0], shape[1], tuple(shape[2:-1])


def rest_size(rest: tuple) -> int:
    """R, the number of positions in the "..." dimensions (1 when there are none)."""
    return math.prod(rest)


def channel_view(v: torch.Tensor, ndim: int, layout: str) -> torch.Tensor:
    """View a per-channel vector ``(C,)`` so that it broadcasts over a ``ndim``-D tensor in ``layout``."""
    trailing = ndim - 3 if layout == "time-first" else ndim - 2
    return v.reshape(v.shape[0], *([1] * trailing))


def to_layout(x: torch.Tensor, src: str, dst: str) -> torch.Tensor:
    """Move a contiguous sequence from layout ``src`` to ``dst`` (a real copy when they differ)."""
    check_layout(src)
    check_layout(dst)
    if src == dst:
        return x
    return (x.movedim(0, -1) if dst == "time-last" else x.movedim(-1, 0)).contiguous()


def check_conv_args(x: torch.Tensor, weight: torch.Tensor, dilation, layout: str, bias) -> None:
    """Validate the arguments of :func:`shiftpsn.golden.accel.temporal_conv` (ValueError naming the problem)."""
    _, _, C, _ = geometry(x.shape, layout)
    if weight.dim() != 2 or weight.shape[0] != C:
        raise ValueError(f"weight must have shape (C={C}, k), got {tuple(weight.shape)}")
    if weight.shape[1] < 1:
        raise ValueError("weight needs at least one tap (k >= 1)")
    if isinstance(dilation, bool) or not isinstance(dilation, int) or dilation < 1:
        raise ValueError(f"dilation must be an integer >= 1, got {dilation!r}")
    if bias is not None and tuple(bias.shape) != (C,):
        raise ValueError(f"bias must have shape (C={C},), got {tuple(bias.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"x must be a floating-point tensor, got {x.dtype}")
