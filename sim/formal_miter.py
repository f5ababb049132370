"""The miters of ``shiftpsn prove`` (SystemVerilog for ``read -formal``), written for the proof.

:func:`miter_verilog` puts the core under test beside a reference written for this purpose (not the
generator's code), both fed by solver-chosen inputs every cycle (input beats, ``first``, ``rst``,
output back-pressure, configuration writes). The reference keeps, per neuron, the last (k-1)*d inputs
in a shift register and computes ``acc`` by the formula of docs/CONTRACT.md section 2; every accepted
input beat pushes its expected output beat into a scoreboard FIFO. Assertions (their labels name them
in a counterexample) are listed in :data:`ASSERTIONS`.

Environments (assumptions; ``rst`` in cycle 0 in both; after it any input stream, ``first``, ``rst``
and ``o__ready`` every cycle):

``stream``   no configuration write: the weights are the power-up values, which must be the spec's
             (docs/CONTRACT.md section 7).
``weights``  runtime weights: ``loads`` weight sets chosen by the solver as constants (``anyconst``,
             legal words: shift amount <= exp_max - exp_min, unused bits 0, threshold in
             [acc_min, acc_max + 1]). The environment writes each set through the configuration port
             in register-map order, one word per write, idle cycles allowed between writes; no beat is
             offered while a load is under way, and a load after the first starts only while no beat
             is in flight (docs/CONTRACT.md section 7: write only while no beat is in flight). The
             reference computes each accepted beat with the set loaded last. The first load follows
             the reset; histories carry across a later load. The written values are constants of the
             trace (not any word at any time), so the reference needs no copy of the registers and
             :func:`induction_invariants` can say what the core's registers hold; every weight set is
             still covered.

The reference is written for any ``lanes``: a beat counter says which neurons the beat carries (beat g
of a time step: neurons g*lanes + j); the latency comes from the generator's core object (CORE.json's
``latency``), never from a formula here.
"""

from __future__ import annotations

from shiftpsn.base.ports import input_fields, offsets, output_fields, payload_width
from shiftpsn.base.spec import CoreSpec

__all__ = ["MITER", "ASSERTIONS", "core_latency", "default_depth", "weights_depth", "miter_verilog",
           "equivalence_verilog", "induction_invariants"]

MITER = "shiftpsn_miter"

#: assertion label -> what it checks (printed with a counterexample)
ASSERTIONS = {
    "a_data": "an output beat differs from the reference's for its input beat",
    "a_spurious": "an output beat without an outstanding input beat (duplicated beat)",
    "a_capacity": "more beats in flight than the pipeline holds (a beat was lost)",
    "a_progress": "the oldest outstanding beat is not valid after latency cycles of o__ready (lost or late)",
    "a_hold": "a valid output beat changed or vanished before it was taken",
    "a_throughput": "i__ready low while o__ready is high",
    "a_range": "the reference accumulator leaves the accumulator width (spec arithmetic)",
    "a_equal": "the two cores' outputs differ",
    "inv": "an induction invariant (the core's state against the reference's) does not hold",
}


def core_latency(spec: CoreSpec) -> int:
    """CORE.json's ``latency`` of the core the generator makes for ``spec`` (cycles from an input
    handshake to its output beat, ``o__ready`` high), asked of the generator's core object."""
    from shiftpsn.hdl.neuron_stage import neuron_layer

    core = neuron_layer(spec)
    core._MustUse__silence = True  # built only to ask its latency
    return core.latency


def default_depth(spec: CoreSpec, latency: int | None = None) -> int:
    """BMC depth of the ``stream`` proof: a reset, a whole history ((k-1)*d + 1 time steps of
    beats_per_step beats), the pipeline and a stall: beats_per_step*((k-1)*d + 1) + latency + 3."""
    return spec.beats_per_step * (spec.delay_depth + 1) + (latency or core_latency(spec)) + 3


def weights_depth(spec: CoreSpec, loads: int, latency: int | None = None) -> int:
    """BMC depth of the ``weights`` proof: the reset, each load (``cfg_words`` writes) followed by a
    whole history, the pipeline and one spare cycle."""
    history = spec.beats_per_step * (spec.delay_depth + 1)
    return 1 + loads * (spec.cfg_words + history) + (latency or core_latency(spec)) + 1


