"""Hand-made faulty variants of a generated network, for fault-injection tests of ``regress --net``.

Each fault is a precise edit of the generated Verilog (regular-expression substitutions inside one
module that must each match: an edit that finds nothing raises, so a change in the generator shows up
as a failing test, never as a fault that silently was not injected). The faults are the mistakes made
when joining layers into a network: a wrong weight address, a spike dropped between layers, a readout
tie broken the wrong way, a lost bias, the sign plane of the bit-serial inputs added, ``first`` or
``last`` lost on the way, a history kept across sequences, sums not restarted, a beat lost under
back-pressure, a wrong class index, a comparator off by one.

:func:`fault_network` is a network whose structure and weights make each fault visible: a bit-serial
first layer with negative weights and inputs, three output groups (lanes 2 of 6) re-cut for a
time-multiplexed neuron engine (lanes 3), a parallel neuron core, spike rates near one half, and a
last layer whose outputs 1 and 3 are equal (a tie across output beats, the argmax in about a quarter
of the sequences).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from shiftpsn.base.network import DenseLayer, NetworkSpec, signed_width
from shiftpsn.base.spec import CoreSpec

from .faults import Fault, FaultNotApplicable, _sub


def fault_network() -> NetworkSpec:
    """I = 3 inputs of 5 bits -> dense 6 (lanes 2) -> psn engine (lanes 3, k 3) -> dense 4 (lanes 2)
    -> psn core (k 2, d 2) -> dense 4 (lanes 2, outputs 1 and 3 equal); see the module docstring."""
    W = 5
    d0 = DenseLayer([[3, -2, 1], [-4, 5, 2], [1, 1, -3], [7, -1, 0], [-2, -6, 3], [2, 3, 5]],
                    [5, -3, 0, 8, -7, 1], lanes=2)
    lo, hi, _ = d0.output_range(-(1 << (W - 1)), (1 << (W - 1)) - 1)
    p1 = CoreSpec(channels=6, order=3, dilation=1, input_width=signed_width(min(lo), max(hi)), exp_min=0, exp_max=2,
                  shift=[[2, 0, 1], [1, None, 2], [0, 2, 2], [1, 1, 0], [2, 2, 1], [0, 1, 2]],
                  sign=[[-1, 1, 1], [1, 1, -1], [1, -1, 1], [-1, -1, 1], [1, 1, 1], [1, -1, -1]],
                  threshold=[0, 10, -5, 20, -15, 3], lanes=3)
    d2 = DenseLayer([[9, -7, 3, 12, -5, 1], [-8, 6, 11, -3, 4, -10], [5, 5, -9, 2, 7, -6], [-2, -11, 4, 8, -3, 9]],
                    [-3, 4, 0, -6], lanes=2)
    lo, hi, _ = d2.output_range(0, 1)
    p3 = CoreSpec(channels=4, order=2, dilation=2, input_width=signed_width(min(lo), max(hi)), exp_min=-1, exp_max=1,
                  shift=[[1, 0], [0, -1], [-1, 1], [1, 1]], sign=[[1, -1], [-1, 1], [1, 1], [-1, -1]],
                  threshold=[2, -2, 3, -5])
    d4 = DenseLayer([[6, -4, 9, 2], [-5, 8, 3, 7], [4, 6, -7, 5], [-5, 8, 3, 7]], [0, -2, 1, -2], lanes=2)
    return NetworkSpec(input_width=W, layers=(d0, p1, d2, p3, d4), name="fault_net")


def _module_span(text: str, name: str) -> tuple[int, int]:
    """(start, end) of the module named exactly ``name`` (escaped or not)."""
    m = re.search(rf"^module \\?{re.escape(name)}\s*\(.*?^endmodule", text, flags=re.M | re.S)
    if not m:
        raise FaultNotApplicable(f"no module {name!r}")
    return m.start(), m.end()


def _stage_name(text: str, kind: str, L: int | None) -> str:
    """The module name of the top's instance of a stage (``denseengine``, ``neuronstage``, ``readout``)."""
    top = re.search(r"^module (\w+)\(", text, flags=re.M)
    if not top:
        raise FaultNotApplicable("no top module")
    if kind == "readout":
        return f"{top.group(1)}.readout"
    m = re.search(rf"^  \\({re.escape(top.group(1))}\.s\d+_{kind}_l{L}) ", text, flags=re.M)
    if not m:
        raise FaultNotApplicable(f"no {kind} instance for layers[{L}]")
    return m.group(1)


