"""``shiftpsn generate --spec SPEC.json --output CORE.v [--top NAME]``: the core's Verilog and CORE.json."""

from __future__ import annotations

import time

from shiftpsn.base.spec import CoreSpec


def add_arguments(parser) -> None:
    parser.add_argument("--spec", required=True, metavar="SPEC.json", help="core spec (docs/CONTRACT.md section 2)")
    parser.add_argument("--output", required=True, metavar="CORE.v",
                        help="Verilog file to write; CORE.json (same stem) is written beside it")
    parser.add_argument("--top", metavar="NAME", default=None,
                        help="top-level module name (default: the spec's 'name', shiftpsn_core)")


def run(args) -> int:
    spec = CoreSpec.load(args.spec)  # SpecError / UsageError -> exit 2, one line
    from shiftpsn.hdl.generate import check_output_path, check_top_name, write_verilog  # amaranth only once needed

    if args.top is not None:
        check_top_name(args.top)
    check_output_path(args.output)
    print(f"generating {spec.channels}-channel core (k={spec.order}, d={spec.dilation}, "
          f"{spec.weights} weights, arith={spec.arith}) ...", flush=True)
    t0 = time.perf_counter()
    info = write_verilog(spec, args.output, top=args.top)
    print(f"wrote {args.output} (top {info['top']}, latency {info['latency']}, "
          f"{info['registers']['total']} flip-flops) in {time.perf_counter() - t0:.1f} s")
    return 0
