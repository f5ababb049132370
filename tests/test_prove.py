"""Formal proofs (``shiftpsn prove``, sim/formal*.py, docs/CONTRACT.md section 6).

Healthy cores prove, with the power-up weights and (runtime weights) with solver-chosen weights loaded
through the configuration port, under any traffic; every fault of sim/faults.py's sets gives a
counterexample that, replayed in cocotb cycle by cycle, shows the mismatch with the golden model; a
reference with a planted error fails (the checker can fail); the command's exit codes. A representative
subset runs in ``make test``; every fault and the larger cores are ``slow``.
"""

import json
import os
import time

import pytest

from conftest import assert_usage_error, run_cli
from shiftpsn.base.spec import CoreSpec
from shiftpsn.hdl.generate import generate
from shiftpsn.sim.cosim import RTLDesign, rtl_design
from shiftpsn.sim.cosim import generated as generated_core
from shiftpsn.sim.faults import ENGINE_FAULTS, FAULTS
from shiftpsn.sim.formal import miter_verilog, prove, prove_equivalence, replay, weights_depth
from shiftpsn.sim.formal_replay import check_replay


def small_spec(**changes) -> CoreSpec:
    """fault_spec's qualities at a provable size: C=2, k=3, d=2, 4-bit inputs, exponents [-1, 2];
    large shifts beside a weight of 1, a negative oldest tap, a zero tap, odd and negative thresholds."""
    spec = CoreSpec(channels=2, order=3, dilation=2, input_width=4, exp_min=-1, exp_max=2,
                    shift=[[2, 2, -1], [1, None, 0]], sign=[[-1, 1, 1], [1, 1, -1]], threshold=[13, -7],
                    weights="runtime", name="fcore")
    return spec.replace(**changes) if changes else spec


def load_spec(**changes) -> CoreSpec:
    """A runtime core whose proof with solver-chosen weights takes seconds: C=2, k=2, d=1, 3-bit inputs."""
    spec = small_spec(order=2, dilation=1, input_width=3, shift=[[2, -1], [1, 0]], sign=[[-1, 1], [1, -1]],
                      threshold=[5, -3])
    return spec.replace(**changes) if changes else spec


def tiny_spec(**changes) -> CoreSpec:
    """1 channel, k=2, d=1, 2-bit inputs: a bounded weights proof of seconds."""
    spec = load_spec(channels=1, input_width=2, shift=[[2, -1]], sign=[[-1, 1]], threshold=[5])
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


def tiny_engine_spec() -> CoreSpec:
    """The smallest engine: 1 channel x 2 positions in 1 lane (its weights proof takes about half a minute)."""
    return engine_spec(channels=1, positions=2, lanes=1, shift=[[1, 0]], sign=[[-1, 1]], threshold=[2])


def wide_engine_spec() -> CoreSpec:
    """3 lanes of 8-bit inputs (what lanes_swapped edits): 1 channel x 6 positions, 2 beats per step."""
    return CoreSpec(channels=1, order=2, dilation=1, input_width=8, exp_min=0, exp_max=1, shift=[[1, 0]],
                    sign=[[-1, 1]], threshold=[3], weights="runtime", name="fault_engine", positions=6, lanes=3)


_GENERATED = {}


def faulty_core(fault, spec: CoreSpec) -> RTLDesign:
    """``fault`` applied to the Verilog generated from ``spec`` (its power-up weights are the spec's)."""
    if spec not in _GENERATED:
        _GENERATED[spec] = generate(spec).verilog
    return rtl_design(fault.apply(_GENERATED[spec]), spec.name, spec, source=f"fault {fault.name}")


FAULT = {f.name: f for f in FAULTS}
ENGINE_FAULT = {f.name: f for f in ENGINE_FAULTS}


def fault_case(name: str) -> tuple[RTLDesign, int]:
    """The faulty core of fault ``name`` at a provable size and the weight loads its proof needs (a lost
    configuration write shows only when weights are written: the weights proof)."""
    if name in ENGINE_FAULT:
        return faulty_core(ENGINE_FAULT[name], wide_engine_spec() if name == "lanes_swapped" else engine_spec()), 0
    if name == "config_write_lost":
        return faulty_core(FAULT[name], tiny_spec()), 1
    return faulty_core(FAULT[name], carry_spec() if name == "dropped_carry" else small_spec()), 0


