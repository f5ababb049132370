"""Hand-made faulty variants of generated designs, for fault-injection tests of the regression: one
mechanism and one table (:data:`FAULT_TABLE`) for cores, engines and networks.

A fault is a precise edit of the generated Verilog text (:mod:`shiftpsn.sim.fault_edits`) inside one
module: for a core a module named like ``lane``, ``delay_line`` or ``weights``, for a network one stage
(a dense engine, a neuron stage, the readout) or the top's wiring. Its ``target`` names the design it
is made for:

* ``core`` (:func:`fault_spec`): the mistakes an RTL designer makes: a tap one delay off, ``>`` for
  ``>=``, a dropped carry, a beat lost or duplicated under back-pressure, history kept across
  ``first`` or ``rst``, a sign or a sign extension ignored, a wrong shift, a stuck ready, a threshold
  bit dropped, a configuration write lost. :func:`fault_spec` is a runtime-weights core whose weights
  make each visible: large shifts (accumulators near their range), a weight of 1 next to them (every
  threshold reachable), negative signs on the oldest tap, a zero tap, odd and negative thresholds. The
  Verilog is generated from *other* weights (``scrambled_weights``) so that the regression loads the
  real ones through the configuration port.
* ``engine`` (:func:`engine_fault_spec`): the time-multiplexed engine's history memory and beat counter.
* ``network`` (:func:`fault_network`): the mistakes made joining layers: a wrong weight address, a spike
  dropped between layers, a readout tie broken the wrong way, a lost bias, the sign plane of the
  bit-serial inputs added, ``first`` or ``last`` lost on the way, a history kept across sequences,
  sums not restarted, a beat lost under back-pressure, a wrong class index, a comparator off by one.
  :func:`fault_network`: a bit-serial first layer with negative weights and inputs, three output groups
  (lanes 2 of 6) re-cut for a neuron engine (lanes 3), a parallel neuron core, spike rates near one
  half, and a last layer whose outputs 1 and 3 are equal (a tie across output beats).
"""

from __future__ import annotations

import json
from pathlib import Path

from shiftpsn.base.description import description_path
from shiftpsn.base.network import DenseLayer, NetworkSpec, signed_width
from shiftpsn.base.spec import CoreSpec

from .fault_edits import Fault, FaultNotApplicable, in_top, named_like, replace, rewrite, stage, within
from . import fault_edits as ed
from .kinds import kind_of

__all__ = ["Fault", "FaultNotApplicable", "FAULT_TABLE", "FAULTS", "ENGINE_FAULTS", "NETWORK_FAULTS",
           "fault_spec", "engine_fault_spec", "fault_network", "write_faulty"]


# ---------------------------------------------------------------------------------- the designs
def fault_spec() -> CoreSpec:
    """C=3, k=4, d=2, 8-bit inputs, exponents [-2, 3], runtime weights (see the module docstring)."""
    return CoreSpec(channels=3, order=4, dilation=2, input_width=8, exp_min=-2, exp_max=3,
                    shift=[[3, 3, -2, 3], [2, None, 3, -1], [-1, 1, 3, 3]],
                    sign=[[-1, 1, 1, 1], [1, 1, -1, -1], [-1, -1, 1, 1]],
                    threshold=[101, -77, 1000], weights="runtime", name="fault_core")


def engine_fault_spec() -> CoreSpec:
    """:func:`fault_spec`'s channels and weights as a time-multiplexed engine: 4 positions, 6 lanes,
    so 12 neurons in 2 beats per time step (the fewest an engine has: a history write that lands one
    beat late meets the next read of the same word)."""
    return fault_spec().replace(positions=4, lanes=6, name="fault_engine")


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


