"""``shiftpsn synth``: area, timing and energy reports of a core, against its multiplier baseline.

    shiftpsn synth --spec SPEC.json --target generic|ice40|ecp5|xilinx|asic[,...]|all --output-dir DIR
                   [--liberty LIB] [--baseline mac] [--clock-mhz 100] [--steps T]
                   [--stimulus X.npy] [--seed S] [--no-activity] [--no-switching]
                   [--verilog CORE.v [--top NAME]]
                   [--sweep k=2,4,8 --sweep C=8,16 ... [--cluster ADDRESS] [--jobs N]]

Writes DIR/report.json and DIR/report.md (keys in :mod:`shiftpsn.synth.report`) and keeps every tool's
script and log under DIR/core/ (and DIR/baseline/). Several targets (a comma list, or ``all``) share
one generation and one standard-cell run per core, and write DIR/<target>/report.{json,md}. With ``--sweep`` it synthesizes one core per
value instead, each parameter varied on its own from the base spec, and writes DIR/sweep.csv and
DIR/sweep_<param>.png (:mod:`shiftpsn.synth.sweep`), the points run as tasks on local worker
processes or a Dask cluster, each finished one kept in DIR/tasks so that a rerun resumes. A progress line (with elapsed seconds) ends each step.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from shiftpsn.base import limits
from shiftpsn.base.errors import CheckFailed, UsageError
from shiftpsn.base.paths import check_replaceable, check_writable_dir
from shiftpsn.base.progress import Progress
from shiftpsn.base.spec import CoreSpec, uniform_spec
from shiftpsn.base.stimulus import load_stimulus, random_stimulus
from shiftpsn.base.tools import check_liberty
from shiftpsn import executor
from shiftpsn.synth import report, sweep, synthesize
from shiftpsn.synth.tools import check_synth_tools
from shiftpsn.synth.yosys import TARGETS

from .args import add_seed, float_range, int_range

#: Sequences of the default random stimulus (each of T steps).
DEFAULT_SEQUENCES = 32


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", type=Path, help="core spec JSON (default: the README's uniform_spec())")
    p.add_argument("--net", type=Path, metavar="NET.json",
                   help="synthesize a whole network instead of a core (targets ice40, ecp5, asic)")
    p.add_argument("--target", required=True, metavar="TARGET[,TARGET...]",
                   help=f"one of {', '.join(TARGETS)}, a comma list of them, or all")
    p.add_argument("--output-dir", required=True, type=Path, metavar="DIR",
                   help="where report.json and report.md go (DIR/<target>/ with several targets), with every "
                        "tool's script and log under DIR/core/ (DIR/baseline/); created if missing")
    p.add_argument("--liberty", type=Path, help="liberty for the standard-cell flow (default: OSU 0.18 um, "
                   "qflow-tech-osu018)")
    p.add_argument("--baseline", choices=["mac"], help="also synthesize the multiplier variant and report ratios")
    p.add_argument("--clock-mhz", type=float_range(0, 1e6, lo_open=True), default=100.0,
                   help="clock for power, slack, ABC's delay target and nextpnr's --freq (at least 100 "
                        "MHz on ice40, 200 on ecp5) (default 100)")
    p.add_argument("--steps", type=int_range(1, limits.MAX_SIM_BEATS), help="T of the op-count energy model and of the random stimulus "
                   "(default: the stimulus' T, else max(8, k))")
    p.add_argument("--stimulus", type=Path, help="stimulus .npy (T, C) or (B, T, C) for the activity energy "
                   f"(default: {DEFAULT_SEQUENCES} random sequences of T steps)")
    add_seed(p, 0, "random stimulus and nextpnr")
    p.add_argument("--no-switching", action="store_true",
                   help="skip the gate-level simulation of the asic netlist (energy_pj_per_step_switching = null)")
    p.add_argument("--activity", action=argparse.BooleanOptionalAction, default=None,
                   help="run the standard-cell flow and OpenSTA for the activity energy "
                        "(energy_pj_per_step_activity; default: only when the targets include asic, "
                        "--no-activity skips it unless the target is asic)")
    p.add_argument("--verilog", type=Path, help="synthesize this Verilog instead of generating the core")
    p.add_argument("--top", help="top module name (default: the spec's name)")
    p.add_argument("--sweep", action="append", metavar="PARAM=V1,V2,...",
                   help="sweep k, C, d or W (input_width), one parameter at a time; repeatable")
    executor.add_arguments(p)  # --cluster, --jobs: where --sweep points run
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def run(args: argparse.Namespace) -> int:
    if args.net is not None:
        from .synth_net import run_network

        return run_network(args, parse_targets(args.target))
    spec = _spec_of(args)
    if args.baseline == "mac" and spec.arith == "mac":
        raise UsageError("--baseline mac: the spec is already the mac variant (arith = \"mac\")")
    if args.verilog is not None and (args.sweep or args.baseline):
        raise UsageError("--verilog synthesizes one given file: it cannot be combined with --sweep or --baseline")
    if (args.cluster or args.jobs) and not args.sweep:
        raise UsageError("--cluster and --jobs say where --sweep points run: give --sweep too")
    targets = parse_targets(args.target)
    # the standard-cell flow is work for asic, or for an FPGA target only when asked (--activity)
    args.no_activity = not (args.activity if args.activity is not None else "asic" in targets)
    lib = check_liberty(args.liberty)
    check_synth_tools(targets, activity=not args.no_activity)
    out = args.output_dir
    _check_inputs_not_outputs(out, [args.spec, args.stimulus, args.verilog, args.liberty], targets)
    for d in ([out] if len(targets) == 1 or args.sweep else [out / t for t in targets]):
        for name in (("sweep.csv",) if args.sweep else ("report.json", "report.md")):
            check_replaceable(d / name, what="report")  # a user's report is never written over
    check_writable_dir(out)  # created and probed before any tool runs
    progress = Progress("synth", quiet=args.quiet)
    stim_file = None if args.stimulus is None else load_stimulus(args.stimulus, spec)[0]
    if args.sweep:
        params = sweep.parse(args.sweep)
        if stim_file is not None and set(params) & {"channels", "input_width"}:
            raise UsageError("--stimulus fits one C and input_width: it cannot be used to sweep C or W")
        rows = sweep.run(spec, params, lambda s: _options(args, s, targets, lib, stim_file), out,
                         args.baseline, progress, executor.from_args(args))
        progress.say(f"sweep done: {len(rows)} rows in {out / 'sweep.csv'}")
        return 0
    opts = _options(args, spec, targets, lib, stim_file)
    reps = synthesize.synthesize_with_baseline(spec, opts, out, args.baseline, progress, args.verilog, args.top)
    for target, rep in reps.items():
        d = out if len(targets) == 1 else out / target
        d.mkdir(exist_ok=True)
        jpath, mpath = report.write(rep, d)
        progress.say(f"wrote {jpath} and {mpath}")
        if "ratio" in rep:
            shown = ", ".join(f"{k} {v:.2f}x" for k, v in rep["ratio"].items() if v is not None)
            print(f"{target}: mac / shift: {shown}")
    failed = [e["error"] for rep in reps.values() for e in (rep, rep.get("baseline") or {}) if e.get("error")]
    if failed:
        raise CheckFailed(f"{len(failed)} synthesis run(s) failed (reports written, figures null): {failed[0]}")
    return 0


def _spec_of(args) -> CoreSpec:
    """The spec to synthesize: --spec; with --verilog and no --spec the one its CORE.json records
    (never an assumed default for a foreign file); else the README's uniform_spec()."""
    if args.spec is not None:
        return CoreSpec.load(args.spec)
    if args.verilog is None:
        return uniform_spec()
    from shiftpsn.base.limits import load_json
    from shiftpsn.base.paths import find_description

    desc = find_description(args.verilog)
    d = load_json(desc, "core description") if desc is not None else None
    if not isinstance(d, dict) or not isinstance(d.get("spec"), dict):
        raise UsageError(f"--verilog {args.verilog}: give --spec SPEC.json (the spec it implements); there is "
                         f"no core description beside it to read the spec from")
    try:
        spec = CoreSpec.from_dict(d["spec"])
    except UsageError as e:
        raise UsageError(f"{desc}: {e}") from None
    args.top = args.top or d.get("top")  # the module the description names
    return spec


