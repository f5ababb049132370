"""``python -m shiftpsn.golden.train.results --output-dir results`` (``make results``): train every network of
:mod:`shiftpsn.golden.train.experiments` with 3 seeds and write

* ``runs/<run>.json``: each run's result (kept: a rerun skips runs already there with the same config);
* ``tasks/<sha256>.json``: the same results addressed by the hash of their inputs (:mod:`shiftpsn.executor`),
  written the moment a run finishes, so a run interrupted (Ctrl-C, a lost worker) resumes where it stopped;
* ``results.json``: per configuration mean, spread (sample standard deviation) and the seeds' values,
  the answers to the papers' claims, and the wall time;
* ``README.md``: the tables (all neurons, the claims) in Markdown;
* ``pixel_order.png``, ``seq_order.png``: test accuracy against the order k with and without sawtooth
  dilations (MF-PSN Figure 5).

Runs are tasks of :mod:`shiftpsn.executor`: ``--jobs`` worker processes of this machine (default: one
per CPU) with one torch thread each, or the workers of a Dask cluster (``--cluster ADDRESS``); a line
per finished run shows progress (a bar on a terminal).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from shiftpsn import executor
from shiftpsn.base.paths import atomic_write, json_text
from shiftpsn.base.progress import Progress

from .experiments import EPOCHS, plan
from .report import write_report


def train_run(run, epochs: dict, subset: int | None) -> dict:
    """One training run (a task, run by a worker): its result record."""
    import torch

    from .loop import train

    torch.set_num_threads(1)
    result = train(run.config(epochs, subset), progress=False)
    d = result.to_dict()
    d["run"] = {"key": run.key, "group": run.group, "task": run.task, "neuron": run.neuron,
                "order": run.order, "dilation": run.dilation, "seed": run.seed}
    return d


def _cached(path: Path, config: dict) -> dict | None:
    try:
        d = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return d if d.get("config") == config else None


def summarize(records: list[dict]) -> dict[str, dict]:
    """Group run records by configuration: mean, sample std, min, max and values of each metric."""
    groups: dict[str, list[dict]] = {}
    for r in records:
        groups.setdefault(r["run"]["group"], []).append(r)
    out = {}
    for g, rs in groups.items():
        rs = sorted(rs, key=lambda r: r["run"]["seed"])
        entry = {k: rs[0]["run"][k] for k in ("task", "neuron", "order", "dilation")}
        entry["seeds"] = [r["run"]["seed"] for r in rs]
        entry["finite"] = all(r["finite"] for r in rs)
        for metric in ("test_acc", "train_acc", "firing_rate", "seconds"):
            vals = [float(r[metric]) for r in rs]
            entry[metric] = {"mean": statistics.fmean(vals),
                             "std": statistics.stdev(vals) if len(vals) > 1 else 0.0,
                             "min": min(vals), "max": max(vals), "values": vals}
        entry["params"] = rs[0]["params"]
        out[g] = entry
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m shiftpsn.golden.train.results", description=__doc__.split("\n")[0])
    p.add_argument("--output-dir", type=Path, default=Path("results"))
    executor.add_arguments(p)  # --cluster, --jobs
    p.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 per configuration (default 3)")
    p.add_argument("--epochs-scale", type=float, default=1.0,
                   help="multiply every task's epochs (e.g. 0.1 for a quick look)")
    p.add_argument("--subset", type=int, default=None, help="train/test on this many samples (smoke)")
    p.add_argument("--only", default=None,
                   help="train only groups whose name contains this text (the report still shows every "
                        "run of the comparison found done in OUTPUT_DIR/runs)")
    args = p.parse_args(argv)
    if args.seeds < 1 or args.epochs_scale <= 0:
        p.error("--seeds and --epochs-scale must be positive")
    opts = executor.from_args(args)
    out = args.output_dir
    (out / "runs").mkdir(parents=True, exist_ok=True)
    epochs = {t: max(1, round(e * args.epochs_scale)) for t, e in EPOCHS.items()}
    everything = plan(tuple(range(args.seeds)))
    runs = [r for r in everything if args.only is None or args.only in r.group]
    records, todo = [], []
    for run in runs:
        cached = _cached(out / "runs" / f"{run.key}.json", run.config(epochs, args.subset).to_dict())
        (records.append(cached) if cached else todo.append(run))
    # the report covers every run of the comparison that is done, not only those --only selects
    selected = {r.key for r in runs}
    others = [c for r in everything if r.key not in selected
              and (c := _cached(out / "runs" / f"{r.key}.json", r.config(epochs, args.subset).to_dict()))]
    done_before = len(records) + len(others)
    print(f"{len(runs)} runs, {len(records)} already done, {len(todo)} to train on {opts.describe()}; "
          f"epochs {epochs}", flush=True)
    start = time.perf_counter()
    tasks = [executor.Task(fn=train_run, kwargs={"run": r, "epochs": epochs, "subset": args.subset},
                           inputs={"config": r.config(epochs, args.subset).to_dict(), "key": r.key},
                           label=f"{r.group} seed {r.seed}") for r in todo]

    def finished(i: int, task, d: dict, reused: bool) -> None:
        atomic_write(out / "runs" / f"{todo[i].key}.json", json_text(d))
        records.append(d)

    try:
        outcome = executor.run_tasks(tasks, options=opts, store=executor.TaskStore(out), on_result=finished,
                                     progress=Progress("results", stream=sys.stdout),
                                     describe=lambda d: f"test {d['test_acc']:.4f} train {d['train_acc']:.4f}"
                                                        f"{'' if d['finite'] else ' NaN!'}")
    except KeyboardInterrupt:
        print(f"interrupted: {len(records)} of {len(runs)} runs done are kept in {out}/runs; the same command "
              f"goes on from there", flush=True)
        return 130
    wall = time.perf_counter() - start
    summary = summarize(records + others)
    total = len(records) + len(others)
    timing = {"wall_seconds": wall, "runs": len(todo), "jobs": outcome.workers}
    previous = _previous_timing(out / "results.json")
    if not todo:  # nothing trained now: keep the timing of the invocation(s) that trained the runs
        timing = previous or timing
    elif previous and done_before:  # new runs beside ones trained before: add the times up
        timing = {"wall_seconds": previous["wall_seconds"] + wall,
                  "runs": min(total, previous["runs"] + len(todo)), "jobs": outcome.workers}
    write_report(out, summary, timing=timing, epochs=epochs, total=total)
    print(f"done: {len(todo)} runs trained in {wall / 60:.1f} min; wrote {out}/README.md, results.json, "
          f"pixel_order.png, seq_order.png", flush=True)
    return 0


def _previous_timing(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())["meta"]["training"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


if __name__ == "__main__":
    sys.exit(main())
