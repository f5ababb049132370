"""Parameter sweeps: ``shiftpsn synth --sweep k=2,4,8 --sweep C=8,16 --target asic --output-dir DIR``.

Each ``--sweep PARAM=V1,V2,...`` varies one parameter on its own, the others staying at the base
spec's values (one factor at a time, so each plot has one variable). PARAM is ``k`` (order), ``C``
(channels), ``d`` (dilation) or ``W`` (input_width); the long spec names are accepted too. Every
point is :func:`shiftpsn.base.spec.uniform_spec` with the base spec's sizes, exponent range and optional
keys (weights, pipeline, emit_acc, name) and the swept value: the weights of a given spec cannot
follow a change of C or k, so a sweep always uses the README's deterministic weights.

Output in DIR:

* ``sweep.csv``: one row per (parameter, value, arithmetic) with :data:`COLUMNS`;
* ``sweep_<param>.png`` (``sweep_<param>_<target>.png`` for several targets): area (um^2 for asic,
  else LUTs, else cells) and both energies against the parameter, one line per arithmetic
  (``shift``, and ``mac`` with ``--baseline mac``);
* ``<param>=<value>/report.json`` (``<param>=<value>/<target>/report.json`` for several targets,
  and report.md, tool logs): the full report of each point;
* ``tasks/<sha256>.json``: each finished point's reports, addressed by the hash of its inputs (spec,
  options, the liberty's and the stimulus' contents): a rerun into DIR synthesizes only the points
  not finished before (:mod:`shiftpsn.executor`).

The points run as tasks of :mod:`shiftpsn.executor` (worker processes of this machine, or the workers
of ``--cluster ADDRESS``); the tool logs of a point are written by the worker that ran it, the reports,
CSV and plots by the client.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path
from typing import Callable

import numpy as np

from shiftpsn.base.errors import UsageError
from shiftpsn.base.paths import atomic_write
from shiftpsn.base.spec import CoreSpec, max_pipeline, uniform_spec
from shiftpsn.executor import ExecutorOptions, Task, TaskStore, array_digest, file_digest, run_tasks

from . import report, synthesize
from .tools import Progress

#: Short and long parameter names -> CoreSpec field.
PARAMS = {"k": "order", "order": "order", "C": "channels", "channels": "channels",
          "d": "dilation", "dilation": "dilation", "W": "input_width", "input_width": "input_width"}
SHORT = {"order": "k", "channels": "C", "dilation": "d", "input_width": "W"}
COLUMNS = ["param", "value", "target", "arith", "channels", "order", "dilation", "input_width", "cells", "luts",
           "ffs", "area_um2", "ff_area_share", "fmax_mhz", "energy_pj_per_step_model",
           "energy_pj_per_step_activity", "energy_pj_per_step_switching"]


def parse(items: list[str]) -> dict[str, list[int]]:
    """``["k=2,4", "C=8"]`` -> ``{"order": [2, 4], "channels": [8]}``. Raises UsageError."""
    out: dict[str, list[int]] = {}
    for item in items:
        name, sep, values = item.partition("=")
        if not sep or name.strip() not in PARAMS:
            raise UsageError(f"--sweep {item!r}: expected PARAM=V1,V2,... with PARAM one of k, C, d, W")
        field = PARAMS[name.strip()]
        try:
            vals = [int(v) for v in values.split(",") if v.strip()]
        except ValueError:
            raise UsageError(f"--sweep {item!r}: values must be integers") from None
        if not vals:
            raise UsageError(f"--sweep {item!r}: no values")
        if field in out:
            raise UsageError(f"--sweep: {name} given twice")
        out[field] = vals
    return out


def point_spec(base: CoreSpec, field: str, value: int) -> CoreSpec:
    """The sweep point: uniform_spec with ``base``'s sizes and options and ``field = value``."""
    sizes = {"channels": base.channels, "order": base.order, "dilation": base.dilation,
             "input_width": base.input_width}
    sizes[field] = value
    return uniform_spec(**sizes, exp_min=base.exp_min, exp_max=base.exp_max, weights=base.weights,
                        pipeline=min(base.pipeline, max_pipeline(sizes["order"])),
                        emit_acc=base.emit_acc, name=base.name)


