"""The whole-network flow: ``shiftpsn flow`` (the default mode) and ``make demo``.

Stages, each verified against the one before it, each timed::

    1 train     a seq-digits network of mul-free PSN layers                 DIR/train/model.pt, results.json
                (reused when DIR/train holds a checkpoint of the same configuration)
    2 export    the whole network in integers (BatchNorm folded, 8-bit      DIR/net/net.json, export.json,
                dense weights, golden.export_network); the test set as        x.npy, labels.npy, golden.npz
                integer inputs; float / quantized / integer accuracy
    3 generate  the network's Verilog (hdl.network), each layer's lanes     DIR/net/net.v, net.network.json
                chosen for a small FPGA; and its mac baseline                 DIR/net/mac.v (reused if same)
    4 cosim     the Verilog in Verilator (or Icarus) on every test sample:  DIR/cosim/rtl.npz, cosim.json
                every logit, class and neuron layer's spikes checked          (reused if same)
                against the integer model; cycles per sample measured
    5 synth     iCE40 (the UP5K first) and ASIC: the shift network and      DIR/synth/{shift,mac}/<target>/
                its mac baseline; OpenSTA power on the test-set inputs        (reused if same)
    6 summary   accuracies, resources, Fmax, cycles, samples/s, energy     DIR/summary.md, .json, *.png
"""

from __future__ import annotations

import hashlib
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shiftpsn.base.errors import CheckFailed, UsageError
from shiftpsn.base.paths import atomic_write, json_text
from shiftpsn.base.tools import check_liberty

from . import Stages, _train


@dataclass(frozen=True)
class NetworkFlowConfig:
    """The built-in default of ``make demo``: a 3 x 64 network, accurate on seq-digits (0.93 after 20
    epochs), whose hardware (one dense output and one neuron per cycle in each layer) fits an iCE40
    HX8K (not the UP5K: about 6,180 logic cells against 5,280). d = 1 in every layer (``fixed``): the
    sawtooth's d = 3 layer needs a 3x deeper history, one block RAM per 16 bits of word, and the network
    then needs 35 block RAMs, more than any iCE40 has."""

    output_dir: Path = Path("out/demo")
    task: str = "seq-digits"
    order: int = 4
    dilation: str = "fixed"
    width: int = 64
    layers: int = 3
    epochs: int = 20
    lr: float = 1e-2
    seed: int = 0
    weight_bits: int = 8
    dense_lanes: int = 1
    psn_lanes: int = 1
    sim: str = "verilator"
    targets: tuple = ("ice40", "asic")
    clock_mhz: float = 100.0
    test_subset: int | None = None
    retrain: bool = False


