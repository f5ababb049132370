"""The one-layer flow (``shiftpsn flow --mode layer``; the default, a whole network, is
:mod:`shiftpsn.flow.network`, which shares :class:`Stages` and the training stage).

Stages, each verified against the one before it (hls4ml / FINN style), each timed::

    1 train     a small seq-digits network with the mul-free neuron      DIR/train/model.pt, results.json
                (reused when DIR/train holds a checkpoint of the same configuration)
    2 export    its first neuron layer -> core spec; the layer's real        DIR/core/spec.json, export.json,
                test-set input currents quantized to the core's grid         stimulus.npy
    3 generate  the core's Verilog                                           DIR/core/core.v, core.core.json
    4 cosim     Icarus runs core.v on those currents; every spike and        DIR/cosim/rtl.npz, golden.npz
                accumulator is checked against the integer golden model,
                and the spikes against the quantized float layer
    5 synth     iCE40 and ASIC reports, shift core and mac baseline          DIR/synth/<target>/report.*
    6 summary   accuracies (float, quantized, integer), RTL check, area /   DIR/summary.md, *.png
                Fmax / energy shift vs mac
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from shiftpsn.base.errors import CheckFailed, UsageError
from shiftpsn.base.paths import atomic_write, json_text
from shiftpsn.base.tools import check_liberty


@dataclass(frozen=True)
class FlowConfig:
    """The built-in default of ``make demo``: small enough for a few minutes on 2 cores, and a core
    (8 channels) whose mac baseline still fits an iCE40 HX8K next to the synthesis harness."""

    output_dir: Path = Path("out/demo")
    task: str = "seq-digits"
    order: int = 4
    dilation: str = "sawtooth"
    width: int = 8
    layers: int = 3
    epochs: int = 40
    lr: float = 1e-2
    seed: int = 0
    layer: int = 0
    input_width: int = 8
    sim: str = "icarus"
    targets: tuple = ("ice40", "asic")
    clock_mhz: float = 100.0
    test_subset: int | None = None
    retrain: bool = False


@dataclass
class Stages:
    """Prints one line per stage with its time, and keeps the times for the summary."""

    total: int = 6
    times: dict = field(default_factory=dict)
    t0: float = field(default_factory=time.monotonic)

    def start(self, n: int, name: str, what: str) -> float:
        print(f"[flow {n}/{self.total}] {name}: {what}", flush=True)
        return time.monotonic()

    def done(self, name: str, started: float, result: str) -> None:
        dt = time.monotonic() - started
        self.times[name] = dt
        print(f"[flow] {name} done in {dt:.1f} s: {result}", flush=True)


def run_flow(cfg: FlowConfig) -> dict:
    """Run every stage; return the summary dict (also written to DIR/summary.json)."""
    out = Path(cfg.output_dir)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--output-dir {out} exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    _check_tools(cfg)
    st = Stages()
    summary: dict = {"config": {k: (str(v) if isinstance(v, Path) else v) for k, v in cfg.__dict__.items()}}

    t = st.start(1, "train", f"{cfg.task}, mul-free PSN k={cfg.order} ({cfg.dilation} dilations), "
                 f"{cfg.layers} x {cfg.width} channels, {cfg.epochs} epochs")
    ckpt, train_result, reused = _train(cfg, out / "train")
    summary["train"] = {"checkpoint": str(ckpt), "reused": reused, "test_acc": train_result["test_acc"],
                        "seconds": train_result.get("seconds")}
    st.done("train", t, f"{'reused ' if reused else ''}{ckpt} (test accuracy {train_result['test_acc']:.4f})")

    t = st.start(2, "export", f"neuron layer {cfg.layer} -> core spec, test-set currents -> integers")
    exp = _export(cfg, ckpt, out / "core")
    summary["export"] = {k: exp.metadata.get(k) for k in ("layer_name", "input_exp", "test_samples",
                                                           "test_saturated_values")}
    summary["export"]["spec"] = str(out / "core" / "spec.json")
    st.done("export", t, f"{exp.layer}: C={exp.spec.channels} k={exp.spec.order} d={exp.spec.dilation} "
            f"W={exp.spec.input_width} exp=[{exp.spec.exp_min}, {exp.spec.exp_max}], "
            f"stimulus {exp.x.shape} ({exp.saturated} values saturated)")

    t = st.start(3, "generate", "Verilog of the exported core")
    from shiftpsn.hdl.generate import write_verilog

    info = write_verilog(exp.spec, out / "core" / "core.v")
    summary["generate"] = {"verilog": str(out / "core" / "core.v"), "latency": info.get("latency"),
                           "registers": info.get("registers")}
    st.done("generate", t, f"{out / 'core' / 'core.v'} (top {info['top']}, latency {info.get('latency')} cycles)")

    t = st.start(4, "cosim", f"{cfg.sim} on {exp.x.shape[0]} test sequences x {exp.x.shape[1]} steps")
    summary["cosim"] = _cosim(cfg, exp, out)
    st.done("cosim", t, f"{summary['cosim']['sequences_identical']}/{summary['cosim']['sequences']} sequences "
            f"identical to golden, {summary['cosim']['spikes_checked']} spikes checked")

    t = st.start(5, "synth", f"{', '.join(cfg.targets)}: shift core and mac baseline")
    summary["synth"] = _synth(cfg, exp, out / "synth")
    st.done("synth", t, ", ".join(f"{tg}: {d['dir']}" for tg, d in summary["synth"].items()))

    t = st.start(6, "summary", "accuracies of the float, quantized and integer models; plots")
    summary["accuracy"] = _accuracies(ckpt, exp, cfg)
    summary["stage_seconds"] = st.times
    from shiftpsn.flow.summary import write_summary

    paths = write_summary(summary, out, train_result)
    st.done("summary", t, ", ".join(str(p) for p in paths))
    summary["stage_seconds"]["total"] = time.monotonic() - st.t0
    atomic_write(out / "summary.json", json_text(summary))
    print(f"[flow] all stages done in {summary['stage_seconds']['total']:.1f} s; read {out / 'summary.md'}")
    return summary


def _check_tools(cfg: FlowConfig) -> None:
    """Fail before training when a later stage's tool is missing (exit 2, naming the package)."""
    from shiftpsn.sim.runner import check_simulator
    from shiftpsn.synth.tools import check_synth_tools

    check_simulator(cfg.sim)
    check_synth_tools(cfg.targets, activity=True)
    check_liberty(None)


