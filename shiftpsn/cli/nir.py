"""``shiftpsn nir export --net NET.json --output NET.nir``: a network file as a NIR graph (HDF5).

``shiftpsn nir import --input G.nir --output NET.json [--weight-bits B] [--input-width W] [--report R.json]``:
a NIR graph (Affine / Linear with LIF, IF, CubaLIF with tau_syn = 1, and the psn subgraph) as a network
file, weights quantized to signed integers with a power-of-two scale per layer, leaks rounded to the
nearest power of two; prints every rounding (largest relative error per layer). docs/CONTRACT.md 5.2.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from shiftpsn.base.errors import UsageError
from shiftpsn.base.paths import atomic_write, json_text, prepare_output

from .args import int_range


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["export", "import"], help="export a network file, or import a NIR graph")
    p.add_argument("--net", type=Path, default=None, help="export: the network file (docs/CONTRACT.md section 5)")
    p.add_argument("--input", type=Path, default=None, help="import: the NIR graph (.nir, HDF5)")
    p.add_argument("--output", required=True, type=Path, help="export: NET.nir to write; import: NET.json to write")
    p.add_argument("--weight-bits", type=int_range(2, 32), default=None,
                   help="import: bits of a quantized weight (default 8)")
    p.add_argument("--input-width", type=int_range(2, 32), default=None,
                   help="import: bits of the network's signed integer inputs (default 8)")
    p.add_argument("--report", type=Path, default=None, help="import: also write the rounding report as JSON")


def run(args) -> int:
    if args.action == "export":
        if args.net is None or args.input is not None or args.weight_bits or args.input_width or args.report:
            raise UsageError("nir export takes --net NET.json --output NET.nir (and nothing else)")
        return _export(args)
    if args.input is None or args.net is not None:
        raise UsageError("nir import takes --input G.nir --output NET.json [--weight-bits B] [--input-width W] "
                         "[--report R.json]")
    return _import(args)


def _export(args) -> int:
    from shiftpsn.base.network import NetworkSpec
    from shiftpsn.golden.nir_export import write_nir

    prepare_output(args.output, [args.net])
    net = NetworkSpec.load(args.net)
    write_nir(net, args.output)
    print(f"nir export: {len(net.layers)} layers of {args.net} -> {args.output} (dt = 1; the exact network in the "
          f"graph's metadata)")
    return 0


def _import(args) -> int:
    from shiftpsn.golden.nir_import import import_nir

    prepare_output(args.output, [args.input])
    if args.report is not None:
        prepare_output(args.report, [args.input, args.output], "report")
    net, report = import_nir(args.input, weight_bits=args.weight_bits or 8, input_width=args.input_width or 8)
    net.save(args.output)
    if args.report is not None:
        atomic_write(args.report, json_text(report))
    if report["exact"]:
        print(f"nir import: {args.input} is a shiftpsn export: the exact network, no rounding -> {args.output}")
        return 0
    for e in report["layers"]:
        parts = [f"{k} {e[k]['largest_relative_error']:.6g}" for k in ("weight", "bias", "tau", "threshold") if k in e]
        scale = f"scale 2^{e['scale']}" if "scale" in e else f"membrane unit 2^{e['unit']:g}"
        print(f"nir import: layers[{e['layer']}] {e['node']!r} ({e['type']}) -> {e['to']}, {scale}; largest "
              f"relative error: {', '.join(parts)}")
    print(f"nir import: {len(net.layers)} layers ({report['weight_bits']}-bit weights, {report['input_width']}-bit "
          f"inputs) -> {args.output}")
    return 0
