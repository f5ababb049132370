"""Hand-made faulty variants of a generated core, for fault-injection tests of the regression.

Each fault is a precise edit of the generated Verilog text: regular-expression substitutions that
must each match (an edit that finds nothing raises, so a change in the generator shows up as a
failing test, never as a fault that silently was not injected). The faults are the mistakes an
RTL designer makes: a tap one delay off, ``>`` for ``>=``, a dropped carry, a beat lost or
duplicated under back-pressure, history kept across ``first`` or ``rst``, a sign or a sign
extension ignored, a wrong shift, a stuck ready, a threshold bit dropped, a configuration write
lost.

:func:`fault_spec` is a runtime-weights core whose weights make each fault visible: large shifts
(accumulators near their range), a weight of 1 next to them (every threshold reachable), negative
signs on the oldest tap, a zero tap, odd and negative thresholds. The tests generate the Verilog from *other* weights (``cosim.scrambled_weights``) so
that the regression loads the real ones through the configuration port.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from shiftpsn.base.paths import description_path
from shiftpsn.base.spec import CoreSpec


class FaultNotApplicable(AssertionError):
    """A fault's edit did not find the construct it changes in this Verilog."""


@dataclass(frozen=True)
class Fault:
    name: str
    description: str
    edit: Callable[[str], str]

    def apply(self, verilog: str) -> str:
        out = self.edit(verilog)
        if out == verilog:
            raise FaultNotApplicable(f"fault {self.name}: the edit changed nothing")
        return out


def fault_spec() -> CoreSpec:
    """C=3, k=4, d=2, 8-bit inputs, exponents [-2, 3], runtime weights (see the module docstring)."""
    return CoreSpec(channels=3, order=4, dilation=2, input_width=8, exp_min=-2, exp_max=3,
                    shift=[[3, 3, -2, 3], [2, None, 3, -1], [-1, 1, 3, 3]],
                    sign=[[-1, 1, 1, 1], [1, 1, -1, -1], [-1, -1, 1, 1]],
                    threshold=[101, -77, 1000], weights="runtime", name="fault_core")


def _sub(pattern: str, repl, text: str, count: int = 0, what: str = "") -> str:
    """re.subn that insists on at least one match."""
    out, n = re.subn(pattern, repl, text, count=count, flags=re.M)
    if n == 0:
        raise FaultNotApplicable(f"pattern for {what or pattern!r} not found")
    return out


def _module(text: str, name_fragment: str) -> tuple[int, int]:
    """(start, end) of the first module whose name contains ``name_fragment``."""
    m = re.search(rf"^module \\?\S*{re.escape(name_fragment)}\S*\s*\(.*?^endmodule", text, flags=re.M | re.S)
    if not m:
        raise FaultNotApplicable(f"no module named like {name_fragment!r}")
    return m.start(), m.end()


def _in_module(name_fragment: str, edit: Callable[[str], str]) -> Callable[[str], str]:
    def apply(text: str) -> str:
        a, b = _module(text, name_fragment)
        return text[:a] + edit(text[a:b]) + text[b:]
    return apply


def _width(text: str, net: str) -> int:
    m = re.search(rf"^\s*(?:wire|reg)\s+\[(\d+):(\d+)\]\s+{re.escape(net)}\s*;", text, flags=re.M)
    if not m:
        raise FaultNotApplicable(f"declaration of {net!r} not found")
    return int(m.group(1)) - int(m.group(2)) + 1


# ---------------------------------------------------------------------------------- the edits
def _comparator_gt(t):
    return _sub(r"(assign spike = \$signed\(acc\) )>=", r"\1>", t, what="spike comparator")