# ---------------------------------------------------------------------------------- shared parts
def _ports(spec: CoreSpec) -> tuple[str, int, int]:
    ipw, opw = payload_width(input_fields(spec)), payload_width(output_fields(spec))
    lines = ["input clk", "input rst", "input i_valid", f"input [{ipw - 1}:0] i_payload", "input o_ready"]
    if spec.weights == "runtime":
        lines += ["input cfg_we", f"input [{spec.cfg_addr_width - 1}:0] cfg_addr",
                  f"input [{spec.cfg_data_width - 1}:0] cfg_data"]
    return ",\n  ".join(lines), ipw, opw


def _instance(top: str, inst: str, spec: CoreSpec, suffix: str = "") -> str:
    conns = [".clk(clk)", ".rst(rst)", ".i__valid(i_valid)", f".i__ready(i_ready{suffix})",
             ".i__payload(i_payload)", f".o__valid(o_valid{suffix})", ".o__ready(o_ready)",
             f".o__payload(o_payload{suffix})"]
    if spec.weights == "runtime":
        conns += [".cfg__addr(cfg_addr)", ".cfg__data(cfg_data)", ".cfg__we(cfg_we)"]
    return f"  {top} {inst} (" + ", ".join(conns) + ");"


def _legal(s: CoreSpec, word: str, addr: int) -> str:
    """A legal configuration word at ``addr`` (docs/CONTRACT.md section 7's register map)."""
    S, tww, dw, tw = s.shift_code_width, s.tap_word_width, s.cfg_data_width, s.threshold_width
    if addr < s.channels * s.order:
        ok = f"({word}[{S - 1}:0] <= {s.shift_range})"
        return ok + (f" && ({word}[{dw - 1}:{tww}] == 0)" if dw > tww else "")
    th = f"$signed({word}[{tw - 1}:0])"
    ok = f"({th} >= $signed({tw}'d{s.acc_min & ((1 << tw) - 1)})) && ({th} <= $signed({tw}'d{s.acc_max + 1}))"
    return ok + (f" && ({word}[{dw - 1}:{tw}] == 0)" if dw > tw else "")


def _environment(spec: CoreSpec, mode: str, loads: int, busy: str, take: str) -> tuple[list[str], list[str]]:
    """Assumptions on the inputs (module docstring) and, per configuration address, the word the
    reference computes with. ``busy``: a beat is in flight (a later load waits for it to clear);
    ``take``: an input beat is accepted."""
    s, NW, DW, G = spec, spec.cfg_words, spec.cfg_data_width, spec.beats_per_step
    v = ["  reg init = 1'b1;", "  always @(posedge clk) init <= 1'b0;", "  always @* if (init) assume(rst);"]
    if G > 1:  # docs/CONTRACT.md section 7: every beat of a time step carries the same `first`
        gw = max(1, (G - 1).bit_length())
        v += [f"  reg [{gw - 1}:0] env_g = 0;", "  reg env_first = 0;",
              f"  always @(posedge clk) if (rst) env_g <= 0; else if ({take}) begin",
              f"    env_g <= (env_g == {G - 1}) ? 0 : env_g + 1;",
              f"    if (env_g == 0) env_first <= i_payload[{s.lanes * s.input_width}];",
              "  end",
              f"  always @* if (i_valid && env_g != 0) assume(i_payload[{s.lanes * s.input_width}] == env_first);"]
    words = dict(s.config_words())
    if s.weights != "runtime" or mode == "stream":
        if s.weights == "runtime":
            v.append("  always @* assume(!cfg_we);")
        return v, [f"{DW}'d{words[a]}" for a in range(NW)]
    assert mode == "weights" and loads >= 1, (mode, loads)
    total = loads * NW
    pw = max(1, total.bit_length())
    v.append("  // solver-chosen weight sets, constant over the trace, written in register-map order")
    for ld in range(loads):
        for a in range(NW):
            v += [f"  (* anyconst *) reg [{DW - 1}:0] cw{ld}_{a};", f"  always @* assume({_legal(s, f'cw{ld}_{a}', a)});"]
    v += [f"  reg [{pw - 1}:0] wp = 0;  // words written so far, over all loads",
          "  always @(posedge clk) if (cfg_we) wp <= wp + 1;",
          f"  always @* if (cfg_we) assume(wp < {total});",
          f"  always @* if (wp < {NW}) assume(!i_valid);  // the first load precedes any beat"]
    for p in range(total):
        ld, a = divmod(p, NW)
        v.append(f"  always @* if (cfg_we && wp == {p}) assume(cfg_addr == {a} && cfg_data == cw{ld}_{a});")
    for ld in range(1, loads):
        v += [f"  always @* if (wp > {ld * NW} && wp < {(ld + 1) * NW}) assume(!i_valid);",
              f"  always @* if (cfg_we && wp == {ld * NW}) assume(!i_valid && !({busy}));"]
    ref = []
    for a in range(NW):
        text = f"cw0_{a}"
        for ld in range(1, loads):
            text = f"((wp >= {(ld + 1) * NW}) ? cw{ld}_{a} : {text})"
        ref.append(text)
    return v, ref


