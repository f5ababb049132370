"""The PSN family of PSN (Fang et al., "Parallel Spiking Neurons ..."): PSN, masked PSN with
progressive masking, sliding PSN. Time-first input (T, N, ...) of float currents, spikes out.

All three compute a hidden state H that is a linear function of the input sequence and fire where
``H - Vth >= 0``; the Heaviside step uses a surrogate gradient in the backward pass. Following
SpikingJelly and supplementary 6.2 of PSN, the threshold is a learnable bias ``b = -Vth``
initialized to -1 (Vth = 1).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._common import check_time_first, default_surrogate


class PSN(nn.Module):
    """Parallel Spiking Neuron (PSN Eq. 9-10)::

        H = W X,  W in R^{T x T}          (Eq. 9)
        S = Theta(H - B),  B in R^T        (Eq. 10)

    Every H[t] reads every input X[j], past and future: the neuron is not causal.

    Parameters
    ----------
    steps : int
        T, the sequence length the (T, T) weight is built for.
    surrogate : callable, optional
        Heaviside with surrogate gradient; defaults to :func:`shiftpsn.golden.baselines.default_surrogate`.
    """

    def __init__(self, steps: int, surrogate=None):
        super().__init__()
        self.steps = steps
        self.weight = nn.Parameter(torch.empty(steps, steps))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # supplementary 6.2
        self.bias = nn.Parameter(torch.full((steps, 1), -1.0))
        self.surrogate = surrogate or default_surrogate()

    def effective_weight(self) -> torch.Tensor:
        """The (T, T) matrix that maps X to H."""
        return self.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_time_first(x, self.steps, type(self).__name__)
        h = torch.addmm(self.bias, self.effective_weight(), x.flatten(1))
        return self.surrogate(h).view(x.shape)

    def extra_repr(self) -> str:
        return f"steps={self.steps}"


def band_mask(steps: int, order: int) -> torch.Tensor:
    """M_k of PSN Eq. 12: M[i][j] = 1 for j <= i <= j + k - 1, else 0."""
    i = torch.arange(steps).unsqueeze(1)
    j = torch.arange(steps).unsqueeze(0)
    return ((j <= i) & (i <= j + order - 1)).float()


def masking_progress(epoch: int, epochs: int) -> float:
    """lambda of progressive masking at the start of ``epoch`` (0-based) of ``epochs``:
    min(1, 8 * epoch / (epochs - 1)), the schedule PSN section 4.2 uses; 1 for one epoch."""
    if epochs <= 1:
        return 1.0
    return min(1.0, 8.0 * epoch / (epochs - 1))


class MaskedPSN(PSN):
    """k-order masked PSN with progressive masking (PSN Eq. 11-13)::

        H = (W . M_k(lambda)) X                           (Eq. 11)
        M_k(lambda) = lambda * M_k + (1 - lambda) * 1     (Eq. 13)

    ``lambda`` rises from 0 (all-ones mask, future inputs visible) to 1 (the causal band M_k of Eq. 12,
    H[t] reads X[t-k+1..t]) during training; the training loop calls :meth:`on_epoch_start`.

    Parameters
    ----------
    steps : int
        T.
    order : int
        k, the band width.
    surrogate : callable, optional
    """

    def __init__(self, steps: int, order: int, surrogate=None):
        super().__init__(steps, surrogate)
        if order < 1:
            raise ValueError(f"order must be >= 1, got {order}")
        self.order = order
        self.register_buffer("mask", band_mask(steps, order))
        self.register_buffer("lambda_", torch.tensor(0.0))

    def on_epoch_start(self, epoch: int, epochs: int) -> None:
        """Progressive masking: set lambda for this epoch (:func:`masking_progress`)."""
        self.lambda_.fill_(masking_progress(epoch, epochs))

    def effective_weight(self) -> torch.Tensor:
        lam = self.lambda_
        return self.weight * (lam * self.mask + (1.0 - lam))

    def extra_repr(self) -> str:
        return f"steps={self.steps}, order={self.order}"


def sliding_matrix(weight: torch.Tensor, steps: int) -> torch.Tensor:
    """The (T, T) Toeplitz matrix A of PSN Eq. 16 with H = A X:
    A[i][j] = W[k-1-i+j] for i+1-k <= j <= i, else 0."""
    k = weight.shape[0]
    lag = torch.arange(steps).unsqueeze(1) - torch.arange(steps).unsqueeze(0)  # i - j
    inside = (lag >= 0) & (lag < k)
    index = (k - 1 - lag).clamp(0, k - 1).to(weight.device)
    return torch.where(inside.to(weight.device), weight[index], weight.new_zeros(()))


class SlidingPSN(nn.Module):
    """k-order sliding PSN (PSN Eq. 14-16)::

        H[t] = sum_{i=0}^{k-1} W_i X[t-k+1+i],  X[j<0] = 0     (Eq. 14)
        S[t] = Theta(H[t] - Vth)                              (Eq. 15)

    One weight vector shared by every channel and time step; W_{k-1} weights the newest input.
    Initialized exponentially, W_i = 2^{i-k+1} (supplementary Eq. 17), Vth = 1. Computed as
    H = A X with the Toeplitz matrix of Eq. 16, which works for any sequence length.

    Parameters
    ----------
    order : int
        k.
    surrogate : callable, optional
    """

    def __init__(self, order: int, surrogate=None):
        super().__init__()
        if order < 1:
            raise ValueError(f"order must be >= 1, got {order}")
        self.order = order
        self.weight = nn.Parameter(torch.pow(2.0, torch.arange(order, dtype=torch.float32) - (order - 1)))
        self.bias = nn.Parameter(torch.tensor(-1.0))
        self.surrogate = surrogate or default_surrogate()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_time_first(x, None, type(self).__name__)
        a = sliding_matrix(self.weight, x.shape[0])
        h = torch.addmm(self.bias.expand(x.shape[0], 1), a, x.flatten(1))
        return self.surrogate(h).view(x.shape)

    def extra_repr(self) -> str:
        return f"order={self.order}"
