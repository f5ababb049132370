"""Triton kernels of method 5 (MF-PSN Appendix A.3, Algorithms 2 and 3). Imported only when
``import triton`` works; see :mod:`shiftpsn.golden.accel.triton_conv` for the wrappers.

One kernel body serves both layouts. A sequence tensor is seen as ``Q = N*C*R`` independent rows
(one per (n, c, ...)) of T time steps; row ``q`` belongs to channel ``(q // R) % C`` and its element t
sits at ``q*T + t`` (time-last) or ``t*Q + q`` (time-first). A program handles a
``[BLOCK_Q, BLOCK_T]`` tile, so no reshape ever happens and loads are coalesced along the contiguous
axis of either layout.
"""

import triton
import triton.language as tl


@triton.jit
def _tile(Q, T, C, R, TIME_LAST: tl.constexpr, BLOCK_Q: tl.constexpr, BLOCK_T: tl.constexpr):
    """This program's [BLOCK_Q, BLOCK_T] tile: rows q and steps t with their masks, each row's
    channel c, and ``row``, ``step`` such that element (q, t) sits at ``row + t * step`` in either layout."""
    q = tl.program_id(0) * BLOCK_Q + tl.arange(0, BLOCK_Q)
    t = tl.program_id(1) * BLOCK_T + tl.arange(0, BLOCK_T)
    q64 = q.to(tl.int64)
    if TIME_LAST:
        row = q64[:, None] * T
        step = T * 0 + 1  # a runtime 1, so both branches return the same kind of value
    else:
        row = q64[:, None]
        step = Q
    return q, t, q < Q, t < T, (q // R) % C, row, step


def conv_kernel(x_ptr, w_ptr, b_ptr, h_ptr, Q, T, C, R, K, D,
                TIME_LAST: tl.constexpr, REVERSE: tl.constexpr, HAS_BIAS: tl.constexpr,
                ACC: tl.constexpr, BLOCK_Q: tl.constexpr, BLOCK_T: tl.constexpr):
    """Algorithm 2 (Eq. 22): ``h[t] = b + sum_i w[i] * x[t - (K-1-i) D]``, zeros before t = 0.

    With ``REVERSE`` it reads forward in time, ``h[t] = sum_i w[i] * x[t + i D]`` (zeros after T-1):
    called on dH with flip(W) this is Eq. 23, the input gradient.
    """
    q, t, q_ok, t_ok, c, row, step = _tile(Q, T, C, R, TIME_LAST, BLOCK_Q, BLOCK_T)
    acc = tl.zeros([BLOCK_Q, BLOCK_T], dtype=ACC)
    for i in range(K):
        if REVERSE:
            src = t + i * D
            src_ok = t_ok & (src < T)
        else:
            src = t - (K - 1 - i) * D
            src_ok = t_ok & (src >= 0)
        w = tl.load(w_ptr + c * K + i, mask=q_ok, other=0.0).to(ACC)
        xv = tl.load(x_ptr + row + src[None, :].to(tl.int64) * step,
                     mask=q_ok[:, None] & src_ok[None, :], other=0.0).to(ACC)
        acc += w[:, None] * xv
    if HAS_BIAS:
        acc += tl.load(b_ptr + c, mask=q_ok, other=0.0).to(ACC)[:, None]
    tl.store(h_ptr + row + t[None, :].to(tl.int64) * step, acc.to(h_ptr.dtype.element_ty),
             mask=q_ok[:, None] & t_ok[None, :])


def wgrad_kernel(x_ptr, g_ptr, dw_ptr, db_ptr, Q, T, C, R, K, D,
                 TIME_LAST: tl.constexpr, HAS_BIAS: tl.constexpr,
                 ACC: tl.constexpr, BLOCK_Q: tl.constexpr, BLOCK_T: tl.constexpr):
    """Algorithm 3 (Eq. 24, 25): ``dw[c, i] += sum_t g[t] * x[t - (K-1-i) D]`` and ``db[c] += sum_t g[t]``
    over the tile, accumulated across programs with atomic adds into ``ACC``-typed buffers."""
    q, t, q_ok, t_ok, c, row, step = _tile(Q, T, C, R, TIME_LAST, BLOCK_Q, BLOCK_T)
    g = tl.load(g_ptr + row + t[None, :].to(tl.int64) * step, mask=q_ok[:, None] & t_ok[None, :],
                other=0.0).to(ACC)
    for i in range(K):
        src = t - (K - 1 - i) * D
        src_ok = t_ok & (src >= 0)
        xv = tl.load(x_ptr + row + src[None, :].to(tl.int64) * step,
                     mask=q_ok[:, None] & src_ok[None, :], other=0.0).to(ACC)
        tl.atomic_add(dw_ptr + c * K + i, tl.sum(g * xv, axis=1), mask=q_ok)
    if HAS_BIAS:
        tl.atomic_add(db_ptr + c, tl.sum(g, axis=1), mask=q_ok)
