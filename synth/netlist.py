"""Make Yosys' gate-level Verilog readable by OpenSTA 2.0.17 (TOOLCHAIN.md).

That OpenSTA's Verilog reader takes cell instances, wire/port declarations and single-bit or
single-net ``assign``s, but not: the ``signed`` keyword in declarations, ``assign`` with ``{..}``
concatenations on either side, or undefined constants (``N'bx..``). :func:`clean` rewrites every
``assign`` into one ``assign`` per bit, drops the bits driven by ``x`` or ``z``, and strips ``signed``.
Everything else is copied unchanged. The netlist is expected from ``write_verilog -noattr -noexpr
-nohex -nodec`` (constants in binary, no expressions).
"""

from __future__ import annotations

import re

_DECL = re.compile(r"^(\s*)(input|output|inout|wire|reg)\s+(?:signed\s+)?(?:\[(\d+):(\d+)\]\s+)?(\\\S+|[A-Za-z_][\w$]*)\s*;")
_ASSIGN = re.compile(r"^\s*assign\s+(.+?)\s*=\s*(.+?)\s*;\s*$")
_CONST = re.compile(r"(\d+)'([bB])([01xXzZ_]+)$")
_REF = re.compile(r"(\\\S+|[A-Za-z_][\w$]*)\s*(?:\[\s*(\d+)\s*(?::\s*(\d+)\s*)?\])?$")


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
        m = _DECL.match(line)
        if m:
            indent, kind, hi, lo, name = m.groups()
            ranges[name] = None if hi is None else (int(hi), int(lo))
            rng = "" if hi is None else f"[{hi}:{lo}] "
            sep = " " if name.startswith("\\") else ""  # an escaped name ends at white space
            out.append(f"{indent}{kind} {rng}{name}{sep};")
            continue
        m = _ASSIGN.match(line)
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