def _counterexample_replays(name: str, tmp_path) -> None:
    """``prove`` finds a counterexample (waveform and beat table written) and the counterexample,
    replayed in cocotb cycle by cycle, differs from the golden model."""
    core, loads = fault_case(name)
    t0 = time.perf_counter()
    result = prove(core, loads=loads, output_dir=tmp_path)
    seconds = time.perf_counter() - t0
    assert result.status == "fail", f"{name}: no counterexample ({result.summary()})"
    assert result.vcd.is_file() and result.beats.is_file()
    table = json.loads(result.beats.read_text())
    assert table["assertion"] == result.assertion and table["cycles"]
    outcome = replay(core, table)
    assert outcome.mismatch is not None, f"{name}: the replay in cocotb matched the golden model"
    print(f"{name}: {result.assertion} at cycle {result.step} ({result.kind}, {seconds:.1f} s); "
          f"replay: {outcome.mismatch}")


# ------------------------------------------------------------------------------ healthy cores prove
@pytest.mark.parametrize("spec", [small_spec(), small_spec(weights="constant", pipeline=1), engine_spec(),
                                  engine_spec(weights="constant")],
                         ids=["runtime-powerup", "constant-pipeline1", "engine-runtime-powerup", "engine-constant"])
def test_healthy_core_proves_stream(tmp_path, spec):
    """Any traffic with the power-up weights (the weights proof skipped: loads=0)."""
    result = prove(generated_core(spec), loads=0, output_dir=tmp_path)
    assert result.status == "pass", result.summary()
    assert [d["mode"] for d in result.detail] == ["stream"]
    assert result.depth >= spec.beats_per_step * (spec.delay_depth + 1) + 1


@pytest.mark.parametrize("loads, spec", [(1, small_spec()), (2, small_spec(
    channels=3, shift=[[2, 2, -1], [1, None, 0], [0, 1, 2]], sign=[[-1, 1, 1], [1, 1, -1], [1, -1, 1]],
    threshold=[13, -7, 0], pipeline=1))], ids=["C2-pipeline0", "C3-pipeline1-reload"])
def test_any_weights_prove_by_induction(tmp_path, loads, spec):
    """The parallel core (at most one pipeline register) at the issue's largest test size (C <= 3, k=3,
    d=2, 4-bit inputs): solver-chosen weights written through the configuration port (twice: the second
    set between beats, histories kept), then any traffic, at every depth (k-induction with the
    invariants of formal_miter.induction_invariants)."""
    result = prove(generated_core(spec), loads=loads, output_dir=tmp_path)
    assert result.status == "pass", result.summary()
    assert [(d["mode"], d["method"], d["status"]) for d in result.detail] == [
        ("stream", "bmc", "pass"), ("weights", "k-induction", "pass")]
    print(result.detail)


@pytest.mark.parametrize("spec", [pytest.param(load_spec(pipeline=2), marks=pytest.mark.slow), tiny_engine_spec()],
                         ids=["pipeline2", "engine"])
def test_any_weights_prove_bounded(tmp_path, spec):
    """Cores without invariants (two pipeline registers, the engine): the weights proof is bounded, over
    each load and a whole history after it (half a minute each here)."""
    result = prove(generated_core(spec), loads=1, output_dir=tmp_path)
    assert result.status == "pass", result.summary()
    assert [(d["mode"], d["method"]) for d in result.detail] == [("stream", "bmc"), ("weights", "bmc")]
    assert result.detail[1]["depth"] == weights_depth(spec, 1) >= 1 + spec.cfg_words + spec.delay_depth + 1
    print(result.detail)


@pytest.mark.slow
def test_reloaded_weights_prove_bounded(tmp_path):
    """Two weight sets by BMC (pipeline 2: no invariants), the second written between beats."""
    spec = tiny_spec(pipeline=2)
    result = prove(generated_core(spec), loads=2, output_dir=tmp_path)
    assert result.status == "pass", result.summary()
    assert result.detail[1]["depth"] == weights_depth(spec, 2)


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
], ids=["C3-pipeline1", "pipeline3", "constant-pipeline2", "mac", "constant-mac", "no-acc", "positions2"])
def test_healthy_core_proves_slow(tmp_path, changes):
    spec = small_spec(**changes)
    result = prove(generated_core(spec), loads=0, output_dir=tmp_path)
    assert result.status == "pass", result.summary()


