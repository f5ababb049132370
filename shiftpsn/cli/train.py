"""``shiftpsn train``: train a spiking network on a digits task (shiftpsn.golden.train).

Writes DIR/model.pt (checkpoint: model state + configuration) and DIR/results.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from shiftpsn.base.errors import UsageError


def add_arguments(p: argparse.ArgumentParser) -> None:
    from shiftpsn.golden.baselines import NEURONS
    from shiftpsn.golden.train.tasks import TASKS

    p.add_argument("--task", required=True, help=f"one of: {', '.join(TASKS)}")
    p.add_argument("--neuron", required=True, help=f"one of: {', '.join(NEURONS)}")
    p.add_argument("--output-dir", required=True, type=Path, help="where model.pt and results.json go")
    p.add_argument("--order", type=int, default=4, help="neuron order k (default 4)")
    p.add_argument("--dilation", default="fixed", help="fixed (d = 1) or sawtooth (Eq. 11); mulfree/cwpsn")
    p.add_argument("--quantize", action=argparse.BooleanOptionalAction, default=None,
                   help="power-of-two weights (mulfree/cwpsn; default: mulfree yes, cwpsn no)")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--width", type=int, default=64, help="channels per layer (default 64)")
    p.add_argument("--layers", type=int, default=3, help="Linear-BN-neuron blocks (default 3)")
    p.add_argument("--lr", type=float, default=1e-2, help="AdamW learning rate (cosine schedule)")
    p.add_argument("--weight-decay", type=float, default=1e-2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--train-subset", type=int, default=None, help="use only this many training samples")
    p.add_argument("--test-subset", type=int, default=None, help="use only this many test samples")
    p.add_argument("--method", default="shift_add",
                   help="temporal convolution of mulfree/cwpsn: auto (autoselect) or a shiftpsn.golden.accel method")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args) -> int:
    import torch

    from shiftpsn.golden.train.loop import TrainConfig, train
    from shiftpsn.golden.train.models import ModelConfig

    for name in ("train_subset", "test_subset"):
        v = getattr(args, name)
        if v is not None and v < 2:
            raise UsageError(f"--{name.replace('_', '-')} must be >= 2, got {v}")
    if args.output_dir.exists() and not args.output_dir.is_dir():
        raise UsageError(f"--output-dir {args.output_dir} exists and is not a directory")
    model = ModelConfig(task=args.task, neuron=args.neuron, order=args.order, dilation=args.dilation,
                        quantize=args.quantize, width=args.width, layers=args.layers,
                        method=args.method)
    config = TrainConfig(model=model, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                         weight_decay=args.weight_decay, seed=args.seed, train_subset=args.train_subset,
                         test_subset=args.test_subset)
    torch.set_num_threads(1)  # tiny models: one thread is fastest, more only spin on a shared machine
    result = train(config, args.output_dir, progress=not args.quiet)
    summary = {k: getattr(result, k) for k in ("test_acc", "train_acc", "finite", "firing_rate",
                                               "seconds", "params")}
    print(json.dumps({"output_dir": str(args.output_dir), **summary}))
    if not result.finite:
        print("shiftpsn train: warning: the loss became NaN or infinite; training stopped", flush=True)
    return 0
