"""``shiftpsn regress`` over several cores or networks, each a task of :mod:`shiftpsn.executor`:

    shiftpsn regress --spec A.json B.json ... [--output-dir DIR] [--cluster ADDRESS] [--jobs N]
    shiftpsn regress --random-net N            [--output-dir DIR] [--cluster ADDRESS] [--jobs N]

A task is one core spec or one network (a random network is drawn here, from seed ``--seed + i``, and
shipped as its spec), with the steps, seed and simulator; its result is the beat and cycle counts of a
pass. Every task runs even when one fails; a failure (a mismatch, tried twice) is exit 1 naming the core
or network, its inputs and the first mismatch. With ``--output-dir DIR`` every passing task is kept in
DIR/tasks and DIR/regress.json lists them all, so a rerun into DIR simulates only what has not passed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from shiftpsn import executor
from shiftpsn.base import limits
from shiftpsn.base.errors import UsageError
from shiftpsn.base.network import NetworkSpec
from shiftpsn.base.paths import atomic_write, check_writable_dir, json_text
from shiftpsn.base.progress import Progress
from shiftpsn.base.spec import CoreSpec, uniform_spec

from . import regress

#: The summary a regression into ``--output-dir`` writes beside DIR/tasks.
SUMMARY = "regress.json"


def uses_executor(args) -> bool:
    """Several cores, random networks, a results folder or a named cluster: the work goes to tasks."""
    return (len(args.spec or ()) > 1 or args.random_net is not None or args.output_dir is not None
            or args.cluster is not None)


def core_task(spec: CoreSpec, steps: int, seed: int, sim: str, waves: str | None) -> dict:
    """One core, regressed (a task, run by a worker): its top and beat / cycle counts."""
    from shiftpsn.sim.cosim import generated, scrambled_weights

    # other power-up weights than the ones checked: a pass proves the configuration port works
    core = generated(spec, power_up=scrambled_weights(spec) if spec.weights == "runtime" else None)
    total, _ = regress.check(core, steps=steps, seed=seed, sim=sim, waves=_waves(waves), progress=None)
    return {"top": core.top, **total}


def network_task(net: NetworkSpec, steps: int, seed: int, sim: str, waves: str | None, again: str = "") -> dict:
    """One network, regressed (a task, run by a worker): its top and beat / cycle counts."""
    from shiftpsn.sim.cosim import generated

    rtl = generated(net)
    total, _ = regress.check(rtl, steps=steps, seed=seed, sim=sim, waves=_waves(waves), progress=None,
                                     again=again)
    return {"top": rtl.top, "shape": regress.network_shape(rtl), **total}


def _waves(waves: str | None):
    return Path(waves) if waves else False


def run_sweep(args) -> int:
    from shiftpsn.sim.matrix import random_hw_network
    from shiftpsn.sim.runner import check_simulator

    if args.verilog:
        raise UsageError("--verilog checks one given file in this process: it cannot be combined with several "
                         "--spec, --random-net, --output-dir or --cluster")
    opts = executor.from_args(args)
    for d in (args.waves, args.output_dir):
        if d is not None:
            check_writable_dir(d)  # before any work
    check_simulator(args.sim)
    tasks = []
    if args.spec is not None or (args.net is None and args.random_net is None):
        steps = regress.DEFAULT_STEPS if args.steps is None else args.steps
        paths = args.spec or [None]
        specs = [uniform_spec() if p is None else CoreSpec.load(p) for p in paths]  # all read before any run
        for p, spec in zip(paths, specs):
            label = "uniform_spec()" if p is None else str(p)
            tasks.append(executor.Task(fn=core_task, label=label, inputs=_inputs(spec, steps, args),
                                       kwargs={"spec": spec, "steps": steps, "seed": args.seed, "sim": args.sim,
                                               "waves": _wave_dir(args, len(tasks))}))
        what = f"{len(tasks)} cores" if len(tasks) > 1 else specs[0].name
    else:
        steps = regress.DEFAULT_NET_STEPS if args.steps is None else args.steps
        if args.net is not None:
            nets = [(NetworkSpec.load(args.net), args.seed, str(args.net), "")]
        else:
            nets = []
            for i in range(args.random_net):
                seed = (args.seed + i) % (limits.MAX_SEED + 1)
                nets.append((random_hw_network(np.random.default_rng(seed)), seed,
                             f"random network {i + 1} of {args.random_net} (seed {seed})",
                             f" (random network {i + 1}: shiftpsn regress --random-net 1 --seed {seed})"))
        for net, seed, label, again in nets:
            tasks.append(executor.Task(fn=network_task, label=label,
                                       inputs=_inputs(net, steps, args, seed),
                                       kwargs={"net": net, "steps": steps, "seed": seed, "sim": args.sim,
                                               "waves": _wave_dir(args, len(tasks)), "again": again}))
        what = f"{len(tasks)} random networks" if args.random_net is not None else nets[0][0].name
    progress = Progress("regress", stream=sys.stdout)
    outcome = executor.run_tasks(tasks, options=opts, store=executor.TaskStore(args.output_dir),
                                 progress=progress, describe=lambda r: f"{r['top']} matches golden")
    if args.output_dir is not None:
        summary = {"sim": args.sim, "seed": args.seed, "steps": steps,
                   "tasks": [{"label": t.label, "address": t.address, "result": r}
                             for t, r in zip(tasks, outcome.results)]}
        atomic_write(args.output_dir / SUMMARY, json_text(summary))
    total = {k: sum(r[k] for r in outcome.results) for k in ("beats_in", "beats_out", "cycles")}
    if args.net is None and args.random_net is None:
        print(f"regress: PASS {what} on {args.sim}: {total['beats_out']} output beats match golden "
              f"({steps} steps each, {total['beats_in']} beats driven; {total['cycles']:.0f} cycles, seed {args.seed})")
    else:
        print(regress.network_pass_line(what, args.sim, total, steps * len(tasks), args.seed))
    return 0


def _inputs(design, steps: int, args, seed: int | None = None) -> dict:
    """What a regression's verdict depends on: the design, steps, seed and simulator (and the chunk
    sizes a long run is cut into)."""
    from shiftpsn.sim.kinds import kind_of

    core = kind_of(design).name == "core"
    return {"design": design.to_dict(), "kind": type(design).__name__, "steps": steps,
            "seed": args.seed if seed is None else seed, "sim": args.sim,
            "chunk": regress.CHUNK_STEPS if core else regress.NET_CHUNK_STEPS}


def _wave_dir(args, index: int) -> str | None:
    """Each task its own waveform folder under ``--waves`` (absolute: a worker may run elsewhere)."""
    return None if args.waves is None else str((Path(args.waves) / f"task{index + 1}").resolve())
