"""Gate-level switching energy (issue 15: a 1,000-step run of the default core in under 2 minutes on
2 cores): generate examples/default.json, map it to OSU 0.18 um with the asic Yosys script, simulate
the netlist in Icarus on 1,000 random time steps and price every net's transitions
(shiftpsn.synth.switching); the same for its mac baseline. Writes <out_dir>/switching.json and .md."""

import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
STEPS = 1000


def _one(spec, work: Path, lib: Path, clock_gating: bool = False) -> dict:
    from shiftpsn.base.stimulus import random_stimulus
    from shiftpsn.hdl.generate import write_verilog
    from shiftpsn.synth import switching

    t0 = time.perf_counter()
    info = write_verilog(spec, work / "core.v")
    t1 = time.perf_counter()
    netlist = switching.map_to_liberty([work / "core.v"], info["top"], lib, work / "asic",
                                       clock_gating=clock_gating)
    t2 = time.perf_counter()
    x = random_stimulus(spec, np.random.default_rng(0), 1, STEPS)
    r = switching.core_switching(spec, netlist, lib, x, 100.0, work / "switching")
    t3 = time.perf_counter()
    g = switching.core_switching(spec, netlist, lib, x, 100.0, work / "glitches", glitches=True)["with_glitches"]
    t4 = time.perf_counter()
    return {"arith": spec.arith + (", clock-gated" if clock_gating else ""), "steps": STEPS, "cells": r["cells"], "nets": r["nets"], "cycles": r["cycles"],
            "generate_s": t1 - t0, "yosys_s": t2 - t1, "switching_s": t3 - t2, "total_s": t3 - t0,
            "under_2min": t3 - t0 < 120, "pj_per_step": r["pj_per_step"],
            "breakdown_pj_per_step": r["breakdown_pj_per_step"], "clock_pj_per_step": r["clock_pj_per_step"],
            "outputs_match_golden": r["outputs_match_golden"],
            "with_glitches_pj_per_step": g["pj_per_step"], "with_glitches_outputs_match": g["outputs_match_golden"],
            "with_glitches_s": t4 - t3}


def main(out_dir):
    import tempfile

    from shiftpsn.base.spec import CoreSpec
    from shiftpsn.base.tools import DEFAULT_LIBERTY

    spec = CoreSpec.load(ROOT / "examples" / "default.json")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_switching_") as tmp:
        for s, cg in ((spec, False), (spec.replace(arith="mac"), False), (spec, True)):
            work = Path(tmp) / f"{s.arith}{'_cg' if cg else ''}"
            work.mkdir()
            rows.append(_one(s, work, DEFAULT_LIBERTY, clock_gating=cg))
            r = rows[-1]
            print(f"{r['arith']}: {r['total_s']:.1f} s (yosys {r['yosys_s']:.1f} s, simulation + energy "
                  f"{r['switching_s']:.1f} s), {r['pj_per_step']:.4g} pJ / neuron-step", flush=True)
    (Path(out_dir) / "switching.json").write_text(json.dumps(rows, indent=1) + "\n")
    lines = ["| core | cells | cycles | generate (s) | yosys (s) | simulation + energy (s) | total (s) | < 2 min "
             "| pJ / neuron-step | flip-flops and clock | combinational | outputs = golden | with glitches "
             "(pJ / neuron-step) | zero-delay + cell-delay runs (s) |",
             "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|---:|---:|"]
    for r in rows:
        b = r["breakdown_pj_per_step"]
        lines.append(f"| {r['arith']} | {r['cells']:,} | {r['cycles']:,} | {r['generate_s']:.1f} | {r['yosys_s']:.1f} | "
                     f"{r['switching_s']:.1f} | {r['total_s']:.1f} | {'yes' if r['under_2min'] else 'NO'} | "
                     f"{r['pj_per_step']:.4g} | {b['flip_flops_and_clock']:.4g} | {b['combinational']:.4g} | "
                     f"{'yes' if r['outputs_match_golden'] else 'NO'} | {r['with_glitches_pj_per_step']:.4g} | "
                     f"{r['with_glitches_s']:.1f} |")
    (Path(out_dir) / "switching.md").write_text(
        f"# Gate-level switching energy, examples/default.json, {STEPS} random time steps, 100 MHz, OSU 0.18 um\n\n"
        "Wall-clock per core (one process; the machine's 2 cores are shared): generation, Yosys mapping, "
        "Icarus simulation + toggle counting + pricing (shiftpsn.synth.switching); the total is the headline "
        "figure's (zero-delay). The last two columns: the same run repeated with the cell models' delays "
        "(`glitches=True`: zero-delay and cell-delay simulations), not part of the total. The last row is "
        "the power-aware variant: Yosys `clockgate` puts the configuration registers, the delay lines and the "
        "output register on gated clocks (latch-based clock gates of OSU cells, "
        "`switching.map_to_liberty(clock_gating=True)`).\n\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))