def _mux(cases: list[tuple[str, str]]) -> str:
    text = cases[-1][1]
    for cond, val in reversed(cases[:-1]):
        text = f"({cond} ? {val} : {text})"
    return text


# ---------------------------------------------------------------------------------- the reference miter
def miter_verilog(spec: CoreSpec, top: str, mode: str = "stream", loads: int = 1,
                  reference_error: str | None = None, latency: int | None = None,
                  invariants: list[str] | None = None) -> str:
    """The miter of core module ``top`` against the reference, under the environment ``mode``;
    ``invariants`` (lines, :func:`induction_invariants`) are added before ``endmodule``.

    ``reference_error`` plants a mistake in the reference (tests: the checker can fail):
    ``"tap"`` reads the oldest tap one step too late, ``"threshold"`` compares with > for >=."""
    s = spec
    C, k, N, L, G = s.channels, s.order, s.neurons, s.lanes, s.beats_per_step
    W, A, D, S = s.input_width, s.acc_width, s.delay_depth, s.shift_code_width
    RW, TW, DW = A + 2, s.threshold_width, s.cfg_data_width
    LAT = latency or core_latency(s)
    E = LAT + 2                       # scoreboard slots: one more than the core may hold, and one spare
    CW = max(2, (E + 1).bit_length())
    ports, ipw, opw = _ports(s)
    out = offsets(output_fields(s))
    v = [f"// miter of {top} against the shiftpsn reference (written by shiftpsn.sim.formal_miter)",
         f"module {MITER} (\n  {ports}\n);",
         "  wire i_ready, o_valid;", f"  wire [{opw - 1}:0] o_payload;", _instance(top, "dut", s), "",
         f"  reg [{CW - 1}:0] cnt = 0;  // beats accepted and not yet taken"]
    env, words = _environment(s, mode, loads, busy="cnt != 0", take="i_valid && i_ready && !rst")
    v += env
    v += ["  wire take = i_valid && i_ready && !rst;", f"  wire first = i_payload[{L * W}];"]
    for j in range(L):
        v.append(f"  wire signed [{W - 1}:0] x{j} = i_payload[{(j + 1) * W - 1}:{j * W}];")
    v.append("  // the weights the reference computes with")
    v += [f"  wire [{DW - 1}:0] w{a} = {words[a]};" for a in range(s.cfg_words)]
    # beat counter: beat g of a time step carries neurons g*L .. g*L + L - 1
    if G > 1:
        gw = max(1, (G - 1).bit_length())
        v += [f"  reg [{gw - 1}:0] g = 0;",
              f"  always @(posedge clk) if (rst) g <= 0; else if (take) g <= (g == {G - 1}) ? 0 : g + 1;"]
        beat_of = lambda n: f"(g == {n // L})"  # noqa: E731
    else:
        beat_of = lambda n: "1'b1"  # noqa: E731
    v += [f"  function signed [{RW - 1}:0] term(input signed [{RW - 1}:0] xv, input [{DW - 1}:0] word);",
          f"    term = word[{S + 1}] ? {RW}'sd0 : (word[{S}] ? -(xv <<< word[{S - 1}:0]) : (xv <<< word[{S - 1}:0]));",
          "  endfunction"]
    # per neuron: history h{n}_{delta} = its input delta steps ago (zero after first / rst)
    for n in range(N):
        c, j = s.neuron_channel(n), n % L
        for dl in range(1, D + 1):
            v.append(f"  reg signed [{W - 1}:0] h{n}_{dl} = 0;")
        if D:
            v.append("  always @(posedge clk) if (rst) begin")
            v += [f"    h{n}_{dl} <= 0;" for dl in range(1, D + 1)]
            v.append(f"  end else if (take && {beat_of(n)}) begin")
            v.append(f"    h{n}_1 <= x{j};")
            v += [f"    h{n}_{dl} <= first ? {W}'sd0 : h{n}_{dl - 1};" for dl in range(2, D + 1)]
            v.append("  end")
        # sample{n}_{delay}: the input delay steps ago, sign-extended (zero before the sequence)
        for delay in sorted(set(s.tap_delays)):
            read = delay
            if reference_error == "tap" and n == 0 and delay == D and D:
                read = D - 1  # planted error: the oldest tap one step too new
            x = f"x{j}" if read == 0 else f"(first ? {W}'sd0 : h{n}_{read})"
            v.append(f"  wire signed [{RW - 1}:0] sample{n}_{delay} = {x};")
        terms = [f"term(sample{n}_{s.tap_delays[i]}, w{c * k + i})" for i in range(k)]
        v.append(f"  wire signed [{RW - 1}:0] acc{n} = " + " + ".join(terms) + ";")
        th = f"$signed({{{{{RW - TW}{{w{C * k + c}[{TW - 1}]}}}}, w{C * k + c}[{TW - 1}:0]}})"
        cmp_ = ">" if reference_error == "threshold" and n == 0 else ">="
        v.append(f"  wire spike{n} = acc{n} {cmp_} {th};")
        lo = f"$signed({RW}'d{s.acc_min & ((1 << RW) - 1)})"
        v.append(f"  always @* if (take && {beat_of(n)}) a_range_{n}: assert(acc{n} >= {lo} && acc{n} <= {s.acc_max});")
    # expected output beat for the accepted input beat
    v.append(f"  wire [{opw - 1}:0] expected;")
    for j in range(L):
        cands = [n for n in range(N) if n % L == j]
        sp = cands[0] if G == 1 else None
        spike = f"spike{sp}" if sp is not None else _mux([(beat_of(n), f"spike{n}") for n in cands])
        v.append(f"  assign expected[{out['spikes'][0] + j}] = {spike};")
        if s.emit_acc:
            lo = out["acc"][0] + j * A
            accv = (f"acc{sp}[{A - 1}:0]" if sp is not None
                    else _mux([(beat_of(n), f"acc{n}[{A - 1}:0]") for n in cands]))
            v.append(f"  assign expected[{lo + A - 1}:{lo}] = {accv};")
    v.append(f"  assign expected[{out['first'][0]}] = first;")
    v += _scoreboard(E, LAT, CW, opw)
    v += invariants or []
    v.append("endmodule\n")
    return "\n".join(v)