def _oldest_tap_one_delay_short(t):
    """The oldest tap reads the delay line one slot too early: X[t-(k-1)d+1]."""
    reads = [(int(hi), int(lo)) for hi, lo in re.findall(r"first \? \d+'h0+ : line\[(\d+):(\d+)\];", t)]
    if not reads:
        raise FaultNotApplicable("delay-line tap reads not found")
    hi, lo = max(reads)
    w = hi - lo + 1
    return _sub(rf"(first \? \d+'h0+ : line)\[{hi}:{lo}\];", rf"\g<1>[{hi - w}:{lo - w}];", t,
                count=1, what="oldest tap read")


def _dropped_carry(t):
    """The last adder of the tree adds its operands one bit too narrow (the carry into the top bit
    of the operands' width is lost); only large accumulators show it."""
    m = re.search(r"assign acc = \$signed\((\\\$\d+ )\) \+ \$signed\((\\\$\d+ )\);", t)
    if not m:
        raise FaultNotApplicable("final adder not found")
    a, b = m.group(1), m.group(2)
    w = _width(t, a.strip())
    repl = f"assign acc = $signed({a}[{w - 2}:0] + {b}[{w - 2}:0]);"
    return t[:m.start()] + repl + t[m.end():]


def _lost_beat_under_stall(t):
    """o.valid is not held while o.ready is low: a stalled beat disappears."""
    return _sub(r"(\\\$\d+ ) = o__valid;", r"\1 = 1'h0;", t, count=1, what="o.valid hold")


def _stuck_ready_high(t):
    """i.ready stuck at 1: the core takes beats it has no room for."""
    return _sub(r"assign i__ready = [^;]+;", "assign i__ready = 1'h1;", t, what="i.ready")


def _duplicated_beat(t):
    """o.valid is never cleared once set: the last beat repeats while no input comes."""
    return _sub(r"(if \(i__ready\) begin\s+(\\\$\d+ ) = )i__valid;", r"\1i__valid | o__valid;", t,
                count=1, what="o.valid update")


def _history_kept_on_first(t):
    """The oldest tap is not masked on ``first``: a sequence sees the previous one's inputs."""
    reads = [(int(hi), int(lo)) for hi, lo in re.findall(r"first \? \d+'h0+ : line\[(\d+):(\d+)\];", t)]
    if not reads:
        raise FaultNotApplicable("delay-line tap reads not found")
    hi, lo = max(reads)
    return _sub(rf"first \? \d+'h0+ : (line\[{hi}:{lo}\]);", r"\1;", t, count=1, what="first mask")


def _reset_keeps_history(t):
    """rst clears the valid flags but not the delay line."""
    return _sub(r"(if \(rst\) begin\s+\\\$\d+ ) = \d+'h0+;(\s+end\s+end)", r"\1 = line;\2", t,
                count=1, what="delay-line reset")


def _sign_ignored(t):
    """The negation of the first tap's operand is skipped: -x becomes x."""
    return _sub(r"assign (\\\$\d+ ) = - \$signed\(([^)]+)\);", r"assign \1 = $signed(\2);", t, count=1,
                what="tap negation")


def _no_sign_extension(t):
    """A tap operand is zero-extended instead of sign-extended: negative inputs read as large."""
    return _sub(r"\? (\\\$\d+ ) : \{ (\\\$\d+ )\[(\d+)\], \2 \};", r"? \1 : { 1'h0, \2 };", t, count=1,
                what="operand sign extension")


def _wrong_shift_amount(t):
    """The barrel shifter's first stage shifts by 2 instead of 1."""
    m = re.search(r"assign (\\\$\d+ ) = \{ (term0_in), 1'h0 \};", t)
    if not m:
        raise FaultNotApplicable("first shifter stage not found")
    w = _width(t, m.group(2))
    repl = f"assign {m.group(1)} = {{ {m.group(2)}[{w - 2}:0], 2'h0 }};"
    return t[:m.start()] + repl + t[m.end():]


