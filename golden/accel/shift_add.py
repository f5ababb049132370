"""Method 6, shift-add: Eq. 17 written literally as k delayed, channel-weighted copies of the input.

Forward (Eq. 17/22): ``H = b + sum_i W[:, i] * delay(X, s_i)``, ``s_i = (k-1-i) d``, where ``delay``
shifts along T with zeros entering from the left. Each tap is one multiply-add into a slice of H, in
place, on either layout: no reshape, no convolution library (this is also what the hardware core does,
one shift-add per tap). Backward, written out rather than traced:

* Eq. 23: ``dX = sum_i W[:, i] * advance(dH, s_i)`` (the same shift-add with time running backwards);
* Eq. 24: ``dW[:, i] = sum over all but C of dH[t] * X[t - s_i]``: per tap a product and a sum, or,
  with many taps in a short time-last sequence (:func:`use_lag_matrix`), every lag at once from one
  batched matrix product per channel, ``G[c] = dH_c^T Xpad_c`` (T x (T + (k-1)d), the sum over N and
  the "..." dimensions), whose k diagonals are dW[c] (one strided view, one sum);
* Eq. 25: ``db = sum over all but C of dH``.

The work is ``k`` passes over the tensor; it pays off on CPUs and for small ``k``.
"""

import torch
import torch.nn.functional as F

from .layout import channel_view


def _taps(T: int, k: int, dilation: int):
    """(i, s_i) of the taps whose delay is inside the sequence (the others see only zero padding)."""
    return [(i, (k - 1 - i) * dilation) for i in range(k - 1) if (k - 1 - i) * dilation < T]


def _tap_views(v: torch.Tensor, ndim: int, layout: str) -> torch.Tensor:
    """(C, k) -> (k, C, 1, ...): ``out[i]`` broadcasts tap i's channel weights over a sequence."""
    trailing = ndim - 3 if layout == "time-first" else ndim - 2
    return v.t().contiguous().reshape(v.shape[1], v.shape[0], *([1] * trailing))  # contiguous taps vectorize


def use_lag_matrix(T: int, k: int, dilation: int, n_taps: int, layout: str, rows: int) -> bool:
    """Whether dW comes from the lag matrix (``rows``: the size of all but C and T).

    Per input element it costs T + (k-1)d multiply-adds, two passes, and (T + (k-1)d) / rows passes
    over the lag matrix, against two passes per tap; measured on CPU it wins from about 8 taps with
    T + (k-1)d <= 16 taps, in time-last only (time-first needs two transposing copies, which lose).
    """
    span = T + (k - 1) * dilation
    return layout == "time-last" and n_taps >= 8 and span <= 16 * n_taps and span <= rows * n_taps


def _weight_grad_lag_matrix(gh: torch.Tensor, x: torch.Tensor, k: int, dilation: int, tdim: int,
                            cdim: int) -> torch.Tensor:
    """dW (C, k) of Eq. 24 from G[c] = dH_c^T Xpad_c, Xpad = X with (k-1)d zeros before t = 0."""
    T, C, pad = x.shape[tdim], x.shape[cdim], (k - 1) * dilation

    def channel_rows_time(v):  # (C, R, T), R = all but C and T
        return v.movedim(tdim, -1).movedim(cdim if cdim < tdim else cdim - 1, 0).reshape(C, -1, T)

    xpad = F.pad(channel_rows_time(x), (pad, 0))  # (C, R, T + pad)
    lags = torch.bmm(channel_rows_time(gh).transpose(1, 2), xpad)  # G[c][t][j] = sum_r dH[t] Xpad[j]
    # dW[c][i] = sum_t G[c][t][t + i d] (X[t - s_i] = Xpad[t + pad - s_i]): a strided view of G
    L = T + pad
    return lags.as_strided((C, k, T), (T * L, dilation, L + 1)).sum(-1)


class _ShiftAdd(torch.autograd.Function):
    # Few Python-level steps on purpose: at short T the cost is the per-op overhead, not the arithmetic.
    @staticmethod
    def forward(ctx, x, weight, bias, dilation, layout):
        tdim = 0 if layout == "time-first" else x.dim() - 1
        T, k = x.shape[tdim], weight.shape[1]
        wt = _tap_views(weight.to(x.dtype), x.dim(), layout)
        if bias is None:
            h = torch.mul(x, wt[k - 1])
        else:
            h = torch.addcmul(channel_view(bias.to(x.dtype), x.dim(), layout), x, wt[k - 1])
        taps = _taps(T, k, dilation)
        for i, s in taps:
            h.narrow(tdim, s, T - s).addcmul_(x.narrow(tdim, 0, T - s), wt[i])
        ctx.save_for_backward(x, wt)
        ctx.dilation, ctx.layout = dilation, layout
        ctx.meta = (taps, tdim, 2 if layout == "time-first" else 1, weight.dtype,
                    None if bias is None else bias.dtype)
        return h

    @staticmethod
    def backward(ctx, gh):
        x, wt = ctx.saved_tensors
        taps, tdim, cdim, wdtype, bdtype = ctx.meta
        T, k = x.shape[tdim], wt.shape[0]
        sum_dims = [d for d in range(x.dim()) if d != cdim]
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            gx = torch.mul(gh, wt[k - 1])
            for i, s in taps:
                gx.narrow(tdim, 0, T - s).addcmul_(gh.narrow(tdim, s, T - s), wt[i])
        if ctx.needs_input_grad[1]:
            if use_lag_matrix(T, k, ctx.dilation, len(taps) + 1, ctx.layout, x.numel() // (T * x.shape[cdim])):
                gw = _weight_grad_lag_matrix(gh, x, k, ctx.dilation, tdim, cdim)
            else:
                gw = torch.zeros(k, x.shape[cdim], dtype=x.dtype, device=x.device)  # taps beyond T stay 0
                prod = torch.mul(gh, x)  # one product buffer for every tap: no allocation per tap
                torch.sum(prod, sum_dims, out=gw[k - 1])
                for i, s in taps:
                    p = torch.mul(gh.narrow(tdim, s, T - s), x.narrow(tdim, 0, T - s),
                                  out=prod.narrow(tdim, 0, T - s))
                    torch.sum(p, sum_dims, out=gw[i])
                gw = gw.t()
            gw = gw.to(wdtype)
        if bdtype is not None and ctx.needs_input_grad[2]:
            gb = gh.sum(sum_dims).to(bdtype)
        return gx, gw, gb, None, None


def temporal_conv_shift_add(x: torch.Tensor, weight: torch.Tensor, dilation: int, layout: str,
                            bias: torch.Tensor | None = None) -> torch.Tensor:
    return _ShiftAdd.apply(x, weight, bias, dilation, layout)
