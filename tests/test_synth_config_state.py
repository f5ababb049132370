"""Steady-state power of runtime-weight cores: the configuration registers held at their loaded
values (synth/config_state.py, netlist.hold_flop_outputs, the sta_power script).

The bit values are checked against the power-up values Amaranth writes into the generated Verilog
(``reg [..] weights<c> = N'h..``), an independent route through hdl/config.py; the held netlist is
checked on a hand-made netlist whose gate activities follow from Boolean algebra."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from shiftpsn.base.errors import UsageError
from shiftpsn.base.spec import CoreSpec
from shiftpsn.synth import config_state, netlist, sta

ROOT = Path(__file__).resolve().parents[1]
OSU018 = Path("/usr/share/qflow/tech/osu018/osu018_stdcells.lib")


def _verilog_inits(path: Path) -> dict[int, tuple[int, int]]:
    """channel -> (init value, width) of ``reg [w-1:0] weights<c> = w'h..;`` in generated Verilog."""
    out = {}
    for m in re.finditer(r"reg \[(\d+):0\] weights(\d+) = (\d+)'h([0-9a-fA-F]+);", path.read_text()):
        out[int(m.group(2))] = (int(m.group(4), 16), int(m.group(1)) + 1)
    return out


@pytest.mark.parametrize("arith", ["shift", "mac"])
def test_register_values_match_generated_verilog_power_up(tmp_path, arith):
    from shiftpsn.hdl.generate import write_verilog

    spec = CoreSpec.load(ROOT / "examples" / "default.json").replace(arith=arith)
    info = write_verilog(spec, tmp_path / "core.v", None)
    inits = _verilog_inits(tmp_path / "core.v")
    assert sorted(inits) == list(range(spec.channels))
    for c in range(spec.channels):
        assert spec.weight_register(c) == inits[c], f"channel {c}"
    # every register bit maps to one net and one value; their count is CORE.json's config registers
    nets = [f"\\weights.weights{c} [{b}]" for c in range(spec.channels) for b in range(inits[c][1])]
    values = [config_state.net_value(spec, n) for n in nets]
    assert len(set(nets)) == len(values) == info["registers"]["config"]
    assert all(v in (0, 1) for v in values)
    assert config_state.net_value(spec, "_00012_") is None
    with pytest.raises(UsageError, match="beyond"):
        config_state.net_value(spec, f"\\weights.weights0 [{inits[0][1]}]")
    with pytest.raises(UsageError, match="channels"):
        config_state.net_value(spec, f"\\weights.weights{spec.channels} [0]")


#: a configuration flip-flop q (D = Q: held), g1 = AND(a, q), g2 = OAI21(g1, b, q) = !((g1 | b) & q),
#: g3 = XOR(a, b) (never depends on q), o = q.
_TINY = """module t(clk, a, b, y, z, o);
  input clk;
  wire clk;
  input a;
  wire a;
  input b;
  wire b;
  output y;
  wire y;
  output z;
  wire z;
  output o;
  wire o;
  wire n1;
  wire \\cfg [0] ;
  DFFPOSX1 f (
    .CLK(clk),
    .D(\\cfg [0] ),
    .Q(\\cfg [0] )
  );
  AND2X2 g1 (
    .A(a),
    .B(\\cfg [0] ),
    .Y(n1)
  );
  OAI21X1 g2 (
    .A(n1),
    .B(b),
    .C(\\cfg [0] ),
    .Y(y)
  );
  XOR2X1 g3 (
    .A(a),
    .B(b),
    .Y(z)
  );
  assign o = \\cfg [0] ;
endmodule
"""


def test_hold_flop_outputs_rewires_loads_keeps_the_flop():
    text, held = netlist.hold_flop_outputs(_TINY, lambda n: 1 if n == "\\cfg [0]" else None, "h_")
    assert held == {"h_0": 1}
    assert "module t(h_0, clk, a, b, y, z, o);" in text
    assert "  input h_0;" in text and "  wire h_q0;" in text
    assert "    .Q(h_q0)" in text and "    .D(h_0)," in text and "    .B(h_0)," in text
    assert "    .C(h_0)" in text and "  assign o = h_0;" in text
    assert "cfg [0] )" not in text.split("wire \\cfg [0] ;")[1]  # no connection left on the old net
    with pytest.raises(UsageError, match="not driven by a flip-flop"):
        netlist.hold_flop_outputs(_TINY, lambda n: 0 if n == "n1" else None)


def _instance_power(tmp_path: Path, text: str, held: dict) -> dict[str, float]:
    (tmp_path / "n.v").write_text(text)
    acts = {"a": (0.5, 0.5), "b": (0.5, 0.5)}
    script = sta.tcl_script(OSU018, tmp_path / "n.v", "t", 10.0, acts, held, timing=False)
    script = script.replace("exit\n", "report_power -digits 8 -instances [get_cells *]\nexit\n")
    (tmp_path / "s.tcl").write_text(script)
    out = subprocess.run([shutil.which("sta"), "-no_splash", "s.tcl"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and "Error" not in out.stdout, out.stdout + out.stderr
    rows = re.findall(r"^\s*\S+\s+\S+\s+\S+\s+([0-9.e+-]+)\s+(\w+)$", out.stdout, re.M)
    return {name: float(total) for total, name in rows}


@pytest.mark.parametrize("value", [0, 1])
def test_held_value_propagates_in_opensta(tmp_path, value):
    """q held at 0: g1 = 0 and y = 1 are constant (leakage only); q held at 1: g1 = a and
    y = !(a | b) toggle. g3 never depends on q. The flip-flop keeps its clock power."""
    text, held = netlist.hold_flop_outputs(_TINY, lambda n: value if n == "\\cfg [0]" else None)
    p = _instance_power(tmp_path, text, held)
    leak = 1e-9  # OSU018 leakage of these cells is ~1e-10 W; a toggling one is ~1e-6 W
    assert p["f"] > 1e-6 and p["g3"] > 1e-6
    if value:
        assert p["g1"] > 1e-6 and p["g2"] > 1e-6
    else:
        assert p["g1"] < leak and p["g2"] < leak
