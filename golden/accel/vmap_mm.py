"""Method 4, time-first/last + vmap + matrix multiply (MF-PSN Appendix A.2, Eq. 19-21).

Each channel's convolution is a product with a banded lower-triangular T x T matrix ``A[c]``:

* time-first (Eq. 19): ``A[c][t][t - s_i] = W[c][i]`` with ``s_i = (k-1-i) d`` and ``H[c] = A[c] X[c]``;
* time-last (Eq. 20), the transpose: ``A[c][t - s_i][t] = W[c][i]`` and ``H[c] = X[c] A[c]`` (Eq. 21).

Taps with ``s_i >= T`` fall outside the matrix (they only ever see the zero padding). ``torch.vmap``
maps the product over the channels; autograd carries the gradient through the matrix to ``W``.
"""

from functools import lru_cache

import torch

from .layout import channel_view, geometry


@lru_cache(maxsize=64)
def _band_index(T: int, k: int, dilation: int, layout: str, device: str):
    """(taps, flat): for each nonzero of A, the tap that fills it and its flat position in a T x T matrix."""
    taps, flat = [], []
    for i in range(k):
        s = (k - 1 - i) * dilation
        if s >= T:
            continue
        t = torch.arange(s, T)
        row, col = (t, t - s) if layout == "time-first" else (t - s, t)
        taps.append(torch.full_like(t, i))
        flat.append(row * T + col)
    if not taps:  # T == 0 cannot happen (geometry), but keep the shapes valid
        return torch.zeros(0, dtype=torch.long, device=device), torch.zeros(0, dtype=torch.long, device=device)
    return torch.cat(taps).to(device), torch.cat(flat).to(device)


def band_matrix(weight: torch.Tensor, T: int, dilation: int, layout: str) -> torch.Tensor:
    """The (C, T, T) matrices A of Eq. 19 (time-first) or Eq. 20 (time-last); differentiable in ``weight``."""
    C, k = weight.shape
    taps, flat = _band_index(T, k, dilation, layout, str(weight.device))
    vals = weight.index_select(1, taps)  # (C, nnz)
    return weight.new_zeros(C, T * T).index_copy(1, flat, vals).reshape(C, T, T)


def temporal_conv_vmap_mm(x: torch.Tensor, weight: torch.Tensor, dilation: int, layout: str,
                          bias: torch.Tensor | None = None) -> torch.Tensor:
    T, N, C, rest = geometry(x.shape, layout)
    A = band_matrix(weight.to(x.dtype), T, dilation, layout)
    if layout == "time-first":
        xs = x.reshape(T, N, C, -1)  # (T, N, C, R), no copy
        h = torch.vmap(lambda a, xc: (a @ xc.reshape(T, -1)).reshape(xc.shape), in_dims=(0, 2), out_dims=2)(A, xs)
    else:
        xs = x.reshape(N, C, -1, T)  # (N, C, R, T), no copy
        h = torch.vmap(torch.matmul, in_dims=(1, 0), out_dims=1)(xs, A)
    h = h.reshape(x.shape)
    if bias is not None:
        h = h + channel_view(bias.to(x.dtype), x.dim(), layout)
    return h