def _threshold_lsb_dropped(t):
    """Bit 0 of channel 0's threshold register is not wired: odd thresholds are off by one."""
    m = re.search(r"assign threshold\[(\d+):0\] = (\w+)\[(\d+):(\d+)\];", t)
    if not m:
        raise FaultNotApplicable("threshold wiring not found")
    hi, reg, rhi, rlo = m.group(1), m.group(2), int(m.group(3)), int(m.group(4))
    repl = f"assign threshold[{hi}:0] = {{ {reg}[{rhi}:{rlo + 1}], 1'h0 }};"
    return t[:m.start()] + repl + t[m.end():]


def _config_write_lost(t):
    """The write enable of the first tap word never fires: that weight keeps its power-up value."""
    return _sub(r"(if \()(\\\$\d+ )(\) begin\s+\\\$\d+ \[\d+:0\] = cfg__data\[\d+:0\];)", r"\g<1>1'h0\3", t,
                count=1, what="first tap-word write")


def _first_flag_dropped(t):
    """The output beat's ``first`` flag is not forwarded (always 0)."""
    m = re.search(r"(\\\$\d+ )\[(\d+)\] = i__payload\[(\d+)\];", t)
    if not m:
        raise FaultNotApplicable("first-flag forwarding not found")
    return t[:m.start()] + f"{m.group(1)}[{m.group(2)}] = 1'h0;" + t[m.end():]


FAULTS: tuple[Fault, ...] = (
    Fault("comparator_gt", "spike = acc > threshold instead of >=", _in_module("lane", _comparator_gt)),
    Fault("tap_off_by_one", "the oldest tap reads one delay too early",
          _in_module("delay_line", _oldest_tap_one_delay_short)),
    Fault("dropped_carry", "the final adder loses the carry into its top bit", _in_module("lane", _dropped_carry)),
    Fault("lost_beat_under_stall", "o.valid not held while o.ready is low", _lost_beat_under_stall),
    Fault("stuck_ready_high", "i.ready stuck at 1 (back-pressure ignored)", _stuck_ready_high),
    Fault("duplicated_beat", "o.valid never cleared: beats repeat", _duplicated_beat),
    Fault("history_kept_on_first", "the oldest tap is not cleared on first",
          _in_module("delay_line", _history_kept_on_first)),
    Fault("reset_keeps_history", "rst does not clear the delay line", _in_module("delay_line", _reset_keeps_history)),
    Fault("sign_ignored", "a negative weight on tap 0 acts positive", _in_module("lane", _sign_ignored)),
    Fault("no_sign_extension", "tap 0's operand zero-extended", _in_module("lane", _no_sign_extension)),
    Fault("wrong_shift_amount", "the shifter's 1-stage shifts by 2", _in_module("lane", _wrong_shift_amount)),
    Fault("threshold_lsb_dropped", "bit 0 of a threshold register unwired", _threshold_lsb_dropped),
    Fault("config_write_lost", "a tap word's write enable never fires", _in_module("weights", _config_write_lost)),
    Fault("first_flag_dropped", "the output first flag is always 0", _first_flag_dropped),
)


def write_faulty_core(fault: Fault | None, directory, spec: CoreSpec | None = None) -> Path:
    """Generate ``spec`` (default :func:`fault_spec`) with scrambled power-up weights, apply
    ``fault`` (None: a healthy core), write ``<name>.v`` and the ``<name>.core.json`` beside it (top and
    the real spec, as ``regress --verilog`` reads them); return the Verilog path."""
    import json

    from shiftpsn.hdl.generate import generate

    from .cosim import scrambled_weights

    spec = spec or fault_spec()
    gen = generate(scrambled_weights(spec), top=spec.name)
    text = gen.verilog if fault is None else fault.apply(gen.verilog)
    name = "healthy" if fault is None else fault.name
    path = Path(directory) / f"{name}.v"
    path.write_text(text)
    info = dict(gen.info, spec=spec.to_dict())
    description_path(path).write_text(json.dumps(info, indent=1) + "\n")
    return path


