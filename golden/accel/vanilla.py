"""Method 1, vanilla: reshape to (N*, C, T), left-pad (k-1)d zeros, depthwise ``conv1d`` (MF-PSN
section 4.3, Eq. 22), reshape back. Autograd gives the backward pass (Eq. 23-25)."""

import torch
import torch.nn.functional as F


def to_nct(x: torch.Tensor, layout: str) -> tuple[torch.Tensor, tuple]:
    """(T, N, C, ...) or (N, C, ..., T) -> (N*, C, T) and what is needed to undo it."""
    if layout == "time-first":
        T, N, C = x.shape[:3]
        rest = x.shape[3:]
        y = x.reshape(T, N, C, -1).permute(1, 3, 2, 0).reshape(-1, C, T)  # (N*R, C, T)
        return y, (T, N, C, rest)
    N, C = x.shape[:2]
    T = x.shape[-1]
    rest = x.shape[2:-1]
    y = x.reshape(N, C, -1, T).transpose(1, 2).reshape(-1, C, T)  # (N*R, C, T)
    return y, (T, N, C, rest)


def from_nct(y: torch.Tensor, layout: str, meta: tuple) -> torch.Tensor:
    T, N, C, rest = meta
    if layout == "time-first":
        return y.reshape(N, -1, C, T).permute(3, 0, 2, 1).reshape(T, N, C, *rest)
    return y.reshape(N, -1, C, T).transpose(1, 2).reshape(N, C, *rest, T)


def temporal_conv_vanilla(x: torch.Tensor, weight: torch.Tensor, dilation: int, layout: str,
                          bias: torch.Tensor | None = None) -> torch.Tensor:
    C, k = weight.shape
    y, meta = to_nct(x, layout)
    y = F.pad(y, ((k - 1) * dilation, 0))
    b = None if bias is None else bias.to(y.dtype)
    h = F.conv1d(y, weight.to(y.dtype).unsqueeze(1), b, dilation=dilation, groups=C)
    return from_nct(h, layout, meta)
