"""Parsers of the synthesis flow on real tool output (tests/data/synth, see capture.py there), and
the pure parts of the flow (netlist cleaning, activity, energy model, reports, sweeps) against
hand-worked expectations. No tool runs here except one OpenSTA read of a cleaned netlist."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from shiftpsn.base.errors import UsageError
from shiftpsn.base.spec import CoreSpec, uniform_spec
from shiftpsn.synth import activity, energy, liberty, netlist, nextpnr, report, sta, sweep, yosys

DATA = Path(__file__).parent / "data" / "synth"
OSU018 = Path("/usr/share/qflow/tech/osu018/osu018_stdcells.lib")


def _stat(name, module=None):
    return yosys.load_stat(DATA / name, module)


# ----------------------------------------------------------------------------- Yosys stat -json
def test_generic_counts():
    c = yosys.summarize("generic", _stat("generic_stat.json"))
    # read off generic_stat.json: 311 cells, flip-flops $_DFFE_PP_ 28 + $_SDFFE_PP0P_ 26
    assert (c["cells"], c["ffs"]) == (311, 54)
    assert c["by_type"]["$_NAND_"] == 72
    assert yosys.cmos_transistors(json.loads((DATA / "generic_stat_cmos.json").read_text())["design"]) == 1486


def test_ice40_core_module_counted_apart_from_harness():
    c = yosys.summarize("ice40", _stat("ice40_stat.json", "shiftpsn_core"))
    assert (c["cells"], c["luts"], c["ffs"], c["carry"], c["dsp"], c["bram"]) == (191, 101, 54, 36, 0, 0)
    h = yosys.summarize("ice40", _stat("ice40_stat.json", "shiftpsn_pnr_harness"))
    assert (h["luts"], h["ffs"]) == (7, 51)  # SB_LUT4 7, SB_DFF 51: the harness' own cells


def test_ecp5_counts():
    c = yosys.summarize("ecp5", _stat("ecp5_stat.json", "shiftpsn_core"))
    assert (c["cells"], c["luts"], c["ffs"], c["carry"], c["muxf"]) == (170, 76, 54, 24, 16)


def test_xilinx_counts():
    c = yosys.summarize("xilinx", _stat("xilinx_stat.json"))
    raw = json.loads((DATA / "xilinx_stat.json").read_text())["design"]["num_cells_by_type"]
    # independent sum over the file's LUT1..LUT6 and FD* entries
    assert c["luts"] == sum(n for t, n in raw.items() if t.startswith("LUT"))
    assert c["ffs"] == sum(n for t, n in raw.items() if t.startswith("FD"))
    assert (c["cells"], c["luts"], c["ffs"], c["carry"]) == (137, 64, 54, 12)
    assert "IBUF" not in raw and "OBUF" not in raw  # -noiopad: no I/O buffers


def test_asic_area_and_flip_flops():
    st = _stat("asic_stat.json")
    c = yosys.summarize("asic", st, {"DFFPOSX1", "DFFNEGX1", "DFFSR", "LATCH"})
    assert (c["cells"], c["ffs"]) == (425, 54)
    area, seq = yosys.area(st)
    assert (area, seq) == (15682.0, 5184.0)
    assert seq == 54 * 96  # 54 DFFPOSX1 of 96 um^2 each (osu018 liberty)


def test_module_lookup_error_names_modules():
    with pytest.raises(KeyError, match="shiftpsn_pnr_harness"):
        _stat("ice40_stat.json", "no_such_module")


def test_script_templates_fill_every_placeholder():
    text = yosys.script_text("asic", read="read_verilog core.v", top="t", liberty="x.lib", period_ps="10000")
    assert "$" not in text.replace("$$", "") and "abc -liberty \"x.lib\" -D 10000" in text
    with pytest.raises(ValueError, match="liberty"):
        yosys.script_text("asic", read="", top="t")
    with pytest.raises(UsageError, match="unknown synthesis target"):
        yosys.script_text("virtex2", read="", top="t")


# ----------------------------------------------------------------------------- nextpnr
def test_nextpnr_report():
    r = nextpnr.parse_report(json.loads((DATA / "ice40_nextpnr_report.json").read_text()))
    assert r["fmax_mhz"] == pytest.approx(116.7133560180664)
    assert r["constraint_mhz"] == 100 and r["utilization"]["SB_IO"] == 3  # clk, sin, sout
    r = nextpnr.parse_report(json.loads((DATA / "ecp5_nextpnr_report.json").read_text()))
    assert r["fmax_mhz"] == pytest.approx(102.75379943847656)
    assert r["utilization"]["TRELLIS_IO"] == 3


def test_nextpnr_device_choice():
    assert nextpnr.candidate_devices("ice40", {"luts": 1000, "ffs": 900}) == [["--up5k", "--package", "sg48"],
                                                                             ["--hx8k", "--package", "ct256"]]
    assert nextpnr.candidate_devices("ice40", {"luts": 6000, "ffs": 900}) == [["--hx8k", "--package", "ct256"]]
    assert nextpnr.candidate_devices("ice40", {"luts": 7700, "ffs": 10}) == []  # HX8K: 7680 cells
    # ECP5: LUTs + 2 per CCU2C = 26000 > 24288 cells of the 25k
    assert [d[0] for d in nextpnr.candidate_devices("ecp5", {"luts": 24000, "carry": 1000})] == ["--45k", "--85k"]
    # 32 multipliers > 28 DSPs of the 25k
    assert [d[0] for d in nextpnr.candidate_devices("ecp5", {"luts": 100, "dsp": 32})] == ["--45k", "--85k"]
    assert nextpnr.candidate_devices("ecp5", {"luts": 90000, "carry": 0}) == []


def test_nextpnr_device_names():
    """Reports name the part placed on, not nextpnr's arguments; every device tried has its name."""
    assert nextpnr.device_name("ice40", "--up5k --package sg48") == "iCE40 UP5K (sg48)"
    assert nextpnr.device_name("ice40", "--hx8k --package ct256") == "iCE40 HX8K (ct256)"
    assert nextpnr.device_name("ecp5", "--25k --package CABGA381") == "ECP5 LFE5U-25F (CABGA381)"
    assert nextpnr.device_name("ecp5", "--85k --package CABGA381") == "ECP5 LFE5U-85F (CABGA381)"
    assert nextpnr.device_name("ecp5", "ECP5 LFE5U-45F (CABGA381)") == "ECP5 LFE5U-45F (CABGA381)"  # already a name
    assert nextpnr.device_name("ice40", "--lp1k --package cm36") == "iCE40 LP1K (cm36)"  # not in DEVICES
    names = [name for devs in nextpnr.DEVICES.values() for *_, name in devs]
    assert len(set(names)) == len(names) == 5


