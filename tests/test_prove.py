"""Formal proofs (``shiftpsn prove``, sim/formal.py, docs/CONTRACT.md section 6).

Healthy cores prove; every fault of sim/faults.py's set gives a counterexample that, replayed in cocotb,
shows the mismatch; a reference with a planted error fails (the checker can fail); the command's exit
codes. A representative subset runs in ``make test``; every fault and the larger cores are ``slow``.
"""

import json
import os
import time

import pytest

from conftest import assert_usage_error, run_cli
from shiftpsn.base.spec import CoreSpec
from shiftpsn.hdl.generate import generate
from shiftpsn.sim.cosim import RTLCore, generated_core
from shiftpsn.sim.faults import ENGINE_FAULTS, FAULTS
from shiftpsn.sim.formal import miter_verilog, prove, prove_equivalence, replay


def small_spec(**changes) -> CoreSpec:
    """fault_spec's qualities at a provable size: C=2, k=3, d=2, 4-bit inputs, exponents [-1, 2];
    large shifts beside a weight of 1, a negative oldest tap, a zero tap, odd and negative thresholds."""
    spec = CoreSpec(channels=2, order=3, dilation=2, input_width=4, exp_min=-1, exp_max=2,
                    shift=[[2, 2, -1], [1, None, 0]], sign=[[-1, 1, 1], [1, 1, -1]], threshold=[13, -7],
                    weights="runtime", name="fcore")
    return spec.replace(**changes) if changes else spec


def carry_spec() -> CoreSpec:
    """k = 4 (a balanced adder tree: the dropped-carry fault needs its final adder)."""
    return CoreSpec(channels=1, order=4, dilation=1, input_width=4, exp_min=-1, exp_max=2, shift=[[2, 2, -1, 2]],
                    sign=[[-1, 1, 1, 1]], threshold=[13], weights="runtime", name="fcore")


def engine_spec(**changes) -> CoreSpec:
    """A time-multiplexed engine: 2 channels x 2 positions in 2 lanes (2 beats per time step), k=2, d=1,
    3-bit inputs; named like engine_fault_spec so that sim/faults.py's engine faults apply."""
    spec = CoreSpec(channels=2, order=2, dilation=1, input_width=3, exp_min=0, exp_max=1, shift=[[1, 0], [0, None]],
                    sign=[[-1, 1], [1, -1]], threshold=[3, -1], weights="runtime", name="fault_engine",
                    positions=2, lanes=2)
    return spec.replace(**changes) if changes else spec


_GENERATED = {}


def faulty_core(fault, spec: CoreSpec) -> RTLCore:
    """``fault`` applied to the Verilog generated from ``spec`` (its power-up weights are the spec's)."""
    if spec not in _GENERATED:
        _GENERATED[spec] = generate(spec).verilog
    return RTLCore(fault.apply(_GENERATED[spec]), spec.name, spec, source=f"fault {fault.name}")


FAULT = {f.name: f for f in FAULTS}
#: the fault set's members in make test (the rest are slow): stream, first/reset, configuration; the CLI
#: test catches comparator_gt and the replay test lost_beat_under_stall
FAST_FAULTS = ("duplicated_beat", "reset_keeps_history", "config_write_lost", "first_flag_dropped")
FAST_ELSEWHERE = ("comparator_gt", "lost_beat_under_stall")


# ------------------------------------------------------------------------------ healthy cores prove
@pytest.mark.parametrize("changes", [{}, {"weights": "constant", "pipeline": 1}],
                         ids=["runtime", "constant-pipeline1"])
def test_healthy_core_proves(tmp_path, changes):
    spec = small_spec(**changes)
    t0 = time.perf_counter()
    result = prove(generated_core(spec), writes=1, output_dir=tmp_path)
    assert result.status == "pass", result.summary()
    modes = [d["mode"] for d in result.detail]
    assert modes == (["stream", "weights"] if spec.weights == "runtime" else ["stream"])
    assert result.depth >= spec.delay_depth + 1 + spec.pipeline + 1
    print(f"{changes}: {time.perf_counter() - t0:.1f} s {result.detail}")


@pytest.mark.slow
@pytest.mark.parametrize("changes", [
    {"channels": 3, "shift": [[2, 2, -1], [1, None, 0], [0, 1, 2]], "sign": [[-1, 1, 1], [1, 1, -1], [1, -1, 1]],
     "threshold": [13, -7, 0], "pipeline": 1},
    {"pipeline": 3},
    {"weights": "constant", "pipeline": 2},
    {"arith": "mac"},
    {"weights": "constant", "arith": "mac", "pipeline": 1},
    {"emit_acc": False},
    {"positions": 2},
    {},
], ids=["C3-pipeline1", "pipeline3", "constant-pipeline2", "mac", "constant-mac", "no-acc", "positions2",
        "runtime-writes2"])
