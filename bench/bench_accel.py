"""Training acceleration of the temporal convolution (MF-PSN section 4.3, Appendix A, Algorithm 1).

For (T, N, C) in {(8, 64, 128), (64, 32, 128), (1024, 8, 64)} and k in {2, 4, 16} (d = 2), writes
``accel.md`` / ``accel.json`` (``accel_gpu.*`` with ``--device cuda``):

1. forward + backward time of every method available on the device, in each layout it supports
   (``temporal_conv`` with a bias; the median of R runs after warm-up);
2. the whole mul-free neuron against SpikingJelly 2.0.0's ``SlidingPSN`` (multi-step, time-first,
   forward + backward, ATan surrogate with alpha = 2 for both): ours is Q(W) (shiftpsn.golden.model.quant, Eq. 13/16)
   + the temporal convolution by the autoselected layout and method (Algorithm 1) with bias -V_th +
   shiftpsn.golden.model.surrogate.ATan's spike. The two run in alternation (order flipped every pair) so that
   machine load hits both alike; the table gives each one's fastest run and the median of the
   per-pair ratios ours / SlidingPSN (< 1: ours faster). The time-last input of the choice is given
   in time-last (a network run in that layout never converts);
3. the autoselected convolution against vanilla (time-first, the paper's baseline), re-timed
   independently of the selection, and the selection's own overhead.

CPU runs use one thread: the machines are shared, and several threads on a busy 2-core machine make
PyTorch's convolutions 100x slower through oversubscription. ``python -m bench.bench_accel --device cuda
--out DIR`` runs the same on a GPU (Triton competes there).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

SHAPES = [(8, 64, 128), (64, 32, 128), (1024, 8, 64)]
ORDERS = [2, 4, 16]
DILATION = 2
EXP_MIN, EXP_MAX = -8, 0


def _sync(device):
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def time_fwd_bwd(step, device: str, budget_s: float, max_runs: int) -> float:
    """Median seconds of ``step()`` (forward + backward) after two warm-up runs; the number of runs is
    bounded by ``max_runs`` and by ``budget_s`` seconds of measuring."""
    for _ in range(2):
        step()
    _sync(device)
    times, spent = [], 0.0
    while len(times) < max_runs and (len(times) < 3 or spent < budget_s):
        _sync(device)
        t0 = time.perf_counter()
        step()
        _sync(device)
        times.append(time.perf_counter() - t0)
        spent += times[-1]
    return statistics.median(times)


def time_pair(ours, theirs, device: str, budget_s: float, max_runs: int) -> tuple[float, float, float]:
    """``ours()`` and ``theirs()`` run in alternation (the order flips every pair), so machine load falls
    on both alike. Returns (min seconds of ours, min seconds of theirs, median of the per-pair ratios
    ours / theirs), after two warm-up runs of each; runs bounded as in :func:`time_fwd_bwd`."""
    for _ in range(2):
        ours()
        theirs()
    _sync(device)

    def timed(step):
        _sync(device)
        t0 = time.perf_counter()
        step()
        _sync(device)
        return time.perf_counter() - t0

    t_ours, t_theirs, spent = [], [], 0.0
    while len(t_ours) < max_runs and (len(t_ours) < 5 or spent < budget_s):
        if len(t_ours) % 2:
            t_theirs.append(timed(theirs))
            t_ours.append(timed(ours))
        else:
            t_ours.append(timed(ours))
            t_theirs.append(timed(theirs))
        spent += t_ours[-1] + t_theirs[-1]
    ratio = statistics.median(a / b for a, b in zip(t_ours, t_theirs))
    return min(t_ours), min(t_theirs), ratio


def run(device: str = "cpu", budget_s: float | None = None, max_runs: int | None = None, progress=print) -> dict:
    import torch
    from spikingjelly.activation_based import surrogate
    from spikingjelly.activation_based.neuron import SlidingPSN

    from shiftpsn.golden.accel import MAX_BAND_ELEMENTS, available_methods, method_fits, temporal_conv, to_layout
    from shiftpsn.golden.accel.autoselect import autoselect
    from shiftpsn.golden.accel.module import TemporalConv
    from shiftpsn.golden.model.quant import quantize_pow2
    from shiftpsn.golden.model.surrogate import ATan

    # GPU runs are sub-millisecond and launch-bound: many more of them for a stable median
    budget_s = budget_s or (0.25 if device == "cpu" else 1.0)
    max_runs = max_runs or (15 if device == "cpu" else 101)
    select_m = 5 if device == "cpu" else 10
    threads = torch.get_num_threads()
    if device == "cpu":
        torch.set_num_threads(1)
    rows = []
    try:
        for T, N, C in SHAPES:
            for k in ORDERS:
                gen = torch.Generator().manual_seed(k * 1000 + T)
                x_tf = torch.randn(T, N, C, generator=gen).to(device)
                x_by_layout = {"time-first": x_tf, "time-last": to_layout(x_tf, "time-first", "time-last")}
                w = (torch.randn(C, k, generator=gen) * 0.5).to(device).requires_grad_()
                b = torch.zeros(C, device=device).requires_grad_()
                row = {"T": T, "N": N, "C": C, "k": k, "d": DILATION, "methods_s": {}}

                def conv_step(method, layout):
                    x = x_by_layout[layout].detach().requires_grad_()

                    def step():
                        h = temporal_conv(x, w, DILATION, layout, method, bias=b)
                        h.backward(torch.ones_like(h))
                    return step

                for layout in ("time-first", "time-last"):
                    for m in available_methods(layout, device):
                        if not method_fits(m, x_by_layout[layout].shape, layout):
                            continue  # shown as "-": C*T*T band elements > MAX_BAND_ELEMENTS
                        t = time_fwd_bwd(conv_step(m, layout), device, budget_s, max_runs)
                        row["methods_s"][f"{layout}:{m}"] = t
                        progress(f"[accel] T={T} N={N} C={C} k={k} {layout:10s} {m:12s} {t * 1e3:9.3f} ms")

                # Algorithm 1 on the neuron's convolution
                layer = TemporalConv(C, k, DILATION).to(device)
                choice = autoselect(layer, x_tf, repeats=select_m, cache=False)
                lay, meth = choice.layout, choice.methods["0:TemporalConv"]
                row["choice"] = {"layout": lay, "method": meth}
                row["autoselect_overhead_s"] = choice.overhead_s
                row["chosen_s"] = time_fwd_bwd(conv_step(meth, lay), device, budget_s, max_runs)
                row["vanilla_time_first_s"] = time_fwd_bwd(conv_step("vanilla", "time-first"), device, budget_s,
                                                           max_runs)
                row["chosen_over_vanilla"] = row["chosen_s"] / row["vanilla_time_first_s"]

                # the whole neuron vs SlidingPSN (same surrogate function, alpha = 2), forward + backward
                spike = ATan(2.0)  # shiftpsn.golden.model.surrogate: the neuron's own spike function
                vth = torch.ones(C, device=device, requires_grad=True)
                xs = x_by_layout[lay].detach().requires_grad_()

                def ours():
                    wq = quantize_pow2(w, EXP_MIN, EXP_MAX)
                    s = spike(temporal_conv(xs, wq, DILATION, lay, meth, bias=-vth))
                    s.backward(torch.ones_like(s))

                def quant_only():
                    quantize_pow2(w, EXP_MIN, EXP_MAX).sum().backward()

                psn = SlidingPSN(k, surrogate_function=surrogate.ATan(alpha=2.0), step_mode="m").to(device)
                xp = x_tf.detach().requires_grad_()

                def sliding():
                    s = psn(xp)
                    s.backward(torch.ones_like(s))

                row["ours_neuron_s"], row["sliding_psn_s"], row["ours_over_sliding_psn"] = time_pair(
                    ours, sliding, device, 2 * budget_s, 2 * max_runs + 1)
                row["quantizer_s"] = time_fwd_bwd(quant_only, device, budget_s, max_runs)
                progress(f"[accel] T={T} N={N} C={C} k={k} choice {lay}/{meth}: neuron "
                         f"{row['ours_neuron_s'] * 1e3:.3f} ms vs SlidingPSN {row['sliding_psn_s'] * 1e3:.3f} ms "
                         f"(x{row['ours_over_sliding_psn']:.2f}); conv vs vanilla x{row['chosen_over_vanilla']:.2f}")
                rows.append(row)
    finally:
        torch.set_num_threads(threads)
    info = {"max_band_elements": MAX_BAND_ELEMENTS, "autoselect_m": select_m, "max_runs": max_runs,
            "device": device, "torch": torch.__version__, "threads": 1 if device == "cpu" else None,
            "dilation": DILATION, "quantizer_exponents": [EXP_MIN, EXP_MAX]}
    if device == "cuda":
        import triton

        info.update(gpu=torch.cuda.get_device_name(), triton=triton.__version__)
    return {"info": info, "rows": rows}


def to_markdown(result: dict) -> str:
    info, rows = result["info"], result["rows"]
    cols = sorted({c for r in rows for c in r["methods_s"]}, key=lambda c: (c.split(":")[0], c))
    where = info.get("gpu") or f"CPU, {info['threads']} thread"
    out = [f"# Temporal convolution: forward + backward ({where}, torch {info['torch']}"
           + (f", triton {info['triton']}" if "triton" in info else "") + ")", "",
           f"d = {info['dilation']}, float32, median of up to {info['max_runs']} runs after warm-up; times in ms; "
           f"bold: fastest; autoselect m = {info['autoselect_m']}. "
           "Generated by bench/bench_accel.py. '-': vmap_mm skipped, its C*T*T band matrices exceed "
           f"{info['max_band_elements']} elements (shiftpsn.golden.accel.method_fits).", "",
           "## Every method and layout", "",
           "| T | N | C | k | " + " | ".join(c.replace(":", " ") for c in cols) + " |",
           "|---" * (4 + len(cols)) + "|"]
    for r in rows:
        best = min(r["methods_s"].values())
        cells = []
        for c in cols:
            t = r["methods_s"].get(c)
            cells.append("-" if t is None else (f"**{t * 1e3:.3f}**" if t == best else f"{t * 1e3:.3f}"))
        out.append(f"| {r['T']} | {r['N']} | {r['C']} | {r['k']} | " + " | ".join(cells) + " |")
    out += ["", "## Autoselect (Algorithm 1) and the whole neuron vs SpikingJelly SlidingPSN", "",
            "ours = Q(W) + temporal conv (autoselected) + threshold + ATan surrogate spike; SlidingPSN: "
            "multi-step, same surrogate. Ours and SlidingPSN run in alternation: their columns are the fastest run "
            "of each, ours / SlidingPSN is the median of the per-pair ratios (< 1: ours faster).", "",
            "| T | N | C | k | choice | select overhead (s) | chosen conv | vanilla conv (time-first) | "
            "chosen / vanilla | Q(W) | ours neuron | SlidingPSN | ours / SlidingPSN |",
            "|---" * 13 + "|"]
    for r in rows:
        out.append(f"| {r['T']} | {r['N']} | {r['C']} | {r['k']} | {r['choice']['layout']} {r['choice']['method']} | "
                   f"{r['autoselect_overhead_s']:.2f} | {r['chosen_s'] * 1e3:.3f} | "
                   f"{r['vanilla_time_first_s'] * 1e3:.3f} | {r['chosen_over_vanilla']:.2f} | "
                   f"{r['quantizer_s'] * 1e3:.3f} | {r['ours_neuron_s'] * 1e3:.3f} | {r['sliding_psn_s'] * 1e3:.3f} | "
                   f"{r['ours_over_sliding_psn']:.2f} |")
    worst_sj = max(r["ours_over_sliding_psn"] for r in rows)
    worst_van = max(r["chosen_over_vanilla"] for r in rows)
    out += ["", f"Worst ours / SlidingPSN: {worst_sj:.2f}; worst autoselected / vanilla: {worst_van:.2f}.", ""]
    return "\n".join(out)


def main(out_dir: Path, device: str = "cpu", name: str = "accel") -> dict:
    result = run(device)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.json").write_text(json.dumps(result, indent=1))
    md = to_markdown(result)
    (out_dir / f"{name}.md").write_text(md)
    print(md)
    return result


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    ap.add_argument("--name", default=None, help="file stem (default: accel, or accel_gpu on cuda)")
    a = ap.parse_args()
    main(a.out, a.device, a.name or ("accel" if a.device == "cpu" else "accel_gpu"))
