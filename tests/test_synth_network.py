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
