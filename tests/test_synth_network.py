"""shiftpsn.synth.network: the place-and-route harness around a network's ports and the OpenSTA input
activities of a network streaming its test set, the network's synaptic operations and op-count model,
and its gate-level switching energy on a tiny random network (the flow's synthesis runs in
tests/test_flow.py)."""

import shutil

import numpy as np
import pytest

from shiftpsn.base.tools import DEFAULT_LIBERTY
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


def _hand_network():
    """I=3 -> dense 2 -> psn (C=2, k=3) -> dense 4: synops per step 3*2 + 2*3 + 2*4 = 20."""
    from shiftpsn.base.network import DenseLayer, NetworkSpec
    from shiftpsn.base.spec import uniform_spec

    psn = uniform_spec(channels=2, order=3, dilation=1, input_width=8, exp_min=0, exp_max=1, weights="constant")
    return NetworkSpec(input_width=4, layers=(DenseLayer(np.ones((2, 3), dtype=np.int64), np.zeros(2, dtype=np.int64)),
                                              psn, DenseLayer(np.ones((4, 2), dtype=np.int64), np.zeros(4, dtype=np.int64))))


def test_network_synops_and_op_count_model():
    """Synaptic ops per step (docs/CONTRACT.md section 6) and the network op-count model, recomputed by hand
    with MF-PSN Table 9 energies (add 0.9, mul 3.7, shift 0.13 pJ)."""
    from shiftpsn.synth.energy import network_model, synops_per_step

    net = _hand_network()
    assert synops_per_step(net) == {"psn": 6, "dense": 14, "total": 20, "neurons": 2}
    T = 8
    taps = (T + (1 - 3) / 2) * 3  # MF-PSN Table 1: taps of one neuron over T steps, k = 3
    for arith, tap_op, first_op in (("shift", 0.13, 0.13), ("mac", 3.7, 3.7)):
        psn = 2 * ((taps + T) * 0.9 + taps * tap_op) / T  # two neurons, per time step
        dense = 6 * (first_op + 0.9) + 8 * 0.9          # first layer 3x2 multiplies, then 2x4 spike adds
        m = network_model(net, arith, T)
        assert m["pj_per_step"] == pytest.approx((psn + dense) / 2)
        assert m["pj_per_synop"] == pytest.approx((psn + dense) / 20)
        assert m["pj_per_sample"] == pytest.approx((psn + dense) * T)


def test_network_beats_and_logits_round_trip():
    from shiftpsn.synth.network import decode_logits, network_beats

    x = np.array([[[-1, 1], [0, -2]]])
    b = network_beats(DESC, x)
    # x0 at bits 0..1, x1 at 2..3, first at 4 (t = 0), last at 5 (t = T - 1)
    assert b == [0b11 | (0b01 << 2) | (1 << 4), 0b00 | (0b10 << 2) | (1 << 5)]
    desc = {"output_payload": {"logits": {"offset": 0, "width": 6, "count": 2, "per_element": 3, "signed": True}}}
    assert decode_logits(desc, [0b011_100, 0b111_001]).tolist() == [-4, 3, 1, -1]


@pytest.mark.skipif(not (DEFAULT_LIBERTY.is_file() and DEFAULT_LIBERTY.with_suffix(".v").is_file()
                         and shutil.which("iverilog") and shutil.which("sta")),
                    reason="needs the OSU 0.18 um liberty, its cell models, Icarus and OpenSTA")
def test_network_switching_energy_on_a_tiny_random_network(tmp_path):
    """A tiny random network through the asic flow with a stimulus: the gate-level outputs equal the
    golden model's logits, and per synop / per sample / per neuron-step are the window's energy over
    counts recomputed here from the network spec."""
    from shiftpsn.base.progress import Progress
    from shiftpsn.base.testing import random_network, random_network_input
    from shiftpsn.hdl.network import write_network_verilog
    from shiftpsn.synth.network import synthesize_network
    from shiftpsn.synth.switching import sram_model

    rng = np.random.default_rng(5)
    net = random_network(rng, hidden=(1, 1), width=(4, 4), inputs=(3, 3), outputs=(2, 2), input_width=(4, 4),
                         weight_bits=(3, 3), order=(2, 2), extreme_p=0.0, lanes=2)
    x = random_network_input(net, rng, 2, 3)
    desc = write_network_verilog(net, tmp_path / "net.v")
    e = synthesize_network(tmp_path / "net.v", desc, ["asic"], tmp_path, Progress("t", quiet=True),
                           liberty_path=DEFAULT_LIBERTY, net=net, stimulus=x, stimulus_desc="random")["asic"]
    assert "error" not in e, e.get("error")
    sw = e["energy"]["switching"]
    assert sw["outputs_match_golden"], sw["output_mismatch"]
    psn = [layer for layer in net.layers[1::2]]
    dense = net.layers[0::2]
    neurons = sum(s.channels for s in psn)
    synops = sum(s.channels * s.order for s in psn) + sum(d.weight.size for d in dense)
    B, T = x.shape[:2]
    assert e["energy_pj_per_step_switching"] == pytest.approx(sw["window_pj"] / (B * T * neurons))
    assert e["energy_pj_per_synop_switching"] == pytest.approx(sw["window_pj"] / (B * T * synops))
    assert e["energy_pj_per_sample_switching"] == pytest.approx(sw["window_pj"] / B)
    assert sum(sw["breakdown_pj_per_step"].values()) == pytest.approx(sw["pj_per_step"])
    assert sw["breakdown_pj_per_step"]["memories"] > 0  # lanes 2 < 4 channels: an engine with a history memory
    # one neuron layer: the network's SRAM estimate per neuron-step is that layer's own
    assert sw["memories"]["sram_model"]["pj_per_step"] == pytest.approx(sram_model(psn[0])["pj_per_step"])
    assert e["energy_pj_per_step_activity"] > 0 and e["energy_pj_per_step_model"] > 0
    assert sw["cycles"] >= B * T * max(c.channels // c.lanes for c in psn)
