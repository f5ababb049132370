"""Bit-exact integer model of the shift-add core (docs/CONTRACT.md section 2), vectorized in numpy.

    acc[t][c]   = sum_{i: shift[c][i] != null} sign[c][i] * (X[t-(k-1-i)d][c] << (shift[c][i] - exp_min))
    spike[t][c] = acc[t][c] >= threshold[c]

This is Eq. 17-18 of MF-PSN on the integer grid 2^exp_min. Every sequence of the batch starts
with an empty history. The arithmetic is the psn layer's (``shiftpsn.base.layers.psn``: ``accumulate``,
``spike``, re-exported here); this module is its front door, validating the stimulus first.
"""

from __future__ import annotations

import numpy as np

from shiftpsn.base.layers.psn import accumulate, int_weights, spike
from shiftpsn.base.spec import CoreSpec

__all__ = ["run", "accumulate", "spike", "int_weights"]
from shiftpsn.base.stimulus import check_stimulus


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
