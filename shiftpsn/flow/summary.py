"""summary.md and the plots of ``shiftpsn flow`` (see shiftpsn.flow)."""

from __future__ import annotations

from pathlib import Path

from shiftpsn.base.paths import atomic_write
from shiftpsn.synth.nextpnr import device_name

_METRICS = [("luts", "LUTs", "{:,.0f}"), ("ffs", "flip-flops", "{:,.0f}"), ("cells", "cells", "{:,.0f}"),
            ("area_um2", "area (um^2)", "{:,.0f}"), ("fmax_mhz", "Fmax (MHz)", "{:.1f}"),
            ("energy_pj_per_step_model", "energy, op-count model (pJ / neuron-step)", "{:.4g}"),
            ("energy_pj_per_step_activity", "energy, simulated activity (pJ / neuron-step)", "{:.4g}"),
            ("energy_pj_per_step_switching", "energy, gate-level switching (pJ / neuron-step)", "{:.4g}"),
            ("storage_area_share", "delay-line storage share of area", "{:.1%}")]


def _fmt(v, fmt):
    return "-" if v is None else fmt.format(v)


def write_summary(s: dict, out: Path, train_result: dict) -> list[Path]:
    """Write out/summary.md, out/training.png and out/shift_vs_mac.png; return their paths."""
    plots = [_plot_training(train_result, out / "training.png"), _plot_ratios(s["synth"], out / "shift_vs_mac.png")]
    acc, cos, exp, cfg = s["accuracy"], s["cosim"], s["export"], s["config"]
    lines = [
        "# shiftpsn flow summary", "",
        f"A {cfg['layers']}-layer seq-digits network (width {cfg['width']}, mul-free PSN k={cfg['order']}, "
        f"{cfg['dilation']} dilations) was trained, its layer `{exp['layer_name']}` exported to "
        f"[{Path(exp['spec']).name}](core/spec.json), generated as [core.v](core/core.v), co-simulated in "
        f"{cos['simulator']} on the layer's real test-set input currents and synthesized.", "",
        f"## Test accuracy ({acc['test_samples']} test samples)", "",
        "| model | accuracy |", "|---|---|",
        f"| float (same network, quantizer off) | {acc['float']:.2%} |",
        f"| quantized (power-of-two weights, as trained) | {acc['quantized']:.2%} |",
        f"| integer (layer {cfg['layer']} on the integer core model, inputs quantized to "
        f"{cfg['input_width']} bits at 2^{exp['input_exp']}) | {acc['integer']:.2%} |", "",
        "## RTL against golden", "",
        f"RTL spikes identical to golden on **{cos['sequences_identical']}/{cos['sequences']}** test sequences "
        f"({cos['spikes_checked']:,} spikes over {cos['steps']} steps x {cos['channels']} channels; "
        f"{cos['spike_mismatches']} spike and {cos['acc_mismatches']} accumulator mismatches). The integer "
        f"model's spikes equal the quantized float layer's on the same integer inputs "
        f"({cos['float_layer_spike_mismatches']} mismatches). Firing rate {cos['firing_rate']:.3f}; "
        f"{exp['test_saturated_values']} test current values saturated to the input range.", "",
        "## Shift-add core against the multiplier (mac) baseline", "",
    ]
    for target, r in s["synth"].items():
        lines += [f"### {target} ([report](synth/{target}/report.md))", "",
                  "| figure | shift | mac | mac / shift |", "|---|---|---|---|"]
        for key, label, fmt in _METRICS:
            a, b = r["core"].get(key), r["baseline"].get(key)
            if a is None and b is None:
                continue
            ratio = r["ratio"].get(key)
            lines.append(f"| {label} | {_fmt(a, fmt)} | {_fmt(b, fmt)} | {_fmt(ratio, '{:.2f}x')} |")
        lines.append("")
        lines += [f"- {note}" for note in r.get("notes", [])] + ([""] if r.get("notes") else [])
    lines += ["The op-count energy follows MF-PSN Table 1/9 with 45 nm per-operation energies; the activity "
              "energy is OpenSTA's power on the OSU 0.18 um netlist (configuration registers held at the loaded "
              "weights, input toggles from the stimulus) divided by clock and channels: flip-flop clock power "
              "dominates it, and with power-of-two weights most multiplier partial products are constant, so the "
              "two figures need not agree (see the synth reports' energy.activity.caveat). The gate-level "
              "switching energy simulates the asic netlist on the test-set currents and prices every net's real "
              "transitions with the liberty (synth/switching.py; the asic report explains the differences).", ""]
    lines += stage_table(s)
    lines += ["", "## Plots", "", "![training](training.png)", "", "![shift vs mac](shift_vs_mac.png)", ""]
    path = out / "summary.md"
    atomic_write(path, "\n".join(lines))
    return [path, *plots]


