"""Make Yosys' gate-level Verilog readable by OpenSTA 2.0.17 (docs/TOOLCHAIN.md).

That OpenSTA's Verilog reader takes cell instances, wire/port declarations and single-bit or
single-net ``assign``s, but not: the ``signed`` keyword in declarations, ``assign`` with ``{..}``
concatenations on either side, or undefined constants (``N'bx..``). :func:`clean` rewrites every
``assign`` into one ``assign`` per bit, drops the bits driven by ``x`` or ``z``, and strips ``signed``.
Everything else is copied unchanged. The netlist is expected from ``write_verilog -noattr -noexpr
-nohex -nodec`` (constants in binary, no expressions).
"""

from __future__ import annotations

import re

#: A Verilog identifier, plain or escaped (also read by shiftpsn.synth.gatesim).
IDENT = r"(\\\S+|[A-Za-z_][\w$]*)"
#: A declaration (indent, kind, msb, lsb, name) and a continuous assignment (lhs, rhs), one per line.
DECL = re.compile(r"^(\s*)(input|output|inout|wire|reg)\s+(?:signed\s+)?(?:\[(\d+):(\d+)\]\s+)?" + IDENT + r"\s*;")
ASSIGN = re.compile(r"^\s*assign\s+(.+?)\s*=\s*(.+?)\s*;\s*$")
_CONST = re.compile(r"(\d+)'([bB])([01xXzZ_]+)$")
_REF = re.compile(IDENT + r"\s*(?:\[\s*(\d+)\s*(?::\s*(\d+)\s*)?\])?$")


def clean(text: str) -> str:
    """The netlist ``text`` with ``signed`` stripped and every ``assign`` expanded to single bits.

    Raises
    ------
    ValueError
        On an ``assign`` it cannot expand (an operator, a replication, unequal widths).
    """
    ranges: dict[str, tuple[int, int] | None] = {}
    out = []
    for line in text.splitlines():
        m = DECL.match(line)
        if m:
            indent, kind, hi, lo, name = m.groups()
            ranges[name] = None if hi is None else (int(hi), int(lo))
            rng = "" if hi is None else f"[{hi}:{lo}] "
            sep = " " if name.startswith("\\") else ""  # an escaped name ends at white space
            out.append(f"{indent}{kind} {rng}{name}{sep};")
            continue
        m = ASSIGN.match(line)
        if m:
            lhs, rhs = _bits(m.group(1), ranges), _bits(m.group(2), ranges)
            if len(lhs) != len(rhs):
                raise ValueError(f"assign widths differ ({len(lhs)} vs {len(rhs)}): {line.strip()}")
            for dst, src in zip(lhs, rhs):
                if src not in ("1'bx", "1'bz"):
                    out.append(f"  assign {dst} = {src};")
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def _bits(expr: str, ranges: dict) -> list[str]:
    """The single-bit terms of a net expression, MSB first."""
    expr = expr.strip()
    if expr.startswith("{"):
        if not expr.endswith("}"):
            raise ValueError(f"cannot expand {expr!r}")
        inner = expr[1:-1]
        if "{" in inner:
            raise ValueError(f"nested concatenation or replication not supported: {expr!r}")
        bits = []
        for item in _split_commas(inner):
            bits += _bits(item, ranges)
        return bits
    m = _CONST.match(expr)
    if m:
        width, digits = int(m.group(1)), m.group(3).replace("_", "").lower()
        digits = digits.rjust(width, digits[0] if digits[0] in "xz" else "0")[-width:]
        return [f"1'b{d}" for d in digits]
    m = _REF.match(expr)
    if not m:
        raise ValueError(f"cannot expand {expr!r}")
    name, a, b = m.groups()
    sep = " " if name.startswith("\\") else ""
    if a is None:
        rng = ranges.get(name)
        if rng is None:
            return [name + sep] if sep else [name]
        a, b = rng
    elif b is None:
        return [f"{name}{sep}[{a}]"]
    a, b = int(a), int(b)
    step = -1 if a >= b else 1
    return [f"{name}{sep}[{i}]" for i in range(a, b + step, step)]