def _scoreboard(E: int, LAT: int, CW: int, opw: int) -> list[str]:
    """The FIFO q0 (head) .. q{E-1} of expected beats and the stream assertions."""
    v = ["  // scoreboard: expected beats of accepted, not yet taken input beats, oldest in q0",
         "  wire pop = o_valid && o_ready && !rst && cnt != 0;",
         "  always @(posedge clk) if (rst) cnt <= 0; else cnt <= cnt + take - pop;"]
    for i in range(E):
        nxt = f"q{i + 1}" if i + 1 < E else f"{opw}'d0"
        v += [f"  reg [{opw - 1}:0] q{i} = 0;",
              "  always @(posedge clk) if (!rst) begin",
              f"    if (pop) q{i} <= (take && cnt == {i + 1}) ? expected : {nxt};",
              f"    else if (take && cnt == {i}) q{i} <= expected;",
              "  end"]
    # takes of the last LAT-1 cycles, o_ready run, the previous output for the hold rule
    v += [f"  reg [{LAT - 1}:0] took = 0;",
          "  always @(posedge clk) took <= rst ? 0 : {took, take};" if LAT > 1 else
          "  always @(posedge clk) took <= rst ? 0 : take;",
          f"  reg [{CW - 1}:0] run = 0;",
          f"  always @(posedge clk) run <= (rst || !o_ready) ? 0 : (run == {LAT} ? {LAT} : run + 1);",
          "  reg stalled = 0;", f"  reg [{opw - 1}:0] held = 0;",
          "  always @(posedge clk) begin stalled <= o_valid && !o_ready && !rst; held <= o_payload; end"]
    recent = " + ".join(f"took[{i}]" for i in range(LAT - 1)) if LAT > 1 else "0"
    v += [f"  wire [{CW - 1}:0] recent = {recent};",
          "  always @* if (!init) begin",
          "    if (o_valid) a_spurious: assert(cnt != 0);",
          "    if (o_valid && cnt != 0) a_data: assert(o_payload == q0);",
          f"    a_capacity: assert(cnt <= {LAT + 1});",
          f"    if (run == {LAT} && cnt > recent) a_progress: assert(o_valid);",
          "    if (stalled && !rst) a_hold: assert(o_valid && o_payload == held);",
          "    if (o_ready && !rst) a_throughput: assert(i_ready);",
          "  end"]
    return v