# ----------------------------------------------------------------------------- OpenSTA
def test_sta_timing_and_power():
    text = (DATA / "asic_sta.log").read_text()
    timing_text, _, power_text = text.partition("== power")
    t = sta.parse_timing(timing_text)
    assert (t["arrival"], t["required"], t["slack"]) == (1.9437, 9.8152, 7.8715)
    assert t["required"] - t["arrival"] == pytest.approx(t["slack"])
    p = sta.parse_power(power_text)
    assert p["total"]["total"] == 2.168360e-03
    assert p["sequential"]["total"] + p["combinational"]["total"] == pytest.approx(p["total"]["total"], rel=1e-5)
    with pytest.raises(ValueError):
        sta.parse_timing("no paths")
    with pytest.raises(ValueError):
        sta.parse_power("nothing")


def test_sta_script_sets_each_port_activity():
    tcl = sta.tcl_script(Path("/l.lib"), Path("/n.v"), "top", 10.0, {"a[0]": (0.5, 0.25), "b": (0.0, 1.0)})
    assert "create_clock -name clk -period 10 [get_ports clk]" in tcl
    assert "set_power_activity -input_ports [get_ports {a[0]}] -activity 0.5 -duty 0.25" in tcl
    assert "set_power_activity -input_ports [get_ports {b}] -activity 0 -duty 1" in tcl


# ----------------------------------------------------------------------------- liberty
def test_liberty_osu018():
    lib = liberty.read(OSU018)
    assert len(lib.cells) == 32 and lib.time_unit_ns == 1.0
    assert lib.sequential == {"DFFPOSX1", "DFFNEGX1", "DFFSR", "LATCH"}
    assert lib.cells["DFFPOSX1"].area == 96 and lib.cells["NAND2X1"].area == 24


def test_liberty_small_text():
    text = """library(x) { time_unit : "10ps"; cell (A) { area : 2.5; pin(Y) { function : "1"; } }
      cell ("F") { area : 7; ff (IQ, IQN) { next_state : "D"; } pin(Q) { } } }"""
    cells = liberty.parse(text)
    assert cells["A"] == liberty.LibCell("A", 2.5, False)
    assert cells["F"] == liberty.LibCell("F", 7.0, True)
    assert liberty.time_unit_ns(text) == pytest.approx(0.01)
    with pytest.raises(UsageError):
        liberty.parse("library(x) { }")


