"""The whole-network flow (``shiftpsn flow``, the default mode, and ``make demo``).

Steps (:data:`NETWORK_STEPS`), each verified against the one before it::

    1 train     a seq-digits network of mul-free PSN layers                 DIR/train/model.pt, results.json
                (reused when DIR/train holds a checkpoint of the same configuration)
    2 export    the whole network in integers (BatchNorm folded, 8-bit      DIR/net/net.json, export.json,
                dense weights, golden.export_network); the test set as        x.npy, labels.npy, golden.npz
                integer inputs; float / quantized / integer accuracy
    3 generate  the network's Verilog (hdl.network), each layer's lanes     DIR/net/net.v, net.network.json
                chosen for a small FPGA; and its mac baseline; its cycles     DIR/net/mac.v (reused if same)
                per time step checked against the layer protocol's
    4 cosim     the Verilog in Verilator (or Icarus) on every test sample:  DIR/cosim/rtl.npz, cosim.json
                every logit, class and neuron layer's spikes checked          (reused if same)
                against the integer model; cycles per sample measured
    5 synth     iCE40 (the UP5K first) and ASIC: the shift network and      DIR/synth/{shift,mac}/<target>/
                its mac baseline; OpenSTA power on the test-set inputs        (reused if same)
    6 summary   accuracies, resources, Fmax, cycles, samples/s, energy     DIR/summary.md, .json, *.png
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from shiftpsn.base.errors import CheckFailed
from shiftpsn.base.paths import atomic_write, json_text

from .config import FlowConfig
from .steps import Done, Step, cached, describe_train, generator_sources, train_step


def _fits(n: int, most: int) -> int:
    """The largest divisor of n that is at most ``most``."""
    return max(d for d in range(1, min(n, max(1, most)) + 1) if n % d == 0)


def hardware_lanes(net, dense_lanes: int, psn_lanes: int):
    """``net`` with every synapse layer's ``lanes`` = the largest divisor of its outputs <= ``dense_lanes``
    and every neuron layer's = the largest divisor of its neurons <= ``psn_lanes`` (results never depend
    on lanes)."""
    from shiftpsn.base.network import NetworkSpec

    cap = {"synapse": dense_lanes, "neuron": psn_lanes}
    layers = tuple(layer.with_lanes(_fits(layer.out_features, cap[layer.role])) for layer in net.layers)
    return NetworkSpec(input_width=net.input_width, layers=layers, name=net.name)


# ----------------------------------------------------------------------------- 2 export
def export_step(cfg: FlowConfig, ctx: dict) -> Done:
    from shiftpsn.base.network import save_network_results
    from shiftpsn.golden.export_network import export_network
    from shiftpsn.golden.network import run_network

    d = ctx["out"] / "net"
    d.mkdir(parents=True, exist_ok=True)
    exp = export_network(ctx["checkpoint"], weight_bits=cfg.weight_bits, name="shiftpsn_net",
                         test_subset=cfg.test_subset)
    net = hardware_lanes(exp.net, cfg.dense_lanes, cfg.psn_lanes)
    if not np.array_equal(exp.predictions["integer"], exp.predictions["quantized"]) and exp.metadata[
            "exact_quantized_float"]:
        raise CheckFailed("the integer network's classes differ from the quantized float network's although "
                          "float64 computes it exactly")
    gold = run_network(net, exp.x)
    if not np.array_equal(gold.classes, exp.predictions["integer"]):
        raise CheckFailed("the network with hardware lanes classifies differently from the exported one")
    net.save(d / "net.json")
    atomic_write(d / "x.npy", lambda f: np.save(f, exp.x))
    atomic_write(d / "labels.npy", lambda f: np.save(f, exp.labels))
    atomic_write(d / "export.json", json_text(exp.metadata))
    save_network_results(d / "golden.npz", gold.logits, gold.classes, gold.spikes)
    ctx.update(net=net, x=exp.x)
    meta, acc = exp.metadata, exp.metadata["accuracy"]
    ctx["accuracy"] = acc
    s = ctx["summary"]["export"] = {k: meta[k] for k in ("weight_bits", "exact_quantized_float",
                                                          "agreement_integer_quantized", "firing_rates",
                                                          "quantization", "first_layer")}
    s["network"] = str(d / "net.json")
    return Done(f"{len(net.layers)} layers, {exp.x.shape[0]} test samples x {exp.x.shape[1]} steps; accuracy "
                f"float {acc['float']:.4f}, quantized {acc['quantized']:.4f}, integer {acc['integer']:.4f}")


# ----------------------------------------------------------------------------- 3 generate
def generate_step(cfg: FlowConfig, ctx: dict) -> Done:
    """net.v + net.network.json and mac.v + mac.network.json; reused for the same network and generator."""
    from shiftpsn.base.description import description_path
    from shiftpsn.hdl.network import write_network_verilog

    net, d = ctx["net"], ctx["out"] / "net"
    files = [d / "net.v", d / "mac.v", description_path(d / "net.v", "network"),
             description_path(d / "mac.v", "network")]

    def compute():
        desc = write_network_verilog(net, d / "net.v")
        write_network_verilog(net.with_arith("mac"), d / "mac.v", top="shiftpsn_net_mac")
        return desc

    desc, reused = cached(d, "generate", {"net": net.to_json(), "generator": generator_sources()}, files, compute,
                          noun="Verilog")
    cps, model = desc["cycles_per_step"], net.cycles_per_step()
    if (cps["min"], cps["max"]) != (model["min"], model["max"]):
        raise CheckFailed(f"the network's Verilog takes {cps['min']}..{cps['max']} cycles per time step, the "
                          f"layer protocol says {model['min']}..{model['max']}")
    ctx["summary"]["generate"] = {"verilog": str(d / "net.v"), "baseline": str(d / "mac.v"), "reused": reused,
                                  "cycles_per_step": cps, "latency_bound": desc["latency"]["max"],
                                  "layers": desc["layers"]}
    return Done(f"{d / 'net.v'} (top {desc['top']}, {cps['min']}..{cps['max']} "
                f"cycles per time step)", reused)


# ----------------------------------------------------------------------------- 4 cosim
def cosim_step(cfg: FlowConfig, ctx: dict) -> Done:
    """The Verilog on every test sample: logits, classes and every neuron layer's spikes against the
    integer model (DIR/net/golden.npz). Reused for the same Verilog, inputs, golden results and simulator."""
    net, x, out = ctx["net"], ctx["x"], ctx["out"]
    d = out / "cosim"
    from shiftpsn.base.network import load_network_results

    # the golden arrays, not the .npz file: a zip archive holds the time it was written
    inputs = {"verilog": out / "net" / "net.v", "x": x, "sim": cfg.sim, "labels": out / "net" / "labels.npy",
              "golden": load_network_results(out / "net" / "golden.npz", net)}
    c, reused = cached(d, "cosim", inputs, [d / "rtl.npz", d / "cosim.json"], lambda: _cosim(cfg, net, x, out),
                       noun="co-simulation results")
    c["reused"] = reused
    ctx["summary"]["cosim"] = c
    return Done(f"{'reused: ' if reused else ''}{c['samples_identical']}/{c['samples']} samples identical to "
                f"golden ({c['logits_checked']:,} logits, {c['spikes_checked']:,} spikes), "
                f"{c['cycles_per_sample']:.0f} cycles per sample", reused)


def _cosim(cfg: FlowConfig, net, x: np.ndarray, out) -> dict:
    from shiftpsn.base.network import load_network_results, save_network_results

    d = out / "cosim"
    d.mkdir(parents=True, exist_ok=True)
    gold = load_network_results(out / "net" / "golden.npz", net)
    rpath = d / "rtl.npz"
    rtl, verdict = _simulate(cfg, net, x, out / "net" / "net.v")
    save_network_results(rpath, rtl["logits"], rtl["classes"], {L: rtl[f"spikes_{L}"] for L in net.neuron_indices})
    same = (rtl["logits"] == gold["logits"]).all(axis=(1, 2)) & (rtl["classes"] == gold["classes"])
    spikes_checked = 0
    for L in net.neuron_indices:
        same &= (rtl[f"spikes_{L}"] == gold[f"spikes_{L}"]).all(axis=(1, 2))
        spikes_checked += gold[f"spikes_{L}"].size
    labels = np.load(out / "net" / "labels.npy")
    B, T = x.shape[:2]
    cycles = verdict.get("cycles") or 0
    result = {"simulator": cfg.sim, "cycles": verdict.get("cycles"), "wall_s": verdict.get("wall_s"),
              "samples": B, "steps": T, "samples_identical": int(same.sum()),
              "classes_equal": int((rtl["classes"] == gold["classes"]).sum()),
              "rtl_correct": int((rtl["classes"] == labels).sum()),
              "logits_checked": int(gold["logits"].size), "spikes_checked": int(spikes_checked),
              "cycles_per_sample": cycles / B, "cycles_per_step": cycles / (B * T),
              "model_cycles_per_sample": {a: model_cycles(net, x, a) for a in ("shift", "mac")}}
    atomic_write(d / "cosim.json", json_text(result))
    if not same.all():
        b = int(np.argmin(same))
        what = next((f"spikes of layers[{L}]" for L in net.neuron_indices
                     if not (rtl[f"spikes_{L}"][b] == gold[f"spikes_{L}"][b]).all()), "logits or class")
        raise CheckFailed(f"RTL differs from golden on {B - int(same.sum())} of {B} samples; the first, "
                          f"sample {b}: {what} (class {int(rtl['classes'][b])}, golden {int(gold['classes'][b])}; "
                          f"{rpath} vs {out / 'net' / 'golden.npz'})")
    return result


def _simulate(cfg: FlowConfig, net, x: np.ndarray, verilog) -> tuple[dict, dict]:
    """(results arrays, the testbench's verdict) of the Verilog on ``x``, every step back to back."""
    from shiftpsn.sim.cosim import cosimulate, from_file, results
    from shiftpsn.sim.traffic import Phase

    rtl = from_file(verilog, net)
    B, T = x.shape[:2]
    if len(rtl.monitors()) != len(net.neuron_indices):
        raise CheckFailed(f"{verilog}: not every neuron layer's output stream is visible to the testbench")
    o = cosimulate(rtl, x.reshape(B * T, -1), [T] * B, [Phase(0, B)], sim=cfg.sim, check=False,
                   waves_on_failure=False, progress=lambda m: print(f"[flow] cosim: {m}", flush=True))
    return results(o, rtl, B, T), o.verdict


def model_cycles(net, x: np.ndarray, arith: str) -> float:
    """Mean cycles per sample of the network (``arith`` "shift" or "mac") streaming ``x`` back to back:
    each time step takes its slowest stage's cycles for the data it sees (the layer protocol's
    ``step_cycles``: the bits set in each bit plane, or the nonzero inputs / spikes); the co-simulation
    measures the shift network's real figure."""
    return float(net.step_cycles(x, arith).sum(axis=1).mean())


# ----------------------------------------------------------------------------- 5 synth
#: Test samples the asic netlists are simulated on for the gate-level switching energy (one sample of
#: the demo network is about 8,000 clock cycles, several minutes of Icarus).
SWITCHING_SAMPLES = 1


def synth_step(cfg: FlowConfig, ctx: dict) -> Done:
    """Target -> {"shift": entry, "mac": entry} (synth.network), asic with the three energies (the
    switching one on the first :data:`SWITCHING_SAMPLES` test samples). A target whose tool failed
    fails the step (exit 1, the tool's error line), never cached."""
    from shiftpsn.base.tools import check_liberty

    out, x = ctx["out"], ctx["x"]
    d = out / "synth"
    lib = check_liberty(None) if "asic" in cfg.targets else None
    cycles_per_step = ctx["summary"]["cosim"]["cycles_per_step"]
    inputs = {"verilog": [out / "net" / f"{n}.v" for n in ("net", "mac")], "targets": list(cfg.targets),
              "clock_mhz": cfg.clock_mhz, "liberty": str(lib), "x": x, "cycles_per_step": round(cycles_per_step, 6),
              "switching": SWITCHING_SAMPLES}
    res, reused = cached(d, "synth", inputs, [d / "synth.json"],
                         lambda: _synth(cfg, x, cycles_per_step, out, ctx["net"], lib), noun="reports")
    ctx["summary"]["synth"] = res
    return Done("; ".join(_synth_line(tg, r) for tg, r in res.items()), reused)


def _synth(cfg: FlowConfig, x: np.ndarray, cycles_per_step: float, out, net, lib) -> dict:
    import json
    import sys

    from shiftpsn.base.progress import Progress
    from shiftpsn.synth.network import input_activities, synthesize_network

    d = out / "synth"
    descs = {a: json.loads((out / "net" / f"{n}.network.json").read_text()) for a, n in (("shift", "net"),
                                                                                        ("mac", "mac"))}
    progress = Progress("synth", stream=sys.stdout)
    res: dict = {t: {} for t in cfg.targets}

    def one(arith: str, name: str) -> dict:
        acts = input_activities(descs[arith], x, cycles_per_step) if lib is not None else None
        n = min(SWITCHING_SAMPLES, x.shape[0])
        return synthesize_network(out / "net" / f"{name}.v", descs[arith], cfg.targets, d / arith, progress,
                                  liberty_path=lib, clock_mhz=cfg.clock_mhz, activities=acts, label=arith,
                                  net=net.with_arith(arith), stimulus=x[:n],
                                  stimulus_desc=f"the first {n} test sample(s) of {x.shape[0]}",
                                  cycles_per_step=cycles_per_step)

    # the shift network and its baseline side by side: each tool run is one process on its own core
    with ThreadPoolExecutor(max_workers=2) as pool:
        jobs = {arith: pool.submit(one, arith, name) for arith, name in (("shift", "net"), ("mac", "mac"))}
        for arith, job in jobs.items():
            for t, e in job.result().items():
                res[t][arith] = e
    atomic_write(d / "synth.json", json_text(res))
    for t, r in res.items():
        for arith, e in r.items():
            if e.get("error"):
                raise CheckFailed(f"synth {t} ({arith}) failed: {e['error']}")
    return res


# ----------------------------------------------------------------------------- 6 summary
def summary_step(cfg: FlowConfig, ctx: dict) -> Done:
    from .summary import write_network_summary

    s, c, acc = ctx["summary"], ctx["summary"]["cosim"], ctx["accuracy"]
    s["accuracy"] = {"float": acc["float"], "quantized": acc["quantized"], "integer": acc["integer"],
                     "rtl": int(c["rtl_correct"]) / c["samples"], "test_samples": c["samples"],
                     "rtl_equals_integer": c["classes_equal"] == c["samples"]}
    s.update(_figures(s, c, cfg))
    paths = write_network_summary(s, ctx["out"], ctx["train_result"])
    return Done(", ".join(str(p) for p in paths))


def _synth_line(target: str, r: dict) -> str:
    e = r.get("shift", {})
    if e.get("error"):
        return f"{target}: failed ({e['error'][:80]})"
    if target == "asic":
        return f"asic {e.get('area_um2') or 0:,.0f} um^2, {e.get('fmax_mhz') or 0:.1f} MHz"
    from .summary import device_name

    fmax = "" if e.get("fmax_mhz") is None else f", {e['fmax_mhz']:.1f} MHz"
    where = device_name(target, e["device"]) if e.get("device") else "no device (not placed)"
    return f"{target} {e.get('luts')} LUTs, {e.get('bram')} block RAMs on the {where}{fmax}"


def _figures(s: dict, c: dict, cfg) -> dict:
    """Headline numbers: resources and Fmax per target, cycles per sample, samples per second at each
    target's Fmax, and energy per sample (OpenSTA's power at clock_mhz x cycles per sample / clock)."""
    model = c["model_cycles_per_sample"]
    per_arith = {"shift": c["cycles_per_sample"],  # measured; the mac baseline's scaled by the model
                 "mac": c["cycles_per_sample"] * model["mac"] / model["shift"] if model["shift"] else None}
    fig = {"cycles_per_sample": per_arith["shift"], "cycles_per_sample_mac": per_arith["mac"],
           "cycles_per_step": c["cycles_per_step"], "latency_cycles_per_sample": per_arith["shift"],
           "resources": {}, "fmax_mhz": {}, "samples_per_s": {}, "energy_nj_per_sample": {}}
    for target, r in s["synth"].items():
        for arith, e in r.items():
            k = f"{target}_{arith}" if arith == "mac" else target
            cycles = per_arith[arith]
            fig["resources"][k] = {key: e.get(key) for key in ("luts", "ffs", "carry", "bram", "dsp", "cells",
                                                               "area_um2", "device") if e.get(key) is not None}
            fig["fmax_mhz"][k] = e.get("fmax_mhz")
            if e.get("fmax_mhz"):
                fig["samples_per_s"][k] = e["fmax_mhz"] * 1e6 / cycles if cycles else None
            if e.get("power_w") is not None and cycles:
                fig["energy_nj_per_sample"][k] = e["power_w"] * cycles / (e["clock_mhz"] * 1e6) * 1e9
    from .summary import device_name

    ice = s["synth"].get("ice40", {}).get("shift", {})
    fig["device"] = device_name("ice40", ice["device"]) if ice.get("device") else None
    return fig


NETWORK_STEPS = [
    Step("train", describe_train, train_step),
    Step("export", lambda cfg, ctx: "the whole network -> integers; the test set -> integer inputs", export_step),
    Step("generate", lambda cfg, ctx: f"Verilog of the network and its mac baseline (lanes: dense "
                                      f"{cfg.dense_lanes}, neuron {cfg.psn_lanes})", generate_step),
    Step("cosim", lambda cfg, ctx: f"{cfg.sim}: the whole network on {ctx['x'].shape[0]} test samples, every "
                                   f"logit, class and spike against the integer model", cosim_step),
    Step("synth", lambda cfg, ctx: f"{', '.join(cfg.targets)}: the shift network and its mac baseline", synth_step),
    Step("summary", lambda cfg, ctx: "accuracies, resources, Fmax, throughput, energy; plots", summary_step),
]