# ---------------------------------------------------------------------------------- the table
# a core's lane datapath (comparator, adder tree, shifters, operands), its delay line; the engine
_LANE, _LINE, _ENG = named_like("datapath"), named_like("delay_line"), named_like("fault_engine")
_REG = r"\\\$\d+ "  # a Yosys-named net or reg
FAULT_TABLE: tuple[Fault, ...] = (
    Fault("comparator_gt", "spike = acc > threshold instead of >=",
          within(_LANE, replace(r"(assign spike = .*?) >= ", r"\1 > ", "spike comparator"))),
    Fault("tap_off_by_one", "the oldest tap reads one delay too early", within(_LINE, ed.oldest_tap_one_delay_short)),
    Fault("dropped_carry", "the final adder loses the carry into its top bit", within(_LANE, ed.dropped_carry)),
    Fault("lost_beat_under_stall", "o.valid not held while o.ready is low",
          replace(rf"({_REG}) = o__valid;", r"\1 = 1'h0;", "o.valid hold")),
    Fault("stuck_ready_high", "i.ready stuck at 1 (back-pressure ignored)",
          replace(r"assign i__ready = [^;]+;", "assign i__ready = 1'h1;", "i.ready", count=0)),
    Fault("duplicated_beat", "o.valid never cleared: beats repeat",
          replace(rf"(if \(i__ready\) begin\s+({_REG}) = )i__valid;", r"\1i__valid | o__valid;", "o.valid update")),
    Fault("history_kept_on_first", "the oldest tap is not cleared on first", within(_LINE, ed.history_kept_on_first)),
    Fault("reset_keeps_history", "rst does not clear the delay line",
          within(_LINE, replace(rf"(if \(rst\) begin\s+{_REG}) = \d+'h0+;(\s+end\s+end)", r"\1 = line;\2",
                                "delay-line reset"))),
    Fault("sign_ignored", "a negative weight on tap 0 acts positive",
          within(_LANE, replace(rf"assign ({_REG}) = - \$signed\(([^)]+)\);", r"assign \1 = $signed(\2);",
                                "tap negation"))),
    Fault("no_sign_extension", "tap 0's operand zero-extended",
          within(_LANE, replace(rf"\? ({_REG}) : \{{ (\\[\w$]+ )\[(\d+)\], \2 \}};", r"? \1 : { 1'h0, \2 };",
                                "operand sign extension"))),
    Fault("wrong_shift_amount", "the shifter's 1-stage shifts by 2",
          within(_LANE, rewrite(rf"assign ({_REG}) = \{{ (term0_in), 1'h0 \}};",
                                lambda m, t: f"assign {m[1]} = {{ {m[2]}[{ed.width(t, m[2]) - 2}:0], 2'h0 }};",
                                "first shifter stage"))),
    Fault("threshold_lsb_dropped", "bit 0 of a threshold register unwired",
          rewrite(r"assign threshold\[(\d+):0\] = (\w+)\[(\d+):(\d+)\];",
                  lambda m, t: f"assign threshold[{m[1]}:0] = {{ {m[2]}[{m[3]}:{int(m[4]) + 1}], 1'h0 }};",
                  "threshold wiring")),
    Fault("config_write_lost", "a tap word's write enable never fires",
          within(named_like("weights"), replace(rf"(if \()({_REG})(\) begin\s+{_REG}\[\d+:0\] = cfg__data\[\d+:0\];)",
                                                r"\g<1>1'h0\3", "first tap-word write"))),
    Fault("first_flag_dropped", "the output first flag is always 0",
          rewrite(rf"({_REG})\[(\d+)\] = i__payload\[(\d+)\];", lambda m, t: f"{m[1]}[{m[2]}] = 1'h0;",
                  "first-flag forwarding")),
    # the engine (engine_fault_spec)
    Fault("history_wrong_address", "histories written back to the next beat's word",
          within(_ENG, replace(r"^(\s+history\d+)\[[^\]]+\] <=", r"\1[beat] <=", "history write address", count=0)),
          "engine"),
    Fault("history_write_hazard", "history write lands a beat late: read-during-write",
          within(_ENG, ed.history_write_hazard), "engine"),
    Fault("one_history_kept_on_first", "lane 1's history taps are not cleared on first",
          within(_ENG, replace(r"(\slane1 \([^;]*?\.empty\()[^)]*\)", r"\g<1>1'h0)", "lane 1 empty flag")), "engine"),
    Fault("lanes_swapped", "lanes 0 and 1 swapped at stage 1",
          within(_ENG, ed.lanes_swapped(engine_fault_spec().input_width)), "engine"),
    Fault("beat_counter_off_by_one", "the neuron-group counter wraps one beat early",
          within(_ENG, ed.beat_counter_off_by_one), "engine"),
    # networks (fault_network; layers: 0 dense bit-serial, 1 psn engine, 2 dense, 3 psn core, 4 dense; the readout)
    Fault("weight_address_wrong", "dense layers[2] reads the neighbouring input's weights",
          within(stage("denseengine", 2), replace(rf"assign ({_REG}) = weight_base \+ low;",
                                                  r"assign \1 = weight_base + (low ^ 1'h1);", "weight address")),
          "network"),
    Fault("weight_group_ignored", "dense layers[0] uses group 0's weights for every group",
          within(stage("denseengine", 0), replace(rf"assign ({_REG}) = weight_base \+ low;", r"assign \1 = low;",
                                                  "weight address")), "network"),
    Fault("spike_dropped_between_layers", "lane 0 of layers[1]'s spikes never reaches dense layers[2]",
          in_top(ed.spike_dropped_into(2)), "network"),
    Fault("readout_tie_wrong_way", "the argmax breaks ties towards the highest index",
          within(stage("readout"), replace(r"(\$signed\([^;]*\)) > (\$signed\()", r"\1 >= \2", "argmax comparisons",
                                           count=0)), "network"),
    Fault("bias_dropped", "a lane of dense layers[4] never adds its bias",
          within(stage("denseengine", 4), replace(rf"assign ({_REG}) = ({_REG}) \? b_rd__data\[\d+:\d+\] : (\d+'h0+);",
                                                  r"assign \1 = \3;", "bias term")), "network"),
    Fault("sign_plane_added", "the bit-serial layers[0] adds its sign plane",
          within(stage("denseengine", 0), replace(r"= neg_s1 \?", "= 1'h0 ?", "sign-plane negation", count=0)),
          "network"),
    Fault("first_lost_in_dense", "dense layers[2] does not forward first",
          within(stage("denseengine", 2), replace(rf"(if \(advance\) begin\s+{_REG} +=\s+)step_first;", r"\g<1>1'h0;",
                                                  "first flag into stage 1")), "network"),
    Fault("last_dropped", "neuron layers[3] loses last",
          within(stage("neuronstage", 3), replace(r"assign o__payload\[(\d+)\] = r_data;",
                                                  r"assign o__payload[\1] = 1'h0;", "last flag from the FIFO")),
          "network"),
    Fault("history_kept_on_first", "engine layers[1] lane 1 keeps its history across sequences",
          within(stage("neuronstage", 1, ".core"), replace(r"(\slane1 \([^;]*?\.empty\()[^)]*\)", r"\g<1>1'h0)",
                                                           "lane 1 empty flag")), "network"),
    Fault("sums_not_restarted", "the readout's sum 0 is not restarted on first",
          within(stage("readout"), replace(rf"assign ({_REG}) = i__payload\[\d+\] \? \d+'h0+ : (sum_g0_0);",
                                           r"assign \1 = \2;", "sum restart")), "network"),
    Fault("lost_beat_under_stall", "the readout's o.valid is not held under back-pressure",
          within(stage("readout"), replace(rf"({_REG}) = o__valid;", r"\1 = 1'h0;", "o.valid hold")), "network"),
    Fault("class_index_off", "the argmax records lane 1's index as lane 0's",
          within(stage("readout"), replace(rf"assign ({_REG}) = out_base \+ 1'h1;", r"assign \1 = out_base + 1'h0;",
                                           "lane 1 index")), "network"),
    Fault("comparator_gt", "neuron 0 of layers[3] spikes on acc > threshold",
          within(stage("neuronstage", 3, ".core.lane0.datapath"), replace(r"(assign spike = .*?) >= ", r"\1 > ",
                                                                  "spike comparator")), "network"),
)
FAULTS = tuple(f for f in FAULT_TABLE if f.target == "core")
ENGINE_FAULTS = tuple(f for f in FAULT_TABLE if f.target == "engine")
NETWORK_FAULTS = tuple(f for f in FAULT_TABLE if f.target == "network")


