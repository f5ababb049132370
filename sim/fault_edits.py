"""The fault mechanism (:mod:`shiftpsn.sim.faults` holds the table): a :class:`Fault` is an edit of
generated Verilog text inside one module, by regular expressions that must match (an edit that finds
nothing raises :class:`FaultNotApplicable`, so a change in the generator shows up as a failing test,
never as a fault that silently was not injected).

Edits are built from :func:`replace` (a substitution) and :func:`rewrite` (the first match replaced by
a text computed from it), placed with :func:`within` (one module: :func:`named_like` for a core's,
:func:`stage` for a network stage's) or :func:`in_top`; the few edits that need more are functions here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable


class FaultNotApplicable(AssertionError):
    """A fault's edit did not find the construct it changes in this Verilog."""


@dataclass(frozen=True)
class Fault:
    name: str
    description: str
    edit: Callable[[str], str]
    target: str = "core"  # the design it is made for: "core", "engine" or "network"

    def apply(self, verilog: str) -> str:
        out = self.edit(verilog)
        if out == verilog:
            raise FaultNotApplicable(f"fault {self.name}: the edit changed nothing")
        return out


# ---------------------------------------------------------------------------------- building edits
def sub(pattern: str, repl, text: str, count: int = 0, what: str = "") -> str:
    """re.subn that insists on at least one match."""
    out, n = re.subn(pattern, repl, text, count=count, flags=re.M)
    if n == 0:
        raise FaultNotApplicable(f"pattern for {what or pattern!r} not found")
    return out


def replace(pattern: str, repl: str, what: str, count: int = 1) -> Callable[[str], str]:
    """An edit substituting ``repl`` for the first ``count`` matches of ``pattern`` (0: every match)."""
    return lambda t: sub(pattern, repl, t, count=count, what=what)


def rewrite(pattern: str, make: Callable, what: str) -> Callable[[str], str]:
    """An edit replacing the first match of ``pattern`` with ``make(match, text)``."""
    def edit(t: str) -> str:
        m = re.search(pattern, t)
        if not m:
            raise FaultNotApplicable(f"{what} not found")
        return t[:m.start()] + make(m, t) + t[m.end():]
    return edit


def width(text: str, net: str) -> int:
    """The declared width of wire or reg ``net``."""
    m = re.search(rf"^\s*(?:wire|reg)\s+\[(\d+):(\d+)\]\s+{re.escape(net.strip())}\s*;", text, flags=re.M)
    if not m:
        raise FaultNotApplicable(f"declaration of {net!r} not found")
    return int(m.group(1)) - int(m.group(2)) + 1


# ---------------------------------------------------------------------------------- where an edit applies
def _span(text: str, name: str) -> tuple[int, int]:
    """(start, end) of the module named exactly ``name`` (escaped or not)."""
    m = re.search(rf"^module \\?{re.escape(name)}\s*\(.*?^endmodule", text, flags=re.M | re.S)
    if not m:
        raise FaultNotApplicable(f"no module {name!r}")
    return m.start(), m.end()


def _top(text: str) -> str:
    m = re.search(r"^module (\w+)\(", text, flags=re.M)
    if not m:
        raise FaultNotApplicable("no top module")
    return m.group(1)


def named_like(fragment: str) -> Callable[[str], str]:
    """The first module whose name contains ``fragment`` (a core's ``lane``, ``delay_line``, ...)."""
    def find(text: str) -> str:
        m = re.search(rf"^module \\?(\S*{re.escape(fragment)}\S*)\s*\(", text, flags=re.M)
        if not m:
            raise FaultNotApplicable(f"no module named like {fragment!r}")
        return m.group(1)
    return find


def stage(kind: str, L: int | None = None, sub_path: str = "") -> Callable[[str], str]:
    """The module of a network stage's instance in the top (``denseengine`` / ``neuronstage`` of layer
    L, or the ``readout``); ``sub_path``: a submodule below it, e.g. ``.core.lane0``."""
    def find(text: str) -> str:
        top = _top(text)
        if kind == "readout":
            return f"{top}.readout{sub_path}"
        m = re.search(rf"^  \\({re.escape(top)}\.s\d+_{kind}_l{L}) ", text, flags=re.M)
        if not m:
            raise FaultNotApplicable(f"no {kind} instance for layers[{L}]")
        return m.group(1) + sub_path
    return find


def within(where: Callable[[str], str], edit: Callable[[str], str]) -> Callable[[str], str]:
    """``edit`` applied to the text of the one module ``where`` names."""
    def apply(text: str) -> str:
        a, b = _span(text, where(text))
        return text[:a] + edit(text[a:b]) + text[b:]
    return apply


def in_top(edit: Callable[[str, str], str]) -> Callable[[str], str]:
    """``edit(text, top)`` applied to the top module."""
    def apply(text: str) -> str:
        top = _top(text)
        a, b = _span(text, top)
        return text[:a] + edit(text[a:b], top) + text[b:]
    return apply


# ---------------------------------------------------------------------------------- edits that need more
def _oldest_read(t) -> tuple[int, int]:
    """The bit range of the delay line that the oldest tap reads (masked on ``first``)."""
    reads = [(int(hi), int(lo)) for hi, lo in re.findall(r"first \? \d+'h0+ : line\[(\d+):(\d+)\];", t)]
    if not reads:
        raise FaultNotApplicable("delay-line tap reads not found")
    return max(reads)


