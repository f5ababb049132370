"""Seeded random lif layers and networks with lif layers, for tests and regressions (numpy only).

Extremes on purpose: leak shifts from 1 to the widest the membrane allows (and null, IF), thresholds of 1,
at and beyond the membrane's reach (``membrane_range``) and up to 2^63 - 1, both resets.
"""

from __future__ import annotations

import numpy as np

from .ints import INT64_MAX
from .layers.lif import LEAK_SHIFT_MAX, MAX_MEMBRANE_WIDTH, LifLayer

__all__ = ["random_lif", "random_lif_network"]


def random_lif(rng: np.random.Generator, *, channels: int, input_width: int, lanes: int | None = None,
               if_p: float = 0.2, extreme_p: float = 0.2) -> LifLayer:
    """A random valid lif layer of ``channels`` neurons taking ``input_width``-bit inputs: leak shift
    null with probability ``if_p``, else in [1, min(32, 64 - input_width)] (the ends with probability
    ``extreme_p``); thresholds typical for the inputs, a share ``extreme_p`` extreme."""
    W = input_width
    top = min(LEAK_SHIFT_MAX, MAX_MEMBRANE_WIDTH - W)  # leaky membrane width is W + s bits
    if rng.random() < if_p or top < 1:
        s = None
    elif rng.random() < extreme_p:
        s = int(rng.choice([1, top]))
    else:
        s = int(rng.integers(1, min(top, 8) + 1))
    probe = LifLayer(channels=channels, input_width=W, leak_shift=s, threshold=[1] * channels, reset="zero")
    hi = probe.membrane_range[1]
    typical = 1 << max(0, W - 3)  # a quarter of the input range: typical inputs fire within a few steps
    threshold = []
    for _ in range(channels):
        u = rng.random()
        if u < extreme_p:
            threshold.append(int(rng.choice([1, 2, hi, hi + 1, hi + 2, INT64_MAX, max(1, (1 << (W - 1)) - 1)])))
        else:
            threshold.append(int(rng.integers(1, typical + 1)))
    return LifLayer(channels=channels, input_width=W, leak_shift=s, threshold=threshold,
                    reset=str(rng.choice(["subtract", "zero"])), lanes=lanes)


def random_lif_network(rng: np.random.Generator, *, hidden=(1, 3), width=(1, 12), inputs=(1, 8), outputs=(1, 6),
                       input_width=(2, 10), weight_bits=(2, 10), psn_p: float = 0.25, random_lanes: bool = False,
                       name: str = "lif_net"):
    """A random valid network of dense layers and neuron layers, each neuron layer a lif layer (a share
    ``psn_p`` psn layers, from :func:`shiftpsn.base.testing.random_network`'s rules); at least one lif.
    Every lif layer takes exactly the width its dense layer's outputs need (sometimes a bit more);
    ``random_lanes`` picks a random divisor of each layer's outputs as its ``lanes``."""
    from .network import DenseLayer, NetworkSpec, signed_width
    from .testing import random_spec

    def pick(r):
        return int(rng.integers(r[0], r[1] + 1)) if isinstance(r, tuple) else int(r)

    def lanes_of(n: int) -> int | None:
        return int(rng.choice([d for d in range(1, n + 1) if n % d == 0])) if random_lanes else None

    W, I, depth = pick(input_width), pick(inputs), pick(hidden)
    xmin, xmax = -(1 << (W - 1)), (1 << (W - 1)) - 1
    lif_at = int(rng.integers(0, depth))  # this neuron layer is a lif whatever psn_p says
    layers = []
    for layer in range(depth + 1):
        O = pick(width) if layer < depth else pick(outputs)
        top = (1 << (pick(weight_bits) - 1)) - 1
        w = rng.integers(-top, top + 1, size=(O, I))
        ext = rng.random((O, I)) < 0.15
        w[ext] = rng.choice([-top, top], size=int(ext.sum()))
        bias = rng.integers(-top, top + 1, size=O) * max(1, xmax // 2)
        dense = DenseLayer(w, bias, lanes=lanes_of(O))
        layers.append(dense)
        if layer == depth:
            break
        lo, hi, _ = dense.output_range(xmin, xmax)
        need = signed_width(min(lo), max(hi)) + (1 if rng.random() < 0.2 else 0)
        if layer != lif_at and rng.random() < psn_p:
            spec = random_spec(rng, channels=O, order=(1, 4), input_width=need, weights="constant", emit_acc=False)
            layers.append(spec.replace(lanes=lanes_of(O) or O))
        else:
            layers.append(random_lif(rng, channels=O, input_width=need, lanes=lanes_of(O)))
        I, xmin, xmax = O, 0, 1
    return NetworkSpec(input_width=W, layers=tuple(layers), name=name)
