"""Tables, claim answers and plots of the training comparison (used by :mod:`shiftpsn.golden.train.results`)."""

from __future__ import annotations

import platform
from pathlib import Path

from shiftpsn.base.paths import atomic_write, json_text
from shiftpsn.golden.baselines import NEURONS

from .experiments import BASELINE_ORDER, FEW_STEP_TASKS, ORDERS
from .recipes import SEQ_MNIST_ORDER, TASK_RECIPES
from .tasks import NUM_CLASSES, TASKS

CHANCE = 1.0 / NUM_CLASSES
#: "Well above chance": at least three times the 10 % of guessing.
WELL_ABOVE_CHANCE = 3 * CHANCE
#: Largest quantization cost (points) MF-PSN leads one to expect.
QUANT_BUDGET = 2.0
#: The task that feeds the digits in T steps, by T: Window-LIF's accuracy and spike rate against T.
STEPS_TASKS = {1: "digits-t1", 2: "digits-t2", 8: "seq-digits", 64: "pixel-digits"}
#: Window-LIF ablations: (neuron, what it leaves out, where the paper claims it matters).
WINDOW_LIF_ABLATIONS = (("window-lif-normal", "normal windows only (no dilated layer)", "Table 4"),
                        ("window-lif-g1", "one window per layer (g = 1): no partition, no window-to-window "
                                          "passing", "Table 4"),
                        ("window-lif-sum", "linear fusion G_m + G_m' instead of Eq. 5", "Figure 5a"))


def _g(task, neuron, k, dil):
    return f"{task}/{neuron}/k{k}/{dil}"


def _pct(entry, metric="test_acc") -> str:
    m = entry[metric]
    return f"{100 * m['mean']:.2f} ± {100 * m['std']:.2f}"


def _get(summary, task, neuron, k, dil):
    if neuron == "mulfree" and k == 1:
        dil = "fixed"  # with k = 1 the dilation has no effect: one run stands for both
    return summary.get(_g(task, neuron, k, dil))


def _compare(a, b) -> dict | None:
    """a - b in points with both spreads; None if either is missing."""
    if a is None or b is None:
        return None
    da, db = a["test_acc"], b["test_acc"]
    return {"a_mean": 100 * da["mean"], "a_std": 100 * da["std"], "b_mean": 100 * db["mean"],
            "b_std": 100 * db["std"], "delta": 100 * (da["mean"] - db["mean"]),
            "spread": 100 * (da["std"] + db["std"])}


def claims(summary: dict) -> dict:
    """The papers' three claims on this data, answered with the measured numbers."""
    out = {"sawtooth": [], "order": [], "quantization": []}
    for k in (2, 4, 8):
        c = _compare(_get(summary, "pixel-digits", "mulfree", k, "sawtooth"),
                     _get(summary, "pixel-digits", "mulfree", k, "fixed"))
        if c:
            c.update(k=k, holds=c["delta"] > 0, clear=c["delta"] > c["spread"])
            out["sawtooth"].append(c)
    slid = _get(summary, "seq-digits", "sliding-psn", 8, "fixed")
    for dil in ("sawtooth", "fixed"):
        c = _compare(_get(summary, "seq-digits", "mulfree", 4, dil), slid)
        if c:
            c.update(dilation=dil, holds=c["delta"] >= 0, within_spread=abs(c["delta"]) <= c["spread"])
            out["order"].append(c)
    pairs = [("seq-digits", 4, "fixed"), ("seq-digits", 4, "sawtooth"), ("pixel-digits", 2, "sawtooth"),
             ("pixel-digits", 4, "sawtooth")]
    for task, k, dil in pairs:
        c = _compare(_get(summary, task, "cwpsn", k, dil), _get(summary, task, "mulfree", k, dil))
        if c:
            c.update(task=task, k=k, dilation=dil, cost=c["delta"], holds=c["delta"] <= QUANT_BUDGET)
            out["quantization"].append(c)
    return out


def _rate(entry) -> str:
    m = entry["firing_rate"]
    return f"{m['mean']:.3f} ± {m['std']:.3f}"