def oldest_tap_one_delay_short(t):
    """The oldest tap reads the delay line one slot too early: X[t-(k-1)d+1]."""
    hi, lo = _oldest_read(t)
    w = hi - lo + 1
    return sub(rf"(first \? \d+'h0+ : line)\[{hi}:{lo}\];", rf"\g<1>[{hi - w}:{lo - w}];", t,
               count=1, what="oldest tap read")


def history_kept_on_first(t):
    """The oldest tap is not masked on ``first``: a sequence sees the previous one's inputs."""
    hi, lo = _oldest_read(t)
    return sub(rf"first \? \d+'h0+ : (line\[{hi}:{lo}\]);", r"\1;", t, count=1, what="first mask")


def _carry_dropped(m, t) -> str:
    w = width(t, m.group(1))
    return f"assign acc = $signed({m.group(1)}[{w - 2}:0] + {m.group(2)}[{w - 2}:0]);"


#: The last adder of the tree adds its operands one bit too narrow (the carry into the top bit of the
#: operands' width is lost); only large accumulators show it.
dropped_carry = rewrite(r"assign acc = \$signed\((\\\$\d+ )\) \+ \$signed\((\\\$\d+ )\);", _carry_dropped,
                        "final adder")


def history_write_hazard(t):
    """The history write-back is registered once more (as for timing) without forwarding: it lands
    one beat late, at the edge where the next time step reads the same word, which then reads the
    old history (read-during-write)."""
    blocks = list(re.finditer(r"always @\(posedge clk\) begin\s+if \(([^)]+)\)\s+(history\d+)\[([^\]]+)\] "
                              r"<= ([^;]+);\s+end", t))
    if not blocks:
        raise FaultNotApplicable("history write ports not found")
    for n, m in reversed(list(enumerate(blocks))):
        en, mem, addr, data = m.groups()
        decl = re.search(rf"reg \[(\d+):0\] {mem} \[", t)
        if not decl:
            raise FaultNotApplicable(f"declaration of {mem} not found")
        bits = int(decl.group(1)) + 1
        repl = (f"reg fault_pend_en{n} = 1'h0;\n  reg [31:0] fault_pend_addr{n};\n"
                f"  reg [{bits - 1}:0] fault_pend_data{n};\n"
                f"  always @(posedge clk) begin\n"
                f"    if (i__ready) begin\n      fault_pend_en{n} <= {en};\n"
                f"      fault_pend_addr{n} <= {addr};\n      fault_pend_data{n} <= {data};\n    end\n"
                f"    if (fault_pend_en{n} && i__ready)\n      {mem}[fault_pend_addr{n}] <= fault_pend_data{n};\n"
                f"  end")
        t = t[:m.start()] + repl + t[m.end():]
    return t


def lanes_swapped(w: int) -> Callable[[str], str]:
    """The inputs of lanes 0 and 1 (``w`` bits each) are swapped when a beat enters stage 1."""
    return rewrite(r"(\\\$\d+ ) = i__payload\[(\d+):0\];",
                   lambda m, t: f"{m.group(1)} = {{ i__payload[{m.group(2)}:{2 * w}], i__payload[{w - 1}:0], "
                                f"i__payload[{2 * w - 1}:{w}] }};", "stage-1 input register")


def beat_counter_off_by_one(t):
    """The beat (neuron group) counter wraps one beat early: the last beat of a time step is
    taken for the first of the next."""
    if re.search(r"^\s*assign last_beat = beat;", t, flags=re.M):  # a 1-bit counter (2 beats per step)
        return sub(r"assign last_beat = beat;", "assign last_beat = !beat;", t, count=1, what="last beat")
    m = re.search(r"assign last_beat = beat == (\d+)'h([0-9a-f]+);", t)
    if not m or int(m.group(2), 16) == 0:
        raise FaultNotApplicable("last-beat comparison not found")
    value = int(m.group(2), 16) - 1
    return t[:m.start()] + f"assign last_beat = beat == {m.group(1)}'h{value:x};" + t[m.end():]


def spike_dropped_into(L: int):
    """Lane 0 of the spikes entering dense layer L is tied to 0 in the top's wiring (the neuron layer
    itself, watched by the testbench, is right: only the logits show it)."""
    def edit(t, top):
        m = re.search(rf"(\\{re.escape(top)}\.s\d+_denseengine_l{L}  \w+ \((?:(?!\);).)*?\.i__payload\()"
                      rf"(\\?[\w$]+ ?)\)", t, flags=re.S)
        if not m:
            raise FaultNotApplicable(f"input connection of dense layers[{L}] not found")
        net = m.group(2)
        decl = re.search(rf"^\s*wire \[(\d+):0\] {re.escape(net.strip())} ?;", t, flags=re.M)
        if not decl:
            raise FaultNotApplicable(f"declaration of {net!r} not found")
        hi = int(decl.group(1))
        return t[:m.start(2)] + f"{{ {net}[{hi}:1], 1'h0 }}" + t[m.end(2):]
    return edit
