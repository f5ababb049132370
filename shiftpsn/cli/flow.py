"""``shiftpsn flow [--output-dir DIR]``: the main job on the built-in default (see shiftpsn.flow)."""

from pathlib import Path

from shiftpsn.base import limits
from shiftpsn.base.paths import check_writable_dir
from shiftpsn.flow import FlowConfig, run_flow

from .args import add_seed, int_range

_DEFAULT = FlowConfig()


def add_arguments(p):
    p.add_argument("--output-dir", type=Path, default=_DEFAULT.output_dir,
                   help=f"where every artifact goes (default {_DEFAULT.output_dir})")
    p.add_argument("--epochs", type=int_range(1, 100_000), default=_DEFAULT.epochs,
                   help="training epochs (default %(default)s)")
    p.add_argument("--width", type=int_range(1, limits.MAX_TRAIN_WIDTH), default=_DEFAULT.width,
                   help="channels per layer (default %(default)s)")
    p.add_argument("--order", type=int_range(1, limits.MAX_TRAIN_ORDER), default=_DEFAULT.order,
                   help="neuron order k (default %(default)s)")
    add_seed(p, _DEFAULT.seed, "training")
    p.add_argument("--sim", choices=("icarus", "verilator"), default=_DEFAULT.sim)
    p.add_argument("--test-subset", type=int_range(2), default=None,
                   help="use only the first N test samples (quick runs; default: the whole test set)")
    p.add_argument("--targets", default=",".join(_DEFAULT.targets),
                   help="synthesis targets, comma separated (default %(default)s)")
    p.add_argument("--retrain", action="store_true", help="train even when a matching checkpoint exists")


def run(args):
    from shiftpsn.cli.synth import parse_targets

    targets = parse_targets(args.targets)
    check_writable_dir(args.output_dir)  # before any work
    cfg = FlowConfig(output_dir=args.output_dir, targets=targets, epochs=args.epochs, width=args.width, order=args.order,
                     seed=args.seed, sim=args.sim, test_subset=args.test_subset, retrain=args.retrain)
    run_flow(cfg)
    return 0
