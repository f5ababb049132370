"""Seeded random core specs and networks for tests and regressions (shared by golden, hdl, sim and synth
tests)."""

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


def random_network(rng: np.random.Generator, *, hidden=(1, 3), width=(1, 32), inputs=(1, 32), outputs=(1, 10),
                   input_width=(2, 12), weight_bits=(2, 12), order=(1, 8), extreme_p=0.1, slack_p=0.25,
                   **psn_optional):
    """A random valid network (docs/CONTRACT.md section 5) for tests and regressions.

    ``hidden`` neuron layers (dilations follow the sawtooth 1, 2, 3, 1, ...), ``width`` channels each;
    dense weights and biases of up to ``weight_bits`` bits, a share ``extreme_p`` of them at the extremes
    +-(2^(B-1) - 1); every neuron layer's ``input_width`` is exactly what its dense layer needs (a share
    ``slack_p`` one or two bits more), its thresholds near the accumulators that typical inputs produce
    (a share beyond the accumulator range). ``psn_optional`` sets optional core keys of every neuron
    layer (``lanes`` must then divide every width). Returns a NetworkSpec.
    """
    from .network import DenseLayer, NetworkSpec, signed_width

    def pick(r):
        return int(rng.integers(r[0], r[1] + 1)) if isinstance(r, tuple) else int(r)

    W, I, depth = pick(input_width), pick(inputs), pick(hidden)
    xmin, xmax = -(1 << (W - 1)), (1 << (W - 1)) - 1
    layers, d = [], 1
    for layer in range(depth + 1):
        O = pick(width) if layer < depth else pick(outputs)
        top = (1 << (pick(weight_bits) - 1)) - 1
        w = rng.integers(-top, top + 1, size=(O, I))
        ext = rng.random((O, I)) < extreme_p
        w[ext] = rng.choice([-top, top], size=int(ext.sum()))
        bias = rng.integers(-top, top + 1, size=O) * max(1, xmax // 2)
        dense = DenseLayer(w, bias)
        layers.append(dense)
        if layer == depth:
            break
        lo, hi, _ = dense.output_range(xmin, xmax)
        need = signed_width(min(lo), max(hi)) + (int(rng.integers(1, 3)) if rng.random() < slack_p else 0)
        spec = random_spec(rng, channels=O, order=order, dilation=d, input_width=need, **psn_optional)
        # thresholds on the scale of typical dense outputs (random inputs), not of the worst case
        typical = max(1, int(np.sqrt(I)) * top * max(1, xmax) // 2) << ((spec.exp_max - spec.exp_min) // 2)
        threshold = [t if not spec.acc_min <= t <= spec.acc_max else int(rng.integers(-typical, typical + 1))
                     for t in spec.threshold]
        layers.append(spec.replace(threshold=threshold))
        d = d % 3 + 1
        I, xmin, xmax = O, 0, 1
    return NetworkSpec(input_width=W, layers=tuple(layers))


def random_network_input(net, rng: np.random.Generator, batch: int, steps: int,
                         extreme_fraction: float = 0.1) -> np.ndarray:
    """Uniform random network inputs (B, T, I) int64 with a share of the extremes input_min / input_max / 0."""
    x = rng.integers(net.input_min, net.input_max + 1, size=(batch, steps, net.in_features), dtype=np.int64)
    pick = rng.random(x.shape) < extreme_fraction
    x[pick] = rng.choice(np.array([net.input_min, net.input_max, 0], dtype=np.int64), size=int(pick.sum()))
    return x