def test_healthy_core_proves_slow(tmp_path, changes):
    spec = small_spec(**changes)
    result = prove(generated_core(spec), output_dir=tmp_path)
    assert result.status == "pass", result.summary()


def test_shift_core_equals_mac_core(tmp_path):
    """Power-up weights under any traffic (the weights proof of the equivalence is slow)."""
    result = prove_equivalence(small_spec(pipeline=1), writes=0, output_dir=tmp_path)
    assert result.status == "pass", result.summary()


@pytest.mark.slow
def test_shift_core_equals_mac_core_any_weights(tmp_path):
    result = prove_equivalence(small_spec(pipeline=1), writes=2, output_dir=tmp_path)
    assert result.status == "pass", result.summary()


@pytest.mark.slow
def test_mac_core_differs_when_broken(tmp_path):
    """The equivalence check can fail: a shift core with a fault is not the mac core."""
    spec = small_spec()
    result = prove_equivalence(spec, writes=0, output_dir=tmp_path, top=spec.name,
                               verilog=FAULT["comparator_gt"].apply(generate(spec).verilog))
    assert result.status == "fail" and result.assertion == "a_equal"


# ------------------------------------------------------------------------------ faults are caught
def _check_fault(name: str, tmp_path) -> None:
    fault = FAULT[name]
    spec = carry_spec() if name == "dropped_carry" else small_spec()
    t0 = time.perf_counter()
    result = prove(faulty_core(fault, spec), writes=1, output_dir=tmp_path)
    seconds = time.perf_counter() - t0
    assert result.status == "fail", f"{name}: no counterexample ({result.summary()})"
    assert result.vcd.is_file() and result.beats.is_file()
    table = json.loads(result.beats.read_text())
    assert table["assertion"] == result.assertion and table["cycles"]
    print(f"{name}: counterexample at cycle {result.step} ({result.assertion}, {result.kind}) in {seconds:.1f} s")