def stage_table(s: dict) -> list[str]:
    """The stage-times table: a step that reused an earlier run's outputs says so instead of a time."""
    reused = set(s.get("reused_steps", ()))
    lines = ["## Stage times", "", "| stage | seconds |", "|---|---|"]
    lines += [f"| {k} | {'reused' if k in reused else f'{v:.1f}'} |" for k, v in s["stage_seconds"].items()]
    return lines


def _plot_training(result: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hist = result.get("history", [])
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot([h["epoch"] for h in hist], [h["train_acc"] for h in hist], label="train")
    ax.plot([h["epoch"] for h in hist], [h["test_acc"] for h in hist], label="test")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_title("mul-free PSN on seq-digits")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def shift_advantage(key: str, ratio: float) -> float:
    """How many times better the shift-add core is than the mac baseline on one figure: the report's
    ratio (baseline / core) for costs (area, cells, energy), its inverse for Fmax (higher is better)."""
    return 1.0 / ratio if key == "fmax_mhz" else ratio


def _plot_ratios(synth: dict, path: Path) -> Path:
    ratios = {}
    for target, r in synth.items():
        for key, label, _ in _METRICS:
            v = r["ratio"].get(key)
            if v is not None and v > 0 and key != "storage_area_share":
                ratios[f"{target}: {label}"] = shift_advantage(key, v)
    return _barh(ratios, path, "shift-add core's advantage over the mac baseline (x)",
                 "Shift-add core against the multiplier (mac) baseline\n"
                 "> 1, green: shift-add is better (smaller, faster, less energy); < 1, red: mac is better")


# ----------------------------------------------------------------------------- the whole-network flow
_NET_METRICS = [("luts", "LUTs", "{:,.0f}"), ("ffs", "flip-flops", "{:,.0f}"), ("carry", "carry cells", "{:,.0f}"),
                ("bram", "block RAMs", "{:,.0f}"), ("dsp", "DSP blocks", "{:,.0f}"), ("cells", "cells", "{:,.0f}"),
                ("area_um2", "area (um^2)", "{:,.0f}"), ("fmax_mhz", "Fmax (MHz)", "{:.1f}"),
                ("power_w", "power at the clock (mW)", "{:.3f}"),
                ("energy_pj_per_step_model", "energy, op-count model (pJ / neuron-step)", "{:.4g}"),
                ("energy_pj_per_step_activity", "energy, OpenSTA (pJ / neuron-step)", "{:.4g}"),
                ("energy_pj_per_step_switching", "energy, gate-level switching (pJ / neuron-step)", "{:.4g}"),
                ("energy_pj_per_synop_switching", "energy, gate-level switching (pJ / synaptic op)", "{:.4g}"),
                ("energy_pj_per_sample_switching", "energy, gate-level switching (pJ / sample)", "{:.4g}")]


def _net_value(e: dict, key: str):
    v = e.get(key)
    return v * 1e3 if key == "power_w" and v is not None else v


def write_network_summary(s: dict, out: Path, train_result: dict) -> list[Path]:
    """Write out/summary.md, out/training.png and out/shift_vs_mac.png of the network flow."""
    plots = [_plot_training(train_result, out / "training.png"), _plot_net_ratios(s["synth"], out / "shift_vs_mac.png")]
    acc, cos, cfg, gen = s["accuracy"], s["cosim"], s["config"], s["generate"]
    n = acc["test_samples"]
    dims = " -> ".join([str(gen["layers"][0]["inputs"])] + [str(x["outputs"]) for x in gen["layers"]
                                                            if x["kind"] == "dense"])
    lines = [
        "# shiftpsn flow summary: a whole network in hardware", "",
        f"A {cfg['layers']} x {cfg['width']} seq-digits network (mul-free PSN k={cfg['order']}, {cfg['dilation']} "
        f"dilations; dense {dims}) was trained, exported whole to integers ([net.json](net/net.json)), "
        f"generated as one multiplication-free Verilog top ([net.v](net/net.v)), co-simulated in "
        f"{cos['simulator']} on all {n} test samples and synthesized with its multiplier (mac) baseline.", "",
        f"## Test accuracy ({n} test samples)", "",
        "| model | accuracy |", "|---|---|",
        f"| float (the trained model) | {acc['float']:.2%} |",
        f"| quantized (dense layers quantized to {s['export']['weight_bits']}-bit integers, BatchNorm folded, "
        f"float64) | {acc['quantized']:.2%} |",
        f"| integer (the integer network model, golden) | {acc['integer']:.2%} |",
        f"| RTL (the Verilog in {cos['simulator']}) | {acc['rtl']:.2%} |", "",
        f"Integer minus quantized: {100 * (acc['integer'] - acc['quantized']):+.2f} points (the integer model "
        f"agrees with the quantized float network on {s['export']['agreement_integer_quantized']:.2%} of the "
        f"samples); RTL classes equal the integer model's on {cos['classes_equal']}/{cos['samples']}.", "",
        "## RTL against golden", "",
        f"The RTL equals the integer model on **{cos['samples_identical']}/{cos['samples']}** test samples: "
        f"every logit ({cos['logits_checked']:,}), every class ({cos['classes_equal']}/{cos['samples']} equal) "
        f"and every neuron layer's spikes ({cos['spikes_checked']:,}). Streaming the samples back to back took "
        f"{cos['cycles']:,.0f} cycles: **{s['cycles_per_sample']:.0f} cycles per sample** "
        f"({cos['cycles_per_step']:.1f} per time step; NETWORK.json's bound "
        f"{gen['cycles_per_step']['min']}..{gen['cycles_per_step']['max']} per step, first-beat latency at most "
        f"{gen['latency_bound']} cycles).", "",
        "## Hardware: the shift network against the multiplier (mac) baseline", "",
    ]
    for target, r in s["synth"].items():
        sh, mac = r.get("shift", {}), r.get("mac", {})
        where = f" on the {device_name(target, sh['device'])}" if sh.get("device") else ""
        lines += [f"### {target}{where}", "", "| figure | shift | mac | mac / shift |", "|---|---|---|---|"]
        for key, label, fmt in _NET_METRICS:
            a, b = _net_value(sh, key), _net_value(mac, key)
            if a is None and b is None:
                continue
            ratio = b / a if a and b is not None else None
            lines.append(f"| {label} | {_fmt(a, fmt)} | {_fmt(b, fmt)} | {_fmt(ratio, '{:.2f}x')} |")
        k = target
        sps, en = s["samples_per_s"].get(k), s["energy_nj_per_sample"].get(k)
        sps_mac = s["samples_per_s"].get(f"{k}_mac")
        if sps:
            lines.append(f"| samples per second at Fmax | {sps:,.0f} | {_fmt(sps_mac, '{:,.0f}')} | "
                         f"{_fmt(sps / sps_mac if sps_mac else None, '{:.2f}x')} |")
        if en is not None:
            en_mac = s["energy_nj_per_sample"].get(f"{k}_mac")
            lines.append(f"| energy per sample (nJ) | {en:.4g} | {_fmt(en_mac, '{:.4g}')} | "
                         f"{_fmt(en_mac / en if en_mac is not None and en else None, '{:.2f}x')} |")
        lines.append("")
        for who, e in (("shift", sh), ("mac", mac)):
            note = (e.get("pnr") or {}).get("note") or e.get("error")
            if note:
                lines.append(f"- {who}: {note}")
        lines.append("")
    lines += ["Samples per second = Fmax / cycles per sample (measured in the co-simulation). Energy per sample = "
              "OpenSTA's total power of the standard-cell netlist at the clock (input activity from the test-set "
              "inputs, one time step per cycles-per-step cycles, internal nets propagated probabilistically) x "
              "cycles per sample / clock. The mac baseline's first layer multiplies instead of walking bit planes, so "
              f"it needs fewer cycles: {_fmt(s.get('cycles_per_sample_mac'), '{:.0f}')} per sample (the measured "
              "figure scaled by the layers' cycle model, shiftpsn.flow.network.model_cycles).", ""]
    lines += stage_table(s)
    lines += ["", "## Plots", "", "![training](training.png)", "", "![shift vs mac](shift_vs_mac.png)", ""]
    path = out / "summary.md"
    atomic_write(path, "\n".join(lines))
    return [path, *plots]


def _plot_net_ratios(synth: dict, path: Path) -> Path:
    """mac / shift of each figure (shift / mac for Fmax): > 1 means the shift network is better."""
    ratios = {}
    for target, r in synth.items():
        sh, mac = r.get("shift", {}), r.get("mac", {})
        for key, label, _ in _NET_METRICS:
            a, b = sh.get(key), mac.get(key)
            if a and b:
                ratios[f"{target}: {label}"] = shift_advantage(key, b / a)
    return _barh(ratios, path, "shift network's advantage over the mac baseline (x)",
                 "Shift network against the multiplier (mac) baseline\n> 1, green: shift is better")


def _barh(ratios: dict, path: Path, xlabel: str, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels, values = list(ratios), list(ratios.values())
    # horizontal bars: long labels never overlap; green always means "shift-add is better"
    fig, ax = plt.subplots(figsize=(7.5, 0.9 + 0.38 * max(1, len(values))))
    rows = range(len(values))[::-1]
    ax.barh(list(rows), values, color=["tab:green" if v >= 1 else "tab:red" for v in values])
    for y, v in zip(rows, values):
        ax.text(v, y, f" {v:.2f}x", va="center", fontsize=8)
    ax.axvline(1.0, color="k", lw=0.8)
    ax.set_yticks(list(rows), labels, fontsize=8)
    ax.set_xlim(0, max(values + [1.0]) * 1.25)
    ax.set_xlabel(xlabel)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
