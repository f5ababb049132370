"""Counterexamples of ``shiftpsn prove``: read the solver's waveform, tabulate it, replay it in cocotb.

    >>> table = beat_table(read_vcd("out/prove/counterexample.vcd"), spec)  # cycles, beats in and out
    >>> outcome = replay(core, table)                                       # cocotb, cycle by cycle
    >>> outcome.mismatch                                                    # None: matched the golden model

:func:`replay` is cycle-accurate: the cocotb test (``shiftpsn.sim.formal_tb``) drives, in every cycle,
the inputs the solver chose in that cycle (``rst`` anywhere, ``first``, ``i__valid``, ``o__ready``,
configuration writes), from power-up, then drains the core with ``o__ready`` high. What the core did
is then checked against the golden model (``shiftpsn.golden.integer``) and the stream rules of
docs/CONTRACT.md section 7, independently of the miter: each neuron's inputs since its sequence began
(``first`` on its beat, or ``rst``) with the weights loaded at that moment give its expected output;
taken output beats must come in order, one per accepted input beat (beats in flight at a ``rst`` may
be dropped); a stalled valid beat must stay unchanged; ``o__ready`` high means ``i__ready`` high.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from shiftpsn.base.errors import UsageError
from shiftpsn.base.ports import offsets, output_fields
from shiftpsn.base.spec import CoreSpec

__all__ = ["read_vcd", "beat_table", "spec_with_words", "replay", "check_replay", "ReplayOutcome",
           "ReplayMismatch"]


# ---------------------------------------------------------------------------------- reading the trace
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
    """The counterexample as cycles (inputs with the raw ``payload``, handshakes, configuration
    writes) and the beat sequence: accepted input beats (x per lane, first) and taken output beats."""
    W, L = spec.input_width, spec.lanes
    n = len(values.get("rst", []))
    cycles, beats_in, beats_out = [], [], []
    for t in range(n):
        def get(name, t=t):  # the equivalence miter names core a's outputs o_valid_a, ...
            return values.get(name, values.get(f"{name}_a", [0] * n))[t]
        pay = get("i_payload")
        x = [_signed((pay >> (j * W)) & ((1 << W) - 1), W) for j in range(L)]
        row = {"cycle": t, "rst": get("rst"), "i_valid": get("i_valid"), "i_ready": get("i_ready"),
               "payload": pay, "x": x, "first": (pay >> (L * W)) & 1, "o_valid": get("o_valid"),
               "o_ready": get("o_ready"), "out": _unpack_out(spec, get("o_payload"))}
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


def spec_with_words(spec: CoreSpec, words: dict[int, int]) -> CoreSpec:
    """``spec`` with the weights that configuration ``words`` ({address: data}, docs/CONTRACT.md
    section 7's register map) hold."""
    C, k, S = spec.channels, spec.order, spec.shift_code_width
    shift = [[None if words[c * k + i] >> (S + 1) & 1 else (words[c * k + i] & ((1 << S) - 1)) + spec.exp_min
              for i in range(k)] for c in range(C)]
    sign = [[-1 if words[c * k + i] >> S & 1 else 1 for i in range(k)] for c in range(C)]
    tw = spec.threshold_width
    threshold = [_signed(words[C * k + c] & ((1 << tw) - 1), tw) for c in range(C)]
    return spec.replace(shift=shift, sign=sign, threshold=threshold)


# ---------------------------------------------------------------------------------- the verdict
@dataclass
class ReplayMismatch:
    """The first way the replayed core broke the contract: ``check`` is ``data`` (a taken beat
    differs from the golden model's), ``extra`` (a beat with none outstanding), ``missing`` (a beat
    never came), ``hold`` (a stalled beat changed or vanished), ``throughput`` or ``unknown`` (X/Z)."""

    cycle: int
    check: str
    expected: dict | None = None
    got: dict | None = None

    def __str__(self) -> str:
        text = f"cycle {self.cycle}: {self.check}"
        if self.expected is not None or self.got is not None:
            text += f": expected {self.expected}, got {self.got}"
        return text


@dataclass
class ReplayOutcome:
    """What the replay saw: ``mismatch`` (None when the core matched), the per-cycle record of the
    core's outputs, and the accepted / taken beat counts."""

    mismatch: ReplayMismatch | None
    cycles: list = field(default_factory=list)
    beats_in: int = 0
    beats_out: int = 0


def _expected_beat(spec: CoreSpec, hist: dict[int, list[int]], g: int, first: int) -> dict:
    """The golden model's output beat for beat ``g`` of a time step, each of its neurons having seen
    ``hist[n]`` (oldest first, its current input last) since its sequence began."""
    from shiftpsn.golden.integer import run as golden_run

    L, C = spec.lanes, spec.channels
    beat = {"spikes": [], "first": first}
    if spec.emit_acc:
        beat["acc"] = []
    for j in range(L):
        n = g * L + j
        p, c = divmod(n, C)
        x = np.zeros((len(hist[n]), spec.positions, C), np.int64)
        x[:, p, c] = hist[n]
        spikes, acc = golden_run(spec, x if spec.positions > 1 else x[:, 0, :])
        spikes, acc = spikes.reshape(len(hist[n]), -1), acc.reshape(len(hist[n]), -1)
        beat["spikes"].append(int(spikes[-1, n]))
        if spec.emit_acc:
            beat["acc"].append(int(acc[-1, n]))
    return beat


def check_replay(spec: CoreSpec, cycles: list[dict], record: list[dict]) -> ReplayOutcome:
    """The verdict on a replay: ``cycles`` the inputs driven (as :func:`beat_table` rows), ``record``
    the core's ``i_ready``, ``o_valid``, ``o_payload`` (binary strings) in each of them; ``spec`` holds
    the core's power-up weights."""
    G, L, W = spec.beats_per_step, spec.lanes, spec.input_width
    words = dict(spec.config_words())
    now = spec
    hist = {n: [] for n in range(spec.neurons)}
    queue, g, stalled, held = [], 0, False, None
    outcome = ReplayOutcome(None, record)
    for t, (inp, out) in enumerate(zip(cycles, record)):
        rst = bool(inp["rst"])
        if any(ch not in "01" for ch in out["i_ready"] + out["o_valid"]) or (
                out["o_valid"] == "1" and any(ch not in "01" for ch in out["o_payload"])):
            outcome.mismatch = ReplayMismatch(t, "unknown", got=dict(out))
            return outcome
        i_ready, o_valid, payload = out["i_ready"] == "1", out["o_valid"] == "1", int(out["o_payload"], 2)
        if stalled and not rst and (not o_valid or payload != held):
            outcome.mismatch = ReplayMismatch(t, "hold", _unpack_out(spec, held),
                                              _unpack_out(spec, payload) if o_valid else None)
            return outcome
        if inp["o_ready"] and not rst and not i_ready:
            outcome.mismatch = ReplayMismatch(t, "throughput")
            return outcome
        if o_valid and inp["o_ready"] and not rst:  # a taken output beat (an input takes >= 1 cycle)
            outcome.beats_out += 1
            got = _unpack_out(spec, payload)
            if not queue:
                outcome.mismatch = ReplayMismatch(t, "extra", None, got)
                return outcome
            want = queue.pop(0)
            if got != want:
                outcome.mismatch = ReplayMismatch(t, "data", want, got)
                return outcome
        if inp["i_valid"] and i_ready and not rst:  # an accepted input beat
            outcome.beats_in += 1
            pay = int(inp["payload"])
            first = (pay >> (L * W)) & 1
            for j in range(L):
                n = g * L + j
                x = _signed((pay >> (j * W)) & ((1 << W) - 1), W)
                hist[n] = [x] if first else hist[n] + [x]
            queue.append(_expected_beat(now, hist, g, first))
            g = (g + 1) % G
        if inp.get("cfg_we"):
            words[int(inp["cfg_addr"])] = int(inp["cfg_data"])
            now = spec_with_words(spec, words)
        if rst:  # beats in flight may be dropped; every neuron starts an empty history
            queue, g = [], 0
            hist = {n: [] for n in hist}
        stalled, held = o_valid and not inp["o_ready"] and not rst, payload
    if queue:
        outcome.mismatch = ReplayMismatch(len(cycles) - 1, "missing", queue[0], None)
    return outcome


# ---------------------------------------------------------------------------------- the replay
def replay(core, table: dict, *, sim: str = "icarus", latency: int | None = None) -> ReplayOutcome:
    """Replay a counterexample (:func:`beat_table` of its VCD) on ``core`` (a
    :class:`shiftpsn.sim.design.RTLDesign`) in cocotb, cycle by cycle, then drain it (``o__ready`` high,
    no input) long enough for every outstanding beat; return the verdict (:func:`check_replay`)."""
    from . import runner
    from .formal_miter import core_latency

    rows = table["cycles"]
    if not rows:
        raise UsageError("the counterexample has no cycle; nothing to replay")
    runtime = core.spec.weights == "runtime"
    cycles = []
    for row in rows:
        c = {"rst": row["rst"], "i_valid": row["i_valid"], "payload": row["payload"], "o_ready": row["o_ready"]}
        if runtime and "cfg" in row:
            c.update(cfg_we=1, cfg_addr=row["cfg"]["addr"], cfg_data=row["cfg"]["data"])
        cycles.append(c)
    drain = 2 * ((latency or core_latency(core.spec)) + 2) + 4
    cycles += [{"rst": 0, "i_valid": 0, "payload": 0, "o_ready": 1}] * drain
    runner.check_simulator(sim)
    with tempfile.TemporaryDirectory(prefix="shiftpsn-replay-") as tmp:
        tmp = Path(tmp)
        results = tmp / "results.json"
        plan = {"results": str(results),
                "cycles": [dict(c, i_payload=c["payload"]) for c in cycles]}
        (tmp / "plan.json").write_text(json.dumps(plan))
        runner.run_plan(core.verilog, core.top, core.source, tmp / "plan.json", results, 0, tmp, sim, False,
                        test_module="shiftpsn.sim.formal_tb")
        record = json.loads(results.read_text())["cycles"]
    return check_replay(core.spec, cycles, record)
