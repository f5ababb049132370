"""The training loop: AdamW with a cosine learning-rate schedule, cross-entropy, one progress bar per
epoch (tqdm) showing loss and accuracy, a test evaluation after every epoch, a checkpoint and a
results JSON at the end.

Runs are reproducible: the seed fixes the weights, the batch order and every random draw; the
train/test split is fixed (:mod:`shiftpsn.golden.train.tasks`). The test accuracy reported is that of the last
epoch (no early stopping on the test set).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from shiftpsn.base.paths import atomic_write, json_text
from shiftpsn.base.progress import on_terminal

from .checkpoints import save_checkpoint
from .config import TrainConfig
from .models import SpikingMLP
from .tasks import load_task


@dataclass
class EpochRecord:
    epoch: int
    loss: float
    train_acc: float
    test_acc: float
    lr: float
    seconds: float

@dataclass
class RunResult:
    """What a run produced (written as results.json next to the checkpoint)."""

    config: dict
    test_acc: float
    train_acc: float
    finite: bool
    firing_rate: float
    seconds: float
    params: int
    history: list[EpochRecord] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["history"] = [asdict(h) for h in self.history]
        return d

def _call_epoch_hooks(model: nn.Module, epoch: int, epochs: int) -> None:
    """Let neurons with a schedule (masked PSN's progressive masking) see the epoch."""
    for m in model.modules():
        hook = getattr(m, "on_epoch_start", None)
        if callable(hook):
            hook(epoch, epochs)

@torch.no_grad()
def evaluate(model: SpikingMLP, x: torch.Tensor, y: torch.Tensor, batch_size: int = 512
             ) -> tuple[float, float]:
    """(accuracy, mean firing rate of all neuron layers) of ``model`` in eval mode."""
    model.eval()
    rates: list[torch.Tensor] = []
    hooks = [n.register_forward_hook(lambda m, i, o: rates.append(o.float().mean()))
             for n in model.neuron_layers().values()]
    correct = 0
    try:
        for s in range(0, len(x), batch_size):
            logits = model(x[s:s + batch_size])
            correct += int((logits.argmax(1) == y[s:s + batch_size]).sum())
    finally:
        for h in hooks:
            h.remove()
    rate = float(torch.stack(rates).mean()) if rates else 0.0
    return correct / max(1, len(x)), rate


def train(config: TrainConfig, output_dir: str | Path | None = None, *, progress: bool = True,
          desc: str | None = None) -> RunResult:
    """Train one network; with ``output_dir`` write ``model.pt`` (checkpoint) and ``results.json``.

    A loss that becomes NaN or infinite stops the run; the result then has ``finite = False``.
    """
    from tqdm import tqdm

    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    data = load_task(config.model.task, train_subset=config.train_subset, test_subset=config.test_subset)
    x_tr, y_tr = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    x_te, y_te = torch.from_numpy(data.x_test), torch.from_numpy(data.y_test)
    model = SpikingMLP(config.model)
    if config.model.method == "auto":
        methods = model.autoselect_methods(x_tr[:config.batch_size])
        if progress:
            tqdm.write(f"{desc or config.model.neuron}: autoselect chose {methods}")
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(len(x_tr) / config.batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.epochs * steps_per_epoch)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(config.seed)
    history: list[EpochRecord] = []
    finite = True
    start = time.perf_counter()
    label = desc or f"{config.model.task} {config.model.neuron}"
    for epoch in range(config.epochs):
        t0 = time.perf_counter()
        _call_epoch_hooks(model, epoch, config.epochs)
        model.train()
        order = torch.randperm(len(x_tr), generator=gen)
        # drop a last batch of one sample: batch norm cannot train on it
        batches = [order[s:s + config.batch_size] for s in range(0, len(order), config.batch_size)]
        batches = [b for b in batches if len(b) > 1]
        total_loss, correct, seen = 0.0, 0, 0
        # a bar only on a terminal; a log gets the one line per epoch below
        bar = tqdm(batches, desc=f"{label} epoch {epoch + 1}/{config.epochs}", leave=False,
                   disable=not (progress and on_terminal()), dynamic_ncols=True)
        lr = opt.param_groups[0]["lr"]
        for idx in bar:
            logits = model(x_tr[idx])
            loss = loss_fn(logits, y_tr[idx])
            if not torch.isfinite(loss):
                finite = False
                break
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total_loss += float(loss.detach()) * len(idx)
            correct += int((logits.argmax(1) == y_tr[idx]).sum())
            seen += len(idx)
            bar.set_postfix(loss=f"{total_loss / seen:.3f}", acc=f"{correct / seen:.3f}")
        bar.close()
        if not finite:
            break
        test_acc, _ = evaluate(model, x_te, y_te)
        history.append(EpochRecord(epoch + 1, total_loss / seen, correct / seen, test_acc, lr,
                                   time.perf_counter() - t0))
        if progress:
            tqdm.write(f"{label} epoch {epoch + 1}/{config.epochs}: loss {total_loss / seen:.4f} "
                       f"train {correct / seen:.4f} test {test_acc:.4f}")
    finite = finite and all(torch.isfinite(p).all() for p in model.parameters())
    test_acc, rate = evaluate(model, x_te, y_te) if finite else (float("nan"), float("nan"))
    train_acc = history[-1].train_acc if history else float("nan")
    result = RunResult(config=config.to_dict(), test_acc=test_acc, train_acc=train_acc, finite=finite,
                       firing_rate=rate, seconds=time.perf_counter() - start,
                       params=sum(p.numel() for p in model.parameters()), history=history)
    if output_dir is not None:
        out = Path(output_dir)
        out.mkdir(parents=True, exist_ok=True)
        save_checkpoint(out / "model.pt", model, config, result)
        atomic_write(out / "results.json", json_text(result.to_dict()))
    return result