# ----------------------------------------------------------------------------- netlist for OpenSTA
def test_netlist_clean_hand_worked():
    raw = "\n".join([
        "module m(a, y);",
        "  input [1:0] a;",
        "  wire [1:0] a;",
        "  output [3:0] y;",
        "  wire signed [3:0] y;",
        "  wire \\u.v ;",
        "  assign { y[3], y[2] } = { a[0], \\u.v  };",
        "  assign y[1:0] = 2'bx1;",
        "  assign \\u.v  = a[1];",
        "endmodule"])
    want = "\n".join([
        "module m(a, y);",
        "  input [1:0] a;",
        "  wire [1:0] a;",
        "  output [3:0] y;",
        "  wire [3:0] y;",
        "  wire \\u.v ;",
        "  assign y[3] = a[0];",
        "  assign y[2] = \\u.v ;",
        "  assign y[0] = 1'b1;",          # y[1] = x is dropped
        "  assign \\u.v  = a[1];",
        "endmodule", ""])
    assert netlist.clean(raw) == want


def test_netlist_clean_whole_nets_and_errors():
    raw = "wire [2:0] p;\nwire [2:0] q;\nassign p = q;\n"
    assert netlist.clean(raw).splitlines()[2:] == ["  assign p[2] = q[2];", "  assign p[1] = q[1];",
                                                    "  assign p[0] = q[0];"]
    with pytest.raises(ValueError, match="widths differ"):
        netlist.clean("wire [2:0] p;\nassign p = 2'b01;\n")
    with pytest.raises(ValueError, match="cannot expand"):
        netlist.clean("wire p;\nwire q;\nassign p = ~q;\n")