def _split_commas(s: str) -> list[str]:
    """Split on commas, except inside an escaped identifier (which ends at white space)."""
    items, cur, escaped = [], [], False
    for ch in s:
        if ch == "\\":
            escaped = True
        elif escaped and ch.isspace():
            escaped = False
        if ch == "," and not escaped:
            items.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    items.append("".join(cur))
    return [i.strip() for i in items if i.strip()]


_CELL = re.compile(r"^\s*([A-Za-z_][\w$]*)\s+(\\\S+|[A-Za-z_][\w$]*)\s*\(\s*$")
_PIN = re.compile(r"^(\s*)\.([A-Za-z_]\w*)\((.*)\)(,?)\s*$")


def hold_flop_outputs(text: str, value_of, port_prefix: str = "held__") -> tuple[str, dict[str, int]]:
    """Cut the flip-flop outputs that ``value_of`` names from their loads and drive the loads from
    new input ports instead, so OpenSTA can be told the value they hold (:mod:`shiftpsn.synth.config_state`).

    Parameters
    ----------
    text : str
        A netlist cleaned by :func:`clean` (one pin connection per line, single-bit assigns).
    value_of : callable
        net name -> 0/1 for a held net, None otherwise.
    port_prefix : str
        Name prefix of the new ports (``<prefix><n>``) and of the cut Q wires (``<prefix>q<n>``).

    Returns
    -------
    (str, dict)
        The netlist, and new port -> held value. A held net's driver must be a cell's ``Q`` pin;
        the cell stays (it keeps its clock power) with its Q on a wire of its own.

    Raises
    ------
    UsageError
        When a held net has no ``Q`` driver (so the mapping would be unreliable).
    """
    from shiftpsn.base.errors import UsageError

    ports: dict[str, str] = {}     # held net -> port
    values: dict[str, int] = {}    # port -> value
    driven: set[str] = set()
    out = []
    in_cell = False

    def port_of(net: str) -> str:
        if net not in ports:
            ports[net] = f"{port_prefix}{len(ports)}"
        return ports[net]

    for line in text.splitlines():
        if _CELL.match(line):
            in_cell = True
        elif line.strip() == ");":
            in_cell = False
        m = _PIN.match(line) if in_cell else None
        if m:
            indent, pin, net, comma = m.groups()
            value = value_of(net.strip())
            if value is not None:
                port = port_of(net.strip())
                values[port] = value
                if pin == "Q":
                    driven.add(port)
                    line = f"{indent}.Q({port_prefix}q{port[len(port_prefix):]}){comma}"
                else:
                    line = f"{indent}.{pin}({port}){comma}"
            out.append(line)
            continue
        m = ASSIGN.match(line)
        if m and value_of(m.group(2).strip()) is not None:
            port = port_of(m.group(2).strip())
            values[port] = value_of(m.group(2).strip())
            line = f"  assign {m.group(1)} = {port};"
        out.append(line)
    missing = sorted(set(ports.values()) - driven)
    if missing:
        net = next(n for n, p in ports.items() if p == missing[0])
        raise UsageError(f"held net {net.strip()!r} is not driven by a flip-flop Q pin in the netlist")
    text = "\n".join(out) + "\n"
    if ports:
        names = sorted(values, key=lambda p: int(p[len(port_prefix):]))
        decls = "".join(f"  input {p};\n  wire {p};\n  wire {port_prefix}q{p[len(port_prefix):]};\n"
                        for p in names)
        text, n = re.subn(r"^(module\s+\S+\s*\()", lambda mm: mm.group(1) + ", ".join(names) + ", ",
                          text, count=1, flags=re.M)
        if n != 1:
            raise UsageError("netlist has no module header to add the held ports to")
        head_end = text.index(";", text.index("module")) + 1
        text = text[:head_end] + "\n" + decls + text[head_end:].lstrip("\n")
    return text, values
