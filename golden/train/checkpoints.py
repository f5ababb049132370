"""Checkpoints: ``torch.save`` of the model's state and the configuration that rebuilds it.

A checkpoint is a dict ``{"format", "config", "state_dict", "result"}`` where ``config`` is
:meth:`TrainConfig.to_dict` and ``result`` the run's summary (test accuracy, ...).
"""

from __future__ import annotations

from pathlib import Path

import torch

from shiftpsn.base.errors import UsageError

FORMAT = "shiftpsn-train-1"


def save_checkpoint(path: str | Path, model, config, result=None) -> None:
    """Write ``model``'s state and ``config`` (a TrainConfig) to ``path``."""
    torch.save({"format": FORMAT, "config": config.to_dict(), "state_dict": model.state_dict(),
                "result": None if result is None else {k: v for k, v in result.to_dict().items()
                                                       if k != "history"}}, Path(path))


def load_checkpoint(path: str | Path):
    """Rebuild ``(model in eval mode, TrainConfig, result dict)`` from a checkpoint.

    Raises UsageError (one line) for a missing or unreadable file or one that is no checkpoint of ours.
    """
    from .config import TrainConfig
    from .models import SpikingMLP

    path = Path(path)
    if not path.is_file():
        raise UsageError(f"checkpoint not found: {path}")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many kinds for a corrupt file
        raise UsageError(f"cannot read checkpoint {path}: {e.__class__.__name__}") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise UsageError(f"{path} is not a shiftpsn training checkpoint (format {FORMAT})")
    config = TrainConfig.from_dict(blob["config"])
    model = SpikingMLP(config.model)
    try:
        model.load_state_dict(blob["state_dict"])
    except RuntimeError as e:
        raise UsageError(f"checkpoint {path} does not match its configuration: "
                         f"{str(e).splitlines()[0]}") from None
    model.eval()
    return model, config, blob.get("result")
