"""``shiftpsn regress [--spec S] [--verilog CORE.v] [--sim icarus|verilator] [--steps N] [--seed S]``:
co-simulate a core against the golden integer model with random traffic (sequences of many lengths,
extreme inputs, threshold hits, input gaps and output stalls up to 0.9, a reset in the middle of a
sequence). Exit 1 naming the first mismatch as (sequence, t, c, expected, got)."""

from pathlib import Path

import time

from shiftpsn.base import limits
from shiftpsn.base.errors import CheckFailed
from shiftpsn.base.paths import check_writable_dir
from shiftpsn.base.spec import CoreSpec, uniform_spec

from .args import add_seed, add_sim, int_range

DEFAULT_STEPS = 3000
DEFAULT_SEED = 1
#: Steps per simulation run; a longer regression runs in chunks (bounded memory, a progress line each).
CHUNK_STEPS = 100_000


def add_arguments(p):
    p.add_argument("--spec", help="core spec JSON (default: the CORE.json beside --verilog, else "
                                  "shiftpsn.base.spec.uniform_spec())")
    p.add_argument("--verilog", help="Verilog to check (default: generated from the spec)")
    add_sim(p)
    p.add_argument("--steps", type=int_range(1, limits.MAX_SIM_BEATS), default=DEFAULT_STEPS,
                   help=f"time steps in total, over all sequences (default {DEFAULT_STEPS}, at most "
                        f"{limits.MAX_SIM_BEATS}); runs longer than {CHUNK_STEPS} go in chunks of that "
                        f"many, with a progress line each")
    add_seed(p, DEFAULT_SEED, "traffic")
    p.add_argument("--waves", type=Path, metavar="DIR",
                   help="keep a waveform in DIR (a failing run keeps one anyway)")


def _progress(msg: str) -> None:
    print(f"regress: {msg}", flush=True)


def run(args):
    from shiftpsn.sim.cosim import file_core, generated_core, regress, scrambled_weights
    from shiftpsn.sim.runner import check_simulator

    if args.waves is not None:
        check_writable_dir(args.waves)  # before any work
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
              f"exp=[{s.exp_min},{s.exp_max}] {s.weights} {s.arith}"
              f"{'' if s.parallel else f' P={s.positions} lanes={s.lanes}'}; {args.steps} steps, seed {args.seed}, "
              f"{args.sim}")
    # long runs stream: chunks of CHUNK_STEPS (each its own traffic, seed derived from --seed)
    full, rest = divmod(args.steps, CHUNK_STEPS)
    chunks = [CHUNK_STEPS] * full + ([rest] if rest else [])
    total = {"beats_in": 0, "beats_out": 0, "cycles": 0.0}
    t0 = time.perf_counter()
    outcome = None
    for i, steps in enumerate(chunks):
        seed = args.seed if i == 0 else (args.seed + 7919 * i) % (limits.MAX_SEED + 1)
        outcome = regress(core, sim=args.sim, steps=steps, seed=seed, waves=args.waves or False,
                          progress=_progress)
        m = outcome.mismatch
        if m is not None:
            wave = f"; waveform: {outcome.waves}" if outcome.waves else ""
            where = f" (chunk {i + 1} of {len(chunks)}, seed {seed})" if len(chunks) > 1 else ""
            raise CheckFailed(f"{m.report()}{where}{wave}")
        for k in total:
            total[k] += outcome.verdict[k]
        if len(chunks) > 1:
            _progress(f"chunk {i + 1}/{len(chunks)}: {sum(chunks[:i + 1])} of {args.steps} steps match "
                      f"({time.perf_counter() - t0:.0f} s)")
    v = total
    undriven, dropped = args.steps - v["beats_in"], v["beats_in"] - v["beats_out"]
    why = (f"{args.steps} steps: {v['beats_in']} driven, {undriven} not driven (the rest of the sequence "
           f"that the reset interrupts), {dropped} in flight dropped by the reset"
           if (undriven or dropped) else f"{args.steps} steps, all driven and returned")
    print(f"regress: PASS {core.top} on {args.sim}: {v['beats_out']} output beats match golden "
          f"({why}; {v['cycles']:.0f} cycles, seed {args.seed})"
          + (f"; waveform: {outcome.waves}" if outcome.waves else ""))