@pytest.mark.slow
@pytest.mark.parametrize("spec", [engine_spec()], ids=["engine-2x2"])
def test_any_weights_prove_slow(tmp_path, spec):
    """An engine of 4 neurons in 2 lanes by BMC (4-6 minutes here; C=2, k=3, d=2 with 2 pipeline registers,
    bounded, ran past 13 minutes)."""
    result = prove(generated_core(spec), loads=1, output_dir=tmp_path)
    assert result.status == "pass", result.summary()


def test_shift_core_equals_mac_core(tmp_path):
    """Power-up weights under any traffic."""
    result = prove_equivalence(small_spec(pipeline=1), loads=0, output_dir=tmp_path)
    assert result.status == "pass", result.summary()


@pytest.mark.slow
def test_shift_core_equals_mac_core_any_weights(tmp_path):
    result = prove_equivalence(load_spec(pipeline=1), loads=1, output_dir=tmp_path)
    assert result.status == "pass", result.summary()


@pytest.mark.slow
def test_mac_core_differs_when_broken(tmp_path):
    """The equivalence check can fail: a shift core with a fault is not the mac core."""
    spec = small_spec()
    result = prove_equivalence(spec, loads=0, output_dir=tmp_path, top=spec.name,
                               verilog=FAULT["comparator_gt"].apply(generate(spec).verilog))
    assert result.status == "fail" and result.assertion == "a_equal"


# ------------------------------------------------------------------------------ faults are caught and replay
#: in make test: a stall, a reset, a lost configuration write (the weights proof) and the engine fault
#: whose counterexample the earlier, beat-regrouping replay ran clean
FAST_FAULTS = ("lost_beat_under_stall", "reset_keeps_history", "config_write_lost", "beat_counter_off_by_one")


