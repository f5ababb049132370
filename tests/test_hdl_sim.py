"""The Amaranth core against the golden integer model, bit for bit, in Amaranth's simulator.

Random specs (shiftpsn.base.testing.random_spec) cover both weight modes, both arithmetics, every legal
pipeline depth, zero taps, extreme thresholds and inputs, random valid gaps and ready stalls, and
several sequences back to back. Runtime cores are generated from a spec with *other* weights and
loaded with the real ones through cfg__*.
"""

import numpy as np
import pytest

from shiftpsn.golden.integer import run as golden_run
from shiftpsn.hdl.core import ShiftPSNCore
from shiftpsn.hdl.simulator import simulate_amaranth
from shiftpsn.base.spec import CoreSpec, uniform_spec
from shiftpsn.base.stimulus import random_stimulus
from shiftpsn.base.testing import random_spec


def _other_weights(spec: CoreSpec, rng) -> CoreSpec:
    """Same sizes as ``spec``, different (random) weights: what a runtime core is generated from."""
    while True:
        other = random_spec(rng, channels=spec.channels, order=spec.order, dilation=spec.dilation,
                            input_width=spec.input_width, exp_lo=spec.exp_min,
                            exp_span=spec.exp_max - spec.exp_min)
        other = spec.replace(shift=[list(r) for r in other.shift], sign=[list(r) for r in other.sign],
                             threshold=list(other.threshold))
        if other.config_words() != spec.config_words() or spec.channels * spec.order == 1:
            return other


def assert_same(spec: CoreSpec, x: np.ndarray, got: dict) -> None:
    """Whole arrays equal to shiftpsn.golden.integer.run; name the first mismatch as (seq, t, c, expected, got)."""
    spikes, acc = golden_run(spec, x)
    assert got["first"].tolist() == [[t == 0 for t in range(x.shape[1])]] * x.shape[0] \
        or not got["first"][:, 1:].any(), "first flag not passed along"
    checks = [("spikes", spikes, got["spikes"])] + ([("acc", acc, got["acc"])] if spec.emit_acc else [])
    for name, expected, actual in checks:
        assert actual.shape == expected.shape, (name, actual.shape, expected.shape)
        bad = np.argwhere(actual != expected)
        if len(bad):
            b, t, c = (int(v) for v in bad[0])
            pytest.fail(f"{name} mismatch at (seq, t, c) = ({b}, {t}, {c}): expected "
                        f"{expected[b, t, c]}, got {actual[b, t, c]} ({len(bad)} mismatches; spec {spec.to_dict()})")


def run_core(spec: CoreSpec, x: np.ndarray, rng, **kwargs) -> dict:
    """Simulate a core for ``spec``; a runtime one is built from other weights and loaded."""
    if spec.weights == "runtime":
        core = ShiftPSNCore(spec=_other_weights(spec, rng))
        return simulate_amaranth(core, x, load=spec, rng=rng, **kwargs)
    return simulate_amaranth(ShiftPSNCore(spec=spec), x, rng=rng, **kwargs)