@pytest.mark.parametrize("name", FAST_FAULTS)
def test_fault_gives_counterexample(tmp_path, name):
    _check_fault(name, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", [f.name for f in FAULTS if f.name not in FAST_FAULTS + FAST_ELSEWHERE])
def test_fault_gives_counterexample_slow(tmp_path, name):
    _check_fault(name, tmp_path)


def _replay_shows_mismatch(name: str, tmp_path) -> None:
    spec = carry_spec() if name == "dropped_carry" else small_spec()
    core = faulty_core(FAULT[name], spec)
    result = prove(core, writes=1, output_dir=tmp_path)
    assert result.status == "fail"
    outcome = replay(core, json.loads(result.beats.read_text()))
    assert outcome.mismatch is not None, f"{name}: the replay in cocotb matched the golden model"


def test_counterexample_replays_in_cocotb(tmp_path):
    _replay_shows_mismatch("lost_beat_under_stall", tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", [f.name for f in FAULTS if f.name != "lost_beat_under_stall"])
def test_counterexample_replays_in_cocotb_slow(tmp_path, name):
    _replay_shows_mismatch(name, tmp_path)


@pytest.mark.slow
def test_replayed_healthy_beats_match(tmp_path):
    """The replay itself is no false alarm: the counterexample beats of a fault run clean on a healthy core."""
    spec = small_spec()
    result = prove(faulty_core(FAULT["comparator_gt"], spec), writes=0, output_dir=tmp_path)
    outcome = replay(generated_core(spec), json.loads(result.beats.read_text()))
    assert outcome.mismatch is None


# ------------------------------------------------------------------------------ engines (lanes < P*C)
ENGINE_FAULT = {f.name: f for f in ENGINE_FAULTS}
#: lanes_swapped edits a payload of at least 3 lanes of 8 bits (engine_fault_spec's); not at this size
ENGINE_FAULTS_HERE = ("history_wrong_address", "history_write_hazard", "one_history_kept_on_first",
                      "beat_counter_off_by_one")


@pytest.mark.parametrize("weights", ["runtime", "constant"])
def test_healthy_engine_proves(tmp_path, weights):
    spec = engine_spec(weights=weights)
    result = prove(generated_core(spec), writes=1, output_dir=tmp_path)
    assert result.status == "pass", result.summary()
    assert result.depth >= spec.beats_per_step * (spec.delay_depth + 1)


@pytest.mark.parametrize("name", ENGINE_FAULTS_HERE[:2])
def test_engine_fault_gives_counterexample(tmp_path, name):
    result = prove(faulty_core(ENGINE_FAULT[name], engine_spec()), writes=0, output_dir=tmp_path)
    assert result.status == "fail", f"{name}: no counterexample"


def wide_engine_spec() -> CoreSpec:
    """3 lanes of 8-bit inputs (what lanes_swapped edits): 1 channel x 6 positions, 2 beats per step."""
    return CoreSpec(channels=1, order=2, dilation=1, input_width=8, exp_min=0, exp_max=1, shift=[[1, 0]],
                    sign=[[-1, 1]], threshold=[3], weights="runtime", name="fault_engine", positions=6, lanes=3)


@pytest.mark.slow
@pytest.mark.parametrize("name", ENGINE_FAULTS_HERE + ("lanes_swapped",))
def test_engine_fault_replays_in_cocotb(tmp_path, name):
    if name == "beat_counter_off_by_one":
        pytest.xfail("known gap: its counterexample (a sequence started by rst alone, no first) replays clean "
                     "in cocotb; formal.replay does not yet reproduce it")
    spec = wide_engine_spec() if name == "lanes_swapped" else engine_spec()
    core = faulty_core(ENGINE_FAULT[name], spec)
    result = prove(core, writes=0, output_dir=tmp_path)
    assert result.status == "fail", f"{name}: no counterexample"
    outcome = replay(core, json.loads(result.beats.read_text()))
    assert outcome.mismatch is not None, f"{name}: the replay in cocotb matched the golden model"


# ------------------------------------------------------------------------------ the checker can fail
@pytest.mark.parametrize("error", ["tap", "threshold"])
def test_planted_reference_error_fails(tmp_path, error):
    spec = small_spec(weights="constant")
    result = prove(generated_core(spec), output_dir=tmp_path, reference_error=error)
    assert result.status == "fail" and result.assertion == "a_data"


def test_miter_names_every_check():
    text = miter_verilog(small_spec(), "fcore", "weights")
    for label in ("a_data", "a_spurious", "a_capacity", "a_progress", "a_hold", "a_throughput", "a_range_0"):
        assert f"{label}: assert" in text
    assert "cfg_we" in text and "assume(rst)" in text


# ------------------------------------------------------------------------------ the command
def test_cli_pass_and_counterexample(tmp_path):
    spec = small_spec(weights="constant")
    spec.save(tmp_path / "spec.json")
    proc = run_cli("prove", "--spec", tmp_path / "spec.json", "--output-dir", tmp_path / "ok")
    assert proc.returncode == 0, proc.stderr
    assert "PASS" in proc.stdout and "stream proof to depth" in proc.stdout
    runtime = small_spec()
    runtime.save(tmp_path / "runtime.json")
    faulty = tmp_path / "fault.v"
    faulty.write_text(FAULT["comparator_gt"].apply(generate(runtime).verilog))
    proc = run_cli("prove", "--spec", tmp_path / "runtime.json", "--verilog", faulty, "--writes", "0",
                   "--output-dir", tmp_path / "bad")
    assert proc.returncode == 1, proc.stderr
    err = proc.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "counterexample" in err and "a_data" in err
    assert (tmp_path / "bad" / "counterexample.vcd").is_file() and (tmp_path / "bad" / "counterexample.json").is_file()
    assert str(tmp_path / "bad" / "counterexample.vcd") in err


def test_cli_bad_input(tmp_path):
    spec = small_spec(weights="constant")
    spec.save(tmp_path / "spec.json")
    assert_usage_error(run_cli("prove", "--spec", tmp_path / "missing.json"), "missing.json")
    assert_usage_error(run_cli("prove", "--spec", tmp_path / "spec.json", "--depth", "0"), "--depth")
    assert_usage_error(run_cli("prove", "--spec", tmp_path / "spec.json", "--verilog", tmp_path / "no.v",
                               "--output-dir", tmp_path / "o"), "no.v")
    assert_usage_error(run_cli("prove", "--spec", tmp_path / "spec.json", "--writes", "-1"), "--writes")


def test_cli_missing_tool(tmp_path):
    spec = small_spec(weights="constant")
    spec.save(tmp_path / "spec.json")
    env = dict(os.environ, SHIFTPSN_TOOLS_FROM_PATH="1", PATH="/nonexistent")
    proc = run_cli("prove", "--spec", tmp_path / "spec.json", "--output-dir", tmp_path / "o", env=env)
    assert_usage_error(proc, "not found; install it with")


@pytest.mark.slow
def test_induction_is_reported(tmp_path):
    """--induction says whether k-induction closes; for generated cores it does not (an unreachable start
    state of the scoreboard and the pipeline that disagree survives any number of stalled cycles)."""
    spec = small_spec(weights="constant")
    spec.save(tmp_path / "spec.json")
    proc = run_cli("prove", "--spec", tmp_path / "spec.json", "--induction", "--output-dir", tmp_path / "o")
    assert proc.returncode == 0, proc.stderr
    assert "k-induction did not close" in proc.stdout or "k-induction closed" in proc.stdout
