"""Method 6, shift-add: Eq. 17 written literally as k delayed, channel-weighted copies of the input.

Forward (Eq. 17/22): ``H = b + sum_i W[:, i] * delay(X, s_i)``, ``s_i = (k-1-i) d``, where ``delay``
shifts along T with zeros entering from the left. Each tap is one multiply-add into a slice of H, in
place, on either layout: no reshape, no convolution library (this is also what the hardware core does,
one shift-add per tap). Backward, written out rather than traced:

* Eq. 23: ``dX = sum_i W[:, i] * advance(dH, s_i)`` (the same shift-add with time running backwards);
* Eq. 24: ``dW[:, i] = sum over all but C of dH[t] * X[t - s_i]``;
* Eq. 25: ``db = sum over all but C of dH``.

The work is ``k`` passes over the tensor; it pays off on CPUs and for small ``k``.
"""

import torch

from .layout import channel_view, geometry


def _taps(T: int, k: int, dilation: int):
    """(i, s_i) of the taps whose delay is inside the sequence (the others see only zero padding)."""
    return [(i, (k - 1 - i) * dilation) for i in range(k - 1) if (k - 1 - i) * dilation < T]


class _ShiftAdd(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, dilation, layout):
        T, _, _, _ = geometry(x.shape, layout)
        k = weight.shape[1]
        tdim = 0 if layout == "time-first" else x.dim() - 1
        w = weight.to(x.dtype)
        cv = lambda v: channel_view(v, x.dim(), layout)  # noqa: E731
        h = x * cv(w[:, k - 1])
        for i, s in _taps(T, k, dilation):
            h.narrow(tdim, s, T - s).addcmul_(x.narrow(tdim, 0, T - s), cv(w[:, i]))
        if bias is not None:
            h += cv(bias.to(x.dtype))
        ctx.save_for_backward(x, w)
        ctx.meta = (dilation, layout, tdim, weight.dtype, None if bias is None else bias.dtype)
        return h

    @staticmethod
    def backward(ctx, gh):
        x, w = ctx.saved_tensors
        dilation, layout, tdim, wdtype, bdtype = ctx.meta
        T, _, _, _ = geometry(x.shape, layout)
        k = w.shape[1]
        cv = lambda v: channel_view(v, x.dim(), layout)  # noqa: E731
        sum_dims = [d for d in range(x.dim()) if d != (2 if layout == "time-first" else 1)]
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            gx = gh * cv(w[:, k - 1])
            for i, s in _taps(T, k, dilation):
                gx.narrow(tdim, 0, T - s).addcmul_(gh.narrow(tdim, s, T - s), cv(w[:, i]))
        if ctx.needs_input_grad[1]:
            gw = w.new_zeros(w.shape)
            gw[:, k - 1] = (gh * x).sum(sum_dims)
            for i, s in _taps(T, k, dilation):
                gw[:, i] = (gh.narrow(tdim, s, T - s) * x.narrow(tdim, 0, T - s)).sum(sum_dims)
            gw = gw.to(wdtype)
        if bdtype is not None and ctx.needs_input_grad[2]:
            gb = gh.sum(sum_dims).to(bdtype)
        return gx, gw, gb, None, None


def temporal_conv_shift_add(x: torch.Tensor, weight: torch.Tensor, dilation: int, layout: str,
                            bias: torch.Tensor | None = None) -> torch.Tensor:
    return _ShiftAdd.apply(x, weight, bias, dilation, layout)