def _in_stage(kind: str, L: int | None, edit, sub: str = "") -> callable:
    """Apply ``edit`` to the module of one stage (``sub``: a submodule path below it, e.g. ``.core.lane0``)."""
    def apply(text: str) -> str:
        a, b = _module_span(text, _stage_name(text, kind, L) + sub)
        return text[:a] + edit(text[a:b]) + text[b:]
    return apply


def _in_top(edit) -> callable:
    def apply(text: str) -> str:
        top = re.search(r"^module (\w+)\(", text, flags=re.M)
        if not top:
            raise FaultNotApplicable("no top module")
        a, b = _module_span(text, top.group(1))
        return text[:a] + edit(text[a:b], top.group(1)) + text[b:]
    return apply


# ---------------------------------------------------------------------------------- the edits
def _weight_address_neighbour(t):
    """The weight ROM address has its lowest input bit flipped: input 2i adds input 2i+1's weights and
    the other way round."""
    return _sub(r"assign (\\\$\d+ ) = weight_base \+ low;", r"assign \1 = weight_base + (low ^ 1'h1);", t,
                count=1, what="weight address")


def _weight_group_ignored(t):
    """The weight address leaves out the group's base: every output group uses group 0's weights."""
    return _sub(r"assign (\\\$\d+ ) = weight_base \+ low;", r"assign \1 = low;", t, count=1, what="weight address")


def _spike_dropped_into(L: int):
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


def _tie_wrong_way(t):
    """The running argmax takes an equal sum (>= for >): a tie goes to the highest index."""
    return _sub(r"(\$signed\([^;]*\)) > (\$signed\()", r"\1 >= \2", t, what="argmax comparisons")


def _bias_dropped(t):
    """One lane of the engine (the first bias term in the Verilog) never adds its bias."""
    return _sub(r"assign (\\\$\d+ ) = (\\\$\d+ ) \? b_rd__data\[\d+:\d+\] : (\d+'h0+);", r"assign \1 = \3;", t,
                count=1, what="bias term")


def _sign_plane_added(t):
    """The bit-serial engine adds the sign plane's weights instead of subtracting them."""
    return _sub(r"= neg_s1 \?", "= 1'h0 ?", t, what="sign-plane negation")


def _first_lost_in_dense(t):
    """A dense engine does not forward ``first``: the next neuron layer keeps its history across sequences
    and the readout its sums."""
    return _sub(r"(if \(advance\) begin\s+\\\$\d+ +=\s+)step_first;", r"\g<1>1'h0;", t, count=1,
                what="first flag into stage 1")


def _last_dropped(t):
    """A neuron stage loses ``last``: the readout never ends a sequence."""
    return _sub(r"assign o__payload\[(\d+)\] = r_data;", r"assign o__payload[\1] = 1'h0;", t, count=1,
                what="last flag from the FIFO")


def _history_kept_on_first(t):
    """Lane 1 of the neuron engine ignores the history-empty flag: its taps keep the previous
    sequence's inputs on ``first`` (as the core fault ``one_history_kept_on_first``)."""
    return _sub(r"(\slane1 \([^;]*?\.empty\()[^)]*\)", r"\g<1>1'h0)", t, count=1, what="lane 1 empty flag")


def _sums_not_restarted(t):
    """The readout's sum of output 0 is not restarted on ``first``: it carries the previous sequence's."""
    return _sub(r"assign (\\\$\d+ ) = i__payload\[\d+\] \? \d+'h0+ : (sum_g0_0);", r"assign \1 = \2;", t, count=1,
                what="sum restart")


