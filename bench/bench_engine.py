"""Steady-state throughput of the time-multiplexed engine in co-simulation (issue: at least 0.95 x lanes
neuron-steps per cycle over 1,000 time steps, no back-pressure).

Free-flowing traffic (no input gaps, no output stalls), one sequence of 1,000 time steps, the golden
check of every beat afterwards. Cycles are counted by the cocotb test from the first driven beat to
32 cycles after the last received one (so the pipeline's fill and drain are included). Writes
bench/results/engine.json and engine.md.
"""

import json

import numpy as np

STEPS = 1_000


def cases():
    from shiftpsn.base.spec import uniform_spec

    # (name, spec, simulator): a small multi-lane engine on Icarus; the SHD-sized layer (256 neurons,
    # one lane: 256 cycles per step) on Verilator, which is ~100x faster for long runs
    yield "c16_p4_l4_k4", uniform_spec(channels=16, order=4, dilation=2, positions=4, lanes=4, pipeline=1), "icarus"
    yield "c6_p2_l4_k3_ports", uniform_spec(channels=6, order=3, dilation=1, positions=2, lanes=4), "icarus"
    yield "shd_c256_l1_k2_d3", uniform_spec(channels=256, order=2, dilation=3, input_width=8, exp_min=-7,
                                            exp_max=0, lanes=1, pipeline=2), "verilator"


def main(out_dir):
    from shiftpsn.base.stimulus import random_stimulus
    from shiftpsn.sim import runner
    from shiftpsn.sim.cosim import cosimulate, generated
    from shiftpsn.sim.traffic import Phase

    rows = []
    for name, spec, sim in cases():
        try:
            runner.check_simulator(sim)
        except Exception:  # noqa: BLE001 - fall back to Icarus where Verilator is missing
            sim = "icarus"
        core = generated(spec)
        x = random_stimulus(spec, np.random.default_rng(0), 1, STEPS)[0]
        out = cosimulate(core, x, [STEPS], [Phase(0, 1)], sim=sim, seed=0, fail_fast=False,
                         waves_on_failure=False)
        v = out.verdict
        assert out.mismatch is None, out.mismatch
        per_cycle = v["beats_in"] * spec.lanes / v["cycles"]
        rows.append(dict(name=name, sim=sim, channels=spec.channels, positions=spec.positions, lanes=spec.lanes,
                         neurons=spec.neurons, beats_per_step=spec.beats_per_step, steps=STEPS,
                         beats=v["beats_in"], cycles=v["cycles"], neuron_steps_per_cycle=round(per_cycle, 4),
                         fraction_of_lanes=round(per_cycle / spec.lanes, 4), wall_s=round(v["wall_s"], 2)))
        print(rows[-1], flush=True)
    (out_dir / "engine.json").write_text(json.dumps(rows, indent=1))
    lines = ["| engine | simulator | neurons | lanes | cycles / step | beats | cycles | neuron-steps / cycle | "
             "of lanes |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['name']} | {r['sim']} | {r['neurons']} | {r['lanes']} | {r['beats_per_step']} | {r['beats']} | "
              f"{r['cycles']:.0f} | {r['neuron_steps_per_cycle']} | {r['fraction_of_lanes']:.1%} |" for r in rows]
    (out_dir / "engine.md").write_text(
        f"# Engine throughput in co-simulation, {STEPS} time steps, no back-pressure\n\n"
        "Target: at least 0.95 x lanes neuron-steps per cycle. Every output beat is checked against "
        "shiftpsn.golden.integer.\n\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))
