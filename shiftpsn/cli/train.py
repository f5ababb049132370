"""``shiftpsn train``: train a spiking network on a digits or MNIST task (shiftpsn.golden.train).

Writes DIR/model.pt (checkpoint: model state + configuration) and DIR/results.json.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from shiftpsn.base import limits
from shiftpsn.base.errors import CheckFailed
from shiftpsn.base.paths import check_replaceable, check_writable_dir, json_text

from .args import NON_NEGATIVE_FLOAT, POSITIVE_FLOAT, add_seed, int_range


class _HelpFormatter(argparse.HelpFormatter):
    """Shows every default, and fills in the task and neuron names when help is printed (from modules
    that do not import torch: neither parsing nor help may pay for it)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if ("(default" not in text and not action.required and action.default not in (None, False, argparse.SUPPRESS)):
            text += " (default: %(default)s)"
        if "{neurons}" in text:
            from shiftpsn.golden.neuron_names import NEURON_NAMES

            text = text.replace("{neurons}", ", ".join(NEURON_NAMES))
        if "{tasks}" in text:
            from shiftpsn.golden.train.tasks import TASKS

            text = text.replace("{tasks}", ", ".join(TASKS))
        return text


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = _HelpFormatter
    p.add_argument("--task", required=True, help="one of: {tasks}")
    p.add_argument("--neuron", required=True, help="one of: {neurons}")
    p.add_argument("--output-dir", required=True, type=Path, help="where model.pt and results.json go")
    p.add_argument("--order", type=int_range(1, limits.MAX_TRAIN_ORDER), default=4, help="neuron order k")
    p.add_argument("--dilation", default="fixed", help="fixed (d = 1) or sawtooth (Eq. 11); mulfree/cwpsn")
    p.add_argument("--quantize", action=argparse.BooleanOptionalAction, default=None,
                   help="power-of-two weights (mulfree/cwpsn; default: mulfree yes, cwpsn no)")
    p.add_argument("--epochs", type=int_range(1, 100_000), default=30, help="training epochs")
    add_seed(p, 0, "training")
    p.add_argument("--width", type=int_range(1, limits.MAX_TRAIN_WIDTH), default=64,
                   help="channels per layer")
    p.add_argument("--layers", type=int_range(1, limits.MAX_TRAIN_LAYERS), default=3,
                   help="Linear-BN-neuron blocks")
    p.add_argument("--lr", type=POSITIVE_FLOAT, default=1e-2, help="AdamW learning rate (cosine schedule)")
    p.add_argument("--weight-decay", type=NON_NEGATIVE_FLOAT, default=1e-2, help="AdamW weight decay")
    p.add_argument("--batch-size", type=int_range(2, limits.MAX_TRAIN_BATCH), default=64, help="samples per batch")
    p.add_argument("--train-subset", type=int_range(2), default=None,
                   help="use only this many training samples (at most the training set's size; default: all)")
    p.add_argument("--test-subset", type=int_range(2), default=None,
                   help="use only this many test samples (at most the test set's size; default: all)")
    p.add_argument("--method", default="shift_add",
                   help="temporal convolution of mulfree/cwpsn: auto (autoselect) or a shiftpsn.golden.accel method")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args) -> int:
    import torch

    from shiftpsn.golden.train.loop import TrainConfig, train
    from shiftpsn.golden.train.models import ModelConfig

    model = ModelConfig(task=args.task, neuron=args.neuron, order=args.order, dilation=args.dilation,
                        quantize=args.quantize, width=args.width, layers=args.layers,
                        method=args.method)
    config = TrainConfig(model=model, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                         weight_decay=args.weight_decay, seed=args.seed, train_subset=args.train_subset,
                         test_subset=args.test_subset)
    for name in ("model.pt", "results.json"):  # a foreign model or results file is never written over
        check_replaceable(args.output_dir / name, what="training output")
    check_writable_dir(args.output_dir)  # before any work (model.pt, results.json go there)
    torch.set_num_threads(1)  # tiny models: one thread is fastest, more only spin on a shared machine
    result = train(config, args.output_dir, progress=not args.quiet)
    summary = {k: getattr(result, k) for k in ("test_acc", "train_acc", "finite", "firing_rate",
                                               "seconds", "params")}
    print(json_text({"output_dir": str(args.output_dir), **summary}, indent=None))
    if not result.finite:
        done = len(result.history)  # epochs that finished with a finite loss
        when = (f"the loss became NaN or infinite in epoch {done + 1} of {args.epochs}" if done < args.epochs
                else f"the weights became NaN or infinite by the end of the last epoch ({args.epochs})")
        raise CheckFailed(f"training diverged: {when}; stopped (lower --lr?); "
                          f"{args.output_dir / 'results.json'} has null accuracies")
    return 0