def equivalence_verilog(spec: CoreSpec, top_a: str, top_b: str, mode: str = "stream", loads: int = 1) -> str:
    """A miter of two cores of the same ports: same inputs; ``i__ready``, ``o__valid`` and (while
    valid) ``o__payload`` must agree every cycle (label ``a_equal``). A later load waits while core
    a holds a beat."""
    s = spec
    ports, ipw, opw = _ports(s)
    v = [f"// equivalence miter of {top_a} and {top_b} (written by shiftpsn.sim.formal_miter)",
         f"module {MITER} (\n  {ports}\n);",
         "  wire i_ready_a, o_valid_a, i_ready_b, o_valid_b;",
         f"  wire [{opw - 1}:0] o_payload_a, o_payload_b;",
         _instance(top_a, "a", s, "_a"), _instance(top_b, "b", s, "_b")]
    v += _inflight(spec)
    v += _environment(s, mode, loads, busy="inflight != 0", take="i_valid && i_ready_a && !rst")[0]
    v += ["  always @* if (!init) begin",
          "    a_equal: assert(i_ready_a == i_ready_b && o_valid_a == o_valid_b && "
          "(!o_valid_a || o_payload_a == o_payload_b));",
          "  end", "endmodule", ""]
    return "\n".join(v)


def _inflight(spec: CoreSpec) -> list[str]:
    """Beats core a accepted and has not yet delivered (the equivalence miter has no scoreboard)."""
    w = max(2, (core_latency(spec) + 3).bit_length())
    return [f"  reg [{w - 1}:0] inflight = 0;",
            "  always @(posedge clk) if (rst) inflight <= 0; else "
            "inflight <= inflight + (i_valid && i_ready_a) - (o_valid_a && o_ready);"]


