"""The channel lane (delay line + the one neuron datapath) against a reference model written here; split from test_hdl_blocks.py."""

from __future__ import annotations
from collections import deque
import numpy as np
import pytest
from shiftpsn.base.spec import CoreSpec, pack_fields
from shiftpsn.base.testing import random_spec
from shiftpsn.hdl.lane import ChannelLane

from test_hdl_blocks import _Harness, _run, assert_same_sequence, _signed_range, _random_signed, assert_exercised  # noqa: F401 (helpers and fixtures of test_hdl_blocks)


def lane_weights(spec: CoreSpec, c: int) -> list[int]:
    """Integer weight of each tap: sign * 2**(shift - exp_min), 0 for a zero tap (CONTRACT section 2)."""
    return [0 if e is None else spec.sign[c][i] * 2 ** (e - spec.exp_min) for i, e in enumerate(spec.shift[c])]


def lane_model(spec: CoreSpec, c: int, stimulus: list[dict]) -> list[tuple]:
    """(acc, spike) per cycle: acc = sum_i w_i * X[t - (k-1-i)*d], X the current sequence's accepted
    inputs (x itself for delay 0; 0 before the sequence, after rst, or for a first beat's history),
    delivered ``pipeline`` advancing edges later; spike = acc >= theta. None: don't care (the pipeline
    has not been filled since power-up or rst)."""
    w, k, d, theta = lane_weights(spec, c), spec.order, spec.dilation, spec.threshold[c]
    history: list[int] = []
    pipe = deque([None] * spec.pipeline)
    out = []
    for s in stimulus:
        past = [] if s["first"] else history

        def X(j):
            return s["x"] if j == 0 else past[-j] if j <= len(past) else 0

        acc_now = sum(w[i] * X((k - 1 - i) * d) for i in range(k))
        acc = pipe[0] if spec.pipeline else acc_now
        out.append((acc, None if acc is None else int(acc >= theta)))
        if s["rst"]:
            history, pipe = [], deque([None] * spec.pipeline)
            continue
        if s["shift"]:
            history = [s["x"]] if s["first"] else history + [s["x"]]
        if s["advance"] and spec.pipeline:
            pipe.popleft()
            pipe.append(acc_now)
    return out


def _tap_words(spec: CoreSpec, c: int, rng) -> int:
    """Channel c's k tap words packed (tap i at i * (S + 2)), per the documented layout; a zero tap
    carries random amount and sign bits (the zero flag alone decides)."""
    S = max(1, (spec.exp_max - spec.exp_min).bit_length())
    word = 0
    for i, e in enumerate(spec.shift[c]):
        if e is None:
            t = int(rng.integers(0, spec.exp_max - spec.exp_min + 1)) | int(rng.integers(0, 2)) << S | 1 << (S + 1)
        else:
            t = (e - spec.exp_min) | int(spec.sign[c][i] < 0) << S
        word |= t << (i * (S + 2))
    return word


def _simulate_lane(spec: CoreSpec, c: int, runtime: bool, stimulus: list[dict], rng) -> list[tuple]:
    lane = ChannelLane(spec=spec, channel=None if runtime else c)
    top = _Harness(lane)
    got = []

    async def bench(ctx):
        if runtime:  # the weights of channel c, held for the whole run
            if spec.arith == "mac":
                width = spec.exp_max - spec.exp_min + 2
                ctx.set(lane.weight.as_value(), pack_fields([(v, width) for v in lane_weights(spec, c)])[0])
            else:
                ctx.set(lane.tap.as_value(), _tap_words(spec, c, rng))
            acc_w = spec.input_width + spec.exp_max - spec.exp_min + max(0, spec.order - 1).bit_length() + 1
            lo, hi = _signed_range(acc_w)
            ctx.set(lane.threshold, min(max(spec.threshold[c], lo), hi + 1))  # saturated, as documented
        for s in stimulus:
            ctx.set(lane.x, s["x"])
            ctx.set(lane.first, s["first"])
            ctx.set(lane.shift, s["shift"])
            ctx.set(lane.advance, s["advance"])
            ctx.set(top.rst, s["rst"])
            got.append((ctx.get(lane.acc), ctx.get(lane.spike)))
            await ctx.tick()

    _run(top, bench)
    return got


def _lane_stimulus(rng, spec: CoreSpec, cycles: int, *, extreme_p=0.25) -> list[dict]:
    """Beats as the core drives a lane: advance when the output is free (random stalls), shift when
    a valid beat is accepted; occasionally a shift without advance or the other way round. Sequences
    and resets are rare enough that the oldest tap reads real history."""
    first_p, rst_p = 1 / (3 * spec.delay_depth + 6), 1 / (4 * spec.delay_depth + 16)
    out = []
    for _ in range(cycles):
        advance = int(rng.random() < 0.75)
        shift = int(advance and rng.random() < 0.8) if rng.random() < 0.9 else int(rng.random() < 0.5)
        out.append({"x": _random_signed(rng, spec.input_width, extreme_p),
                    "first": int(rng.random() < first_p), "shift": shift, "advance": advance,
                    "rst": int(rng.random() < rst_p)})
    return out


