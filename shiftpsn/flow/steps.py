"""The flow's machinery: steps run in order and timed, the one step cache, and the shared train step.

A flow is a list of :class:`Step` (FINN's builder style): each step is a function ``run(cfg, ctx) ->
Done`` that reads what earlier steps left in ``ctx`` (a dict; ``ctx["summary"]`` is summary.json) and
verifies its output against the step before. :func:`run_steps` prints one line as a step starts and one
as it ends, with its time, and marks a step whose outputs were reused from an earlier run as reused
(stage_seconds keeps its time; summary.md says "reused").

:func:`cached` is the one cache of every step: a step's inputs (configuration values, arrays, and input
files by content) are hashed; the step's JSON result and that hash go to ``<dir>/<step>.cache.json``
only after the step returned. A step that fails (a tool failure, a check that fails) raises and leaves
no cache entry, so the next run does the work again instead of repeating the failure.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from shiftpsn.base.errors import CheckFailed
from shiftpsn.base.paths import atomic_write, json_text

from .config import FlowConfig


@dataclass(frozen=True)
class Done:
    """What a step reports: its closing line, and whether it reused an earlier run's outputs."""

    line: str
    reused: bool = False


@dataclass(frozen=True)
class Step:
    """One step of a flow: ``describe(cfg, ctx)`` is the line printed as it starts, ``run(cfg, ctx)``
    does the work (raising CheckFailed / UsageError when it fails) and returns :class:`Done`."""

    name: str
    describe: Callable[[FlowConfig, dict], str]
    run: Callable[[FlowConfig, dict], Done]


def run_steps(cfg: FlowConfig, steps: list[Step], ctx: dict) -> dict:
    """Run ``steps`` in order; the times go to ``ctx["summary"]["stage_seconds"]`` and the names of the
    reused steps to ``ctx["summary"]["reused_steps"]`` as they finish (the summary step reads both)."""
    s = ctx["summary"]
    times, reused = s.setdefault("stage_seconds", {}), s.setdefault("reused_steps", [])
    t0 = time.monotonic()
    for n, step in enumerate(steps, 1):
        print(f"[flow {n}/{len(steps)}] {step.name}: {step.describe(cfg, ctx)}", flush=True)
        started = time.monotonic()
        done = step.run(cfg, ctx)
        times[step.name] = time.monotonic() - started
        if done.reused:
            reused.append(step.name)
        mark = " (reused)" if done.reused else ""
        print(f"[flow] {step.name} done in {times[step.name]:.1f} s{mark}: {done.line}", flush=True)
    times["total"] = time.monotonic() - t0
    return s


# ----------------------------------------------------------------------------- the one step cache
def input_hash(inputs: Any) -> str:
    """SHA-256 of a step's inputs: JSON values, bytes, numpy arrays (dtype, shape, data) and files
    (:class:`~pathlib.Path`, by content), nested in dicts (keys sorted), lists and tuples."""
    h = hashlib.sha256()

    def feed(v):
        if isinstance(v, Path):
            h.update(b"file\0")
            feed(v.read_bytes())
        elif isinstance(v, (bytes, bytearray)):
            h.update(b"bytes\0%d\0" % len(v))
            h.update(v)
        elif isinstance(v, np.ndarray):
            h.update(f"array\0{v.dtype.str}\0{v.shape}\0".encode())
            feed(np.ascontiguousarray(v).tobytes())
        elif isinstance(v, dict):
            h.update(b"dict\0%d\0" % len(v))
            for k in sorted(v, key=str):
                feed(str(k))
                feed(v[k])
        elif isinstance(v, (list, tuple)):
            h.update(b"list\0%d\0" % len(v))
            for x in v:
                feed(x)
        else:
            h.update(json.dumps(v, default=str).encode() + b"\0")

    feed(inputs)
    return h.hexdigest()


def cached(d: Path, step: str, inputs: Any, outputs: Iterable[Path], compute: Callable[[], Any], *,
           noun: str = "outputs", force: bool = False) -> tuple[Any, bool]:
    """``(result, reused)``: the saved result of ``step`` when ``d/<step>.cache.json`` holds the hash of
    the same ``inputs`` and every file of ``outputs`` exists (unless ``force``), else ``compute()``'s
    (a JSON value), saved only once it returned. Either way the result is the JSON form."""
    d = Path(d)
    key_path = d / f"{step}.cache.json"
    digest = input_hash(inputs)
    if not force and key_path.is_file():
        try:
            saved = json.loads(key_path.read_text())
        except (OSError, ValueError):
            saved = None
        if isinstance(saved, dict) and saved.get("inputs_sha256") == digest and \
                all(Path(p).is_file() for p in outputs):
            print(f"[flow] {step}: reusing the {noun} in {d} (same inputs)", flush=True)
            return saved["result"], True
    key_path.unlink(missing_ok=True)
    result = json.loads(json_text(compute()))
    d.mkdir(parents=True, exist_ok=True)
    atomic_write(key_path, json_text({"step": step, "inputs_sha256": digest, "result": result}))
    return result, False


def generator_sources() -> list[Path]:
    """The hardware generator's sources (with the base layer's specs): a changed generator is never
    mistaken for the same Verilog."""
    import shiftpsn.base as base
    import shiftpsn.hdl as hdl

    roots = [Path(hdl.__file__).parent, Path(base.__file__).parent]
    return [p for root in roots for p in sorted(root.rglob("*.py"))]


# ----------------------------------------------------------------------------- checks before any work
def check_tools(cfg: FlowConfig) -> None:
    """Fail before training when a later step's tool is missing (exit 2, naming the package)."""
    from shiftpsn.base.tools import check_liberty
    from shiftpsn.sim.runner import check_simulator
    from shiftpsn.synth.tools import check_synth_tools

    check_simulator(cfg.sim)
    check_synth_tools(cfg.targets, activity=cfg.mode == "layer" or "asic" in cfg.targets)
    if cfg.mode == "layer" or "asic" in cfg.targets:
        check_liberty(None)


# ----------------------------------------------------------------------------- 1 train (both flows)
def describe_train(cfg: FlowConfig, ctx: dict) -> str:
    return (f"{cfg.task}, mul-free PSN k={cfg.order} ({cfg.dilation} dilations), {cfg.layers} x {cfg.width} "
            f"channels, {cfg.epochs} epochs")


def train_step(cfg: FlowConfig, ctx: dict) -> Done:
    """Train the network (DIR/train/model.pt, results.json); reused for the same training configuration."""
    from shiftpsn.golden.train.loop import TrainConfig, train
    from shiftpsn.golden.train.models import ModelConfig

    d = ctx["out"] / "train"
    config = TrainConfig(model=ModelConfig(task=cfg.task, neuron="mulfree", order=cfg.order, dilation=cfg.dilation,
                                           width=cfg.width, layers=cfg.layers),
                         epochs=cfg.epochs, lr=cfg.lr, seed=cfg.seed, test_subset=cfg.test_subset)
    ckpt = d / "model.pt"

    def compute():
        result = train(config, d).to_dict()
        if not result.get("finite", True):
            raise CheckFailed("training diverged (NaN loss); rerun with another --seed")
        return result

    result, reused = cached(d, "train", config.to_dict(), [ckpt, d / "results.json"], compute,
                            noun="checkpoint", force=cfg.retrain)
    ctx.update(checkpoint=ckpt, train_result=result)
    ctx["summary"]["train"] = {"checkpoint": str(ckpt), "reused": reused, "test_acc": result["test_acc"],
                               "seconds": result.get("seconds")}
    return Done(f"{ckpt} (test accuracy {result['test_acc']:.4f})", reused)
