"""Network co-simulation throughput: samples per second of ``rtl-run --net`` on a seq-digits-sized
network (8 inputs of 6 bits, 3 hidden neuron layers of 64 channels, k = 4, 10 outputs; every layer fully
parallel, 8-bit dense weights, pixel-like inputs 0..16, T = 8), on Verilator (450 samples: the demo's
test set) and Icarus (fewer: it is much slower).

Measured inside the cocotb test from the first driven beat to the last received one (builds and simulator
start-up excluded, reported separately); free-flowing traffic; every logit, class and spike compared with
the golden model afterwards. Wall-clock and process CPU time are both reported (the machine is shared).
Writes bench/results/netsim.json and netsim.md.
"""

import json
import time

import numpy as np

RUNS = {"verilator": 450, "icarus": 20}  # samples per run
T = 8


def network():
    from shiftpsn.base.network import NetworkSpec
    from shiftpsn.base.testing import random_network

    net = random_network(np.random.default_rng(0), hidden=(3, 3), width=(64, 64), inputs=(8, 8), outputs=(10, 10),
                         input_width=(6, 6), weight_bits=(8, 8), order=(4, 4))
    return NetworkSpec(input_width=net.input_width, layers=net.layers, name="speed_net")


def main(out_dir):
    from shiftpsn.golden.network import run_network
    from shiftpsn.sim import runner
    from shiftpsn.sim.cosim import cosimulate, generated
    from shiftpsn.sim.traffic import Phase

    net = network()
    rtl = generated(net)
    rows = []
    for sim, n in RUNS.items():
        t0 = time.perf_counter()
        runner.build(rtl.verilog, rtl.top, sim, progress=print)
        build_s = time.perf_counter() - t0
        x = np.random.default_rng(1).integers(0, 17, size=(n, T, net.in_features))
        t0 = time.perf_counter()
        out = cosimulate(rtl, x.reshape(n * T, -1), [T] * n, [Phase(0, n)], sim=sim, check=True,
                         fail_fast=False, waves_on_failure=False)
        total = time.perf_counter() - t0
        assert out.mismatch is None, out.mismatch.report()
        v = out.verdict
        gold = run_network(net, x)
        rows.append(dict(sim=sim, samples=n, steps=n * T, build_s=round(build_s, 1), run_wall_s=round(v["wall_s"], 2),
                         run_cpu_s=round(v["cpu_s"], 2), total_s=round(total, 1), cycles=v["cycles"],
                         cycles_per_sample=round(v["cycles"] / n, 1),
                         samples_per_s_wall=round(n / v["wall_s"], 1), samples_per_s_cpu=round(n / v["cpu_s"], 1),
                         spike_rates=[round(float(gold.spikes[L].mean()), 3) for L in net.neuron_indices]))
        print(rows[-1], flush=True)
    (out_dir / "netsim.json").write_text(json.dumps(rows, indent=1))
    lines = ["| simulator | samples | build (s, cached if ~0) | run wall (s) | run CPU (s) | cycles/sample | "
             "samples/s (wall) | samples/s (CPU) | call total (s) |", "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['sim']} | {r['samples']} | {r['build_s']} | {r['run_wall_s']} | {r['run_cpu_s']} | "
              f"{r['cycles_per_sample']} | {r['samples_per_s_wall']} | {r['samples_per_s_cpu']} | {r['total_s']} |"
              for r in rows]
    (out_dir / "netsim.md").write_text(
        "# Network co-simulation throughput: 8 -> 3 x 64 (k 4) -> 10, T = 8, all layers parallel\n\n"
        "Every logit, class and neuron layer's spikes checked against shiftpsn.golden.network.\n\n"
        + "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    from pathlib import Path

    main(Path(__file__).resolve().parent / "results")