def _train(cfg: FlowConfig, d: Path) -> tuple[Path, dict, bool]:
    from shiftpsn.golden.train.loop import TrainConfig, train
    from shiftpsn.golden.train.models import ModelConfig

    config = TrainConfig(model=ModelConfig(task=cfg.task, neuron="mulfree", order=cfg.order, dilation=cfg.dilation,
                                           width=cfg.width, layers=cfg.layers),
                         epochs=cfg.epochs, lr=cfg.lr, seed=cfg.seed, test_subset=cfg.test_subset)
    ckpt, results = d / "model.pt", d / "results.json"
    if not cfg.retrain and ckpt.is_file() and results.is_file():
        old = json.loads(results.read_text())
        if old.get("config") == json.loads(json.dumps(config.to_dict())) and old.get("finite", True):
            return ckpt, old, True
    result = train(config, d).to_dict()
    if not result.get("finite", True):
        raise CheckFailed("training diverged (NaN loss); rerun with another --seed")
    return ckpt, result, False


def _export(cfg: FlowConfig, ckpt: Path, d: Path):
    from shiftpsn.golden.export import export_layer

    d.mkdir(parents=True, exist_ok=True)
    exp = export_layer(ckpt, cfg.layer, input_width=cfg.input_width, name="shiftpsn_core", weights="runtime",
                       test_subset=cfg.test_subset)
    exp.spec.save(d / "spec.json")
    atomic_write(d / "stimulus.npy", lambda f: np.save(f, exp.x))
    atomic_write(d / "export.json", json_text(exp.metadata))
    return exp


def _cosim(cfg: FlowConfig, exp, out: Path) -> dict:
    """RTL on the real currents vs the integer model (spikes and acc) and vs the float layer (spikes)."""
    from shiftpsn.golden.integer import run as golden_run
    from shiftpsn.sim.cosim import file_core, rtl_run
    from shiftpsn.base.stimulus import save_results

    d = out / "cosim"
    d.mkdir(parents=True, exist_ok=True)
    core = file_core(out / "core" / "core.v", exp.spec)
    rtl_spikes, rtl_acc = rtl_run(core, exp.x, sim=cfg.sim)
    gold_spikes, gold_acc = golden_run(exp.spec, exp.x)
    save_results(d / "rtl.npz", rtl_spikes, rtl_acc)
    save_results(d / "golden.npz", gold_spikes, gold_acc)
    same_seq = ((rtl_spikes == gold_spikes).all(axis=(1, 2)) & (rtl_acc == gold_acc).all(axis=(1, 2)))
    result = {"simulator": cfg.sim, "sequences": int(exp.x.shape[0]), "steps": int(exp.x.shape[1]),
              "channels": int(exp.x.shape[2]), "spikes_checked": int(rtl_spikes.size),
              "sequences_identical": int(same_seq.sum()),
              "spike_mismatches": int((rtl_spikes != gold_spikes).sum()),
              "acc_mismatches": int((rtl_acc != gold_acc).sum()),
              "float_layer_spike_mismatches": int((gold_spikes != exp.spikes).sum()),
              "firing_rate": float(gold_spikes.mean())}
    bad = np.argwhere((rtl_spikes != gold_spikes) | (rtl_acc != gold_acc))
    if bad.size:
        b, t, c = (int(v) for v in bad[0])
        raise CheckFailed(f"RTL differs from golden at (sequence {b}, t {t}, c {c}): expected spike "
                          f"{gold_spikes[b, t, c]} acc {gold_acc[b, t, c]}, got spike {rtl_spikes[b, t, c]} "
                          f"acc {rtl_acc[b, t, c]} ({result['spike_mismatches']} spike mismatches)")
    if result["float_layer_spike_mismatches"]:
        b, t, c = (int(v) for v in np.argwhere(gold_spikes != exp.spikes)[0])
        raise CheckFailed(f"integer model differs from the quantized float layer at (sequence {b}, t {t}, c {c})")
    return result


