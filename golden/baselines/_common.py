"""Helpers shared by the baseline neurons."""

from __future__ import annotations

import torch


def default_surrogate():
    """The surrogate every neuron of the comparison uses unless told otherwise: arctan with
    alpha = 2 (MF-PSN Appendix E), from :mod:`shiftpsn.golden.model.surrogate`."""
    from shiftpsn.golden.model.surrogate import ATan

    return ATan()


def check_time_first(x: torch.Tensor, steps: int | None, who: str) -> None:
    """Raise ValueError unless ``x`` is time-first (T, N, ...) with T == ``steps`` (when given)."""
    if x.dim() < 2:
        raise ValueError(f"{who}: expected a time-first input (T, N, ...), got shape {tuple(x.shape)}")
    if steps is not None and x.shape[0] != steps:
        raise ValueError(f"{who}: built for T = {steps} time steps, got an input with T = {x.shape[0]}")
