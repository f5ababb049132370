"""shiftpsn.synth.network: the place-and-route harness around a network's ports and the OpenSTA input
activities of a network streaming its test set (the synthesis itself runs in tests/test_flow.py)."""

import numpy as np

from shiftpsn.synth.harness import HARNESS_TOP, ports_harness_verilog
from shiftpsn.synth.network import input_activities, network_ports

DESC = {
    "top": "net",
    "ports": [{"name": "clk", "direction": "input", "width": 1}, {"name": "rst", "direction": "input", "width": 1},
              {"name": "i__valid", "direction": "input", "width": 1},
              {"name": "i__ready", "direction": "output", "width": 1},
              {"name": "i__payload", "direction": "input", "width": 6},
              {"name": "o__valid", "direction": "output", "width": 1},
              {"name": "o__ready", "direction": "input", "width": 1},
              {"name": "o__payload", "direction": "output", "width": 9}],
    # two 2-bit inputs at bits 0..3, first at 4, last at 5
    "input_payload": {"x": {"offset": 0, "width": 4, "count": 2, "per_element": 2, "signed": True},
                      "first": {"offset": 4, "width": 1}, "last": {"offset": 5, "width": 1}},
}


def test_network_ports_leave_out_the_clock():
    names = [n for n, _, _ in network_ports(DESC)]
    assert "clk" not in names and names[0] == "rst" and len(names) == 7


def test_harness_connects_every_port_of_the_network():
    text = ports_harness_verilog(network_ports(DESC), "net")
    assert f"module {HARNESS_TOP}(input clk, input sin, output sout);" in text
    for name in ("rst", "i__valid", "i__payload", "o__ready", "i__ready", "o__valid", "o__payload"):
        assert f".{name}(" in text
    assert "reg [8:0] chain;" in text  # 1 + 1 + 6 + 1 input bits
    assert "reg [10:0] x0;" in text  # 1 + 1 + 9 output bits


def test_input_activities_count_toggles_per_cycle():
    # one sequence of 3 steps; input 0 = -1, 0, -1 (two's complement 11, 00, 11); input 1 constant 1 (01)
    x = np.array([[[-1, 1], [0, 1], [-1, 1]]])
    acts = input_activities(DESC, x, cycles_per_step=4.0)
    # bits 0, 1 toggle twice over 3 steps: 2 / 3 per step, / 4 cycles per step
    assert acts["i__payload[0]"][0] == np.float64(2 / 3 / 4)
    assert acts["i__payload[1]"] == (2 / 3 / 4, 2 / 3)
    assert acts["i__payload[2]"] == (0.0, 1.0) and acts["i__payload[3]"] == (0.0, 0.0)
    assert acts["i__payload[4]"][1] == 1 / 3 and acts["i__payload[5]"][1] == 1 / 3  # first, last
    assert acts["i__valid"] == (0.0, 1.0) and acts["o__ready"] == (0.0, 1.0) and acts["rst"] == (0.0, 0.0)
    assert "clk" not in acts and "i__ready" not in acts


def test_synth_net_cli_writes_network_and_baseline_reports(tmp_path):
    """``shiftpsn synth --net`` on a tiny network: both variants synthesized, ratios = baseline / network,
    no multiplier in the shift network's iCE40 netlist."""
    import json as _json
    import subprocess as _sp
    import sys as _sys
    from pathlib import Path as _Path

    import numpy as _np

    from shiftpsn.base.testing import random_network

    net = random_network(_np.random.default_rng(3), hidden=(1, 1), width=(4, 4), inputs=(4, 4), outputs=(3, 3),
                         input_width=(4, 4), weight_bits=(4, 4), order=(2, 2), extreme_p=0.0)
    (tmp_path / "net.json").write_text(net.to_json())
    exe = str(_Path(_sys.executable).parent / "shiftpsn")
    r = _sp.run([exe, "synth", "--net", str(tmp_path / "net.json"), "--target", "ice40", "--baseline", "mac",
                 "--output-dir", str(tmp_path / "out"), "--quiet"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    rep = _json.loads((tmp_path / "out" / "report.json").read_text())
    assert rep["kind"] == "network" and rep["target"] == "ice40"
    assert rep["luts"] > 0 and rep["baseline"]["luts"] > 0
    assert rep["ratio"]["luts"] == rep["baseline"]["luts"] / rep["luts"]
    assert (tmp_path / "out" / "report.md").read_text().startswith("# Network synthesis: ice40")
    bad = _sp.run([exe, "synth", "--net", str(tmp_path / "net.json"), "--spec", "x.json", "--target", "ice40",
                   "--output-dir", str(tmp_path / "o2")], capture_output=True, text=True)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "--spec" in bad.stderr
    bad = _sp.run([exe, "synth", "--net", str(tmp_path / "net.json"), "--target", "xilinx",
                   "--output-dir", str(tmp_path / "o3")], capture_output=True, text=True)
    assert bad.returncode == 2 and "xilinx" in bad.stderr
