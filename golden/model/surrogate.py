"""Heaviside spike function with surrogate gradients (MF-PSN Eq. 18, Appendix E).

Forward, always the Heaviside step of MF-PSN Eq. 2 / 18::

    spike = Theta(x) = 1 if x >= 0 else 0          (x = 0 fires)

Backward, ``d spike / dx`` is replaced by a smooth surrogate sigma(x):

* :class:`ATan` (MF-PSN Appendix E for sequential CIFAR and SHD, PSN Appendix; the same as
  SpikingJelly's ``surrogate.ATan``)::

      g(x)     = arctan(pi/2 * alpha * x) / pi + 1/2
      sigma(x) = g'(x) = alpha / (2 * (1 + (pi/2 * alpha * x)^2))

  The area under sigma is 1, its peak sigma(0) = alpha / 2.

* :class:`InverseQuadratic` (MF-PSN Appendix E for DVS-Lip, alpha = 10)::

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
    """Theta(x) = (x >= 0) in the dtype of ``x`` (no gradient; NaN gives 0)."""
    # one pass: the comparison writes the float result directly (no bool temporary + cast)
    return torch.ge(x.detach(), 0, out=torch.empty_like(x, memory_format=torch.preserve_format))


class _SurrogateSpike(torch.autograd.Function):
    """Heaviside forward, ``surrogate.input_grad(grad, x)`` backward."""

    @staticmethod
    def forward(ctx, x, surrogate):
        ctx.save_for_backward(x)
        ctx.surrogate = surrogate
        return heaviside(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return ctx.surrogate.input_grad(grad, x), None


def _grad_over_quadratic(grad: torch.Tensor, x: torch.Tensor, c0: float, c2: float) -> torch.Tensor:
    """grad / (c0 + c2 x^2) in two passes over the data (the surrogates' backward at short T is
    bound by elementwise passes)."""
    den = torch.addcmul(torch.full((), c0, dtype=x.dtype, device=x.device), x, x, value=c2)
    return torch.div(grad, den, out=den)


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

    def input_grad(self, grad: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``grad * derivative(x)``, the backward of :meth:`forward` (subclasses may fuse it)."""
        return grad * self.derivative(x)

    def primitive(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class ATan(Surrogate):
    """sigma(x) = alpha / (2 (1 + (pi/2 alpha x)^2)); default alpha = 2 (MF-PSN, sequential CIFAR)."""

    def __init__(self, alpha: float = 2.0):
        super().__init__(alpha)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        ax = (math.pi / 2 * self.alpha) * x
        return (self.alpha / 2) / (1 + ax * ax)

    def input_grad(self, grad: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """grad * sigma(x) as grad / (2/alpha + (pi^2 alpha / 2) x^2) (the same sigma, two passes)."""
        return _grad_over_quadratic(grad, x, 2 / self.alpha, math.pi ** 2 * self.alpha / 2)

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        return torch.atan((math.pi / 2 * self.alpha) * x) / math.pi + 0.5


class InverseQuadratic(Surrogate):
    """sigma(x) = 1 / (1 + alpha x^2); default alpha = 10 (MF-PSN, DVS-Lip)."""

    def __init__(self, alpha: float = 10.0):
        super().__init__(alpha)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return 1 / (1 + self.alpha * x * x)

    def input_grad(self, grad: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return _grad_over_quadratic(grad, x, 1.0, self.alpha)

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        r = math.sqrt(self.alpha)
        return torch.atan(r * x) / r


#: Surrogates by the names command lines use.
SURROGATES = {"atan": ATan, "inverse-quadratic": InverseQuadratic}