def _check_inputs_not_outputs(out: Path, inputs, targets) -> None:
    """UsageError (naming both) when an input lies where synth writes: DIR/report.json, report.md,
    sweep.csv, sweep_*.png, DIR/core/, DIR/baseline/, DIR/<target>/, DIR/<param>=<value>/, DIR/tasks/."""
    names = {"report.json", "report.md", "sweep.csv", "core", "baseline", executor.TASKS_DIR, *TARGETS}
    for inp in inputs:
        if inp is None:
            continue
        try:
            rel = Path(inp).resolve().relative_to(out.resolve())
        except ValueError:
            continue
        first = rel.parts[0] if rel.parts else ""
        if first in names or first.startswith("sweep_") or "=" in first:
            raise UsageError(f"--output-dir {out} would overwrite the input {inp} ({out / first} is an "
                             f"output of synth); choose another --output-dir")


def parse_targets(text: str) -> tuple[str, ...]:
    """``"ice40,asic"`` or ``"all"`` -> a tuple of targets in :data:`TARGETS` order. Raises UsageError."""
    names = [t.strip() for t in text.split(",") if t.strip()]
    if names == ["all"]:
        return TARGETS
    bad = [t for t in names if t not in TARGETS]
    if bad or not names:
        raise UsageError(f"--target {text!r}: expected one of {', '.join(TARGETS)}, a comma list, or all")
    return tuple(t for t in TARGETS if t in names)


def _options(args, spec: CoreSpec, targets: tuple, lib: Path,
             stim_file: np.ndarray | None) -> synthesize.Options:
    if stim_file is not None:
        stim = stim_file
        steps = args.steps or stim.shape[1]
    else:
        steps = args.steps or max(8, spec.order)
        stim = random_stimulus(spec, np.random.default_rng(args.seed), DEFAULT_SEQUENCES, steps)
    if steps < spec.order:
        raise UsageError(f"the energy model needs T >= order k: T = {steps}, k = {spec.order} "
                         f"(set --steps)")
    return synthesize.Options(targets=targets, liberty=lib, clock_mhz=args.clock_mhz, steps=steps,
                        stimulus=stim, activity=not args.no_activity, seed=args.seed,
                        switching=not getattr(args, "no_switching", False),
                        stimulus_desc=str(args.stimulus) if args.stimulus else
                        f"random, {DEFAULT_SEQUENCES} x {steps} steps, seed {args.seed}")
