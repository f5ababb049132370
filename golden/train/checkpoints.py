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
    """Write ``model``'s state and ``config`` (a TrainConfig) to ``path`` (atomically)."""
    from shiftpsn.base.paths import atomic_write

    blob = {"format": FORMAT, "config": config.to_dict(), "state_dict": model.state_dict(),
            "result": None if result is None else {k: v for k, v in result.to_dict().items()
                                                   if k != "history"}}
    atomic_write(Path(path), lambda f: torch.save(blob, f))


def load_checkpoint(path: str | Path):
    """Rebuild ``(model in eval mode, TrainConfig, result dict)`` from a checkpoint.

    Raises UsageError (one line) for a missing or unreadable file or one that is no checkpoint of ours.
    """
    from .config import TrainConfig
    from .models import SpikingMLP

    import warnings

    from shiftpsn.base.limits import read_head

    path = Path(path)
    # missing, a folder, a device: one line naming which; torch.save writes a zip archive, so anything
    # else (a plain pickle) is refused before torch sees it (and warns about it)
    if read_head(path, "checkpoint", 4) != b"PK\x03\x04":
        raise UsageError(f"cannot read checkpoint {path}: not a shiftpsn training checkpoint (format {FORMAT}, "
                         f"a file written by torch.save)")
    try:
        with warnings.catch_warnings():  # torch's own warnings are not for this command's user
            warnings.simplefilter("ignore")
            blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many kinds for a corrupt file
        raise UsageError(f"cannot read checkpoint {path}: {e.__class__.__name__}") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise UsageError(f"{path} is not a shiftpsn training checkpoint (format {FORMAT})")
    # schema: {"format", "config": {..., "model": {...}}, "state_dict": {name: tensor}, "result"}
    missing = [k for k in ("config", "state_dict") if k not in blob]
    if missing:
        raise UsageError(f"checkpoint {path} lacks the key {missing[0]!r} (format {FORMAT})")
    if not isinstance(blob["config"], dict) or not isinstance(blob["config"].get("model"), dict):
        raise UsageError(f"checkpoint {path}: 'config' must hold the training configuration with 'model'")
    if not isinstance(blob["state_dict"], dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in blob["state_dict"].items()):
        raise UsageError(f"checkpoint {path}: 'state_dict' must map parameter names to tensors")
    try:
        config = TrainConfig.from_dict(blob["config"])
        model = SpikingMLP(config.model)
    except UsageError as e:
        raise UsageError(f"checkpoint {path}: {e}") from None
    except (KeyError, TypeError, ValueError) as e:
        raise UsageError(f"checkpoint {path}: invalid configuration ({e.__class__.__name__}: "
                         f"{str(e)[:100]})") from None
    try:
        model.load_state_dict(blob["state_dict"])
    except RuntimeError as e:
        raise UsageError(f"checkpoint {path} does not match its configuration: "
                         f"{str(e).splitlines()[0]}") from None
    model.eval()
    return model, config, blob.get("result")
