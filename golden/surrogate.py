"""Heaviside spike function with surrogate gradients (papers/000 Eq. 18, Appendix E).

Forward, always the Heaviside step of papers/000 Eq. 2 / 18::

    spike = Theta(x) = 1 if x >= 0 else 0          (x = 0 fires)

Backward, ``d spike / dx`` is replaced by a smooth surrogate sigma(x):

* :class:`ATan` (papers/000 Appendix E for sequential CIFAR and SHD, papers/002 Appendix; the same as
  SpikingJelly's ``surrogate.ATan``)::

      g(x)     = arctan(pi/2 * alpha * x) / pi + 1/2
      sigma(x) = g'(x) = alpha / (2 * (1 + (pi/2 * alpha * x)^2))

  The area under sigma is 1, its peak sigma(0) = alpha / 2.

* :class:`InverseQuadratic` (papers/000 Appendix E for DVS-Lip, alpha = 10)::

      sigma(x) = 1 / (1 + alpha * x^2)
      g(x)     = arctan(sqrt(alpha) * x) / sqrt(alpha)        (a primitive; not a 0..1 step)

  Its peak is sigma(0) = 1 and its area pi / sqrt(alpha), exactly as the paper writes it (no
  normalisation is added).
"""

from __future__ import annotations

import math

import torch
from torch import nn


def heaviside(x: torch.Tensor) -> torch.Tensor:
    """Theta(x) = (x >= 0) in the dtype of ``x`` (no gradient)."""
    return (x >= 0).to(x.dtype)


class _SurrogateSpike(torch.autograd.Function):
    """Heaviside forward, ``grad * surrogate.derivative(x)`` backward."""

    @staticmethod
    def forward(ctx, x, surrogate):
        ctx.save_for_backward(x)
        ctx.surrogate = surrogate
        return heaviside(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * ctx.surrogate.derivative(x), None


class Surrogate(nn.Module):
    """Base class: ``forward(x)`` is Theta(x) whose gradient is :meth:`derivative`."""

    def __init__(self, alpha: float):
        super().__init__()
        if not (isinstance(alpha, (int, float)) and math.isfinite(alpha) and alpha > 0):
            raise ValueError(f"surrogate alpha must be a positive finite number, got {alpha!r}")
        self.alpha = float(alpha)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _SurrogateSpike.apply(x, self)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def primitive(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class ATan(Surrogate):
    """sigma(x) = alpha / (2 (1 + (pi/2 alpha x)^2)); default alpha = 2 (papers/000, sequential CIFAR)."""

    def __init__(self, alpha: float = 2.0):
        super().__init__(alpha)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        ax = (math.pi / 2 * self.alpha) * x
        return (self.alpha / 2) / (1 + ax * ax)

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        return torch.atan((math.pi / 2 * self.alpha) * x) / math.pi + 0.5


class InverseQuadratic(Surrogate):
    """sigma(x) = 1 / (1 + alpha x^2); default alpha = 10 (papers/000, DVS-Lip)."""

    def __init__(self, alpha: float = 10.0):
        super().__init__(alpha)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return 1 / (1 + self.alpha * x * x)

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        r = math.sqrt(self.alpha)
        return torch.atan(r * x) / r


#: Surrogates by the names command lines use.
SURROGATES = {"atan": ATan, "inverse-quadratic": InverseQuadratic}
