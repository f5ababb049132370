"""``shiftpsn regress [--spec S] [--verilog CORE.v] [--sim icarus|verilator] [--steps N] [--seed S]``:
co-simulate a core against the golden integer model with random traffic (sequences of many lengths,
extreme inputs, threshold hits, input gaps and output stalls up to 0.9, a reset in the middle of a
sequence). Exit 1 naming the first mismatch as (sequence, t, c, expected, got)."""

from pathlib import Path

from shiftpsn.base.errors import CheckFailed, UsageError
from shiftpsn.base.spec import CoreSpec, uniform_spec

from shiftpsn.sim.runner import SIMULATORS

DEFAULT_STEPS = 3000
DEFAULT_SEED = 1


def add_arguments(p):
    p.add_argument("--spec", help="core spec JSON (default: the CORE.json beside --verilog, else "
                                  "shiftpsn.base.spec.uniform_spec())")
    p.add_argument("--verilog", help="Verilog to check (default: generated from the spec)")
    p.add_argument("--sim", default="icarus", choices=SIMULATORS, help="simulator (default icarus)")
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS,
                   help=f"time steps in total, over all sequences (default {DEFAULT_STEPS})")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"traffic seed (default {DEFAULT_SEED})")
    p.add_argument("--waves", type=Path, metavar="DIR",
                   help="keep a waveform in DIR (a failing run keeps one anyway)")


def _progress(msg: str) -> None:
    print(f"regress: {msg}", flush=True)


def run(args):
    from shiftpsn.sim.cosim import file_core, generated_core, regress, scrambled_weights
    from shiftpsn.sim.runner import check_simulator

    if args.steps < 1:
        raise UsageError(f"--steps must be >= 1, got {args.steps}")
    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")
    spec = CoreSpec.load(args.spec) if args.spec else None
    check_simulator(args.sim)
    if args.verilog:
        core = file_core(args.verilog, spec)
    else:
        spec = spec or uniform_spec()
        # other power-up weights than the ones checked: a pass proves the configuration port works
        core = generated_core(spec, power_up=scrambled_weights(spec) if spec.weights == "runtime" else None)
    s = core.spec
    _progress(f"{core.top}: C={s.channels} k={s.order} d={s.dilation} W={s.input_width} "
              f"exp=[{s.exp_min},{s.exp_max}] {s.weights} {s.arith}; {args.steps} steps, seed {args.seed}, "
              f"{args.sim}")
    outcome = regress(core, sim=args.sim, steps=args.steps, seed=args.seed, waves=args.waves or False,
                      progress=_progress)
    v = outcome.verdict
    m = outcome.mismatch
    if m is not None:
        wave = f"; waveform: {outcome.waves}" if outcome.waves else ""
        raise CheckFailed(f"{m.report()}{wave}")
    print(f"regress: PASS {core.top} on {args.sim}: {v['beats_out']} output beats match golden "
          f"({v['beats_in']} in, {v['cycles']:.0f} cycles, seed {args.seed})"
          + (f"; waveform: {outcome.waves}" if outcome.waves else ""))
