"""Parallel Spiking Unit and its learnable variants (PSU, Li et al.): PSU, IPSU, RPSU.

The LIF charge without reset is a matrix product V = A I (Eq. 4) with the lower-triangular leak
matrix of Eq. 5, A[i][j] = (1/tau) (1 - 1/tau)^{i-j} for i >= j. The soft reset's loss of potential
is R = B S (Eq. 6) with Eq. 7's B[i][j] = Vth (1 - 1/tau)^{i-j} for i > j (0 on and above the
diagonal). The PSU replaces the unknown spikes S in the reset by the estimate sigma(A I):

    S = Theta(A I - B sigma(A I) - Vth)                     PSU   (Eq. 10)
    S = Theta(A_I I - B sigma(A_R I) - Vth)                 IPSU / RPSU (Eq. 11)

The IPSU learns the integration matrix A_I (A_R = A fixed), the RPSU learns the reset-estimate
matrix A_R (A_I = A fixed); learnable matrices are causally masked to lower-triangular form
(Eq. 12) and initialized to A. Time-first input (T, N, ...).
"""

from __future__ import annotations

import torch
from torch import nn

from ._common import check_time_first, default_surrogate

VARIANTS = ("psu", "ipsu", "rpsu")


def leak_matrix(steps: int, tau: float) -> torch.Tensor:
    """A of PSU Eq. 5: (1/tau) (1 - 1/tau)^{i-j} for i >= j, else 0."""
    lag = torch.arange(steps).unsqueeze(1) - torch.arange(steps).unsqueeze(0)
    decay = (1.0 - 1.0 / tau) ** lag.clamp(min=0).double()
    return torch.where(lag >= 0, decay / tau, 0.0).float()


def reset_matrix(steps: int, tau: float, v_threshold: float) -> torch.Tensor:
    """B of PSU Eq. 7: Vth (1 - 1/tau)^{i-j} for i > j, else 0."""
    lag = torch.arange(steps).unsqueeze(1) - torch.arange(steps).unsqueeze(0)
    decay = (1.0 - 1.0 / tau) ** lag.clamp(min=0).double()
    return torch.where(lag > 0, v_threshold * decay, 0.0).float()


class PSU(nn.Module):
    """PSU / IPSU / RPSU (PSU Eq. 4-12).

    Parameters
    ----------
    steps : int
        T.
    variant : {"psu", "ipsu", "rpsu"}
    tau, v_threshold : float
        LIF constants of Eq. 5 and 7 (2 and 1).
    surrogate : callable, optional
    """

    def __init__(self, steps: int, variant: str = "psu", tau: float = 2.0, v_threshold: float = 1.0,
                 surrogate=None):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
        self.steps, self.variant, self.tau, self.v_threshold = steps, variant, tau, v_threshold
        a = leak_matrix(steps, tau)
        self.register_buffer("leak", a)
        self.register_buffer("reset", reset_matrix(steps, tau, v_threshold))
        self.register_buffer("causal", torch.tril(torch.ones(steps, steps)))
        # the one learnable matrix of IPSU (A_I) or RPSU (A_R), initialized to A
        self.learned = nn.Parameter(a.clone()) if variant != "psu" else None
        self.surrogate = surrogate or default_surrogate()

    def matrices(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(A_I, A_R) of Eq. 11; the learnable one is masked to lower-triangular (Eq. 12)."""
        if self.variant == "psu":
            return self.leak, self.leak
        learned = self.learned * self.causal
        return (learned, self.leak) if self.variant == "ipsu" else (self.leak, learned)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_time_first(x, self.steps, type(self).__name__)
        flat = x.flatten(1)
        a_i, a_r = self.matrices()
        v = a_i @ flat - self.reset @ torch.sigmoid(a_r @ flat)
        return self.surrogate(v - self.v_threshold).view(x.shape)

    def extra_repr(self) -> str:
        return f"steps={self.steps}, variant={self.variant}, tau={self.tau}"
