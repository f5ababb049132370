"""``shiftpsn flow [--output-dir DIR] [--mode network|layer]``: the main job on the built-in default.

``--mode network`` (the default, ``make demo``): a whole trained network to verified, synthesized
Verilog. ``--mode layer``: one neuron layer as a core (the flow of 0.1). Both are step lists of
shiftpsn.flow; the defaults live in shiftpsn.flow.config."""

from pathlib import Path

from shiftpsn.base import limits
from shiftpsn.base.paths import check_writable_dir
from shiftpsn.flow import FlowConfig, run_flow
from shiftpsn.flow.config import default

from .args import add_seed, int_range

_NET = FlowConfig(mode="network")


def _both(key: str) -> str:
    return f"default {default('network', key)}; layer mode {default('layer', key)}"


def add_arguments(p):
    p.add_argument("--mode", choices=("network", "layer"), default="network",
                   help="network: the whole trained network in hardware (default); layer: one neuron layer "
                        "as a core (the flow of 0.1)")
    p.add_argument("--output-dir", type=Path, default=_NET.output_dir,
                   help=f"where every artifact goes (default {_NET.output_dir})")
    p.add_argument("--epochs", type=int_range(1, 100_000), default=None, help=f"training epochs ({_both('epochs')})")
    p.add_argument("--width", type=int_range(1, limits.MAX_TRAIN_WIDTH), default=None,
                   help=f"channels per layer ({_both('width')})")
    p.add_argument("--order", type=int_range(1, limits.MAX_TRAIN_ORDER), default=_NET.order,
                   help="neuron order k (default %(default)s)")
    add_seed(p, _NET.seed, "training")
    p.add_argument("--sim", choices=("icarus", "verilator"), default=None, help=f"simulator ({_both('sim')})")
    p.add_argument("--test-subset", type=int_range(2), default=None,
                   help="use only the first N test samples (quick runs; default: the whole test set)")
    p.add_argument("--targets", default=",".join(_NET.targets),
                   help="synthesis targets, comma separated (default %(default)s)")
    p.add_argument("--lanes", type=int_range(1), default=None,
                   help=f"network mode: dense outputs and neurons computed per cycle in each layer "
                        f"(default {_NET.dense_lanes}: the smallest hardware)")
    p.add_argument("--retrain", action="store_true", help="train even when a matching checkpoint exists")


def run(args):
    from shiftpsn.cli.synth import parse_targets

    targets = parse_targets(args.targets)
    check_writable_dir(args.output_dir)  # before any work
    lanes = {} if args.lanes is None else {"dense_lanes": args.lanes, "psn_lanes": args.lanes}
    run_flow(FlowConfig(mode=args.mode, output_dir=args.output_dir, targets=targets, order=args.order,
                        seed=args.seed, epochs=args.epochs, width=args.width, sim=args.sim,
                        test_subset=args.test_subset, retrain=args.retrain, **lanes))
    return 0
