"""Implementations of the channel-wise dilated causal temporal convolution (papers/000 Eq. 10 / 17).

All share one signature::

    temporal_conv(x, weight, dilation, layout="time-first", method="vanilla") -> H

* ``x``: time-first (T, N, C, ...) or time-last (N, C, ..., T) float tensor;
* ``weight``: (C, k); tap ``k-1`` weights the newest input X[t], tap 0 the oldest X[t-(k-1)d];
* ``H`` has the shape and layout of ``x``: H[t][c] = sum_i weight[c][i] * X[t-(k-1-i)d][c], X[j<0] = 0.

``METHODS`` maps a method name to its function; golden.accel.autoselect (Algorithm 1) picks among the
ones available on the current device.
"""

from .vanilla import temporal_conv_vanilla

LAYOUTS = ("time-first", "time-last")
METHODS = {"vanilla": temporal_conv_vanilla}


def temporal_conv(x, weight, dilation: int, layout: str = "time-first", method: str = "vanilla"):
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    try:
        fn = METHODS[method]
    except KeyError:
        raise ValueError(f"unknown method {method!r}; available: {sorted(METHODS)}") from None
    return fn(x, weight, dilation, layout)
