"""Core generation time (issue 3: a C=256, k=16 core in under 30 s), Verilog size and documented
flip-flops. Writes <out_dir>/hdl.json and hdl.md."""

import json
import time


def main(out_dir):
    from shiftpsn.hdl.generate import generate
    from shiftpsn.base.spec import uniform_spec

    generate(uniform_spec(channels=2, order=2))  # warm-up: the built-in Yosys' first start
    rows = []
    for C, k, d, weights, arith, pipeline in [(64, 16, 3, "runtime", "shift", 0),
                                              (256, 16, 3, "runtime", "shift", 0),
                                              (256, 16, 3, "runtime", "shift", 5),
                                              (256, 16, 3, "runtime", "mac", 0),
                                              (256, 16, 3, "constant", "shift", 0),
                                              (256, 16, 3, "constant", "mac", 0)]:
        spec = uniform_spec(channels=C, order=k, dilation=d, weights=weights, arith=arith, pipeline=pipeline)
        t0 = time.perf_counter()
        core = generate(spec)
        seconds = time.perf_counter() - t0
        rows.append(dict(C=C, k=k, d=d, weights=weights, arith=arith, pipeline=pipeline, seconds=seconds,
                         verilog_mb=len(core.verilog) / 1e6, flip_flops=core.info["registers"]["total"],
                         under_30s=seconds < 30))
        print(f"C={C} k={k} d={d} {weights}/{arith} pipeline={pipeline}: {seconds:.1f} s", flush=True)
    (out_dir / "hdl.json").write_text(json.dumps(rows, indent=1))
    lines = ["| C | k | d | weights | arith | pipeline | generation (s) | Verilog (MB) | flip-flops | < 30 s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['C']} | {r['k']} | {r['d']} | {r['weights']} | {r['arith']} | {r['pipeline']} | "
              f"{r['seconds']:.1f} | {r['verilog_mb']:.2f} | {r['flip_flops']} | {'yes' if r['under_30s'] else 'NO'} |"
              for r in rows]
    (out_dir / "hdl.md").write_text("# Core generation (shiftpsn.hdl.generate.generate, one process)\n\n"
                                    + "\n".join(lines) + "\n")
    print("\n".join(lines))
