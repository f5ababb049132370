"""Method 2, time-last + vmap + conv1d (MF-PSN Appendix A.1 (1)).

The time-last input ``(N, C, ..., T)`` is viewed as ``(N, C, R, T)`` (adjacent dimensions: no copy), and
``torch.vmap`` maps the depthwise dilated ``conv1d`` of Eq. 22 over the R axis. Autograd gives Eq. 23-25.
"""

import torch
import torch.nn.functional as F

from .layout import geometry


def temporal_conv_vmap_conv1d(x: torch.Tensor, weight: torch.Tensor, dilation: int, layout: str,
                              bias: torch.Tensor | None = None) -> torch.Tensor:
    if layout != "time-last":
        raise ValueError("method 'vmap_conv1d' works on the time-last layout only")
    T, N, C, rest = geometry(x.shape, layout)
    k = weight.shape[1]
    w = weight.to(x.dtype).unsqueeze(1)  # (C, 1, k)
    b = None if bias is None else bias.to(x.dtype)

    def conv(seq):  # seq: (N, C, T)
        return F.conv1d(F.pad(seq, ((k - 1) * dilation, 0)), w, b, dilation=dilation, groups=C)

    h = torch.vmap(conv, in_dims=2, out_dims=2)(x.reshape(N, C, -1, T))
    return h.reshape(x.shape)
