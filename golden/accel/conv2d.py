"""Method 3, time-last + conv2d (MF-PSN Appendix A.1 (2)).

The time-last input ``(N, C, ..., T)`` is viewed as ``(N, C, R, T)`` (no copy) and convolved by a
depthwise ``conv2d`` whose kernel is ``(1, k)``: weight and stride 1 in the R ("...") dimension,
dilation ``(1, d)``, ``(k-1)d`` zeros padded on the left of T (Eq. 22). Autograd gives Eq. 23-25.
"""

import torch
import torch.nn.functional as F

from .layout import geometry


def temporal_conv_conv2d(x: torch.Tensor, weight: torch.Tensor, dilation: int, layout: str,
                         bias: torch.Tensor | None = None) -> torch.Tensor:
    if layout != "time-last":
        raise ValueError("method 'conv2d' works on the time-last layout only")
    T, N, C, rest = geometry(x.shape, layout)
    k = weight.shape[1]
    y = F.pad(x.reshape(N, C, -1, T), ((k - 1) * dilation, 0))
    b = None if bias is None else bias.to(x.dtype)
    h = F.conv2d(y, weight.to(x.dtype).reshape(C, 1, 1, k), b, dilation=(1, dilation), groups=C)
    return h.reshape(x.shape)
