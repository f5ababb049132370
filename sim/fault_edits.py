"""The edits of the hand-made faults (:mod:`shiftpsn.sim.faults`): each a precise change of generated
Verilog text, by regular expressions that must match (an edit that finds nothing raises
:class:`FaultNotApplicable`, so a change in the generator shows up as a failing test, never as a fault
that silently was not injected). Each takes the text of the module it edits (or, for the network's
wiring, the top module's text and name) and returns it changed.
"""

from __future__ import annotations

import re


class FaultNotApplicable(AssertionError):
    """A fault's edit did not find the construct it changes in this Verilog."""


def sub(pattern: str, repl, text: str, count: int = 0, what: str = "") -> str:
    """re.subn that insists on at least one match."""
    out, n = re.subn(pattern, repl, text, count=count, flags=re.M)
    if n == 0:
        raise FaultNotApplicable(f"pattern for {what or pattern!r} not found")
    return out


def width(text: str, net: str) -> int:
    m = re.search(rf"^\s*(?:wire|reg)\s+\[(\d+):(\d+)\]\s+{re.escape(net)}\s*;", text, flags=re.M)
    if not m:
        raise FaultNotApplicable(f"declaration of {net!r} not found")
    return int(m.group(1)) - int(m.group(2)) + 1


# ---------------------------------------------------------------------------------- cores
def comparator_gt(t):
    """A neuron spikes on acc > threshold instead of >=."""
    return sub(r"(assign spike = .*?) >= ", r"\1 > ", t, count=1, what="spike comparator")


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


def dropped_carry(t):
    """The last adder of the tree adds its operands one bit too narrow (the carry into the top bit
    of the operands' width is lost); only large accumulators show it."""
    m = re.search(r"assign acc = \$signed\((\\\$\d+ )\) \+ \$signed\((\\\$\d+ )\);", t)
    if not m:
        raise FaultNotApplicable("final adder not found")
    a, b = m.group(1), m.group(2)
    w = width(t, a.strip())
    repl = f"assign acc = $signed({a}[{w - 2}:0] + {b}[{w - 2}:0]);"
    return t[:m.start()] + repl + t[m.end():]


def lost_beat_under_stall(t):
    """o.valid is not held while o.ready is low: a stalled beat disappears (the core's output register,
    a network's readout)."""
    return sub(r"(\\\$\d+ ) = o__valid;", r"\1 = 1'h0;", t, count=1, what="o.valid hold")


def stuck_ready_high(t):
    """i.ready stuck at 1: the core takes beats it has no room for."""
    return sub(r"assign i__ready = [^;]+;", "assign i__ready = 1'h1;", t, what="i.ready")


def duplicated_beat(t):
    """o.valid is never cleared once set: the last beat repeats while no input comes."""
    return sub(r"(if \(i__ready\) begin\s+(\\\$\d+ ) = )i__valid;", r"\1i__valid | o__valid;", t,
               count=1, what="o.valid update")


def history_kept_on_first(t):
    """The oldest tap is not masked on ``first``: a sequence sees the previous one's inputs."""
    hi, lo = _oldest_read(t)
    return sub(rf"first \? \d+'h0+ : (line\[{hi}:{lo}\]);", r"\1;", t, count=1, what="first mask")


def reset_keeps_history(t):
    """rst clears the valid flags but not the delay line."""
    return sub(r"(if \(rst\) begin\s+\\\$\d+ ) = \d+'h0+;(\s+end\s+end)", r"\1 = line;\2", t,
               count=1, what="delay-line reset")


def sign_ignored(t):
    """The negation of the first tap's operand is skipped: -x becomes x."""
    return sub(r"assign (\\\$\d+ ) = - \$signed\(([^)]+)\);", r"assign \1 = $signed(\2);", t, count=1,
                what="tap negation")


def no_sign_extension(t):
    """A tap operand is zero-extended instead of sign-extended: negative inputs read as large."""
    return sub(r"\? (\\\$\d+ ) : \{ (\\\$\d+ )\[(\d+)\], \2 \};", r"? \1 : { 1'h0, \2 };", t, count=1,
                what="operand sign extension")


def wrong_shift_amount(t):
    """The barrel shifter's first stage shifts by 2 instead of 1."""
    m = re.search(r"assign (\\\$\d+ ) = \{ (term0_in), 1'h0 \};", t)
    if not m:
        raise FaultNotApplicable("first shifter stage not found")
    w = width(t, m.group(2))
    repl = f"assign {m.group(1)} = {{ {m.group(2)}[{w - 2}:0], 2'h0 }};"
    return t[:m.start()] + repl + t[m.end():]


def threshold_lsb_dropped(t):
    """Bit 0 of channel 0's threshold register is not wired: odd thresholds are off by one."""
    m = re.search(r"assign threshold\[(\d+):0\] = (\w+)\[(\d+):(\d+)\];", t)
    if not m:
        raise FaultNotApplicable("threshold wiring not found")
    hi, reg, rhi, rlo = m.group(1), m.group(2), int(m.group(3)), int(m.group(4))
    repl = f"assign threshold[{hi}:0] = {{ {reg}[{rhi}:{rlo + 1}], 1'h0 }};"
    return t[:m.start()] + repl + t[m.end():]