def window_lif_claims(summary: dict) -> dict:
    """Window-LIF's claims (Yao et al.) on this data, with the measured numbers:
    ``vs_lif``: against the plain soft-reset LIF at each T (accuracy and spike rate, section 4.2);
    ``few_steps``: accuracy at T = 1 and 2 against T = 8 (seq-digits), the accuracy-latency trade-off
    it claims to remove; ``ablations``: dilated windows (Table 4) and the Eq. 5 projection (Figure 5a)."""
    k, out = BASELINE_ORDER, {"vs_lif": [], "few_steps": [], "ablations": []}
    for steps, task in STEPS_TASKS.items():
        w, lif = _get(summary, task, "window-lif", k, "fixed"), _get(summary, task, "lif-soft", k, "fixed")
        c = _compare(w, lif)
        if c:
            c.update(steps=steps, task=task, holds=c["delta"] > 0, clear=c["delta"] > c["spread"],
                     rate_a=w["firing_rate"]["mean"], rate_a_std=w["firing_rate"]["std"],
                     rate_b=lif["firing_rate"]["mean"], rate_b_std=lif["firing_rate"]["std"],
                     rate_raised=w["firing_rate"]["mean"] > lif["firing_rate"]["mean"])
            out["vs_lif"].append(c)
    ref = _get(summary, "seq-digits", "window-lif", k, "fixed")
    for steps in (1, 2):
        c = _compare(_get(summary, STEPS_TASKS[steps], "window-lif", k, "fixed"), ref)
        if c:
            c.update(steps=steps, holds=c["delta"] >= -c["spread"])
            out["few_steps"].append(c)
    for task in FEW_STEP_TASKS:
        full = _get(summary, task, "window-lif", k, "fixed")
        for neuron, what, where in WINDOW_LIF_ABLATIONS:
            abl = _get(summary, task, neuron, k, "fixed")
            c = _compare(full, abl)
            if c:
                c.update(task=task, steps=TASKS[task].steps, neuron=neuron, without=what, paper=where,
                         rate_a=full["firing_rate"]["mean"], rate_b=abl["firing_rate"]["mean"],
                         holds=c["delta"] > 0, clear=c["delta"] > c["spread"])
                out["ablations"].append(c)
    return out


def _verdict(c: dict) -> str:
    if c["holds"]:
        return "yes, beyond the seeds' spread" if c["clear"] else "yes, within the seeds' spread"
    return "no, within the seeds' spread" if -c["delta"] <= c["spread"] else "no"


def _window_lif_lines(w: dict) -> list[str]:
    lines = ["## Window-LIF (Yao et al.) at few time steps", "",
             "Window-LIF: LIF over 2 x 2 windows of the 8 x 8 channel grid, potential passed window to "
             "window, dilated windows in the middle layer, the previous layer's potential fused through "
             "Eq. 5 (theta 0.5, threshold 0.5). digits-t1 / digits-t2 are the image in 1 step of 64 pixels "
             "/ 2 steps of 32 (the same input whether one folds seq-digits or pixel-digits).", "",
             "**1. Window-LIF beats the plain LIF at few steps, with raised spike rates** (section 4.1-4.2, "
             "Figure 4; lif-soft is the LIF it builds on):", "",
             "| T | task | window-lif acc % | lif-soft acc % | difference (points) | more accurate? "
             "| window-lif spike rate | lif-soft spike rate | rate raised? |",
             "|---|---|---|---|---|---|---|---|---|"]
    for c in w["vs_lif"]:
        lines.append(f"| {c['steps']} | {c['task']} | {c['a_mean']:.2f} ± {c['a_std']:.2f} | {c['b_mean']:.2f} ± "
                     f"{c['b_std']:.2f} | {c['delta']:+.2f} | {_verdict(c)} | {c['rate_a']:.3f} ± "
                     f"{c['rate_a_std']:.3f} | {c['rate_b']:.3f} ± {c['rate_b_std']:.3f} | "
                     f"{'yes' if c['rate_raised'] else 'no'} |")
    lines += ["", "**2. No accuracy-latency trade-off: T = 1 or 2 is as accurate as more steps** "
              "(section 1, Table 1; against window-lif on seq-digits, T = 8):", "",
              "| T | window-lif at T | window-lif at T = 8 | difference (points) | holds (within the spread "
              "or better)? |", "|---|---|---|---|---|"]
    for c in w["few_steps"]:
        lines.append(f"| {c['steps']} | {c['a_mean']:.2f} ± {c['a_std']:.2f} | {c['b_mean']:.2f} ± "
                     f"{c['b_std']:.2f} | {c['delta']:+.2f} | {'yes' if c['holds'] else 'no'} |")
    lines += ["", "**3. Each part helps** (ablations at T = 1 and 2):", "",
              "| T | window-lif | ablation | without | paper | window-lif - ablation (points) "
              "| spike rates (window-lif / ablation) | holds? |", "|---|---|---|---|---|---|---|---|"]
    for c in w["ablations"]:
        lines.append(f"| {c['steps']} | {c['a_mean']:.2f} ± {c['a_std']:.2f} | {c['b_mean']:.2f} ± "
                     f"{c['b_std']:.2f} | {c['without']} | {c['paper']} | {c['delta']:+.2f} | "
                     f"{c['rate_a']:.3f} / {c['rate_b']:.3f} | {_verdict(c)} |")
    return lines