# ---------------------------------------------------------------------------------- k-induction
def induction_invariants(spec: CoreSpec, latency: int | None = None, mode: str = "stream",
                         loads: int = 0, names: dict | None = None) -> tuple[list[str], list[str]] | None:
    """Invariants that make k-induction of the miter (environment ``mode``) close, and the Yosys
    commands (after ``flatten``) that bind their probe wires to the core's registers; None where none
    are known.

    The step case starts from any state of the miter. A state where the core's registers disagree
    with the reference's (histories, beats in flight, weights) survives any number of stalled cycles,
    so induction closes only when the miter states how they agree, naming the core's registers:
    known for the generated parallel core with at most one pipeline register (latency 1 or 2): each
    lane's delay line holds the reference's history of neuron n, newest in the low bits; the core holds
    a beat exactly when the scoreboard does (``o__valid`` = ``cnt``, and with a pipeline register
    :func:`_stage_invariants`); the runtime core's weight registers (fields packed as
    ``CoreSpec.weight_register_fields``) hold their power-up value (``stream``) or, field by field, the
    word of the last load that wrote it (``weights``, shift arithmetic); no beat is in flight during a
    load; the miter's own counters stay in range. More pipeline registers and the engine's history
    memory would need invariants on the adder tree's partial sums and on the memory words, not
    written here. The registers are found through the core's name map (``names``, the description's;
    default :func:`shiftpsn.hdl.generate.core_names`): roles ``delay_line``, ``stage_valid`` /
    ``stage_first``, ``config`` and the lanes' ``acc`` / ``spike``, each under the miter's ``dut``."""
    LAT = latency or core_latency(spec)
    if not spec.parallel or spec.pipeline > 1 or LAT != spec.pipeline + 1:
        return None
    runtime = spec.weights == "runtime"
    if runtime and mode == "weights" and spec.arith != "shift":
        return None  # the mac core's registers hold integer weights, not the written words
    from shiftpsn.hdl.generate import core_names
    from shiftpsn.hdl.names import select

    names = core_names(spec) if names is None else names
    one = {(e["role"], e["index"]): f"dut.{e['path']}" for e in names["registers"]}
    v = ["  // induction invariants: the core's registers (probes bound after flatten) against the reference",
         f"  always @* inv_run: assert(run <= {LAT});"]
    cmds = []
    if LAT == 1:
        v.append("  always @* if (!init) inv_cnt: assert(cnt == o_valid);")
    else:  # one pipeline register: valid_s0, first_s0 and each lane's adder-tree stage
        v += _stage_invariants(spec)
        cmds += [f"connect -set probe_valid_s0 {one['stage_valid', 0]}",
                 f"connect -set probe_first_s0 {one['stage_first', 0]}"]
        fields = ("acc", "spike") if spec.emit_acc else ("spike",)  # an unused probe is optimised away
        cmds += [f"connect -set probe_{f}{lane['index']} dut.{lane['ports'][f]}"
                 for lane in names["lanes"] for f in fields]
    for line in select(names, "registers", "delay_line"):
        n, depth = line["index"], line["width"] // spec.input_width
        v.append(f"  wire [{depth * spec.input_width - 1}:0] probe_line{n};")
        cmds.append(f"connect -set probe_line{n} dut.{line['path']}")
        hist = ", ".join(f"h{n}_{dl}" for dl in range(depth, 0, -1))
        v.append(f"  always @* if (!init) inv_line_{n}: assert(probe_line{n} == {{{hist}}});")
    if not runtime:
        return v, cmds
    NW = spec.cfg_words
    for c in range(spec.channels):
        fields = []
        for addr, value, width in spec.weight_register_fields(c):
            text = f"{width}'d{value & ((1 << width) - 1)}"  # power-up
            if mode == "weights":
                for ld in range(loads):  # written once wp has passed this address in load ld
                    text = f"((wp > {ld * NW + addr}) ? cw{ld}_{addr}[{width - 1}:0] : {text})"
            fields.append(text)
        width = spec.weight_register(c)[1]
        v += [f"  wire [{width - 1}:0] probe_weights{c};",
              f"  always @* inv_weights_{c}: assert(probe_weights{c} == {{{', '.join(reversed(fields))}}});"]
        cmds.append(f"connect -set probe_weights{c} {one['config', c]}")
    if mode == "weights":
        v += [f"  always @* inv_wp: assert(wp <= {loads * NW});",
              f"  always @* if (wp < {NW}) inv_load_0: assert(cnt == 0);"]
        v += [f"  always @* if (wp > {ld * NW} && wp < {(ld + 1) * NW}) inv_load_{ld}: assert(cnt == 0);"
              for ld in range(1, loads)]
    return v, cmds


def _stage_invariants(spec: CoreSpec) -> list[str]:
    """The core with one pipeline register holds a beat in stage 0 (``valid_s0``) exactly when the
    scoreboard holds one more than ``o__valid`` shows, and that beat, as the lanes finish it from their
    stage registers (``acc``, ``spike``, with ``first_s0``), is the scoreboard's next entry."""
    L, A = spec.lanes, spec.acc_width
    out, opw = offsets(output_fields(spec)), payload_width(output_fields(spec))
    v = ["  wire probe_valid_s0, probe_first_s0;", f"  wire [{opw - 1}:0] probe_s0;",
         f"  assign probe_s0[{out['first'][0]}] = probe_first_s0;"]
    for n in range(L):
        v += [f"  wire probe_spike{n};", f"  assign probe_s0[{out['spikes'][0] + n}] = probe_spike{n};"]
        if spec.emit_acc:
            lo = out["acc"][0] + n * A
            v += [f"  wire [{A - 1}:0] probe_acc{n};", f"  assign probe_s0[{lo + A - 1}:{lo}] = probe_acc{n};"]
    return v + ["  always @* if (!init) inv_cnt: assert(cnt == probe_valid_s0 + o_valid);",
                "  always @* if (!init && took[0]) inv_took: assert(probe_valid_s0);",
                "  always @* if (!init && probe_valid_s0) inv_s0: assert(probe_s0 == (o_valid ? q1 : q0));"]