def config_write_lost(t):
    """The write enable of the first tap word never fires: that weight keeps its power-up value."""
    return sub(r"(if \()(\\\$\d+ )(\) begin\s+\\\$\d+ \[\d+:0\] = cfg__data\[\d+:0\];)", r"\g<1>1'h0\3", t,
               count=1, what="first tap-word write")


def first_flag_dropped(t):
    """The output beat's ``first`` flag is not forwarded (always 0)."""
    m = re.search(r"(\\\$\d+ )\[(\d+)\] = i__payload\[(\d+)\];", t)
    if not m:
        raise FaultNotApplicable("first-flag forwarding not found")
    return t[:m.start()] + f"{m.group(1)}[{m.group(2)}] = 1'h0;" + t[m.end():]



# ---------------------------------------------------------------------------------- the engine
def history_wrong_address(t):
    """Every lane writes its history back to the word of the next beat (the live beat counter)
    instead of the word it read (the beat address held in stage 1)."""
    return sub(r"^(\s+history\d+)\[[^\]]+\] <=", r"\1[beat] <=", t, what="history write address")


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


def lane1_history_kept_on_first(t):
    """Lane 1's datapath ignores the history-empty flag (``first`` or the first step after reset):
    its neurons (1 and 7) start each sequence with the previous one's inputs in their taps."""
    return sub(r"(\slane1 \([^;]*?\.empty\()[^)]*\)", r"\g<1>1'h0)", t, count=1, what="lane 1 empty flag")


def lanes_swapped(w: int):
    """The inputs of lanes 0 and 1 (``w`` bits each) are swapped when a beat enters stage 1."""
    def edit(t):
        m = re.search(r"(\\\$\d+ ) = i__payload\[(\d+):0\];", t)
        if not m:
            raise FaultNotApplicable("stage-1 input register not found")
        hi = int(m.group(2))
        swapped = f"{{ i__payload[{hi}:{2 * w}], i__payload[{w - 1}:0], i__payload[{2 * w - 1}:{w}] }}"
        return t[:m.start()] + f"{m.group(1)} = {swapped};" + t[m.end():]
    return edit


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



# ---------------------------------------------------------------------------------- networks
def weight_address_neighbour(t):
    """The weight ROM address has its lowest input bit flipped: input 2i adds input 2i+1's weights and
    the other way round."""
    return sub(r"assign (\\\$\d+ ) = weight_base \+ low;", r"assign \1 = weight_base + (low ^ 1'h1);", t,
               count=1, what="weight address")


def weight_group_ignored(t):
    """The weight address leaves out the group's base: every output group uses group 0's weights."""
    return sub(r"assign (\\\$\d+ ) = weight_base \+ low;", r"assign \1 = low;", t, count=1, what="weight address")


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


def tie_wrong_way(t):
    """The running argmax takes an equal sum (>= for >): a tie goes to the highest index."""
    return sub(r"(\$signed\([^;]*\)) > (\$signed\()", r"\1 >= \2", t, what="argmax comparisons")


def bias_dropped(t):
    """One lane of the engine (the first bias term in the Verilog) never adds its bias."""
    return sub(r"assign (\\\$\d+ ) = (\\\$\d+ ) \? b_rd__data\[\d+:\d+\] : (\d+'h0+);", r"assign \1 = \3;", t,
               count=1, what="bias term")


def sign_plane_added(t):
    """The bit-serial engine adds the sign plane's weights instead of subtracting them."""
    return sub(r"= neg_s1 \?", "= 1'h0 ?", t, what="sign-plane negation")


def first_lost_in_dense(t):
    """A dense engine does not forward ``first``: the next neuron layer keeps its history across sequences
    and the readout its sums."""
    return sub(r"(if \(advance\) begin\s+\\\$\d+ +=\s+)step_first;", r"\g<1>1'h0;", t, count=1,
                what="first flag into stage 1")


def last_dropped(t):
    """A neuron stage loses ``last``: the readout never ends a sequence."""
    return sub(r"assign o__payload\[(\d+)\] = r_data;", r"assign o__payload[\1] = 1'h0;", t, count=1,
                what="last flag from the FIFO")


def sums_not_restarted(t):
    """The readout's sum of output 0 is not restarted on ``first``: it carries the previous sequence's."""
    return sub(r"assign (\\\$\d+ ) = i__payload\[\d+\] \? \d+'h0+ : (sum_g0_0);", r"assign \1 = \2;", t, count=1,
                what="sum restart")


def class_index_off(t):
    """The argmax records lane 1's index as lane 0's (an odd class reads one less)."""
    return sub(r"assign (\\\$\d+ ) = out_base \+ 1'h1;", r"assign \1 = out_base + 1'h0;", t, count=1,
                what="lane 1 index")
