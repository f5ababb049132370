"""Implementations of the channel-wise dilated causal temporal convolution (MF-PSN Eq. 10 / 17, 22).

All share one signature::

    temporal_conv(x, weight, dilation, layout="time-first", method="vanilla", bias=None) -> H

* ``x``: time-first (T, N, C, ...) or time-last (N, C, ..., T) float tensor;
* ``weight``: (C, k); tap ``k-1`` weights the newest input X[t], tap 0 the oldest X[t-(k-1)d];
* ``bias``: optional (C,), added to every H[t][c] (Eq. 22; the neuron may pass ``-V_th`` here);
* ``H`` has the shape and layout of ``x``: H[t][c] = b[c] + sum_i weight[c][i] * X[t-(k-1-i)d][c], X[j<0] = 0.

Every method gives the same H and the same gradients for ``x``, ``weight`` and ``bias`` (Eq. 23-25):

========== ====================== ==============================================================
method     layouts                what it is (MF-PSN section 4.3, Appendix A)
========== ====================== ==============================================================
vanilla    time-first, time-last  1: reshape to (N*, C, T) + depthwise conv1d + reshape back
vmap_conv1d time-last             2: torch.vmap of conv1d over the "..." dimensions
conv2d     time-last              3: conv2d with a (1, k) kernel, unit weight/stride in "..."
vmap_mm    time-first, time-last  4: torch.vmap of a matmul with the banded matrices of Eq. 19-21
triton     time-first, time-last  5: Triton kernels (Algorithms 2, 3); CUDA, or CPU under TRITON_INTERPRET=1
shift_add  time-first, time-last  6: Eq. 17 as k in-place shift-adds, explicit backward (Eq. 23-25)
========== ====================== ==============================================================

``METHODS`` maps a method name to its function (``triton`` only when ``import triton`` works);
``METHOD_LAYOUTS`` says which layouts each supports; :func:`available_methods` lists the ones that can
run for a layout on a device, the candidates of :mod:`shiftpsn.golden.accel.autoselect` (Algorithm 1).
"""

from __future__ import annotations

import torch

from . import triton_conv
from .conv2d import temporal_conv_conv2d
from .layout import LAYOUTS, check_conv_args, geometry, to_layout
from .shift_add import temporal_conv_shift_add
from .vanilla import temporal_conv_vanilla
from .vmap_conv1d import temporal_conv_vmap_conv1d
from .vmap_mm import temporal_conv_vmap_mm

BOTH = LAYOUTS
METHODS = {
    "vanilla": temporal_conv_vanilla,
    "vmap_conv1d": temporal_conv_vmap_conv1d,
    "conv2d": temporal_conv_conv2d,
    "vmap_mm": temporal_conv_vmap_mm,
    "shift_add": temporal_conv_shift_add,
}
METHOD_LAYOUTS = {
    "vanilla": BOTH,
    "vmap_conv1d": ("time-last",),
    "conv2d": ("time-last",),
    "vmap_mm": BOTH,
    "shift_add": BOTH,
}
if triton_conv.IMPORT_ERROR is None:
    METHODS["triton"] = triton_conv.temporal_conv_triton
    METHOD_LAYOUTS["triton"] = BOTH

__all__ = ["LAYOUTS", "METHODS", "METHOD_LAYOUTS", "available_methods", "method_fits", "temporal_conv", "to_layout"]

#: vmap_mm materialises C banded T x T matrices (Eq. 19-21); above this many elements it is not tried
MAX_BAND_ELEMENTS = 1 << 24


def method_fits(method: str, shape, layout: str) -> bool:
    """Whether ``method`` is worth trying on a sequence of ``shape``: False for vmap_mm when its C
    matrices of T x T would exceed :data:`MAX_BAND_ELEMENTS` (64 MiB in float32; at T = 1024, C = 64 one
    forward + backward takes seconds on a CPU and never wins). Other methods and unknown names: True."""
    if method != "vmap_mm":
        return True
    T, _, C, _ = geometry(shape, layout)
    return C * T * T <= MAX_BAND_ELEMENTS


def available_methods(layout: str, device: torch.device | str = "cpu", interpreted: bool = False) -> list[str]:
    """Methods that support ``layout`` and can run on ``device`` now.

    Triton counts on CUDA; on CPU only with ``interpreted=True`` and Triton imported under
    ``TRITON_INTERPRET=1`` (the interpreter is for tests, far too slow to compete by default).
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    out = []
    for name in METHODS:
        if layout not in METHOD_LAYOUTS[name]:
            continue
        if name == "triton" and not triton_conv.available(device, interpreted):
            continue
        out.append(name)
    return out


def temporal_conv(x: torch.Tensor, weight: torch.Tensor, dilation: int, layout: str = "time-first",
                  method: str = "vanilla", bias: torch.Tensor | None = None) -> torch.Tensor:
    """H = b + W * X along time (Eq. 17/22) by ``method``; see the module docstring."""
    try:
        fn = METHODS[method]
    except KeyError:
        raise ValueError(f"unknown method {method!r}; available: {sorted(METHODS)}") from None
    check_conv_args(x, weight, dilation, layout, bias)
    if layout not in METHOD_LAYOUTS[method]:
        raise ValueError(f"method {method!r} supports only the {'/'.join(METHOD_LAYOUTS[method])} layout")
    return fn(x, weight, dilation, layout, bias)