def run_network_flow(cfg: NetworkFlowConfig) -> dict:
    """Run every stage; return the summary dict (also written to DIR/summary.json)."""
    out = Path(cfg.output_dir)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--output-dir {out} exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    _check_tools(cfg)
    st = Stages()
    s: dict = {"mode": "network",
               "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in cfg.__dict__.items()}}

    t = st.start(1, "train", f"{cfg.task}, mul-free PSN k={cfg.order} ({cfg.dilation} dilations), "
                 f"{cfg.layers} x {cfg.width} channels, {cfg.epochs} epochs")
    ckpt, train_result, reused = _train(cfg, out / "train")
    s["train"] = {"checkpoint": str(ckpt), "reused": reused, "test_acc": train_result["test_acc"],
                  "seconds": train_result.get("seconds")}
    st.done("train", t, f"{'reused ' if reused else ''}{ckpt} (test accuracy {train_result['test_acc']:.4f})")

    t = st.start(2, "export", "the whole network -> integers; the test set -> integer inputs")
    net, x, labels, meta = _export(cfg, ckpt, out / "net")
    acc = meta["accuracy"]
    s["export"] = {k: meta[k] for k in ("weight_bits", "exact_quantized_float", "agreement_integer_quantized",
                                        "firing_rates", "quantization", "first_layer")}
    s["export"]["network"] = str(out / "net" / "net.json")
    st.done("export", t, f"{len(net.layers)} layers, {x.shape[0]} test samples x {x.shape[1]} steps; accuracy "
            f"float {acc['float']:.4f}, quantized {acc['quantized']:.4f}, integer {acc['integer']:.4f}")

    t = st.start(3, "generate", f"Verilog of the network and its mac baseline (lanes: dense {cfg.dense_lanes}, "
                 f"neuron {cfg.psn_lanes})")
    desc, gen_reused = _generate(net, out / "net")
    s["generate"] = {"verilog": str(out / "net" / "net.v"), "baseline": str(out / "net" / "mac.v"),
                     "reused": gen_reused, "cycles_per_step": desc["cycles_per_step"],
                     "latency_bound": desc["latency"]["max"], "layers": desc["layers"]}
    cps = desc["cycles_per_step"]
    st.done("generate", t, f"{'reused ' if gen_reused else ''}{out / 'net' / 'net.v'} (top {desc['top']}, "
            f"{cps['min']}..{cps['max']} cycles per time step)")

    t = st.start(4, "cosim", f"{cfg.sim}: the whole network on {x.shape[0]} test samples, every logit, "
                 "class and spike against the integer model")
    s["cosim"] = _cosim(cfg, net, x, out)
    c = s["cosim"]
    st.done("cosim", t, f"{'reused: ' if c['reused'] else ''}{c['samples_identical']}/{c['samples']} samples "
            f"identical to golden ({c['logits_checked']:,} logits, {c['spikes_checked']:,} spikes), "
            f"{c['cycles_per_sample']:.0f} cycles per sample")

    t = st.start(5, "synth", f"{', '.join(cfg.targets)}: the shift network and its mac baseline")
    s["synth"] = _synth(cfg, x, c["cycles_per_step"], out, net)
    st.done("synth", t, "; ".join(_synth_line(tg, r) for tg, r in s["synth"].items()))

    t = st.start(6, "summary", "accuracies, resources, Fmax, throughput, energy; plots")
    rtl_correct = int(c["rtl_correct"])
    s["accuracy"] = {"float": acc["float"], "quantized": acc["quantized"], "integer": acc["integer"],
                     "rtl": rtl_correct / c["samples"], "test_samples": c["samples"],
                     "rtl_equals_integer": c["classes_equal"] == c["samples"]}
    s.update(_figures(s, c, cfg))
    s["stage_seconds"] = st.times
    from .summary import write_network_summary

    paths = write_network_summary(s, out, train_result)
    st.done("summary", t, ", ".join(str(p) for p in paths))
    s["stage_seconds"]["total"] = time.monotonic() - st.t0
    atomic_write(out / "summary.json", json_text(s))
    a = s["accuracy"]
    print(f"[flow] all stages done in {s['stage_seconds']['total']:.1f} s: accuracy rtl {a['rtl']:.4f} = integer "
          f"{a['integer']:.4f} (quantized {a['quantized']:.4f}, float {a['float']:.4f}); read {out / 'summary.md'}",
          flush=True)
    return s


def _check_tools(cfg) -> None:
    """Fail before training when a later stage's tool is missing (exit 2, naming the package)."""
    from shiftpsn.sim.runner import check_simulator
    from shiftpsn.synth.tools import check_synth_tools

    check_simulator(cfg.sim)
    check_synth_tools(cfg.targets, activity="asic" in cfg.targets)
    if "asic" in cfg.targets:
        check_liberty(None)


def _sha(*parts) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else str(p).encode())
        h.update(b"\0")
    return h.hexdigest()


def _fits(n: int, most: int) -> int:
    """The largest divisor of n that is at most ``most``."""
    return max(d for d in range(1, min(n, max(1, most)) + 1) if n % d == 0)


