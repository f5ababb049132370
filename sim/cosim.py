"""Co-simulation API: run a core in a real simulator on a stimulus, or regress it against golden.

    >>> core = generated_core(spec)                  # or file_core("CORE.v")
    >>> spikes, acc = rtl_run(core, x)               # what the hardware produced, x: (B, T, C)
    >>> outcome = regress(core, steps=4000, seed=1)  # random traffic; outcome.mismatch or None

Used by ``shiftpsn rtl-run`` / ``shiftpsn regress``, the tests and the benchmark.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shiftpsn.base.errors import CheckFailed, UsageError
from shiftpsn.base.limits import MAX_VERILOG_BYTES, load_json, read_text
from shiftpsn.base.paths import find_description
from shiftpsn.base.ports import core_ports
from shiftpsn.base.spec import CoreSpec, uniform_spec
from shiftpsn.base.stimulus import check_stimulus
from shiftpsn.base.verilog_ports import check_ports, ports_by_module, verilog_ports  # noqa: F401 (re-exported)

from . import runner
from .scoreboard import Mismatch
from .traffic import Phase, Plan, default_phases, regress_stimulus, sequence_lengths


@dataclass
class RTLCore:
    """Verilog text of a core, its top module, and the spec whose weights the testbench loads
    (and the golden model computes with)."""

    verilog: str
    top: str
    spec: CoreSpec
    source: str = "generated"

    @property
    def runtime(self) -> bool:
        return self.spec.weights == "runtime"


def generated_core(spec: CoreSpec, power_up: CoreSpec | None = None) -> RTLCore:
    """A freshly generated core for ``spec``. With ``power_up`` the Verilog is generated from that
    spec instead (other weights as configuration reset values), so a run that passes proves the
    testbench's weights went in through the configuration port."""
    from shiftpsn.hdl.generate import generate

    gen = generate(power_up if power_up is not None else spec, top=spec.name)
    return RTLCore(gen.verilog, gen.info["top"], spec)


def scrambled_weights(spec: CoreSpec) -> CoreSpec:
    """The same core with other weights and thresholds: signs flipped, exponents mirrored within
    [exp_min, exp_max], zero taps swapped for nonzero ones, thresholds moved."""
    lo, hi = spec.exp_min, spec.exp_max
    shift = [[hi if e is None else (None if e == hi and lo != hi else lo + hi - e) for e in row]
             for row in spec.shift]
    sign = [[-s for s in row] for row in spec.sign]
    threshold = [1 - t for t in spec.threshold]
    return spec.replace(shift=shift, sign=sign, threshold=threshold)


def file_core(verilog_path: str | Path, spec: CoreSpec | None = None) -> RTLCore:
    """A core from a Verilog file. Top name and spec come from its CORE.json description
    (``<stem>.core.json`` beside it; from older versions ``<stem>.json`` or ``CORE.json`` in its folder
    when that is a description, never a spec) when present; ``spec`` overrides the JSON's spec;
    without either the default ``uniform_spec()`` is used. The Verilog's ports are checked against
    the spec's layouts (UsageError on a mismatch)."""
    path = Path(verilog_path)
    text = read_text(path, "Verilog", limit=MAX_VERILOG_BYTES)  # missing, a folder, a device: one line each
    info = _core_json(path)
    if spec is None:
        spec = CoreSpec.from_dict(info["spec"]) if info and "spec" in info else uniform_spec()
    top = (info or {}).get("top") or _verilog_top(text) or spec.name
    want = {name: (d, w) for name, d, w in core_ports(spec)}
    check_ports(ports_by_module(text, path), top, want, path)
    return RTLCore(text, top, spec, source=str(path))


def _core_json(path: Path) -> dict | None:
    desc = find_description(path)
    if desc is None:
        return None
    info = load_json(desc, "core description")
    if not isinstance(info, dict) or not isinstance(info.get("spec", {}), dict):
        raise UsageError(f"core description {desc}: expected a JSON object with 'top' and 'spec'")
    return info


def _verilog_top(text: str) -> str | None:
    """The module marked ``(* top = 1 *)`` by Yosys, else the only module whose name is not
    hierarchical (Amaranth names submodules ``top.sub``)."""
    m = re.search(r"\(\*\s*top\s*=\s*(?:1|32'd1)\s*\*\)\s*module\s+\\?(\w+)", text)
    if m:
        return m.group(1)
    names = [n for n in re.findall(r"^\s*module\s+\\?(\S+?)\s*[(;#]", text, flags=re.M) if "." not in n]
    return names[0] if len(names) == 1 else None


@dataclass
class Outcome:
    """What one simulation produced: received fields (``shiftpsn.sim.packing.unpack_outputs``), the epoch
    of each beat, the test's verdict, and a kept waveform (a failing run, or when asked)."""

    got: dict
    epochs: np.ndarray
    verdict: dict
    waves: Path | None = None
    log: Path | None = None

    @property
    def mismatch(self) -> Mismatch | None:
        """The first difference from the golden model, or None."""
        m = self.verdict["mismatch"]
        return None if m is None else Mismatch.from_dict(m)


