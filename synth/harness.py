"""A place-and-route harness: the core with every port behind a register, on three pins.

A core's ports (C*W + C*A + ... bits) outnumber an FPGA's pins (iCE40 HX8K ct256: 206), and a port
left to the pads puts pad delays into the timing. The harness feeds every core input from one long
shift register loaded from pin ``sin``, captures every core output in a register bank and folds the
bank to pin ``sout`` through a registered tree of 4-input XORs (one LUT4 per node), so every timing
path of the design is register to register and none of the core's logic is constant or unused.
The harness adds flip-flops and a few LUTs; its paths have at most one LUT, so they do not set Fmax.
Cell counts in reports are those of the core module alone (the scripts keep it a separate module).
"""

from __future__ import annotations

from shiftpsn.base import ports
from shiftpsn.base.spec import CoreSpec

HARNESS_TOP = "shiftpsn_pnr_harness"


def core_ports(spec: CoreSpec) -> list[tuple[str, str, int]]:
    """(name, "input"/"output", width) of the core's ports, clock excluded (the harness drives it)."""
    return [p for p in ports.core_ports(spec) if p[0] != "clk"]


def harness_verilog(spec: CoreSpec, core_top: str) -> str:
    """Verilog of module :data:`HARNESS_TOP` around module ``core_top`` of ``spec``."""
    return ports_harness_verilog(core_ports(spec), core_top)


def ports_harness_verilog(plist: list[tuple[str, str, int]], core_top: str) -> str:
    """Verilog of module :data:`HARNESS_TOP` around module ``core_top`` whose ports, clock excluded,
    are ``plist`` ((name, "input"/"output", width); a network's from its NETWORK.json)."""
    n_in = sum(w for _, d, w in plist if d == "input")
    n_out = sum(w for _, d, w in plist if d == "output")
    lines = [f"// Place-and-route harness for {core_top} (synth/harness.py); not part of the core.",
             f"module {HARNESS_TOP}(input clk, input sin, output sout);",
             f"  reg [{n_in - 1}:0] chain;",
             "  always @(posedge clk) chain <= " +
             ("{chain[%d:0], sin};" % (n_in - 2) if n_in > 1 else "sin;"),
             f"  wire [{n_out - 1}:0] outs;"]
    conns, pos_in, pos_out = [".clk(clk)"], 0, 0
    for name, direction, width in plist:
        if direction == "input":
            conns.append(f".{name}(chain[{pos_in + width - 1}:{pos_in}])")
            pos_in += width
        else:
            conns.append(f".{name}(outs[{pos_out + width - 1}:{pos_out}])")
            pos_out += width
    lines.append(f"  {core_top} core (" + ", ".join(conns) + ");")
    lines.append(f"  reg [{n_out - 1}:0] x0;")
    lines.append("  always @(posedge clk) x0 <= outs;")
    level, width = 0, n_out
    while width > 1:
        nxt = (width + 3) // 4
        lines.append(f"  reg [{nxt - 1}:0] x{level + 1};")
        for j in range(nxt):
            hi = min(4 * j + 3, width - 1)
            lines.append(f"  always @(posedge clk) x{level + 1}[{j}] <= ^x{level}[{hi}:{4 * j}];")
        level, width = level + 1, nxt
    lines.append(f"  assign sout = x{level}[0];")
    lines.append("endmodule")
    return "\n".join(lines) + "\n"