def _lane_spec(rng, C, k, d, W, exp_min, exp_max, shift_rows=None, **optional) -> CoreSpec:
    spec = random_spec(rng, channels=C, order=k, dilation=d, input_width=W, exp_lo=exp_min,
                       exp_span=exp_max - exp_min, zero_tap_p=0.2, extreme_threshold_p=0.2, **optional)
    if shift_rows is not None:
        spec = spec.replace(shift=[list(r) for r in shift_rows])
    return spec


_LANE_SHAPES = {
    # name: (C, k, d, W, exp_min, exp_max, shift rows or None for random)
    "k1_same_exp": (2, 1, 1, 2, 0, 0, None),
    "k3_d2": (3, 3, 2, 4, -1, 2, None),
    "k4_same_exp": (2, 4, 1, 5, 3, 3, None),
    "k5_d3_zero_taps": (2, 5, 3, 6, -2, 3, [[None, 1, None, -2, 3], [None, None, 0, 2, None]]),
    "k8": (2, 8, 1, 3, 0, 4, None),
    "newest_tap_only": (1, 2, 4, 4, -1, 1, [[None, 1]]),
    "all_zero_taps": (1, 3, 2, 4, 0, 2, [[None, None, None]]),
}
_LANE_CASES = [(name, mode, pipeline)
               for name, shape in _LANE_SHAPES.items()
               for mode in ("constant-shift", "constant-mac", "runtime-shift", "runtime-mac")
               for pipeline in range(max(0, shape[1] - 1).bit_length() + 2)]  # every legal depth


@pytest.mark.parametrize("shape,mode,pipeline", _LANE_CASES)
def test_channel_lane_matches_contract(shape, mode, pipeline):
    C, k, d, W, lo, hi, rows = _LANE_SHAPES[shape]
    seed = 500 + 97 * list(_LANE_SHAPES).index(shape) + 7 * pipeline + len(mode)
    rng = np.random.default_rng(seed)
    weights, arith = mode.split("-")
    spec = _lane_spec(rng, C, k, d, W, lo, hi, rows, arith=arith, weights=weights, pipeline=pipeline)
    c = int(rng.integers(0, C))
    runtime = weights == "runtime"
    stimulus = _lane_stimulus(rng, spec, 150 + 20 * (k - 1) * d)
    assert_exercised(stimulus, spec.tap_delays, spec.delay_depth)
    expected = lane_model(spec, c, stimulus)
    got = _simulate_lane(spec, c, runtime, stimulus, rng)
    assert_same_sequence(f"(acc, spike) of channel {c}, spec {spec.to_dict()}", expected, got, stimulus)


@pytest.mark.parametrize("mode", ["constant-shift", "runtime-shift", "runtime-mac"])
def test_channel_lane_extreme_accumulator(mode):
    """All taps at the largest shift with one sign, inputs pinned at the most negative value (then the
    largest): the accumulator reaches the largest and smallest sums the taps can make, exactly, and
    the threshold sits at the top one."""
    weights, arith = mode.split("-")
    k, d, W, lo, hi = 4, 2, 4, -1, 2
    spec = CoreSpec(channels=2, order=k, dilation=d, input_width=W, exp_min=lo, exp_max=hi,
                    shift=[[hi] * k] * 2, sign=[[-1] * k, [1] * k], threshold=[k << (W - 1 + hi - lo), 0],
                    weights=weights, arith=arith, pipeline=2)
    xmin, xmax = _signed_range(W)
    beat = lambda x, first=0: {"x": x, "first": first, "shift": 1, "advance": 1, "rst": 0}  # noqa: E731
    stimulus = ([beat(xmin, 1)] + [beat(xmin)] * 10 + [beat(xmax, 1)] + [beat(xmax)] * 10)
    rng = np.random.default_rng(9)
    for c in range(2):
        expected = lane_model(spec, c, stimulus)
        accs = [e[0] for e in expected if e[0] is not None]
        top = (-1 if c == 0 else 1) * k * xmin << (hi - lo)
        assert top in accs and -top + (k << (hi - lo)) * (1 if c == 0 else -1) in accs  # the range ends
        got = _simulate_lane(spec, c, weights == "runtime", stimulus, rng)
        assert_same_sequence(f"(acc, spike) of channel {c}", expected, got, stimulus)
