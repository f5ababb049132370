"""The configuration of a training run (shared by the loop and the checkpoints)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from shiftpsn.base.errors import UsageError

from .models import ModelConfig


@dataclass(frozen=True)
class TrainConfig:
    """A training run: the model, the optimizer and the data it sees.

    Attributes
    ----------
    model : ModelConfig
    epochs, batch_size : int
    lr, weight_decay : float
        AdamW; the learning rate follows a cosine from ``lr`` to 0 over all steps.
    seed : int
    train_subset, test_subset : int or None
        Use only the first this many samples (smoke tests).
    """

    model: ModelConfig
    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-2
    weight_decay: float = 1e-2
    seed: int = 0
    train_subset: int | None = None
    test_subset: int | None = None

    def __post_init__(self):
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise UsageError(f"epochs must be an integer >= 1, got {self.epochs!r}")
        if self.batch_size < 2:
            raise UsageError(f"batch size must be >= 2 (batch norm), got {self.batch_size}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise UsageError(f"learning rate must be a positive number, got {self.lr!r}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["model"] = self.model.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names and k != "model"}
        return cls(model=ModelConfig.from_dict(d["model"]), **kw)
