"""``shiftpsn generate --spec SPEC.json --output CORE.v [--top NAME]``: the core's Verilog and its description
CORE.core.json; ``shiftpsn generate --net NET.json --output NET.v [--top NAME]``: a whole network's Verilog and
NET.network.json (the design description, docs/CONTRACT.md section 3)."""

from __future__ import annotations

import time

from shiftpsn.base.description import description_path
from shiftpsn.base.spec import CoreSpec

from .args import add_spec_or_net


def add_arguments(parser) -> None:
    add_spec_or_net(parser)
    parser.add_argument("--output", required=True, metavar="CORE.v",
                        help="Verilog file to write; its description CORE.core.json (with --net: "
                             "CORE.network.json; same stem) is written beside it")
    parser.add_argument("--top", metavar="NAME", default=None,
                        help="top-level module name (default: the spec's or network's 'name', shiftpsn_core "
                             "or shiftpsn_net)")


def run(args) -> int:
    if getattr(args, "net", None) is not None:
        return _run_network(args)
    spec = CoreSpec.load(args.spec)  # SpecError / UsageError -> exit 2, one line
    from shiftpsn.hdl.generate import (  # amaranth only once needed
        check_output_path,
        check_top_name,
        write_verilog,
    )

    if args.top is not None:
        check_top_name(args.top)
    check_output_path(args.output, inputs=[args.spec])
    print(f"generating {spec.channels}-channel core (k={spec.order}, d={spec.dilation}, "
          f"{spec.weights} weights, arith={spec.arith}) ...", flush=True)
    t0 = time.perf_counter()

    def progress(msg: str) -> None:
        print(f"generate [{time.perf_counter() - t0:5.1f}s] {msg}", flush=True)

    info = write_verilog(spec, args.output, top=args.top, inputs=[args.spec], progress=progress)
    print(f"wrote {args.output} and {description_path(args.output)} (top {info['top']}, latency "
          f"{info['latency']}, {info['registers']['total']} flip-flops) in {time.perf_counter() - t0:.1f} s")
    return 0


def _run_network(args) -> int:
    from shiftpsn.base.network import NetworkSpec

    net = NetworkSpec.load(args.net)  # SpecError / UsageError -> exit 2, one line
    from shiftpsn.hdl.generate import check_top_name
    from shiftpsn.hdl.network import write_network_verilog

    if args.top is not None:
        check_top_name(args.top)
    print(f"generating a {len(net.layers)}-layer network ({net.in_features} inputs, {net.out_features} "
          f"outputs) ...", flush=True)
    t0 = time.perf_counter()

    def progress(msg: str) -> None:
        print(f"generate [{time.perf_counter() - t0:5.1f}s] {msg}", flush=True)

    info = write_network_verilog(net, args.output, top=args.top, inputs=[args.net], progress=progress)
    cps = info["cycles_per_step"]
    print(f"wrote {args.output} and {description_path(args.output, 'network')} (top {info['top']}, arith "
          f"{info['arith']}, {cps['min']}..{cps['max']} cycles per time step) in {time.perf_counter() - t0:.1f} s")
    return 0
