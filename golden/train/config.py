"""The configuration of a training run (shared by the loop and the checkpoints)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from shiftpsn.base.errors import UsageError
from shiftpsn.base.limits import MAX_SEED, MAX_TRAIN_BATCH, check_at_most

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
        if not (isinstance(self.weight_decay, (int, float)) and math.isfinite(self.weight_decay)
                and self.weight_decay >= 0):
            raise UsageError(f"weight decay must be a finite number >= 0, got {self.weight_decay!r}")
        if not isinstance(self.seed, int) or not 0 <= self.seed <= MAX_SEED:
            raise UsageError(f"seed must be an integer in [0, {MAX_SEED}], got {self.seed!r}")
        check_at_most(self.batch_size, MAX_TRAIN_BATCH, "batch size")
        for name in ("train_subset", "test_subset"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or v < 2):
                raise UsageError(f"{name.replace('_', ' ')} must be an integer >= 2, got {v!r}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["model"] = self.model.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names and k != "model"}
        return cls(model=ModelConfig.from_dict(d["model"]), **kw)