@pytest.mark.parametrize("seed", range(120))
def test_random_specs_match_golden(seed):
    rng = np.random.default_rng(1000 + seed)
    weights = ("runtime", "constant")[seed % 2]
    arith = ("shift", "mac")[(seed // 2) % 2]
    spec = random_spec(rng, weights=weights, arith=arith, emit_acc=bool(seed % 7))
    spec = spec.replace(pipeline=seed % (spec.max_pipeline + 1))
    x = random_stimulus(spec, rng, batch=3, steps=int(rng.integers(4, 17)), extreme_fraction=0.25)
    got = run_core(spec, x, rng, valid_p=float(rng.uniform(0.4, 1.0)), ready_p=float(rng.uniform(0.3, 1.0)))
    assert_same(spec, x, got)


@pytest.mark.parametrize("weights", ["runtime", "constant"])
@pytest.mark.parametrize("arith", ["shift", "mac"])
def test_extreme_inputs_and_weights(weights, arith):
    """All taps at the largest shift with one sign, inputs pinned at input_min / input_max:
    the accumulator reaches both ends of its range (and the thresholds sit at its edges)."""
    rng = np.random.default_rng(7)
    C, k, W, lo, hi = 4, 8, 6, -3, 2
    sign = [[1] * k, [-1] * k, [1, -1] * (k // 2), [-1] * k]
    spec = CoreSpec(channels=C, order=k, dilation=2, input_width=W, exp_min=lo, exp_max=hi,
                    shift=[[hi] * k] * C, sign=sign, weights=weights, arith=arith, pipeline=2,
                    threshold=[-(1 << 40), 1 << 40, 0, (k << (W - 1 + hi - lo))])
    steps = 2 * (k - 1) * 2 + 3
    x = np.empty((4, steps, C), dtype=np.int64)
    x[0], x[1] = spec.input_min, spec.input_max
    x[2] = np.where(np.arange(steps)[:, None] % 2, spec.input_min, spec.input_max)
    x[3] = rng.choice([spec.input_min, spec.input_max], size=(steps, C))
    acc = golden_run(spec, x)[1]
    assert acc.max() == k << (W - 1 + hi - lo) and acc.min() == -(k << (W - 1 + hi - lo)) + (k << (hi - lo)) \
        or acc.min() < -(1 << (W + hi - lo))  # both ends of the range really are exercised
    assert_same(spec, x, run_core(spec, x, rng, valid_p=0.8, ready_p=0.7))


@pytest.mark.parametrize("weights", ["runtime", "constant"])
def test_first_flag_clears_history_back_to_back(weights):
    """Sequences back to back at full rate: each first beat sees zero history."""
    rng = np.random.default_rng(3)
    spec = uniform_spec(channels=5, order=5, dilation=3, input_width=7, weights=weights, pipeline=3)
    x = random_stimulus(spec, rng, batch=5, steps=7)  # shorter than the delay line: history matters
    assert_same(spec, x, run_core(spec, x, rng))


@pytest.mark.parametrize("weights", ["runtime", "constant"])
def test_reset_clears_history_not_weights(weights):
    """rst between sequences (no first flag after it) empties the delay lines; loaded weights stay."""
    rng = np.random.default_rng(4)
    spec = random_spec(rng, channels=6, order=4, dilation=2, weights=weights, pipeline=1, zero_tap_p=0)
    x = random_stimulus(spec, rng, batch=3, steps=9)
    assert_same(spec, x, run_core(spec, x, rng, valid_p=0.7, ready_p=0.7, reset_between=True))


@pytest.mark.parametrize("pipeline", [0, 1, 2, 3, 4])
def test_latency_and_full_throughput(pipeline):
    """With valid and ready held high: one beat per cycle, each out exactly `latency` cycles after it
    went in (pipeline + 1, as CORE.json documents)."""
    rng = np.random.default_rng(5)
    spec = uniform_spec(channels=3, order=4, dilation=1, weights="constant", pipeline=pipeline)
    x = random_stimulus(spec, rng, batch=2, steps=10)
    core = ShiftPSNCore(spec=spec)
    got = simulate_amaranth(core, x, rng=rng)
    assert_same(spec, x, got)
    assert core.latency == pipeline + 1
    assert np.all(np.diff(got["in_cycles"]) == 1)
    assert np.all(got["out_cycles"] - got["in_cycles"] == pipeline + 1)


def test_heavy_backpressure_loses_nothing():
    rng = np.random.default_rng(6)
    spec = uniform_spec(channels=4, order=3, dilation=2, weights="runtime", arith="mac", pipeline=4)
    x = random_stimulus(spec, rng, batch=2, steps=15)
    assert_same(spec, x, run_core(spec, x, rng, valid_p=1.0, ready_p=0.15))


def test_runtime_core_powers_up_with_generating_weights():
    """Without any configuration write, a runtime core computes its generating spec."""
    rng = np.random.default_rng(8)
    spec = random_spec(rng, channels=5, order=6, dilation=2, weights="runtime", pipeline=2)
    x = random_stimulus(spec, rng, batch=2, steps=12)
    assert_same(spec, x, simulate_amaranth(ShiftPSNCore(spec=spec), x, rng=rng, valid_p=0.8, ready_p=0.8))


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")  # cores built only to ask depths
def test_constant_zero_taps_shorten_delay_lines():
    spec = CoreSpec(channels=3, order=4, dilation=3, input_width=4, exp_min=0, exp_max=1,
                    shift=[[None, 1, 0, None], [None, None, None, 0], [None] * 4],
                    sign=[[1] * 4] * 3, threshold=[1, 1, 1], weights="constant")
    core = ShiftPSNCore(spec=spec)
    assert core.depths == (6, 0, 0)
    assert core.storage_bits == 6 * 4
    assert ShiftPSNCore(spec=spec.replace(weights="runtime")).depths == (9, 9, 9)
    rng = np.random.default_rng(9)
    x = random_stimulus(spec, rng, batch=2, steps=14)
    assert_same(spec, x, simulate_amaranth(core, x, rng=rng, valid_p=0.6, ready_p=0.6))


def test_constructor_checks_its_arguments():
    with pytest.raises(TypeError, match="CoreSpec"):
        ShiftPSNCore(spec=uniform_spec().to_dict())
    with pytest.raises(ValueError, match="runtime"):
        ShiftPSNCore(spec=uniform_spec(weights="constant"), lane_module="lane")
