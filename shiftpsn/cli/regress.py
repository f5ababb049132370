"""``shiftpsn regress [--spec S] [--verilog CORE.v] [--sim icarus|verilator] [--steps N] [--seed S]``:
co-simulate a core against the golden integer model with random traffic (sequences of many lengths,
extreme inputs, threshold hits, input gaps and output stalls up to 0.9, a reset in the middle of a
sequence). Exit 1 naming the first mismatch as (sequence, t, c, expected, got).

``shiftpsn regress --net NET.json [--verilog NET.v]`` or ``--random-net N``: the same for a whole network
(docs/CONTRACT.md section 5; the same ``shiftpsn.sim.cosim``): every logit, every sequence's class and sums,
and every neuron layer's spikes (watched inside the hardware) against the golden network model, under
random traffic; ``--random-net N`` draws N random networks (network i from seed ``--seed`` + i)."""

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
#: Default time steps of a network regression (each step is many cycles: a dense engine walks its inputs).
DEFAULT_NET_STEPS = 600
#: Most random networks one ``--random-net`` run draws.
MAX_RANDOM_NETS = 1000
#: Steps per network simulation run; more go in chunks of this many (each its own traffic and seed).
NET_CHUNK_STEPS = 20_000


def add_arguments(p):
    what = p.add_mutually_exclusive_group()
    what.add_argument("--spec", help="core spec JSON (default: the CORE.json beside --verilog, else "
                                     "shiftpsn.base.spec.uniform_spec())")
    what.add_argument("--net", metavar="NET.json", help="a network JSON (docs/CONTRACT.md section 5) instead of "
                                                        "a core: co-simulate the whole network")
    what.add_argument("--random-net", type=int_range(1, MAX_RANDOM_NETS), metavar="N",
                      help=f"co-simulate N random networks (network i drawn from seed --seed + i; at most "
                           f"{MAX_RANDOM_NETS})")
    p.add_argument("--verilog", help="Verilog to check (default: generated from the spec or network; a "
                                     "network's needs its NET.network.json beside it)")
    add_sim(p)
    p.add_argument("--steps", type=int_range(1, limits.MAX_SIM_BEATS), default=None,
                   help=f"time steps in total, over all sequences (default {DEFAULT_STEPS}, a network "
                        f"{DEFAULT_NET_STEPS} per network; at most "
                        f"{limits.MAX_SIM_BEATS}); runs longer than {CHUNK_STEPS} go in chunks of that "
                        f"many, with a progress line each")
    add_seed(p, DEFAULT_SEED, "traffic")
    p.add_argument("--waves", type=Path, metavar="DIR",
                   help="keep a waveform in DIR (a failing run keeps one anyway)")


def _progress(msg: str) -> None:
    print(f"regress: {msg}", flush=True)


def _regress_chunks(rtl, args, steps: int, chunk_steps: int, seed: int, t0: float, again: str = ""):
    """Regress ``rtl`` for ``steps`` time steps; a long run streams in chunks of ``chunk_steps`` (each its
    own traffic, seed derived from ``seed``, a progress line each). Returns (totals, the last outcome);
    CheckFailed naming the first mismatch (or a stall)."""
    from shiftpsn.sim.cosim import regress

    full, rest = divmod(steps, chunk_steps)
    chunks = [chunk_steps] * full + ([rest] if rest else [])
    total = {"beats_in": 0, "beats_out": 0, "cycles": 0.0}
    outcome = None
    for c, chunk in enumerate(chunks):
        cseed = seed if c == 0 else (seed + 7919 * c) % (limits.MAX_SEED + 1)
        outcome = regress(rtl, sim=args.sim, steps=chunk, seed=cseed, waves=args.waves or False, progress=_progress)
        m = outcome.mismatch
        if m is None and outcome.verdict["stalled"]:
            raise CheckFailed(f"the {rtl.kind.name} stalled: {outcome.verdict['stalled']}")
        if m is not None:
            wave = f"; waveform: {outcome.waves}" if outcome.waves else ""
            part = f" (chunk {c + 1} of {len(chunks)}, seed {cseed})" if len(chunks) > 1 else ""
            raise CheckFailed(f"{m.report()}{part}{again}{wave}")
        for k in total:
            total[k] += outcome.verdict[k]
        if len(chunks) > 1:
            _progress(f"chunk {c + 1}/{len(chunks)}: {sum(chunks[:c + 1])} of {steps} steps match "
                      f"({time.perf_counter() - t0:.0f} s)")
    return total, outcome