# ---------------------------------------------------------------------------------- engine faults
def engine_fault_spec() -> CoreSpec:
    """:func:`fault_spec`'s channels and weights as a time-multiplexed engine: 4 positions, 6 lanes,
    so 12 neurons in 2 beats per time step (the fewest an engine has: a history write that lands one
    beat late meets the next read of the same word)."""
    return fault_spec().replace(positions=4, lanes=6, name="fault_engine")


def _history_wrong_address(t):
    """Every lane writes its history back to the word of the next beat (the live beat counter)
    instead of the word it read (the beat address held in stage 1)."""
    return _sub(r"^(\s+history\d+)\[[^\]]+\] <=", r"\1[beat] <=", t, what="history write address")


def _history_write_hazard(t):
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
        width = int(decl.group(1)) + 1
        repl = (f"reg fault_pend_en{n} = 1'h0;\n  reg [31:0] fault_pend_addr{n};\n"
                f"  reg [{width - 1}:0] fault_pend_data{n};\n"
                f"  always @(posedge clk) begin\n"
                f"    if (i__ready) begin\n      fault_pend_en{n} <= {en};\n"
                f"      fault_pend_addr{n} <= {addr};\n      fault_pend_data{n} <= {data};\n    end\n"
                f"    if (fault_pend_en{n} && i__ready)\n      {mem}[fault_pend_addr{n}] <= fault_pend_data{n};\n"
                f"  end")
        t = t[:m.start()] + repl + t[m.end():]
    return t


def _one_history_kept_on_first(t):
    """Lane 1's datapath ignores the history-empty flag (``first`` or the first step after reset):
    its neurons (1 and 7) start each sequence with the previous one's inputs in their taps."""
    return _sub(r"(\slane1 \([^;]*?\.empty\()[^)]*\)", r"\g<1>1'h0)", t, count=1, what="lane 1 empty flag")


def _lanes_swapped(t):
    """The inputs of lanes 0 and 1 are swapped when a beat enters stage 1."""
    m = re.search(r"(\\\$\d+ ) = i__payload\[(\d+):0\];", t)
    if not m:
        raise FaultNotApplicable("stage-1 input register not found")
    hi = int(m.group(2))
    w = engine_fault_spec().input_width
    swapped = f"{{ i__payload[{hi}:{2 * w}], i__payload[{w - 1}:0], i__payload[{2 * w - 1}:{w}] }}"
    return t[:m.start()] + f"{m.group(1)} = {swapped};" + t[m.end():]


def _beat_counter_off_by_one(t):
    """The beat (neuron group) counter wraps one beat early: the last beat of a time step is
    taken for the first of the next."""
    if re.search(r"^\s*assign last_beat = beat;", t, flags=re.M):  # a 1-bit counter (2 beats per step)
        return _sub(r"assign last_beat = beat;", "assign last_beat = !beat;", t, count=1, what="last beat")
    m = re.search(r"assign last_beat = beat == (\d+)'h([0-9a-f]+);", t)
    if not m or int(m.group(2), 16) == 0:
        raise FaultNotApplicable("last-beat comparison not found")
    value = int(m.group(2), 16) - 1
    return t[:m.start()] + f"assign last_beat = beat == {m.group(1)}'h{value:x};" + t[m.end():]


#: Faults of the time-multiplexed engine, injected into :func:`engine_fault_spec`'s Verilog.
ENGINE_FAULTS: tuple[Fault, ...] = (
    Fault("history_wrong_address", "histories written back to the next beat's word",
          _in_module("fault_engine", _history_wrong_address)),
    Fault("history_write_hazard", "history write lands a beat late: read-during-write",
          _in_module("fault_engine", _history_write_hazard)),
    Fault("one_history_kept_on_first", "lane 1's history taps are not cleared on first",
          _in_module("fault_engine", _one_history_kept_on_first)),
    Fault("lanes_swapped", "lanes 0 and 1 swapped at stage 1", _in_module("fault_engine", _lanes_swapped)),
    Fault("beat_counter_off_by_one", "the neuron-group counter wraps one beat early",
          _in_module("fault_engine", _beat_counter_off_by_one)),
)