def run(base: CoreSpec, params: dict[str, list[int]], options: Callable, out: Path,
        baseline: str | None, progress: Progress, executor: ExecutorOptions = ExecutorOptions()) -> list[dict]:
    """Synthesize every point (a task each); write sweep.csv and the plots; return the CSV rows."""
    points = []
    for field, values in params.items():
        for v in values:
            points.append((field, v, point_spec(base, field, v)))  # validates before any run
    tasks = []
    for field, v, spec in points:
        opts = options(spec)
        tasks.append(Task(fn=synthesize_point, label=f"{SHORT[field]}={v}",
                          kwargs={"spec": spec, "opts": opts, "workdir": str(_point_dir(out, field, v).resolve()),
                                  "baseline": baseline},
                          inputs={"spec": spec.to_dict(), "options": option_inputs(opts), "baseline": baseline}))
    rows_of: dict[int, list[dict]] = {}

    def finished(i: int, task: Task, reps: dict, reused: bool) -> None:
        field, v, _ = points[i]
        d = _point_dir(out, field, v)
        d.mkdir(parents=True, exist_ok=True)
        rows_of[i] = []
        for target, rep in reps.items():
            report.write(rep, d if len(reps) == 1 else _mkdir(d / target))
            for entry in [rep] + ([rep["baseline"]] if "baseline" in rep else []):
                row = {"param": SHORT[field], "value": v, "target": target, "arith": entry["spec"]["arith"]}
                for key in COLUMNS[4:8]:
                    row[key] = entry["spec"][key]
                for key in COLUMNS[8:]:
                    row[key] = entry.get(key)
                rows_of[i].append(row)
        # after every point, in point order whatever order they finish in: a long sweep can be watched
        _write_csv([r for j in sorted(rows_of) for r in rows_of[j]], out / "sweep.csv")

    run_tasks(tasks, options=executor, store=TaskStore(out), progress=progress, on_result=finished)
    rows = [r for j in sorted(rows_of) for r in rows_of[j]]
    targets = sorted({r["target"] for r in rows})
    for field in params:
        for target in targets:
            name = f"sweep_{SHORT[field]}.png" if len(targets) == 1 else f"sweep_{SHORT[field]}_{target}.png"
            plot([r for r in rows if r["target"] == target], SHORT[field], out / name)
    return rows


def synthesize_point(spec: CoreSpec, opts: synthesize.Options, workdir: str, baseline: str | None) -> dict:
    """One sweep point (a task, run by a worker): target -> report, the tool logs in ``workdir``."""
    d = Path(workdir)
    d.mkdir(parents=True, exist_ok=True)
    return synthesize.synthesize_with_baseline(spec, opts, d, baseline, Progress("synth", quiet=True))


def option_inputs(opts: synthesize.Options) -> dict:
    """The synthesis options as task inputs: files (the liberty) and arrays (the stimulus) by content."""
    out = {}
    for f in dataclasses.fields(opts):
        value = getattr(opts, f.name)
        if isinstance(value, Path):
            value = {"path": str(value), "sha256": file_digest(value)}
        elif isinstance(value, np.ndarray):
            value = array_digest(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


def _point_dir(out: Path, field: str, value: int) -> Path:
    return out / f"{SHORT[field]}={value}"


def _mkdir(d: Path) -> Path:
    d.mkdir(exist_ok=True)
    return d


def _write_csv(rows: list[dict], path: Path) -> None:
    """sweep.csv, written atomically and recorded as shiftpsn's (a rerun into the folder may replace it)."""
    text = io.StringIO(newline="")
    w = csv.DictWriter(text, fieldnames=COLUMNS)
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r[k]) for k in COLUMNS})
    atomic_write(path, text.getvalue())


def area_key(rows: list[dict]) -> tuple[str, str]:
    """The area figure the rows have: (key, axis label)."""
    for key, label in (("area_um2", "area (um^2)"), ("luts", "LUTs"), ("cells", "cells")):
        if any(r.get(key) is not None for r in rows):
            return key, label
    return "cells", "cells"


def plot(rows: list[dict], param: str, path: Path) -> None:
    """Area and energy per neuron-time-step against ``param``, one line per arithmetic."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sel = [r for r in rows if r["param"] == param]
    akey, alabel = area_key(sel)
    fig, (ax_a, ax_e) = plt.subplots(1, 2, figsize=(10, 4))
    # one colour per arithmetic in both panels; the line style tells the energy model apart
    colour = {"shift": "tab:blue", "mac": "tab:orange"}
    for arith in sorted({r["arith"] for r in sel}, reverse=True):
        pts = sorted((r for r in sel if r["arith"] == arith), key=lambda r: r["value"])
        xs = [r["value"] for r in pts]
        c = colour.get(arith)
        ax_a.plot(xs, [r.get(akey) for r in pts], "o-", color=c, label=arith)
        ax_e.plot(xs, [r.get("energy_pj_per_step_model") for r in pts], "o--", color=c,
                  label=f"{arith}, op-count model")
        if any(r.get("energy_pj_per_step_activity") is not None for r in pts):
            ax_e.plot(xs, [r.get("energy_pj_per_step_activity") for r in pts], "s-", color=c,
                      label=f"{arith}, simulated activity")
        if any(r.get("energy_pj_per_step_switching") is not None for r in pts):
            ax_e.plot(xs, [r.get("energy_pj_per_step_switching") for r in pts], "^:", color=c,
                      label=f"{arith}, gate-level switching")
    ax_a.set_xlabel(param)
    ax_a.set_ylabel(alabel)
    ax_a.set_title(f"{alabel} vs {param}")
    ax_e.set_xlabel(param)
    ax_e.set_ylabel("pJ per neuron-time-step")
    ax_e.set_title(f"energy vs {param}")
    for ax in (ax_a, ax_e):
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, dpi=100, format="png"))
    plt.close(fig)
