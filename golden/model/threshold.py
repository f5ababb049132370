"""Learnable thresholds of the mul-free channel-wise PSN and their fusion into the weights.

Two kinds, both reduce to a fused pair ``(W_f, b_f)`` with ``S = Theta(conv(X, Q(W_f)) + b_f)``, so
the firing threshold of Eq. 18 is ``Vth = -b_f``:

* :class:`BNThreshold`: batch normalization as the threshold (MF-PSN Appendix C, Eq. 26)::

      S[t][c] = Theta(gamma[c] (H[t][c] - mu[c]) / sqrt(var[c] + eps) + beta[c]),  gamma = 1, beta = -1 at init

  fused into the convolution (Eq. 27-28)::

      W_f = gamma / sqrt(var + eps) * W            b_f = beta - gamma * mu / sqrt(var + eps)

  In training, ``mu, var`` are the batch mean and *biased* variance of H = conv(X, W) over every axis
  but C (time, batch and any extra axes), and gradients flow through them as in ordinary batch norm;
  the running mean and *unbiased* variance are updated with ``momentum`` (PyTorch's convention:
  ``running = (1 - momentum) * running + momentum * batch``). In eval mode the running statistics are
  used. This is exactly ``torch.nn.functional.batch_norm`` applied to H.
* :class:`BiasThreshold`: a plain learnable per-channel Vth (Eq. 18), initialised to 1, i.e. the bias
  -1 of SpikingJelly's SlidingPSN: ``W_f = W, b_f = -Vth``.
"""

from __future__ import annotations

import torch
from torch import nn


class BNThreshold(nn.Module):
    """Batch-norm threshold of Eq. 26 with the fusion of Eq. 27-28.

    Parameters
    ----------
    channels : int
    eps : float
        Added to the variance (Eq. 26-28).
    momentum : float
        Running-statistics update factor.
    """

    needs_statistics = True

    def __init__(self, channels: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must lie in [0, 1], got {momentum!r}")
        if not eps > 0:
            raise ValueError(f"eps must be positive, got {eps!r}")
        self.channels = channels
        self.eps = float(eps)
        self.momentum = float(momentum)
        self.weight = nn.Parameter(torch.ones(channels))        # gamma, init 1 (Appendix C)
        self.bias = nn.Parameter(torch.full((channels,), -1.0))  # beta, init -1 (Appendix C)
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def batch_statistics(self, h: torch.Tensor, channel_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch mean and biased variance of ``h`` per channel (over all other axes), differentiable;
        updates the running statistics (unbiased variance) as a side effect."""
        dims = [i for i in range(h.dim()) if i != channel_dim % h.dim()]
        n = h.numel() // h.shape[channel_dim]
        if n < 2:
            raise ValueError(f"batch-norm threshold needs more than 1 value per channel in training, "
                             f"got input of shape {tuple(h.shape)}")
        var, mean = torch.var_mean(h, dim=dims, correction=0)
        with torch.no_grad():
            m = self.momentum
            self.running_mean.mul_(1 - m).add_(mean.detach().to(self.running_mean.dtype), alpha=m)
            unbiased = var.detach().to(self.running_var.dtype) * (n / (n - 1))
            self.running_var.mul_(1 - m).add_(unbiased, alpha=m)
            self.num_batches_tracked.add_(1)
        return mean, var

    def fuse(self, weight: torch.Tensor, mean: torch.Tensor | None = None,
             var: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(W_f, b_f) of Eq. 27-28 for ``weight`` (C, k); running statistics when mean/var are None."""
        if mean is None:
            mean, var = self.running_mean, self.running_var
        scale = self.weight / torch.sqrt(var + self.eps)   # gamma / sqrt(var + eps)
        return scale[:, None] * weight, self.bias - scale * mean

    def extra_repr(self) -> str:
        return f"{self.channels}, eps={self.eps}, momentum={self.momentum}"


class BiasThreshold(nn.Module):
    """Learnable per-channel threshold Vth of Eq. 18 (init 1): ``W_f = W, b_f = -Vth``."""

    needs_statistics = False

    def __init__(self, channels: int, v_threshold: float = 1.0):
        super().__init__()
        self.channels = channels
        self.v_threshold = nn.Parameter(torch.full((channels,), float(v_threshold)))

    def fuse(self, weight: torch.Tensor, mean=None, var=None) -> tuple[torch.Tensor, torch.Tensor]:
        return weight, -self.v_threshold

    def extra_repr(self) -> str:
        return f"{self.channels}"


#: Threshold kinds by name (``MulFreePSN(threshold=...)``).
THRESHOLDS = {"bn": BNThreshold, "bias": BiasThreshold}
