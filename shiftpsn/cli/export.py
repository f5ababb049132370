"""``shiftpsn export``: a trained mul-free neuron layer to a core spec (shiftpsn.golden.export), with the integer
input scale it assumes (float input current = integer input * 2^input_exp).

Writes SPEC.json (the core spec) and, next to it, SPEC.export.json (input scale, layer facts). With
``--stimulus`` / ``--reference`` also the layer's test-set input currents quantized to that scale
(.npy, (B, T, C) int64) and the quantized float layer's spikes on them (.npz: spikes, labels).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from shiftpsn.base.errors import UsageError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, type=Path, help="model.pt written by shiftpsn train")
    p.add_argument("--output", required=True, type=Path, help="core spec JSON to write")
    p.add_argument("--layer", default=None,
                   help="neuron layer name (blocks.<l>.neuron) or index; default: the first mul-free one")
    p.add_argument("--input-width", type=int, default=8, help="bits of the core's signed inputs (default 8)")
    p.add_argument("--tight", action=argparse.BooleanOptionalAction, default=True,
                   help="narrow [exp_min, exp_max] to the exponents used (default on)")
    p.add_argument("--weights", default="runtime", help="runtime or constant")
    p.add_argument("--name", default="shiftpsn_core", help="Verilog top-level name")
    p.add_argument("--metadata", type=Path, default=None, help="default: SPEC.export.json next to --output")
    p.add_argument("--stimulus", type=Path, default=None, help="write the test-set stimulus (.npy)")
    p.add_argument("--reference", type=Path, default=None, help="write the float layer's spikes (.npz)")


def run(args) -> int:
    import numpy as np

    from shiftpsn.golden.export import export_layer

    if args.weights not in ("runtime", "constant"):
        raise UsageError(f"--weights must be runtime or constant, got {args.weights!r}")
    for path in (args.output, args.metadata, args.stimulus, args.reference):
        if path is not None and not path.parent.is_dir():
            raise UsageError(f"directory of {path} does not exist")
    e = export_layer(args.checkpoint, args.layer, input_width=args.input_width, tight=args.tight,
                     name=args.name, weights=args.weights)
    e.spec.save(args.output)
    meta_path = args.metadata or args.output.with_suffix(".export.json")
    meta_path.write_text(json.dumps(e.metadata, indent=1) + "\n")
    if args.stimulus is not None:
        np.save(args.stimulus, e.x)
    if args.reference is not None:
        np.savez(args.reference, spikes=e.spikes, labels=e.labels)
    print(f"exported {e.layer} of {args.checkpoint}: C={e.spec.channels} k={e.spec.order} "
          f"d={e.spec.dilation} input_width={e.spec.input_width} input_exp={e.input_exp} "
          f"(x = X * 2^{e.input_exp}) exp=[{e.spec.exp_min}, {e.spec.exp_max}] acc_width={e.spec.acc_width}"
          f" -> {args.output}, {meta_path}")
    return 0