# ---------------------------------------------------------------------------------- faulty files
#: Generated Verilog and description by design JSON: the faults of one design share one generation.
_GENERATED: dict = {}


def write_faulty(fault: Fault | None, directory, design) -> Path:
    """Generate ``design`` (a runtime core with scrambled power-up weights, so that a passing run proves
    the configuration port), apply ``fault`` (None: healthy), write ``<name>.v`` and its description
    beside it (``<name>.core.json`` / ``<name>.network.json``, with the real spec), and for a network the
    network itself as ``<name>.net.json``; return the Verilog path, as ``regress --verilog`` (with
    ``--net``) reads them."""
    from .design import scrambled_weights

    kind = kind_of(design)
    key = (kind.name, json.dumps(design.to_dict(), sort_keys=True))
    if key not in _GENERATED:
        runtime = kind.config_words(design) is not None
        _GENERATED[key] = kind.generate(design, power_up=scrambled_weights(design) if runtime else None)
    verilog, desc = _GENERATED[key]
    name = "healthy" if fault is None else fault.name
    path = Path(directory) / f"{name}.v"
    path.write_text(verilog if fault is None else fault.apply(verilog))
    description_path(path, kind.name).write_text(json.dumps(desc, indent=1) + "\n")
    if kind.name == "network":
        design.save(path.with_name(f"{name}.net.json"))
    return path


def write_faulty_core(fault: Fault | None, directory, spec: CoreSpec | None = None) -> Path:
    """:func:`write_faulty` of ``spec`` (default :func:`fault_spec`)."""
    return write_faulty(fault, directory, spec or fault_spec())


def write_faulty_network(fault: Fault | None, directory, net: NetworkSpec | None = None) -> tuple[Path, Path]:
    """:func:`write_faulty` of ``net`` (default :func:`fault_network`): (Verilog, network) paths."""
    path = write_faulty(fault, directory, net or fault_network())
    return path, path.with_name(f"{path.stem}.net.json")
