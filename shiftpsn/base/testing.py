"""Seeded random core specs for tests and regressions (shared by golden, hdl, sim and synth tests)."""

from __future__ import annotations

import numpy as np

from .spec import CoreSpec


def random_spec(rng: np.random.Generator, *, channels=(1, 16), order=(1, 8), dilation=(1, 3),
                input_width=(2, 12), exp_lo=(-4, 2), exp_span=(0, 5), zero_tap_p=0.15,
                extreme_threshold_p=0.15, **optional) -> CoreSpec:
    """A random valid spec. Each ``(lo, hi)`` range is inclusive; ``optional`` sets optional keys.

    Exponent ranges include negative and positive exponents; a share of taps are zero (null shift);
    a share of thresholds lie beyond the accumulator range (never or always spike).
    """
    def pick(r):
        return int(rng.integers(r[0], r[1] + 1)) if isinstance(r, tuple) else int(r)

    C, k, d, W = pick(channels), pick(order), pick(dilation), pick(input_width)
    exp_min = pick(exp_lo)
    exp_max = exp_min + pick(exp_span)
    shift = [[None if rng.random() < zero_tap_p else int(rng.integers(exp_min, exp_max + 1))
              for _ in range(k)] for _ in range(C)]
    sign = [[int(rng.choice([-1, 1])) for _ in range(k)] for _ in range(C)]
    probe = CoreSpec(channels=C, order=k, dilation=d, input_width=W, exp_min=exp_min, exp_max=exp_max,
                     shift=shift, sign=sign, threshold=[0] * C)
    # typical thresholds: within a few input magnitudes of zero on the accumulator grid
    typical = 1 << (W - 1 + (exp_max - exp_min) // 2)
    threshold = []
    for _ in range(C):
        u = rng.random()
        if u < extreme_threshold_p / 2:
            threshold.append(int(probe.acc_max + 1 + rng.integers(0, 1 << 20)))  # never spikes
        elif u < extreme_threshold_p:
            threshold.append(int(probe.acc_min - rng.integers(0, 1 << 20)))  # always spikes
        else:
            threshold.append(int(rng.integers(-typical, typical + 1)))
    return probe.replace(threshold=threshold, **optional)