def _synth(cfg: FlowConfig, exp, d: Path) -> dict:
    """Reports of the core and its mac baseline per target; reused when DIR/synth/key.json shows the
    same spec, stimulus and options (synthesis is the slow stage of a second run)."""
    import hashlib

    from shiftpsn.synth import synthesize
    from shiftpsn.synth import report
    from shiftpsn.base.progress import Progress

    lib = check_liberty(None)
    key = {"spec": exp.spec.to_dict(), "targets": list(cfg.targets), "clock_mhz": cfg.clock_mhz,
           "liberty": str(lib), "stimulus_sha256": hashlib.sha256(exp.x.tobytes()).hexdigest()}
    key_path = d / "key.json"
    reports = {t: d / t / "report.json" for t in cfg.targets}
    if key_path.is_file() and json.loads(key_path.read_text()) == key and all(p.is_file() for p in reports.values()):
        print(f"[flow] synth: reusing the reports in {d} (same spec, stimulus and options)", flush=True)
        reps = {t: json.loads(p.read_text()) for t, p in reports.items()}
    else:
        key_path.unlink(missing_ok=True)
        opts = synthesize.Options(targets=tuple(cfg.targets), liberty=lib, clock_mhz=cfg.clock_mhz,
                                  steps=int(exp.x.shape[1]), stimulus=exp.x,
                                  stimulus_desc="the layer's test-set input currents")
        reps = synthesize.synthesize_with_baseline(exp.spec, opts, d, "mac", Progress("synth"))
        for target, rep in reps.items():
            (d / target).mkdir(parents=True, exist_ok=True)
            report.write(rep, d / target)
        failed = [f"{t}: {e['error']}" for t, rep in reps.items() for e in (rep, rep.get("baseline") or {})
                  if e.get("error")]
        if failed:  # a failed tool fails the flow, and is never cached as a result
            raise CheckFailed(f"synthesis failed ({len(failed)} run(s)): {failed[0]}")
        atomic_write(key_path, json_text(key))
    out = {}
    for target, rep in reps.items():
        tdir = d / target
        keep = ("luts", "ffs", "cells", "area_um2", "fmax_mhz", "energy_pj_per_step_model",
                "energy_pj_per_step_activity", "storage_area_share", "ff_area_share")
        base = rep.get("baseline") or {}
        notes = [f"{who}: {r['pnr']['note']}" for who, r in (("shift", rep), ("mac", base))
                 if (r.get("pnr") or {}).get("note")]
        notes += [f"{who}: {r['error']}" for who, r in (("shift", rep), ("mac", base)) if r.get("error")]
        out[target] = {"dir": str(tdir), "core": {k: rep.get(k) for k in keep},
                       "baseline": {k: base.get(k) for k in keep}, "ratio": rep.get("ratio", {}),
                       "notes": notes}
    return out


def _accuracies(ckpt: Path, exp, cfg: FlowConfig) -> dict:
    """Test accuracy of the trained network three ways: float weights (quantizer off), quantized
    weights (as trained), and integer (layer ``cfg.layer`` computed by the integer golden model on its
    quantized test-set currents ``exp.x``, the layers after it as trained)."""
    import torch

    from shiftpsn.golden.integer import run as golden_run
    from shiftpsn.golden.model.neuron import MulFreePSN
    from shiftpsn.golden.train.checkpoints import load_checkpoint
    from shiftpsn.golden.train.loop import evaluate
    from shiftpsn.golden.train.tasks import load_task

    model, config, _ = load_checkpoint(ckpt)
    model.eval()
    data = load_task(config.model.task, test_subset=cfg.test_subset)
    x, y = torch.from_numpy(data.x_test), torch.from_numpy(data.y_test)
    quantized, _ = evaluate(model, x, y)
    neurons = [m for m in model.modules() if isinstance(m, MulFreePSN)]
    for m in neurons:
        m.quantize = False
    floating, _ = evaluate(model, x, y)
    for m in neurons:
        m.quantize = True
    spikes, _ = golden_run(exp.spec, exp.x)  # (B, T, C)
    with torch.no_grad():
        h = torch.from_numpy(spikes.astype(np.float32)).transpose(0, 1)  # (T, B, C)
        for block in model.blocks[cfg.layer + 1:]:
            h = block(h)
        logits = model.readout(h).mean(0)
    integer = float((logits.argmax(1) == y).float().mean())
    return {"float": floating, "quantized": quantized, "integer": integer, "test_samples": int(len(y))}