def run(args):
    if args.net is not None or args.random_net is not None:
        return _run_network(args)
    if args.steps is None:
        args.steps = DEFAULT_STEPS
    from shiftpsn.sim.cosim import from_file, generated, scrambled_weights
    from shiftpsn.sim.runner import check_simulator

    if args.waves is not None:
        check_writable_dir(args.waves)  # before any work
    spec = CoreSpec.load(args.spec) if args.spec else None
    check_simulator(args.sim)
    if args.verilog:
        core = from_file(args.verilog, spec)
    else:
        spec = spec or uniform_spec()
        # other power-up weights than the ones checked: a pass proves the configuration port works
        core = generated(spec, power_up=scrambled_weights(spec) if spec.weights == "runtime" else None)
    s = core.spec
    _progress(f"{core.top}: C={s.channels} k={s.order} d={s.dilation} W={s.input_width} "
              f"exp=[{s.exp_min},{s.exp_max}] {s.weights} {s.arith}"
              f"{'' if s.parallel else f' P={s.positions} lanes={s.lanes}'}; {args.steps} steps, seed {args.seed}, "
              f"{args.sim}")
    total, outcome = _regress_chunks(core, args, args.steps, CHUNK_STEPS, args.seed, time.perf_counter())
    v = total
    beats = args.steps * s.beats_per_step  # stream beats: beats_per_step per time step (the engine)
    undriven, dropped = beats - v["beats_in"], v["beats_in"] - v["beats_out"]
    steps = f"{args.steps} steps" + ("" if s.parallel else f" ({beats} beats)")
    why = (f"{steps}: {v['beats_in']} driven, {undriven} not driven (the rest of the sequence "
           f"that the reset interrupts), {dropped} in flight dropped by the reset"
           if (undriven or dropped) else f"{args.steps} steps, all driven and returned")
    print(f"regress: PASS {core.top} on {args.sim}: {v['beats_out']} output beats match golden "
          f"({why}; {v['cycles']:.0f} cycles, seed {args.seed})"
          + (f"; waveform: {outcome.waves}" if outcome.waves else ""))


def _run_network(args):
    import numpy as np

    from shiftpsn.base.errors import UsageError
    from shiftpsn.base.network import NetworkSpec
    from shiftpsn.sim.cosim import from_file, generated
    from shiftpsn.sim.matrix import random_hw_network
    from shiftpsn.sim.runner import check_simulator

    if args.waves is not None:
        check_writable_dir(args.waves)  # before any work
    if args.random_net is not None and args.verilog:
        raise UsageError("--verilog needs --net (the network it implements), not --random-net")
    steps = DEFAULT_NET_STEPS if args.steps is None else args.steps
    check_simulator(args.sim)
    if args.net is not None:
        net = NetworkSpec.load(args.net)
        jobs = [(None, lambda: from_file(args.verilog, net) if args.verilog else
                 generated(net, progress=_progress), args.seed)]
    else:
        jobs = []
        for i in range(args.random_net):
            seed = (args.seed + i) % (limits.MAX_SEED + 1)
            jobs.append((i, lambda seed=seed: generated(random_hw_network(np.random.default_rng(seed))), seed))
    t0, total = time.perf_counter(), {"beats_in": 0, "beats_out": 0, "cycles": 0.0}
    outcome = rtl = None
    for i, make, seed in jobs:
        rtl = make()
        n = rtl.design
        shape = " -> ".join([str(n.in_features)] + [f"{layer.out_features if layer.role == 'synapse' else layer.type_name}"
                                                    f"/{layer.lanes}" for layer in n.layers])
        where = "" if i is None else f"random network {i + 1} of {len(jobs)} (seed {seed}): "
        _progress(f"{where}{rtl.top}: inputs {n.input_width} bits, layers (outputs/lanes) {shape}, "
                  f"{len(rtl.monitors())} of {len(n.neuron_indices)} neuron layers watched; {steps} steps, "
                  f"seed {seed}, {args.sim}")
        again = "" if i is None else f" (random network {i + 1}: shiftpsn regress --random-net 1 --seed {seed})"
        done, outcome = _regress_chunks(rtl, args, steps, NET_CHUNK_STEPS, seed, t0, again)
        for k in total:
            total[k] += done[k]
        if len(jobs) > 1:
            _progress(f"network {i + 1}/{len(jobs)} matches golden ({time.perf_counter() - t0:.0f} s)")
    v = total
    what = rtl.top if len(jobs) == 1 else f"{len(jobs)} random networks"
    print(f"regress: PASS {what} on {args.sim}: {v['beats_out']} output beats and every watched neuron "
          f"layer's spikes match golden ({steps * len(jobs)} steps: {v['beats_in']} driven, the rest of "
          f"a sequence a reset interrupts not driven; beats in flight at the reset dropped; "
          f"{v['cycles']:.0f} cycles, seed {args.seed})" + (f"; waveform: {outcome.waves}" if outcome.waves else ""))