def _neuron_rows(summary: dict, task: str) -> list[str]:
    rows = ["| neuron | k | dilation | test acc % (mean ± std) | min..max | train acc % | spike rate "
            "| s/run | params | finite | well above chance |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    order = list(NEURONS)
    entries = sorted((e for e in summary.values() if e["task"] == task),
                     key=lambda e: (order.index(e["neuron"]), e["order"], e["dilation"]))
    for e in entries:
        uses_k = NEURONS[e["neuron"]].uses_order
        t = e["test_acc"]
        rows.append(
            f"| {e['neuron']} | {e['order'] if uses_k else '-'} | "
            f"{e['dilation'] if NEURONS[e['neuron']].uses_dilation else '-'} | {_pct(e)} | "
            f"{100 * t['min']:.1f}..{100 * t['max']:.1f} | {_pct(e, 'train_acc')} | "
            f"{_rate(e)} | {e['seconds']['mean']:.0f} | {e['params']} | "
            f"{'yes' if e['finite'] else 'NO'} | {'yes' if t['min'] >= WELL_ABOVE_CHANCE else 'NO'} |")
    return rows


def _claim_lines(c: dict) -> list[str]:
    lines = ["## The papers' claims on this data", ""]
    lines += ["**1. Sawtooth dilations beat fixed d = 1 at small k** (MF-PSN Table 10, Figure 5b; "
              "pixel-digits, mul-free neuron):", "",
              "| k | fixed d=1 | sawtooth | sawtooth - fixed (points) | holds? |", "|---|---|---|---|---|"]
    for s in c["sawtooth"]:
        verdict = ("yes, beyond the seeds' spread" if s["clear"] else "yes, within the seeds' spread"
                   ) if s["holds"] else "no"
        lines.append(f"| {s['k']} | {s['b_mean']:.2f} ± {s['b_std']:.2f} | {s['a_mean']:.2f} ± "
                     f"{s['a_std']:.2f} | {s['delta']:+.2f} | {verdict} |")
    lines += ["", "**2. The mul-free channel-wise PSN at k = 4 is at least as accurate as the sliding PSN "
              "at k = 8** (MF-PSN Table 3/5; seq-digits):", "",
              "| mul-free k=4 | sliding PSN k=8 | difference (points) | holds? |", "|---|---|---|---|"]
    for s in c["order"]:
        verdict = "yes" if s["holds"] else ("no, but within the seeds' spread" if s["within_spread"]
                                            else "no")
        lines.append(f"| {s['a_mean']:.2f} ± {s['a_std']:.2f} ({s['dilation']}) | {s['b_mean']:.2f} ± "
                     f"{s['b_std']:.2f} | {s['delta']:+.2f} | {verdict} |")
    lines += ["", f"**3. Quantization costs at most {QUANT_BUDGET:.0f} points** (same neuron, float "
              "weights (cwpsn) against power-of-two weights (mulfree)):", "",
              "| task | k | dilation | float weights | power-of-two | cost (points) | holds? |",
              "|---|---|---|---|---|---|---|"]
    for s in c["quantization"]:
        lines.append(f"| {s['task']} | {s['k']} | {s['dilation']} | {s['a_mean']:.2f} ± {s['a_std']:.2f} | "
                     f"{s['b_mean']:.2f} ± {s['b_std']:.2f} | {s['cost']:+.2f} | "
                     f"{'yes' if s['holds'] else 'no'} |")
    return lines


def plot_orders(out: Path, summary: dict) -> None:
    """pixel_order.png and seq_order.png: accuracy against k (Figure 5 of MF-PSN)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = {
        "pixel_order.png": ("pixel-digits (T = 64)", [("mulfree", "fixed", "mul-free, fixed d = 1"),
                                                      ("mulfree", "sawtooth", "mul-free, sawtooth d"),
                                                      ("cwpsn", "sawtooth", "float weights, sawtooth d")]),
        "seq_order.png": ("seq-digits (T = 8)", [("mulfree", "fixed", "mul-free, fixed d = 1"),
                                                 ("mulfree", "sawtooth", "mul-free, sawtooth d"),
                                                 ("cwpsn", "fixed", "float weights, fixed d = 1"),
                                                 ("sliding-psn", "fixed", "sliding PSN")]),
    }
    for name, (title, lines) in curves.items():
        task = title.split()[0]
        fig, ax = plt.subplots(figsize=(5.5, 3.8), dpi=120)
        for neuron, dil, label in lines:
            pts = [(k, e) for k in ORDERS if (e := _get(summary, task, neuron, k, dil)) is not None]
            if not pts:
                continue
            ks = [k for k, _ in pts]
            ax.errorbar(ks, [100 * e["test_acc"]["mean"] for _, e in pts],
                        yerr=[100 * e["test_acc"]["std"] for _, e in pts], marker="o", capsize=3,
                        label=label, linestyle="-" if len(pts) > 1 else "none")
        ax.set_xscale("log", base=2)
        ax.set_xticks(list(ORDERS), [str(k) for k in ORDERS])
        ax.set_xlabel("order k")
        ax.set_ylabel("test accuracy % (mean ± std over seeds)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / name)
        plt.close(fig)


def write_report(out: Path, summary: dict, *, timing: dict, epochs: dict, total: int) -> None:
    """Write results.json, README.md and the plots into ``out``.

    ``timing``: ``wall_seconds``, ``runs`` and ``jobs`` of the invocation that trained the runs.
    """
    c = claims(summary)
    c["window_lif"] = window_lif_claims(summary)
    seeds = sorted({s for e in summary.values() for s in e["seeds"]})
    cpu_seconds = sum(e["seconds"]["mean"] * len(e["seeds"]) for e in summary.values())
    meta = {"training": timing, "runs_total": total, "train_seconds_sum_all_runs": cpu_seconds,
            "epochs": epochs, "seeds": seeds, "machine": platform.machine(),
            "python": platform.python_version()}
    atomic_write(out / "results.json", json_text({"meta": meta, "claims": c, "configs": summary}))
    plot_orders(out, summary)
    lines = [
        "# Training comparison on the digits tasks and seq-MNIST", "",
        "Generated by `make results` (`python -m shiftpsn.golden.train.results --output-dir results`); "
        "hand-written discussion of the numbers: [ANALYSIS.md](ANALYSIS.md).", "",
        f"Data: `sklearn.datasets.load_digits` (1797 8x8 images), fixed stratified split 75/25 "
        f"(1347 train, 450 test). seq-digits feeds rows (T = {TASKS['seq-digits'].steps}, "
        f"{TASKS['seq-digits'].features} features per step), pixel-digits pixels "
        f"(T = {TASKS['pixel-digits'].steps}, 1 feature per step); pixel values scaled to [0, 1]. "
        f"digits-t1 and digits-t2 fold the image into T = 1 step of 64 pixels and T = 2 steps of 32 "
        f"(rows 0-3, rows 4-7): the few time steps Window-LIF is built for, the same input whichever "
        f"of the two tasks one folds.", "",
        f"seq-MNIST: MNIST (60,000 training images, the official 10,000 test images; `make data`) fed "
        f"row by row, T = {TASKS['seq-mnist'].steps} steps of {TASKS['seq-mnist'].features} pixels, "
        f"pixel values / 256. Its network: `{{Linear({TASK_RECIPES['seq-mnist']['model']['width']}) -> "
        f"BatchNorm -> neuron}} x {TASK_RECIPES['seq-mnist']['model']['layers']} -> Linear(10)`, batch "
        f"{TASK_RECIPES['seq-mnist']['train']['batch_size']}, otherwise as below; every neuron with an "
        f"order at k = {SEQ_MNIST_ORDER}.", "",
        "Digits network (same for every neuron): `{Linear(64) -> BatchNorm -> neuron} x 3 -> Linear(10)` at every "
        "step, logits averaged over time. AdamW (lr 1e-2, weight decay 1e-2), cosine schedule, batch 64, "
        f"epochs {epochs}, arctan surrogate (alpha 2), seeds {seeds}. Accuracy is that of the last "
        f"epoch (no early stopping on the test set). Baselines with an order use k = {BASELINE_ORDER}. "
        "The channel-wise neurons use the batch-norm threshold of MF-PSN Appendix C and "
        "the exponential weight init; mulfree has power-of-two weights (exponents in [-8, 7]).", "",
        f"Time: {total} runs; {timing['runs']} of them were trained in {timing['wall_seconds'] / 60:.1f} min "
        f"wall on {timing['jobs']} worker processes (1 torch thread each); the runs' training times add "
        f"up to {cpu_seconds / 60:.1f} min. Spike rate: the mean spike output of all neuron layers "
        f"over the test set (spikes per neuron and time step, mean ± std over the seeds).", "",
    ]
    lines += _claim_lines(c)
    lines += [""] + _window_lif_lines(c["window_lif"])
    for task in TASKS:
        if any(e["task"] == task for e in summary.values()):
            lines += ["", f"## All neurons on {task}", ""] + _neuron_rows(summary, task)
    lines += ["", "## Accuracy against the order k", "", "![pixel-digits](pixel_order.png)",
              "![seq-digits](seq_order.png)", ""]
    atomic_write(out / "README.md", "\n".join(lines) + "\n")
