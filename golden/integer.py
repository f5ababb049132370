"""Bit-exact integer model of the shift-add core (docs/CONTRACT.md section 2), vectorized in numpy.

    acc[t][c]   = sum_{i: shift[c][i] != null} sign[c][i] * (X[t-(k-1-i)d][c] << (shift[c][i] - exp_min))
    spike[t][c] = acc[t][c] >= threshold[c]

This is Eq. 17-18 of MF-PSN on the integer grid 2^exp_min. Every sequence of the batch starts
with an empty history. The loop runs over the k taps only; time, channels and batch are array axes.
"""

from __future__ import annotations

import numpy as np

from shiftpsn.base.spec import CoreSpec
from shiftpsn.base.stimulus import check_stimulus


def int_weights(spec: CoreSpec) -> np.ndarray:
    """(C, k) int64 weights sign * 2^(shift - exp_min), 0 for zero taps."""
    return np.array([[spec.int_weight(c, i) for i in range(spec.order)] for c in range(spec.channels)],
                    dtype=np.int64).reshape(spec.channels, spec.order)


def spike(spec: CoreSpec, acc: np.ndarray) -> np.ndarray:
    """Spikes (uint8) of accumulators ``acc`` (int64, channels last): acc >= theta[c], exact for a
    threshold of any size. Each theta is first saturated on the accumulator grid (``threshold_hw``,
    [acc_min, acc_max + 1]: the same spikes) and only then compared in int64; acc_max + 1 ("never")
    is kept as a mask because for a 64-bit accumulator it does not fit int64."""
    th = [spec.threshold_hw(c) for c in range(spec.channels)]
    never = np.array([t > spec.acc_max for t in th], dtype=bool)
    th64 = np.array([min(t, spec.acc_max) for t in th], dtype=np.int64)
    return ((acc >= th64) & ~never).astype(np.uint8)


def accumulate(spec: CoreSpec, x: np.ndarray) -> np.ndarray:
    """acc int64 of the shape of an already validated int64 stimulus (B, T, C) or (B, T, P, C):
    every position p of channel c uses channel c's weights (they broadcast over the last axis)."""
    w = int_weights(spec)
    T = x.shape[1]
    acc = np.zeros(x.shape, dtype=np.int64)
    for i, delay in enumerate(spec.tap_delays):
        if delay >= T or not w[:, i].any():
            continue
        # X[t - delay] for t >= delay; earlier steps see the empty history (zeros).
        acc[:, delay:] += x[:, : T - delay] * w[:, i]
    return acc


def run(spec: CoreSpec, x) -> tuple[np.ndarray, np.ndarray]:
    """Run the core on a stimulus of shape (T, C) or (B, T, C); with positions P > 1, (T, P, C) or
    (B, T, P, C).

    Returns ``(spikes uint8, acc int64)`` of the stimulus' shape. Raises StimulusError on a stimulus
    of the wrong dtype, shape or range.
    """
    shape = np.shape(x)
    xs = check_stimulus(x, spec)
    acc = accumulate(spec, xs)
    spikes = spike(spec, acc)
    return spikes.reshape(shape), acc.reshape(shape)