def hardware_lanes(net, dense_lanes: int, psn_lanes: int):
    """``net`` with every dense layer's ``lanes`` = the largest divisor of O <= ``dense_lanes`` and every
    neuron layer's = the largest divisor of C <= ``psn_lanes`` (results never depend on lanes)."""
    from shiftpsn.base.network import DenseLayer, NetworkSpec

    layers = []
    for layer in net.layers:
        if isinstance(layer, DenseLayer):
            layers.append(DenseLayer(layer.weight, layer.bias, name=layer.name,
                                     lanes=_fits(layer.out_features, dense_lanes)))
        else:
            lanes = _fits(layer.channels, psn_lanes)
            layers.append(layer.replace(lanes=layer.channels if layer.channels // lanes < 2 else lanes))
    return NetworkSpec(input_width=net.input_width, layers=tuple(layers), name=net.name)


def _export(cfg, ckpt: Path, d: Path):
    from shiftpsn.base.network import save_network_results
    from shiftpsn.golden.export_network import export_network
    from shiftpsn.golden.network import run_network

    d.mkdir(parents=True, exist_ok=True)
    exp = export_network(ckpt, weight_bits=cfg.weight_bits, name="shiftpsn_net", test_subset=cfg.test_subset)
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
    return net, exp.x, exp.labels, exp.metadata


def _generate(net, d: Path) -> tuple[dict, bool]:
    """net.v + net.network.json and mac.v + mac.network.json; reused when key.json shows the same network."""
    from shiftpsn.hdl.network import network_description_path, with_arith, write_network_verilog

    key = {"net_sha256": _sha(net.to_json()), "generator": _generator_sha()}
    key_path = d / "generate_key.json"
    files = [d / "net.v", d / "mac.v", network_description_path(d / "net.v"), network_description_path(d / "mac.v")]
    if key_path.is_file() and json.loads(key_path.read_text()) == key and all(p.is_file() for p in files):
        return json.loads(files[2].read_text()), True
    key_path.unlink(missing_ok=True)
    desc = write_network_verilog(net, d / "net.v")
    write_network_verilog(with_arith(net, "mac"), d / "mac.v", top="shiftpsn_net_mac")
    atomic_write(key_path, json_text(key))
    return desc, False


def _generator_sha() -> str:
    """Hash of the hardware generator's sources: a changed generator is not mistaken for the same Verilog."""
    import shiftpsn.hdl as hdl

    root = Path(hdl.__file__).parent
    return _sha(*(p.read_bytes() for p in sorted(root.glob("*.py"))))


def _cosim(cfg, net, x: np.ndarray, out: Path) -> dict:
    """The Verilog on every test sample: logits, classes and every neuron layer's spikes against the
    integer model (DIR/net/golden.npz). Reused when cosim.json shows the same Verilog, inputs and simulator."""
    from shiftpsn.base.network import load_network_results, save_network_results

    d = out / "cosim"
    d.mkdir(parents=True, exist_ok=True)
    verilog = (out / "net" / "net.v").read_bytes()
    key = _sha(verilog, x.tobytes(), x.shape, cfg.sim)
    gold = load_network_results(out / "net" / "golden.npz", net)
    rpath, jpath = d / "rtl.npz", d / "cosim.json"
    result = json.loads(jpath.read_text()) if jpath.is_file() else None
    reused = bool(result and result.get("key") == key and rpath.is_file())
    if reused:
        rtl = load_network_results(rpath, net)
    else:
        jpath.unlink(missing_ok=True)
        rtl, verdict = _simulate(cfg, net, x, out / "net" / "net.v")
        save_network_results(rpath, rtl["logits"], rtl["classes"],
                             {L: rtl[f"spikes_{L}"] for L in net.neuron_indices})
        result = {"key": key, "simulator": cfg.sim, "cycles": verdict.get("cycles"),
                  "wall_s": verdict.get("wall_s")}
    same = (rtl["logits"] == gold["logits"]).all(axis=(1, 2)) & (rtl["classes"] == gold["classes"])
    spikes_checked = 0
    for L in net.neuron_indices:
        same &= (rtl[f"spikes_{L}"] == gold[f"spikes_{L}"]).all(axis=(1, 2))
        spikes_checked += gold[f"spikes_{L}"].size
    labels = np.load(out / "net" / "labels.npy")
    B, T = x.shape[:2]
    cycles = result["cycles"] or 0
    result.update({"samples": B, "steps": T, "samples_identical": int(same.sum()),
                   "classes_equal": int((rtl["classes"] == gold["classes"]).sum()),
                   "rtl_correct": int((rtl["classes"] == labels).sum()),
                   "logits_checked": int(gold["logits"].size), "spikes_checked": int(spikes_checked),
                   "cycles_per_sample": cycles / B, "cycles_per_step": cycles / (B * T),
                   "model_cycles_per_sample": {a: model_cycles(net, x, gold, a) for a in ("shift", "mac")}})
    atomic_write(jpath, json_text(result))
    if not same.all():
        b = int(np.argmin(same))
        what = next((f"spikes of layers[{L}]" for L in net.neuron_indices
                     if not (rtl[f"spikes_{L}"][b] == gold[f"spikes_{L}"][b]).all()), "logits or class")
        raise CheckFailed(f"RTL differs from golden on {B - int(same.sum())} of {B} samples; the first, "
                          f"sample {b}: {what} (class {int(rtl['classes'][b])}, golden {int(gold['classes'][b])}; "
                          f"{rpath} vs {out / 'net' / 'golden.npz'})")
    result["reused"] = reused
    return result


def _simulate(cfg, net, x: np.ndarray, verilog: Path) -> tuple[dict, dict]:
    """(results arrays, the testbench's verdict) of the Verilog on ``x``, every step back to back."""
    from shiftpsn.sim.netcosim import cosimulate_network, file_network, network_results
    from shiftpsn.sim.traffic import Phase

    rtl = file_network(verilog, net)
    B, T = x.shape[:2]
    if len(rtl.monitors()) != len(net.neuron_indices):
        raise CheckFailed(f"{verilog}: not every neuron layer's output stream is visible to the testbench")
    o = cosimulate_network(rtl, x.reshape(B * T, -1), [T] * B, [Phase(0, B)], sim=cfg.sim, check=False,
                           waves_on_failure=False, progress=lambda m: print(f"[flow] cosim: {m}", flush=True))
    return network_results(o, net, B, T), o.verdict


def model_cycles(net, x: np.ndarray, gold: dict, arith: str) -> float:
    """Mean cycles per sample of the network (``arith`` "shift" or "mac") streaming ``x`` back to back,
    from each stage's documented cycles for the data it sees (``DenseEngine.cycles_for``: the bits set
    in each bit plane, or the nonzero inputs / spikes) and the slowest stage of each time step; the
    co-simulation measures the shift network's real figure."""
    from shiftpsn.hdl.network import NetworkTop

    top = NetworkTop(net=net, arith=arith)
    top._MustUse__silence = True  # only its stages' cycle figures are used
    per_step = []
    inputs = np.asarray(x, dtype=np.int64)
    for L, layer in enumerate(net.layers):
        if L % 2:
            per_step.append(np.full(x.shape[:2], layer.beats_per_step))
            inputs = gold[f"spikes_{L}"].astype(np.int64)
            continue
        eng = next(e for i, e in top.stages if i == L and hasattr(e, "cycles_for"))
        if eng.bit_serial:
            counts = [((inputs >> p) & 1).sum(-1) for p in range(eng.planes)]
        else:
            counts = [(inputs != 0).sum(-1)]
        per_step.append(eng.groups * (1 + sum(np.maximum(1, c) for c in counts)))
    last = net.layers[-1]
    per_step.append(np.full(x.shape[:2], last.out_features // last.lanes))
    return float(np.max(per_step, axis=0).sum(axis=1).mean())


#: Test samples the asic netlists are simulated on for the gate-level switching energy (one sample of
#: the demo network is about 8,000 clock cycles, several minutes of Icarus).
SWITCHING_SAMPLES = 1


def _synth(cfg, x: np.ndarray, cycles_per_step: float, out: Path, net=None) -> dict:
    """Target -> {"shift": entry, "mac": entry} (synth.network); reused when key.json shows the same
    Verilog, targets, clock, liberty and activities. With ``net``, asic also gets the three energies,
    the switching one on the first :data:`SWITCHING_SAMPLES` test samples."""
    from shiftpsn.base.progress import Progress
    from shiftpsn.hdl.network import with_arith
    from shiftpsn.synth.network import input_activities, synthesize_network

    d = out / "synth"
    lib = check_liberty(None) if "asic" in cfg.targets else None
    descs = {a: json.loads((out / "net" / f"{n}.network.json").read_text()) for a, n in (("shift", "net"),
                                                                                        ("mac", "mac"))}
    key = {"verilog": [_sha((out / "net" / f"{n}.v").read_bytes()) for n in ("net", "mac")],
           "targets": list(cfg.targets), "clock_mhz": cfg.clock_mhz, "liberty": str(lib),
           "activity": _sha(x.tobytes(), round(cycles_per_step, 6)),
           "switching": None if net is None else SWITCHING_SAMPLES}
    key_path, rep_path = d / "key.json", d / "synth.json"
    if key_path.is_file() and json.loads(key_path.read_text()) == key and rep_path.is_file():
        print(f"[flow] synth: reusing the reports in {d} (same Verilog, targets and options)", flush=True)
        return json.loads(rep_path.read_text())
    key_path.unlink(missing_ok=True)
    progress = Progress("synth", stream=__import__("sys").stdout)
    res: dict = {t: {} for t in cfg.targets}

    def one(arith: str, name: str) -> dict:
        acts = input_activities(descs[arith], x, cycles_per_step) if lib is not None else None
        variant = None if net is None else with_arith(net, arith)
        n = min(SWITCHING_SAMPLES, x.shape[0])
        return synthesize_network(out / "net" / f"{name}.v", descs[arith], cfg.targets, d / arith, progress,
                                  liberty_path=lib, clock_mhz=cfg.clock_mhz, activities=acts, label=arith,
                                  net=variant, stimulus=None if net is None else x[:n],
                                  stimulus_desc=f"the first {n} test sample(s) of {x.shape[0]}",
                                  cycles_per_step=cycles_per_step)

    # the shift network and its baseline side by side: each tool run is one process on its own core
    with ThreadPoolExecutor(max_workers=2) as pool:
        jobs = {arith: pool.submit(one, arith, name) for arith, name in (("shift", "net"), ("mac", "mac"))}
        for arith, job in jobs.items():
            for t, e in job.result().items():
                res[t][arith] = e
    failed = [f"{arith} {t}: {e['error']}" for t, r in res.items() for arith, e in r.items() if e.get("error")]
    if failed:  # a failed tool fails the flow, and is never cached as a result
        raise CheckFailed(f"synthesis failed ({len(failed)} run(s)): {failed[0]}")
    atomic_write(rep_path, json_text(res))
    atomic_write(key_path, json_text(key))
    return res


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