@pytest.mark.parametrize("name", FAST_FAULTS)
def test_counterexample_replays_in_cocotb(tmp_path, name):
    _counterexample_replays(name, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", [f.name for f in FAULTS + ENGINE_FAULTS if f.name not in FAST_FAULTS])
def test_counterexample_replays_in_cocotb_slow(tmp_path, name):
    _counterexample_replays(name, tmp_path)


def test_replayed_counterexample_matches_on_healthy_core(tmp_path):
    """The replay is no false alarm: a fault's counterexample inputs run clean on the healthy core."""
    spec = engine_spec()
    result = prove(faulty_core(ENGINE_FAULT["beat_counter_off_by_one"], spec), loads=0, output_dir=tmp_path)
    assert result.status == "fail"
    outcome = replay(generated_core(spec), json.loads(result.beats.read_text()))
    assert outcome.mismatch is None, str(outcome.mismatch)
    assert outcome.beats_in >= 2 and outcome.beats_out == outcome.beats_in


def test_replay_verdict_sees_each_rule():
    """check_replay (the verdict after the simulation) reports a changed stalled beat, a missing beat and
    an extra one, on hand-made records of a 1-channel core."""
    spec = tiny_spec(input_width=3, weights="constant")
    beat = {"rst": 0, "i_valid": 1, "payload": 0b1_001, "o_ready": 1}  # x = 1, first
    idle = {"rst": 0, "i_valid": 0, "payload": 0, "o_ready": 1}
    # weights -8 (delay 1), 1 (delay 0): acc = 1 < 5, no spike; output: spikes bit 0, first bit 1, acc from bit 2
    A = spec.acc_width
    word = (1 << 2) | 0b10
    out = format(word, f"0{A + 2}b")
    rec = lambda ready, valid, payload=out: {"i_ready": ready, "o_valid": valid, "o_payload": payload}  # noqa: E731
    assert check_replay(spec, [beat, idle], [rec("1", "0"), rec("1", "1")]).mismatch is None
    assert check_replay(spec, [beat, idle], [rec("1", "0"), rec("1", "0")]).mismatch.check == "missing"
    assert check_replay(spec, [idle, idle], [rec("1", "0"), rec("1", "1")]).mismatch.check == "extra"
    stalled = dict(idle, o_ready=0)
    bad = format(word ^ 1, f"0{A + 2}b")
    m = check_replay(spec, [beat, stalled, idle], [rec("1", "0"), rec("1", "1"), rec("1", "1", bad)]).mismatch
    assert m.check == "hold"
    m = check_replay(spec, [beat, idle], [rec("1", "0"), rec("1", "1", bad)]).mismatch
    assert m.check == "data" and m.expected == {"spikes": [0], "first": 1, "acc": [1]} and m.got["spikes"] == [1]


# ------------------------------------------------------------------------------ the checker can fail
@pytest.mark.parametrize("error", ["tap", "threshold"])
def test_planted_reference_error_fails(tmp_path, error):
    spec = small_spec(weights="constant")
    result = prove(generated_core(spec), output_dir=tmp_path, reference_error=error)
    assert result.status == "fail" and result.assertion == "a_data"


def test_miter_names_every_check():
    text = miter_verilog(small_spec(), "fcore", "weights", loads=2)
    for label in ("a_data", "a_spurious", "a_capacity", "a_progress", "a_hold", "a_throughput", "a_range_0"):
        assert f"{label}: assert" in text
    assert "(* anyconst *) reg" in text and "cw1_0" in text and "assume(rst)" in text


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
    proc = run_cli("prove", "--spec", tmp_path / "runtime.json", "--verilog", faulty, "--loads", "0",
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
    assert_usage_error(run_cli("prove", "--spec", tmp_path / "spec.json", "--loads", "-1"), "--loads")


def test_cli_missing_tool(tmp_path):
    spec = small_spec(weights="constant")
    spec.save(tmp_path / "spec.json")
    env = dict(os.environ, SHIFTPSN_TOOLS_FROM_PATH="1", PATH="/nonexistent")
    proc = run_cli("prove", "--spec", tmp_path / "spec.json", "--output-dir", tmp_path / "o", env=env)
    assert_usage_error(proc, "not found; install it with")


# ------------------------------------------------------------------------------ k-induction
@pytest.mark.parametrize("weights, pipeline", [("constant", 0), pytest.param("runtime", 1, marks=pytest.mark.slow)])
def test_induction_closes(tmp_path, weights, pipeline):
    """The parallel core with at most one pipeline register: the invariants tie its delay lines, stage and
    output registers and weight registers to the reference, and the stream proof holds at every depth."""
    result = prove(generated_core(small_spec(weights=weights, pipeline=pipeline)), loads=0, induction=True,
                   output_dir=tmp_path)
    assert result.status == "pass" and result.induction == "closed", result.summary()


def test_induction_invariants_can_fail(tmp_path, monkeypatch):
    """The invariants name the core's real registers: a wrong one (two history slots swapped) fails from
    reset, so induction does not close."""
    import shiftpsn.sim.formal as formal

    real = formal.induction_invariants

    def swapped(spec, **kw):
        lines, probes = real(spec, **kw)
        return [ln.replace("{h0_4, h0_3,", "{h0_3, h0_4,") for ln in lines], probes

    monkeypatch.setattr(formal, "induction_invariants", swapped)
    result = prove(generated_core(small_spec(weights="constant", pipeline=0)), loads=0, induction=True,
                   output_dir=tmp_path)
    assert result.induction == "open" and "inv_line_0 fails from reset" in result.induction_note


@pytest.mark.slow
@pytest.mark.parametrize("pipeline", [0, 2])
def test_induction_is_reported(tmp_path, pipeline):
    """--induction says whether k-induction closes, and why not (no invariants for two pipeline registers)."""
    spec = small_spec(weights="constant", pipeline=pipeline)
    spec.save(tmp_path / "spec.json")
    proc = run_cli("prove", "--spec", tmp_path / "spec.json", "--induction", "--output-dir", tmp_path / "o")
    assert proc.returncode == 0, proc.stderr
    if pipeline == 0:
        assert "k-induction closed" in proc.stdout
    else:
        assert "k-induction did not close (no invariants known for this core; the step case fails a_" in proc.stdout
