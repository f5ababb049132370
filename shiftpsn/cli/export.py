"""``shiftpsn export``: a trained mul-free neuron layer to a core spec (shiftpsn.golden.export), with the integer
input scale it assumes (float input current = integer input * 2^input_exp).

Writes SPEC.json (the core spec) and, next to it, SPEC.export.json (input scale, layer facts). With
``--stimulus`` / ``--reference`` also the layer's test-set input currents quantized to that scale
(.npy, (B, T, C) int64) and the quantized float layer's spikes on them (.npz: spikes, labels).

``--network``: the whole trained network (shiftpsn.golden.export_network) to NET.json
(docs/CONTRACT.md section 5), NET.export.json beside it (accuracy float / quantized / integer, scales);
``--stimulus`` / ``--labels`` write the test set as network inputs and labels (.npy, int64).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from shiftpsn.base.errors import UsageError
from shiftpsn.base.paths import atomic_write, json_text, prepare_output

from .args import int_range


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, type=Path, help="model.pt written by shiftpsn train")
    p.add_argument("--output", required=True, type=Path, help="core spec JSON (network JSON with --network) to write")
    p.add_argument("--network", action="store_true",
                   help="export the whole network (docs/CONTRACT.md section 5) instead of one layer")
    p.add_argument("--layer", default=None,
                   help="neuron layer name (blocks.<l>.neuron) or index; default: the first mul-free one")
    p.add_argument("--input-width", type=int_range(2, 64), default=None,
                   help="bits of the core's signed inputs (default 8; one layer only)")
    p.add_argument("--weight-bits", type=int_range(2, 32), default=None,
                   help="bits of a quantized dense weight, --network only (default 8)")
    p.add_argument("--tight", action=argparse.BooleanOptionalAction, default=True,
                   help="narrow [exp_min, exp_max] to the exponents used (default on)")
    p.add_argument("--weights", default="runtime", help="runtime or constant")
    p.add_argument("--name", default=None,
                   help="Verilog top-level name (default shiftpsn_core; shiftpsn_net with --network)")
    p.add_argument("--metadata", type=Path, default=None, help="default: SPEC.export.json next to --output")
    p.add_argument("--stimulus", type=Path, default=None, help="write the test-set stimulus (.npy)")
    p.add_argument("--reference", type=Path, default=None, help="write the float layer's spikes (.npz)")
    p.add_argument("--labels", type=Path, default=None, help="write the test-set labels (.npy), --network only")


def run(args) -> int:
    import numpy as np

    if args.weights not in ("runtime", "constant"):
        raise UsageError(f"--weights must be runtime or constant, got {args.weights!r}")
    if args.network:
        return _run_network(args)
    for option in ("labels", "weight_bits"):
        if getattr(args, option) is not None:
            raise UsageError(f"--{option.replace('_', '-')} needs --network")
    args.input_width = 8 if args.input_width is None else args.input_width
    args.name = args.name or "shiftpsn_core"
    meta_path = args.metadata or args.output.with_suffix(".export.json")
    stim = _with_suffix(args.stimulus, ".npy", "stimulus")
    ref = _with_suffix(args.reference, ".npz", "reference")
    outputs = [p for p in (args.output, meta_path, stim, ref) if p is not None]
    if len({p.resolve() for p in outputs}) < len(outputs):
        raise UsageError(f"two outputs have the same name: {', '.join(map(str, outputs))}")
    for path in outputs:  # directories created and probed before the work
        prepare_output(path, inputs=[args.checkpoint])
    from shiftpsn.golden.export import export_layer  # torch, once the command line is known good

    e = export_layer(args.checkpoint, args.layer, input_width=args.input_width, tight=args.tight,
                     name=args.name, weights=args.weights)
    e.spec.save(args.output)
    atomic_write(meta_path, json_text(e.metadata))
    if stim is not None:
        atomic_write(stim, lambda f: np.save(f, e.x))
    if ref is not None:
        atomic_write(ref, lambda f: np.savez(f, spikes=e.spikes, labels=e.labels))
    print(f"exported {e.layer} of {args.checkpoint}: C={e.spec.channels} k={e.spec.order} "
          f"d={e.spec.dilation} input_width={e.spec.input_width} input_exp={e.input_exp} "
          f"(x = X * 2^{e.input_exp}) exp=[{e.spec.exp_min}, {e.spec.exp_max}] acc_width={e.spec.acc_width}"
          f" -> {args.output}, {meta_path}")
    return 0


def _run_network(args) -> int:
    """``--network``: NET.json, NET.export.json and, if asked, the test set's inputs and labels."""
    import numpy as np

    from shiftpsn.golden.export_network import DEFAULT_WEIGHT_BITS, export_network

    for option in ("layer", "input_width", "reference"):
        if getattr(args, option) is not None:
            raise UsageError(f"--{option.replace('_', '-')} applies to one layer, not to --network")
    if not args.tight:
        raise UsageError("--no-tight applies to one layer, not to --network")
    meta_path = args.metadata or args.output.with_suffix(".export.json")
    stim = _with_suffix(args.stimulus, ".npy", "stimulus")
    labels = _with_suffix(args.labels, ".npy", "labels")
    outputs = [p for p in (args.output, meta_path, stim, labels) if p is not None]
    if len({p.resolve() for p in outputs}) < len(outputs):
        raise UsageError(f"two outputs have the same name: {', '.join(map(str, outputs))}")
    for path in outputs:
        prepare_output(path, inputs=[args.checkpoint])
    e = export_network(args.checkpoint, weight_bits=args.weight_bits or DEFAULT_WEIGHT_BITS,
                       name=args.name or "shiftpsn_net", weights=args.weights)
    e.net.save(args.output)
    atomic_write(meta_path, json_text(e.metadata))
    if stim is not None:
        atomic_write(stim, lambda f: np.save(f, e.x))
    if labels is not None:
        atomic_write(labels, lambda f: np.save(f, e.labels))
    acc = e.metadata["accuracy"]
    widths = ", ".join(f"{L}: {e.net.layers[L].input_width}" for L in e.net.neuron_indices)
    print(f"exported the network of {args.checkpoint}: {len(e.net.layers)} layers, input_width "
          f"{e.net.input_width}, neuron input widths {{{widths}}}, {e.metadata['weight_bits']}-bit weights; "
          f"test accuracy float {acc['float']:.4f}, quantized {acc['quantized']:.4f}, integer "
          f"{acc['integer']:.4f} -> {args.output}, {meta_path}")
    return 0


def _with_suffix(path: Path | None, suffix: str, option: str) -> Path | None:
    """``path`` as given: it must end in ``suffix`` (the file is written under exactly the name the
    user gave, never a name with a suffix added)."""
    if path is None or path.name.endswith(suffix):
        return path
    raise UsageError(f"--{option} {path}: the file is written as {suffix}; give a name ending in {suffix}")