def cosimulate(core: RTLCore, x: np.ndarray, lengths: list[int], phases: list[Phase], *, sim: str = "icarus",
             seed: int = 0, check: bool = True, waves: bool | Path = False, waves_on_failure: bool = True,
             load_weights: bool = True, fail_fast: bool = True, progress=None) -> Outcome:
    """Run one plan: ``x`` (N, C) (or (N, P, C)) holds the sequences of ``lengths`` back to back.

    ``waves``: True keeps a waveform under the build cache, a Path names a folder for it. A
    failing check is re-run with waveforms (same seed, so the same traffic) when
    ``waves_on_failure`` and none was asked for. ``load_weights=False`` skips the configuration
    writes of a runtime core (its power-up weights stay). ``fail_fast`` stops a checked run at
    the first mismatch (it looks every 512 beats)."""
    runner.check_simulator(sim)
    with tempfile.TemporaryDirectory(prefix="shiftpsn-sim-") as tmp:
        tmp = Path(tmp)
        np.save(tmp / "x.npy", np.asarray(x, dtype=np.int64))
        plan = Plan(spec=core.spec.to_dict(), stimulus=str(tmp / "x.npy"), lengths=list(lengths),
                    results=str(tmp / "results.npz"), phases=phases, seed=seed,
                    load_weights=core.runtime and load_weights, check=check,
                    fail_fast=fail_fast)
        plan.save(tmp / "plan.json")
        outcome = _run_plan(core, plan, tmp, sim, bool(waves), progress)
        keep = Path(waves) if isinstance(waves, Path) else None
        failed = outcome.mismatch is not None
        if failed and not waves and waves_on_failure:
            if progress:
                progress("check failed; re-running the same traffic with a waveform dump ...")
            outcome = _run_plan(core, plan, tmp, sim, True, progress)
        runner.keep_waves(outcome, keep, core.top, sim, seed, core.verilog)
        return outcome


def _run_plan(core: RTLCore, plan: Plan, tmp: Path, sim: str, waves: bool, progress) -> Outcome:
    log, wf = runner.run_plan(core.verilog, core.top, core.source, tmp / "plan.json", Path(plan.results),
                              plan.seed, tmp, sim, waves, progress)
    with np.load(plan.results, allow_pickle=False) as z:
        got = {k: z[k] for k in ("spikes", "first", "acc", "unknown") if k in z}
        epochs, verdict = z["epoch"], json.loads(str(z["verdict"]))
    return Outcome(got, epochs, verdict, wf, log)


def rtl_run(core: RTLCore, x, sim: str = "icarus", progress=None) -> tuple[np.ndarray, np.ndarray]:
    """What the hardware computes for stimulus ``x`` ((T, C) or (B, T, C); with positions > 1,
    (T, P, C) or (B, T, P, C)): (spikes uint8, acc int64) in the stimulus' shape. Raises
    CheckFailed when the core does not return one output beat per input beat."""
    shape = np.shape(x)
    xs = check_stimulus(x, core.spec)
    if not core.spec.emit_acc:
        raise UsageError("the core does not emit accumulators (spec emit_acc = false); rtl-run "
                         "writes spikes and acc")
    B, T = xs.shape[:2]
    beats = B * T * core.spec.beats_per_step
    out = cosimulate(core, xs.reshape(B * T, *xs.shape[2:]), [T] * B, [Phase(0, B)], sim=sim, check=False,
                   waves_on_failure=False, progress=progress)
    n = len(out.got["spikes"])
    if n != beats or out.verdict["stalled"]:
        raise CheckFailed(f"the core returned {n} output beats for {beats} input beats"
                          + (f" ({out.verdict['stalled']})" if out.verdict["stalled"] else ""))
    return out.got["spikes"].reshape(shape), out.got["acc"].reshape(shape)


def regress(core: RTLCore, *, sim: str = "icarus", steps: int = 4000, seed: int = 1, waves: bool | Path = False,
            progress=None) -> Outcome:
    """Co-simulate ``core`` against the golden model with the default random traffic
    (``shiftpsn.sim.traffic``: sequences of many lengths, extremes, threshold hits, input gaps and output
    stalls up to 0.9, a reset in the middle of a sequence). Returns the outcome; its ``mismatch``
    is None when every output beat matched."""
    if steps < 1:
        raise UsageError(f"--steps must be >= 1, got {steps}")
    rng = np.random.default_rng(seed)
    lengths = sequence_lengths(core.spec, rng, steps)
    x = regress_stimulus(core.spec, rng, lengths)
    phases = default_phases(len(lengths), lengths)
    return cosimulate(core, x, lengths, phases, sim=sim, seed=seed, waves=waves, progress=progress)