def _lost_beat_under_stall(t):
    """The readout's o.valid is not held while o.ready is low: a stalled beat disappears."""
    return _sub(r"(\\\$\d+ ) = o__valid;", r"\1 = 1'h0;", t, count=1, what="o.valid hold")


def _class_index_off(t):
    """The argmax records lane 1's index as lane 0's (an odd class reads one less)."""
    return _sub(r"assign (\\\$\d+ ) = out_base \+ 1'h1;", r"assign \1 = out_base + 1'h0;", t, count=1,
                what="lane 1 index")


def _comparator_gt(t):
    """A neuron spikes on acc > threshold instead of >=."""
    return _sub(r"(assign spike = .*?) >= ", r"\1 > ", t, count=1, what="spike comparator")


#: Faults of :func:`fault_network`'s Verilog (layers: 0 dense bit-serial, 1 psn engine, 2 dense,
#: 3 psn core, 4 dense; then the readout).
NETWORK_FAULTS: tuple[Fault, ...] = (
    Fault("weight_address_wrong", "dense layers[2] reads the neighbouring input's weights",
          _in_stage("denseengine", 2, _weight_address_neighbour)),
    Fault("weight_group_ignored", "dense layers[0] uses group 0's weights for every group",
          _in_stage("denseengine", 0, _weight_group_ignored)),
    Fault("spike_dropped_between_layers", "lane 0 of layers[1]'s spikes never reaches dense layers[2]",
          _in_top(_spike_dropped_into(2))),
    Fault("readout_tie_wrong_way", "the argmax breaks ties towards the highest index",
          _in_stage("readout", None, _tie_wrong_way)),
    Fault("bias_dropped", "a lane of dense layers[4] never adds its bias", _in_stage("denseengine", 4, _bias_dropped)),
    Fault("sign_plane_added", "the bit-serial layers[0] adds its sign plane", _in_stage("denseengine", 0, _sign_plane_added)),
    Fault("first_lost_in_dense", "dense layers[2] does not forward first", _in_stage("denseengine", 2, _first_lost_in_dense)),
    Fault("last_dropped", "neuron layers[3] loses last", _in_stage("neuronstage", 3, _last_dropped)),
    Fault("history_kept_on_first", "engine layers[1] lane 1 keeps its history across sequences",
          _in_stage("neuronstage", 1, _history_kept_on_first, ".core")),
    Fault("sums_not_restarted", "the readout's sum 0 is not restarted on first", _in_stage("readout", None, _sums_not_restarted)),
    Fault("lost_beat_under_stall", "the readout's o.valid is not held under back-pressure",
          _in_stage("readout", None, _lost_beat_under_stall)),
    Fault("class_index_off", "the argmax records lane 1's index as lane 0's", _in_stage("readout", None, _class_index_off)),
    Fault("comparator_gt", "neuron 0 of layers[3] spikes on acc > threshold",
          _in_stage("neuronstage", 3, _comparator_gt, ".core.lane0")),
)


#: Generated networks by their JSON: the faults of one network share one generation.
_GENERATED: dict = {}


def write_faulty_network(fault: Fault | None, directory, net: NetworkSpec | None = None) -> tuple[Path, Path]:
    """Generate ``net`` (default :func:`fault_network`), apply ``fault`` (None: healthy), write
    ``<name>.v``, its ``<name>.network.json`` and the network ``<name>.net.json``; return (Verilog, network)
    paths, as ``regress --net NET.json --verilog NET.v`` reads them."""
    from shiftpsn.hdl.network import generate_network, network_description_path

    net = net or fault_network()
    key = net.to_json()
    gen = _GENERATED.get(key)
    if gen is None:
        gen = _GENERATED[key] = generate_network(net)
    text = gen.verilog if fault is None else fault.apply(gen.verilog)
    name = "healthy" if fault is None else fault.name
    directory = Path(directory)
    path = directory / f"{name}.v"
    path.write_text(text)
    network_description_path(path).write_text(json.dumps(gen.info, indent=1) + "\n")
    net_path = directory / f"{name}.net.json"
    net.save(net_path)
    return path, net_path