def test_netlist_clean_real_yosys_output_reads_in_opensta(tmp_path):
    """Yosys' netlist of a core with constant outputs has range and constant assigns; cleaned, the
    installed OpenSTA reads and times it without an error."""
    raw = (DATA / "zero_asic_netlist_raw.v").read_text()
    assert "assign o__payload[9:3] = 7'b0000000;" in raw
    clean = netlist.clean(raw)
    assert "assign o__payload[9] = 1'b0;" in clean and "assign o__payload[3] = 1'b0;" in clean
    assert "[9:3]" not in clean
    (tmp_path / "n.v").write_text(clean)
    (tmp_path / "s.tcl").write_text(sta.tcl_script(OSU018, tmp_path / "n.v", "shiftpsn_core", 10.0, None))
    out = subprocess.run([shutil.which("sta"), "-no_splash", "s.tcl"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60)
    assert "Error" not in out.stdout + out.stderr, out.stdout + out.stderr
    assert sta.parse_timing(out.stdout)["slack"] > 0


# ----------------------------------------------------------------------------- activity
def test_payload_bits_and_toggles_hand_worked():
    spec = uniform_spec(channels=2, order=2, dilation=1, input_width=2, exp_min=0, exp_max=0)
    # one sequence of 3 beats; channel 0: 1, -2, -1 ; channel 1: 0, 1, 1 (2-bit two's complement)
    x = np.array([[[1, 0], [-2, 1], [-1, 1]]])
    bits = activity.payload_bits(spec, x)
    # payload bit order: x0[0] x0[1] x1[0] x1[1] first
    want = np.array([[1, 0, 0, 0, 1],      # 1 = 01, 0 = 00, first
                     [0, 1, 1, 0, 0],      # -2 = 10, 1 = 01
                     [1, 1, 1, 0, 0]])     # -1 = 11, 1 = 01
    np.testing.assert_array_equal(bits, want)
    rate, duty = activity.toggle_rates(bits)
    np.testing.assert_allclose(rate, [2 / 3, 1 / 3, 1 / 3, 0, 1 / 3])
    np.testing.assert_allclose(duty, [2 / 3, 2 / 3, 2 / 3, 0, 1 / 3])
    acts = activity.port_activities(spec, x)
    assert acts["i__payload[0]"] == pytest.approx((2 / 3, 2 / 3))
    assert acts["i__valid"] == (0.0, 1.0) and acts["o__ready"] == (0.0, 1.0) and acts["rst"] == (0.0, 0.0)
    assert acts["cfg__we"] == (0.0, 0.0) and "cfg__addr[0]" in acts  # runtime weights by default


# ----------------------------------------------------------------------------- energy model
@pytest.mark.parametrize("T,k", [(8, 1), (8, 4), (8, 8), (16, 5), (64, 16)])
def test_energy_model_matches_paper_table9(T, k):
    taps = sum(min(t + 1, k) for t in range(T))  # direct count of existing taps
    assert energy.n_taps(T, k) == taps
    assert energy.energy_pj("psn", T, k) == pytest.approx(4.6 * T * T + 0.9 * T)
    assert energy.energy_pj("ours", T, k) == pytest.approx(1.03 * (T + (1 - k) / 2) * k + 0.9 * T)
    assert energy.energy_pj("sliding_psn", T, k) == pytest.approx(4.6 * taps + 0.9 * T)
    m = energy.model("shift", T, k)
    assert m["pj_per_step"] == pytest.approx(energy.energy_pj("ours", T, k) / T)
    assert energy.model("mac", T, k)["neuron"] == "sliding_psn"


def test_energy_model_paper_claims():
    T = 1024  # k = T: 0.515 T^2 + 1.415 T, ~9x below PSN for large T (papers/000 appendix F)
    assert energy.energy_pj("ours", T, T) == pytest.approx(0.515 * T * T + 1.415 * T)
    assert 8.9 < energy.energy_pj("psn", T, T) / energy.energy_pj("ours", T, T) < 9.0
    with pytest.raises(UsageError, match="k <= time steps"):
        energy.n_taps(4, 5)


def test_activity_energy_units():
    # 10 mW at 100 MHz over 8 neurons per cycle: 1e-2 / 1e8 / 8 J = 12.5 pJ
    assert energy.activity_pj_per_step(1e-2, 100.0, 8) == pytest.approx(12.5)


# ----------------------------------------------------------------------------- reports
def test_ratios_are_baseline_over_core():
    core = {"cells": 10, "luts": 0, "area_um2": 2.0, "fmax_mhz": None, "energy_pj_per_step_model": 4.0}
    base = {"cells": 25, "luts": 3, "area_um2": 5.0, "fmax_mhz": 50.0, "energy_pj_per_step_model": 16.0}
    r = report.ratios(core, base)
    assert r["cells"] == 2.5 and r["area_um2"] == 2.5 and r["energy_pj_per_step_model"] == 4.0
    assert r["luts"] is None and r["fmax_mhz"] is None


def test_captured_report_is_consistent():
    """The report of the captured run (asic, --baseline mac): every figure positive and consistent."""
    rep = json.loads((DATA / "asic_report.json").read_text())
    spec = CoreSpec.from_dict(rep["spec"])
    for key in ("target", "spec", "cells", "luts", "ffs", "area_um2", "fmax_mhz",
                "energy_pj_per_step_model", "energy_pj_per_step_activity", "baseline", "ratio"):
        assert key in rep
    for entry in (rep, rep["baseline"]):
        assert entry["ffs"] >= entry["storage_bits"] == spec.storage_bits == 2 * 1 * 1 * 4
        for key in ("cells", "area_um2", "fmax_mhz", "energy_pj_per_step_model", "energy_pj_per_step_activity"):
            assert entry[key] > 0, key
        assert entry["sequential_area_um2"] == entry["ffs"] * 96
    for key, r in rep["ratio"].items():
        if r is not None:
            assert r == pytest.approx(rep["baseline"][key] / rep[key])
    assert rep["baseline"]["spec"] == spec.replace(arith="mac").to_dict()
    md = report.markdown(rep)
    assert "| area (um^2) | 15,682 |" in md and "baseline / core" in md
    assert not math.isnan(rep["ratio"]["area_um2"])


# ----------------------------------------------------------------------------- sweeps
def test_sweep_parse_and_points():
    assert sweep.parse(["k=2,4", "W=6"]) == {"order": [2, 4], "input_width": [6]}
    for bad in ("q=1", "k", "k=a", "k="):
        with pytest.raises(UsageError):
            sweep.parse([bad])
    with pytest.raises(UsageError, match="twice"):
        sweep.parse(["k=2", "order=3"])
    base = uniform_spec(weights="constant", pipeline=1)
    p = sweep.point_spec(base, "channels", 3)
    assert p == uniform_spec(channels=3, weights="constant", pipeline=1)
    with pytest.raises(UsageError):
        sweep.point_spec(base, "order", 0)
