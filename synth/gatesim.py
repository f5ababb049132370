"""Gate-level simulation of a liberty-mapped netlist with Icarus, counting every net's transitions.

Steps (all files kept in the work directory, ``WORK/switching/``):

1. :func:`parse_netlist` reads the cleaned Yosys netlist (:func:`shiftpsn.synth.netlist.clean`: one
   pin per line, single-bit ``assign``) into bit-level nets: every declared wire / port bit is a net,
   an ``assign`` merges two nets, ``1'b0`` / ``1'b1`` are constants.
2. :func:`sim_netlist` writes ``gates.v``: the same cells, every net renamed ``n<i>`` (one wire each),
   the ports kept by name and width. Transitions are then counted per ``n<i>`` without any guessing
   about how a simulator spells escaped or vector names.
3. :func:`testbench` writes ``tb.v``: the core's streams driven from ``beats.hex`` one beat per cycle
   (``i__valid`` / ``o__ready`` high; a beat advances only when ``i__ready`` is high), after a reset and
   the configuration words (``cfg.hex``, one write per cycle, runtime weights). The counting window
   opens a quarter period after a rising edge before the first beat and closes a quarter period after
   a rising edge once every output beat has left (``$dumpvars`` at the opening, so only changes inside
   the window are in the VCD); the number of clock cycles in it is printed. Output beats go to
   ``out.hex``. ``Drive.idle`` inserts idle cycles (``i__valid`` low, payload held) after each beat;
   ``Drive.out_count`` is the number of output beats to wait for when it is not one per input beat
   (a network: one per ``lanes`` logits of a time step).
4. :func:`run` compiles with ``iverilog -g2005`` against the cell models (``osu018_stdcells.v``
   beside the liberty) and runs ``vvp``; :func:`count_toggles` reads the VCD once and counts, per
   net, rising (0->1) and falling (1->0) transitions; changes to or from x / z are not counted.

Zero-delay simulation by default: the cell models' ``specify`` delays are not used (no ``-gspecify``),
so every net's transitions are its functional ones, at most one per net per time step, and glitches
are not counted. ``run(..., specify=True)`` compiles with ``-gspecify``: the models' fixed path
delays apply and the glitches they produce are counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from shiftpsn.base.errors import UsageError

from .netlist import ASSIGN, DECL, IDENT
from .tools import Progress, find_tool, run_tool

_MODULE = re.compile(r"^\s*module\s+" + IDENT + r"\s*\(")
_CELL = re.compile(r"^\s*([A-Za-z_][\w$]*)\s+" + IDENT + r"\s*\(\s*$")
_PIN = re.compile(r"^\s*\.([A-Za-z_]\w*)\((.*)\),?\s*$")
_REF = re.compile(r"^" + IDENT + r"\s*(?:\[\s*(\d+)\s*\])?$")
_CONST = re.compile(r"^1'b([01xz])$")

#: A constant "net" of a pin: -1 for 0, -2 for 1, -3 for x/z / unconnected.
CONST0, CONST1, CONSTX = -1, -2, -3


@dataclass
class Cell:
    type: str
    name: str
    pins: dict  # pin -> net id (>= 0) or a CONST*


@dataclass
class Netlist:
    """A flat gate-level netlist in bit-level nets ``0 .. n_nets-1``."""
    top: str
    ports: list            # (name, direction, hi, lo) or (name, direction, None, None) for a scalar
    cells: list            # Cell
    n_nets: int
    names: list            # net id -> one of its original names (for reports)
    port_bits: dict = field(default_factory=dict)  # (port, bit or None) -> net id

    def net_of_port(self, name: str, bit: int | None = None) -> int:
        return self.port_bits[(name, bit)]


def _key(ref: str, ranges: dict) -> tuple:
    m = _REF.match(ref.strip())
    if not m:
        raise UsageError(f"gate-level netlist: cannot read net {ref!r}")
    name, bit = m.group(1), m.group(2)
    if bit is None:
        rng = ranges.get(name)
        if rng is not None:
            hi, lo = rng
            if hi != lo:
                raise UsageError(f"gate-level netlist: vector {name!r} used as one bit")
            return (name, lo)
        return (name, None)
    return (name, int(bit))


def parse_netlist(text: str) -> Netlist:
    """Read a cleaned single-module netlist (see the module docstring). Raises UsageError."""
    ranges: dict = {}
    ports: list = []
    port_dir: dict = {}
    top = None
    ids: dict = {}
    parent: list = []

    def net(key) -> int:
        if key not in ids:
            ids[key] = len(parent)
            parent.append(len(parent))
        return ids[key]

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    consts: dict = {}  # root -> CONST
    raw_cells = []
    cur = None
    for line in text.splitlines():
        if top is None:
            m = _MODULE.match(line)
            if m:
                top = m.group(1)
            continue
        m = DECL.match(line)
        if m:
            _, kind, hi, lo, name = m.groups()
            rng = None if hi is None else (int(hi), int(lo))
            if kind in ("input", "output", "inout"):
                port_dir[name] = kind
                ports.append((name, kind, *(rng or (None, None))))
            ranges[name] = rng
            bits = [None] if rng is None else range(min(rng), max(rng) + 1)
            for b in bits:
                net((name, b))
            continue
        if cur is None:
            m = _CELL.match(line)
            if m:
                cur = (m.group(1), m.group(2), {})
                continue
            m = ASSIGN.match(line)
            if m:
                dst = net(_key(m.group(1), ranges))
                src = m.group(2).strip()
                c = _CONST.match(src)
                if c:
                    consts[dst] = {"0": CONST0, "1": CONST1}.get(c.group(1), CONSTX)
                else:
                    a, b = find(dst), find(net(_key(src, ranges)))
                    parent[a] = b
            continue
        if line.strip() == ");":
            raw_cells.append(cur)
            cur = None
            continue
        m = _PIN.match(line)
        if m:
            pin, ref = m.group(1), m.group(2).strip()
            c = _CONST.match(ref)
            if not ref:
                cur[2][pin] = CONSTX
            elif c:
                cur[2][pin] = {"0": CONST0, "1": CONST1}.get(c.group(1), CONSTX)
            else:
                cur[2][pin] = ("net", _key(ref, ranges))
            continue
        if line.strip() and not line.strip().startswith(("endmodule", "//", "/*")):
            raise UsageError(f"gate-level netlist: cannot read line {line.strip()[:80]!r}")
    if top is None:
        raise UsageError("gate-level netlist: no module")
    # constants assigned to nets: a net assigned a constant is that constant
    const_root = {}
    for n, v in consts.items():
        const_root[find(n)] = v
    roots = sorted({find(i) for i in range(len(parent))} - set(const_root))
    index = {r: i for i, r in enumerate(roots)}
    names: list = [None] * len(roots)
    for key, i in ids.items():
        r = find(i)
        if r in index and (names[index[r]] is None or names[index[r]].startswith("_")):
            names[index[r]] = key[0] if key[1] is None else f"{key[0]}[{key[1]}]"

    def resolve(v):
        if isinstance(v, int):
            return v
        if v[1] not in ids:
            raise UsageError(f"gate-level netlist: net {v[1][0]!r} is not declared")
        r = find(ids[v[1]])
        if r in const_root:
            return const_root[r]
        return index[r]

    cells = [Cell(t, n, {p: resolve(v) for p, v in pins.items()}) for t, n, pins in raw_cells]
    port_bits = {}
    for name, kind, hi, lo in ports:
        bits = [None] if hi is None else range(min(hi, lo), max(hi, lo) + 1)
        for b in bits:
            r = find(ids[(name, b)])
            port_bits[(name, b)] = const_root.get(r, index.get(r))
    return Netlist(top, ports, cells, len(roots), names, port_bits)


def _port_decl(name, kind, hi, lo) -> str:
    rng = "" if hi is None else f"[{hi}:{lo}] "
    sep = " " if name.startswith("\\") else ""
    return f"  {kind} {rng}{name}{sep};"


def _pref(name, bit) -> str:
    sep = " " if name.startswith("\\") else ""
    return f"{name}{sep}" if bit is None else f"{name}{sep}[{bit}]"


def _nref(v: int) -> str:
    return {CONST0: "1'b0", CONST1: "1'b1", CONSTX: "1'bx"}[v] if v < 0 else f"n{v}"


def sim_netlist(nl: Netlist, module: str = "gates") -> str:
    """Verilog of ``nl`` with every net a wire ``n<i>``, the ports kept (module ``module``)."""
    out = [f"// Gate-level netlist renamed for switching counts (synth/gatesim.py); nets n0..n{nl.n_nets - 1}.",
           f"module {module}(" + ", ".join(_pref(p[0], None).strip() for p in nl.ports) + ");"]
    out += [_port_decl(*p) for p in nl.ports]
    for i in range(0, nl.n_nets, 16):
        out.append("  wire " + ", ".join(f"n{j}" for j in range(i, min(i + 16, nl.n_nets))) + ";")
    driven_out = set()
    for (name, bit), v in nl.port_bits.items():
        kind = next(p[1] for p in nl.ports if p[0] == name)
        if kind == "input":
            if v is not None and v >= 0:
                out.append(f"  assign n{v} = {_pref(name, bit)};")
    for (name, bit), v in nl.port_bits.items():
        kind = next(p[1] for p in nl.ports if p[0] == name)
        if kind == "output" and v is not None:
            out.append(f"  assign {_pref(name, bit)} = {_nref(v)};")
            driven_out.add((name, bit))
    for i, c in enumerate(nl.cells):
        pins = ", ".join(f".{p}({_nref(v)})" for p, v in c.pins.items())
        out.append(f"  {c.type} g{i} ({pins});")
    out.append("endmodule")
    return "\n".join(out) + "\n"


@dataclass
class Drive:
    """What the testbench drives: port widths and the beat / configuration words."""
    top: str
    ports: list              # (name, direction, width) as shiftpsn.base.ports.core_ports
    beats: list              # payload ints, one per beat
    config: list             # (address, data)
    out_width: int
    period_ns: float = 10.0
    reset_cycles: int = 2
    drain_cap: int = 1000    # cycles to wait for the last output beat (and for i__ready) at most
    out_count: int | None = None  # output beats to wait for (None: one per input beat)
    idle: int = 0            # cycles with i__valid low after each beat (a stimulus with gaps)


def testbench(d: Drive, module: str = "gates") -> str:
    """The testbench Verilog (see the module docstring); reads beats.hex and cfg.hex."""
    width = {n: w for n, _, w in d.ports}
    half = d.period_ns / 2
    pw, ow = width["i__payload"], width["o__payload"]
    has_cfg = "cfg__we" in width
    n_out = len(d.beats) if d.out_count is None else d.out_count
    lines = ["`timescale 1ns/1ps",
             "module shiftpsn_gatesim_tb;",
             f"  reg clk = 0; always #{half:g} clk = ~clk;",
             "  reg rst = 1, i__valid = 0, o__ready = 1;",
             f"  reg [{pw - 1}:0] i__payload = 0;",
             "  wire i__ready, o__valid;",
             f"  wire [{ow - 1}:0] o__payload;",
             f"  reg [{pw - 1}:0] beats [0:{max(len(d.beats), 1) - 1}];"]
    conns = [".clk(clk)", ".rst(rst)", ".i__valid(i__valid)", ".i__ready(i__ready)",
             ".i__payload(i__payload)", ".o__valid(o__valid)", ".o__ready(o__ready)", ".o__payload(o__payload)"]
    if has_cfg:
        aw, dw = width["cfg__addr"], width["cfg__data"]
        lines += [f"  reg [{aw - 1}:0] cfg__addr = 0;", f"  reg [{dw - 1}:0] cfg__data = 0;",
                  "  reg cfg__we = 0;", f"  reg [{aw + dw - 1}:0] cfg [0:{max(len(d.config), 1) - 1}];"]
        conns += [".cfg__addr(cfg__addr)", ".cfg__data(cfg__data)", ".cfg__we(cfg__we)"]
    lines += [f"  {module} dut (" + ", ".join(conns) + ");",
              "  integer i, fo, n_out, guard; real t0;",
              "  initial n_out = 0;",
              f"  always @(negedge clk) begin #{half * 0.8:g};",
              "    if (o__valid && o__ready && fo) begin $fwrite(fo, \"%h\\n\", o__payload); n_out = n_out + 1; end",
              "  end",
              "  initial begin",
              "    fo = 0;",
              "    $readmemh(\"beats.hex\", beats);"]
    if has_cfg:
        lines += ["    $readmemh(\"cfg.hex\", cfg);"]
    lines += [f"    repeat ({d.reset_cycles}) @(negedge clk);", "    rst = 0;"]
    if has_cfg:
        lines += [f"    for (i = 0; i < {len(d.config)}; i = i + 1) begin",
                  "      {cfg__addr, cfg__data} = cfg[i]; cfg__we = 1; @(negedge clk);",
                  "    end",
                  "    cfg__we = 0; cfg__addr = 0; cfg__data = 0;"]
    lines += ["    @(negedge clk); @(posedge clk);",
              f"    #{half / 2:g};",
              "    fo = $fopen(\"out.hex\", \"w\");",
              "    $dumpfile(\"sim.vcd\"); $dumpvars(1, dut);",
              "    t0 = $realtime;",
              f"    for (i = 0; i < {len(d.beats)}; i = i + 1) begin",
              *([f"      if (i > 0) begin @(negedge clk); i__valid = 0; repeat ({d.idle - 1}) @(negedge clk); end"]
                if d.idle else []),
              "      @(negedge clk); i__payload = beats[i]; i__valid = 1;",
              f"      #{half * 0.8:g};",
              "      guard = 0;",
              f"      while (!i__ready && guard < {d.drain_cap}) begin @(negedge clk); #{half * 0.8:g}; guard = guard + 1; end",
              "    end",
              "    @(negedge clk); i__valid = 0;",
              "    guard = 0;",
              f"    while (n_out < {n_out} && guard < {d.drain_cap}) begin @(negedge clk); guard = guard + 1; end",
              f"    @(posedge clk); #{half / 2:g};",
              f"    $display(\"WINDOW_CYCLES %0d\", $rtoi(($realtime - t0) / {d.period_ns:g} + 0.5));",
              "    $display(\"OUT_BEATS %0d\", n_out);",
              "    $dumpflush; $fclose(fo); $finish;",
              "  end",
              "endmodule"]
    return "\n".join(lines) + "\n"


def _hex(v: int, bits: int) -> str:
    return format(v, "x").rjust((bits + 3) // 4, "0")


@dataclass
class SimResult:
    rises: list        # net id -> rising transitions in the window
    falls: list
    cycles: int        # clock cycles in the window
    out_beats: list    # o__payload ints in order
    workdir: Path


def run(nl: Netlist, drive: Drive, cell_models: Path, workdir: Path, progress: Progress | None = None,
        step: str = "gate-level simulation", keep_vcd: bool = False, specify: bool = False) -> SimResult:
    """Write gates.v, tb.v, beats.hex, cfg.hex in ``workdir``, compile and run them; count toggles.
    The compiled simulation and (unless ``keep_vcd``) the VCD are deleted afterwards. ``specify``:
    compile with ``-gspecify``, so the cell models' path delays (their fixed typical values, no load
    or wire dependence) apply and glitches are counted too."""
    workdir.mkdir(parents=True, exist_ok=True)
    if not Path(cell_models).is_file():
        raise UsageError(f"cell Verilog models not found: {cell_models} (they come with the liberty's "
                         f"package; the liberty's <name>.v beside it)")
    width = {n: w for n, _, w in drive.ports}
    (workdir / "gates.v").write_text(sim_netlist(nl))
    (workdir / "tb.v").write_text(testbench(drive))
    (workdir / "beats.hex").write_text("".join(_hex(b, width["i__payload"]) + "\n" for b in drive.beats))
    if "cfg__we" in width:
        aw, dw = width["cfg__addr"], width["cfg__data"]
        (workdir / "cfg.hex").write_text("".join(_hex((a << dw) | v, aw + dw) + "\n" for a, v in drive.config))
    for stale in ("sim.vcd", "out.hex"):
        (workdir / stale).unlink(missing_ok=True)
    flags = ["-g2005"] + (["-gspecify"] if specify else [])
    run_tool([find_tool("iverilog"), *flags, "-o", "sim.vvp", "tb.v", "gates.v", str(Path(cell_models).resolve())],
             cwd=workdir, log=workdir / "iverilog.log", step=f"{step}: iverilog", progress=progress)
    text = run_tool([find_tool("vvp"), "-n", "sim.vvp"], cwd=workdir, log=workdir / "vvp.log",
                    step=f"{step}: vvp", progress=progress)
    m = re.search(r"WINDOW_CYCLES (\d+)", text)
    n = re.search(r"OUT_BEATS (\d+)", text)
    if not m or not n:
        raise UsageError(f"{step}: the testbench did not finish [log: {workdir / 'vvp.log'}]")
    rises, falls = count_toggles(workdir / "sim.vcd", nl.n_nets)
    outs = [int(ln, 16) for ln in (workdir / "out.hex").read_text().split() if "x" not in ln.lower()]
    (workdir / "sim.vvp").unlink(missing_ok=True)  # large and rebuilt from gates.v / tb.v in seconds
    if not keep_vcd:
        (workdir / "sim.vcd").unlink(missing_ok=True)
    return SimResult(rises, falls, int(m.group(1)), outs, workdir)


def count_toggles(vcd: Path, n_nets: int) -> tuple[list, list]:
    """Rising and falling transitions of nets ``n<i>`` in a VCD (changes from / to x, z not counted;
    the values of the first ``$dumpvars`` block are the starting values)."""
    code_net: dict = {}
    rises = [0] * n_nets
    falls = [0] * n_nets
    with open(vcd) as f:
        for line in f:
            if line.startswith("$var"):
                parts = line.split()
                # $var wire 1 <code> <name> $end
                if len(parts) >= 6 and parts[2] == "1" and re.fullmatch(r"n\d+", parts[4]):
                    code_net[parts[3]] = int(parts[4][1:])
            elif line.startswith("$enddefinitions"):
                break
        state = {}
        for line in f:
            c = line[:1]
            if c in "01":
                code = line[1:].rstrip("\n")
                i = code_net.get(code)
                if i is None:
                    continue
                old = state.get(code)
                state[code] = c
                if old == "0" and c == "1":
                    rises[i] += 1
                elif old == "1" and c == "0":
                    falls[i] += 1
            elif c in "xXzZ":
                code = line[1:].rstrip("\n")
                state[code] = "x"
    return rises, falls
