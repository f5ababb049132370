"""The one-layer flow (``shiftpsn flow --mode layer``): one trained neuron layer as a core.

Steps (:data:`LAYER_STEPS`), each verified against the one before it::

    1 train     a small seq-digits network with the mul-free neuron      DIR/train/model.pt, results.json
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

import numpy as np

from shiftpsn.base.errors import CheckFailed
from shiftpsn.base.paths import atomic_write, json_text

from .config import FlowConfig
from .steps import Done, Step, cached, describe_train, generator_sources, train_step


# ----------------------------------------------------------------------------- 2 export
def export_step(cfg: FlowConfig, ctx: dict) -> Done:
    from shiftpsn.golden.export import export_layer

    d = ctx["out"] / "core"
    d.mkdir(parents=True, exist_ok=True)
    exp = export_layer(ctx["checkpoint"], cfg.layer, input_width=cfg.input_width, name="shiftpsn_core",
                       weights="runtime", test_subset=cfg.test_subset)
    exp.spec.save(d / "spec.json")
    atomic_write(d / "stimulus.npy", lambda f: np.save(f, exp.x))
    atomic_write(d / "export.json", json_text(exp.metadata))
    ctx["export"] = exp
    s = ctx["summary"]["export"] = {k: exp.metadata.get(k) for k in ("layer_name", "input_exp", "test_samples",
                                                                      "test_saturated_values")}
    s["spec"] = str(d / "spec.json")
    sp = exp.spec
    return Done(f"{exp.layer}: C={sp.channels} k={sp.order} d={sp.dilation} W={sp.input_width} "
                f"exp=[{sp.exp_min}, {sp.exp_max}], stimulus {exp.x.shape} ({exp.saturated} values saturated)")


# ----------------------------------------------------------------------------- 3 generate
def generate_step(cfg: FlowConfig, ctx: dict) -> Done:
    from shiftpsn.base.description import description_path
    from shiftpsn.hdl.generate import write_verilog

    spec, v = ctx["export"].spec, ctx["out"] / "core" / "core.v"
    info, reused = cached(v.parent, "generate", {"spec": spec.to_dict(), "generator": generator_sources()},
                          [v, description_path(v)], lambda: write_verilog(spec, v), noun="Verilog")
    ctx["summary"]["generate"] = {"verilog": str(v), "latency": info.get("latency"),
                                  "registers": info.get("registers")}
    return Done(f"{v} (top {info['top']}, latency {info.get('latency')} cycles)", reused)


# ----------------------------------------------------------------------------- 4 cosim
def cosim_step(cfg: FlowConfig, ctx: dict) -> Done:
    """RTL on the real currents vs the integer model (spikes and acc) and vs the float layer (spikes)."""
    exp, out = ctx["export"], ctx["out"]
    d = out / "cosim"
    inputs = {"verilog": out / "core" / "core.v", "spec": exp.spec.to_dict(), "x": exp.x,
              "float_spikes": exp.spikes, "sim": cfg.sim}
    result, reused = cached(d, "cosim", inputs, [d / "rtl.npz", d / "golden.npz"], lambda: _cosim(cfg, exp, out),
                            noun="co-simulation results")
    ctx["summary"]["cosim"] = result
    return Done(f"{result['sequences_identical']}/{result['sequences']} sequences identical to golden, "
                f"{result['spikes_checked']} spikes checked", reused)


def _cosim(cfg: FlowConfig, exp, out) -> dict:
    from shiftpsn.base.stimulus import save_results
    from shiftpsn.golden.integer import run as golden_run
    from shiftpsn.sim.cosim import from_file, rtl_run

    d = out / "cosim"
    d.mkdir(parents=True, exist_ok=True)
    core = from_file(out / "core" / "core.v", exp.spec)
    rtl = rtl_run(core, exp.x, sim=cfg.sim)
    rtl_spikes, rtl_acc = rtl["spikes"], rtl["acc"]
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


# ----------------------------------------------------------------------------- 5 synth
#: Report keys the summary keeps per target.
_KEEP = ("luts", "ffs", "cells", "area_um2", "fmax_mhz", "energy_pj_per_step_model", "energy_pj_per_step_activity",
         "storage_area_share", "ff_area_share")


def synth_step(cfg: FlowConfig, ctx: dict) -> Done:
    """Reports of the core and its mac baseline per target (DIR/synth/<target>/report.*); a target whose
    tool failed fails the step (exit 1, the tool's error line), never cached."""
    from shiftpsn.base.tools import check_liberty

    exp, d = ctx["export"], ctx["out"] / "synth"
    lib = check_liberty(None)
    inputs = {"spec": exp.spec.to_dict(), "targets": list(cfg.targets), "clock_mhz": cfg.clock_mhz,
              "liberty": str(lib), "stimulus": exp.x}
    result, reused = cached(d, "synth", inputs, [d / t / "report.json" for t in cfg.targets],
                            lambda: _synth(cfg, exp, d, lib), noun="reports")
    ctx["summary"]["synth"] = result
    return Done(", ".join(f"{tg}: {r['dir']}" for tg, r in result.items()), reused)


def _synth(cfg: FlowConfig, exp, d, lib) -> dict:
    from shiftpsn.base.progress import Progress
    from shiftpsn.synth import report, synthesize

    opts = synthesize.Options(targets=tuple(cfg.targets), liberty=lib, clock_mhz=cfg.clock_mhz,
                              steps=int(exp.x.shape[1]), stimulus=exp.x,
                              stimulus_desc="the layer's test-set input currents")
    reps = synthesize.synthesize_with_baseline(exp.spec, opts, d, "mac", Progress("synth"))
    out = {}
    for target, rep in reps.items():
        (d / target).mkdir(parents=True, exist_ok=True)
        report.write(rep, d / target)
        base = rep.get("baseline") or {}
        for who, r in (("shift", rep), ("mac", base)):
            if r.get("error"):
                raise CheckFailed(f"synth {target} ({who}) failed: {r['error']}")
        notes = [f"{who}: {r['pnr']['note']}" for who, r in (("shift", rep), ("mac", base))
                 if (r.get("pnr") or {}).get("note")]
        out[target] = {"dir": str(d / target), "core": {k: rep.get(k) for k in _KEEP},
                       "baseline": {k: base.get(k) for k in _KEEP}, "ratio": rep.get("ratio", {}), "notes": notes}
    return out


# ----------------------------------------------------------------------------- 6 summary
def summary_step(cfg: FlowConfig, ctx: dict) -> Done:
    from .summary import write_summary

    s = ctx["summary"]
    s["accuracy"] = _accuracies(ctx["checkpoint"], ctx["export"], cfg)
    paths = write_summary(s, ctx["out"], ctx["train_result"])
    return Done(", ".join(str(p) for p in paths))


def _accuracies(ckpt, exp, cfg: FlowConfig) -> dict:
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


LAYER_STEPS = [
    Step("train", describe_train, train_step),
    Step("export", lambda cfg, ctx: f"neuron layer {cfg.layer} -> core spec, test-set currents -> integers",
         export_step),
    Step("generate", lambda cfg, ctx: "Verilog of the exported core", generate_step),
    Step("cosim", lambda cfg, ctx: f"{cfg.sim} on {ctx['export'].x.shape[0]} test sequences x "
                                   f"{ctx['export'].x.shape[1]} steps", cosim_step),
    Step("synth", lambda cfg, ctx: f"{', '.join(cfg.targets)}: shift core and mac baseline", synth_step),
    Step("summary", lambda cfg, ctx: "accuracies of the float, quantized and integer models; plots", summary_step),
]
