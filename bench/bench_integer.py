"""Integer golden model throughput (issue: >= 10 M neuron-time-steps/s for C=64, k=4, d=2, T=1024,
B=16 on one core). Writes bench/results/integer.json and .md."""

import json
import os
import time

import numpy as np


def main(out_dir):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from shiftpsn.golden.integer import run
    from shiftpsn.base.spec import uniform_spec
    from shiftpsn.base.stimulus import random_stimulus

    rows = []
    for C, k, d, T, B in [(64, 4, 2, 1024, 16), (64, 16, 3, 1024, 16), (256, 4, 2, 256, 16)]:
        spec = uniform_spec(channels=C, order=k, dilation=d)
        x = random_stimulus(spec, np.random.default_rng(0), B, T)
        run(spec, x)  # warm-up
        times = []
        for _ in range(7):
            t0 = time.perf_counter()
            run(spec, x)
            times.append(time.perf_counter() - t0)
        best = min(times)
        rows.append(dict(C=C, k=k, d=d, T=T, B=B, seconds=best, msteps_per_s=B * T * C / best / 1e6))
    (out_dir / "integer.json").write_text(json.dumps(rows, indent=1))
    lines = ["| C | k | d | T | B | time (ms, best of 7) | M neuron-steps/s |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['C']} | {r['k']} | {r['d']} | {r['T']} | {r['B']} | {r['seconds']*1e3:.2f} | "
              f"{r['msteps_per_s']:.1f} |" for r in rows]
    (out_dir / "integer.md").write_text("# Integer golden model (numpy, one thread)\n\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))
