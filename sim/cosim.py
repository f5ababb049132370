"""Co-simulation API, one for cores and networks: run a design in a real simulator on a stimulus, or
regress it against the golden model.

    >>> rtl = generated(spec)                        # a core; generated(net) a network; from_file("X.v", ...)
    >>> results = rtl_run(rtl, x)                    # what the hardware produced: {"spikes", "acc"} of a core,
    ...                                              # {"logits", "classes", "spikes_L"} of a network
    >>> outcome = regress(rtl, steps=4000, seed=1)   # random traffic; outcome.mismatch or None

Used by ``shiftpsn rtl-run`` / ``shiftpsn regress``, the flows, the tests and the benchmarks. The design
(:mod:`shiftpsn.sim.design`) carries its description; the one testbench (:mod:`shiftpsn.sim.tb`) drives
it from there, builds are cached (:mod:`shiftpsn.sim.runner`).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shiftpsn.base.errors import UsageError

from . import runner
from .design import RTLDesign, from_file, generated, rtl_design, scrambled_weights  # noqa: F401  the API
from .scoreboard import Mismatch
from .traffic import Phase, Plan, default_phases, regress_stimulus, sequence_lengths


@dataclass
class Outcome:
    """What one simulation produced: every watched stream (name -> (fields, epochs); ``o`` and a
    network's ``spikes_L``), the test's verdict, and a kept waveform and log (a failing run, or when
    asked)."""

    streams: dict
    verdict: dict
    waves: Path | None = None
    log: Path | None = None

    @property
    def got(self) -> dict:
        """The output stream's fields (:func:`shiftpsn.base.payload.unpack_stream`)."""
        return self.streams["o"][0]

    @property
    def epochs(self) -> np.ndarray:
        """The epoch (resets so far) of each output beat."""
        return self.streams["o"][1]

    @property
    def mismatch(self) -> Mismatch | None:
        """The first difference from the golden model, or None."""
        m = self.verdict["mismatch"]
        return None if m is None else Mismatch.from_dict(m)


def cosimulate(rtl: RTLDesign, x: np.ndarray, lengths: list[int], phases: list[Phase], *, sim: str = "icarus",
               seed: int = 0, check: bool = True, waves: bool | Path = False, waves_on_failure: bool = True,
               load_weights: bool = True, fail_fast: bool = True, progress=None) -> Outcome:
    """Run one plan: ``x`` (N, ...) holds the time steps of the sequences of ``lengths`` back to back.

    ``waves``: True keeps a waveform under the build cache, a Path names a folder for it. A failing
    check is re-run with waveforms (same seed, so the same traffic) when ``waves_on_failure`` and none
    was asked for. ``load_weights=False`` skips the configuration writes of a runtime core (its
    power-up weights stay). ``fail_fast`` stops a checked run at the first mismatch."""
    runner.check_simulator(sim)
    streams = rtl.streams
    streams["o"]["beats_per_step"] = rtl.kind.output_beats_per_step(rtl.design)
    config = rtl.config_words() if load_weights else None
    with tempfile.TemporaryDirectory(prefix="shiftpsn-sim-") as tmp:
        tmp = Path(tmp)
        np.save(tmp / "x.npy", np.asarray(x, dtype=np.int64))
        plan = Plan(design=rtl.design.to_dict(), stimulus=str(tmp / "x.npy"), lengths=[int(n) for n in lengths],
                    results=str(tmp / "results.npz"), phases=phases, streams=streams, config=config,
                    config_port=(rtl.desc.get("config") or {}).get("port"), seed=seed, check=check,
                    fail_fast=fail_fast, idle_timeout=rtl.idle_timeout(),
                    clock=rtl.desc.get("clock", {}).get("port", "clk"),
                    reset=rtl.desc.get("reset", {}).get("port", "rst"))
        plan.save(tmp / "plan.json")
        outcome = _run_plan(rtl, plan, tmp, sim, bool(waves), progress)
        if outcome.mismatch is not None and not waves and waves_on_failure:
            if progress:
                progress("check failed; re-running the same traffic with a waveform dump ...")
            outcome = _run_plan(rtl, plan, tmp, sim, True, progress)
        runner.keep_waves(outcome, Path(waves) if isinstance(waves, Path) else None, rtl.top, sim, seed, rtl.verilog)
        return outcome


def _run_plan(rtl: RTLDesign, plan: Plan, tmp: Path, sim: str, waves: bool, progress) -> Outcome:
    log, wf = runner.run_plan(rtl.verilog, rtl.top, rtl.source, tmp / "plan.json", Path(plan.results),
                              plan.seed, tmp, sim, waves, progress)
    streams: dict = {}
    with np.load(plan.results, allow_pickle=False) as z:
        verdict = json.loads(str(z["verdict"]))
        for key in z.files:
            if "__" in key:
                name, field = key.split("__", 1)
                fields, epochs = streams.setdefault(name, ({}, None))
                if field == "epoch":
                    streams[name] = (fields, z[key])
                else:
                    fields[field] = z[key]
    return Outcome(streams, verdict, wf, log)


def rtl_run(rtl: RTLDesign, x, sim: str = "icarus", progress=None) -> dict[str, np.ndarray]:
    """What the hardware computes for ``x``, as the results arrays of ``shiftpsn golden``: a core's
    ``spikes`` uint8 and ``acc`` int64 in the stimulus' shape ((T, C) or (B, T, C); with positions > 1
    (T, P, C) or (B, T, P, C)); a network's ``logits`` int64 (B, T, O), ``classes`` int64 (B,) and
    ``spikes_L`` uint8 (B, T, C) per neuron layer (input (T, I) or (B, T, I)). Every sequence runs back
    to back without gaps or stalls. UsageError on bad input (or a network whose neuron layers' spikes
    the Verilog hides), CheckFailed when the hardware does not return every beat."""
    shape = np.shape(x)
    xs = rtl.kind.check_run(rtl, x)
    B, T = xs.shape[:2]
    out = cosimulate(rtl, xs.reshape(B * T, *xs.shape[2:]), [T] * B, [Phase(0, B)], sim=sim, check=False,
                     waves_on_failure=False, progress=progress)
    return rtl.kind.results(out, rtl.design, B, T, shape)


def results(out: Outcome, rtl: RTLDesign, B: int, T: int) -> dict[str, np.ndarray]:
    """The results arrays (as :func:`rtl_run`) of a run of B back-to-back sequences of T steps."""
    return rtl.kind.results(out, rtl.design, B, T, (B, T, *rtl.kind.step_shape(rtl.design)))


def regress(rtl: RTLDesign, *, sim: str = "icarus", steps: int = 4000, seed: int = 1, waves: bool | Path = False,
            progress=None) -> Outcome:
    """Co-simulate ``rtl`` against the golden model with the default random traffic
    (:mod:`shiftpsn.sim.traffic`: sequences of many lengths including one-step ones, extremes and
    constant runs, a core's threshold hits, input gaps and output stalls up to 0.9, a reset in the
    middle of a sequence). Its ``mismatch`` is None when every beat of every watched stream matched."""
    if steps < 1:
        raise UsageError(f"--steps must be >= 1, got {steps}")
    rng = np.random.default_rng(seed)
    lengths = sequence_lengths(rtl.design, rng, steps)
    x = regress_stimulus(rtl.design, rng, lengths)
    phases = default_phases(len(lengths), lengths, first_after_reset=rtl.kind.first_after_reset)
    return cosimulate(rtl, x, lengths, phases, sim=sim, seed=seed, waves=waves, progress=progress)
