"""The Leaky Integrate-and-Fire neuron, stepped serially: the traditional baseline the parallel neurons
are compared against (PSU Eq. 1-3, PSN Eq. 1-3)::

    H[t] = V[t-1] + (X[t] - V[t-1]) / tau                  charge, V_rest = 0      (Eq. 1)
    S[t] = Theta(H[t] - Vth)                               fire                    (Eq. 2)
    V[t] = H[t] (1 - S[t]) + V_reset S[t]                  hard reset              (Eq. 3)
    V[t] = H[t] - Vth S[t]                                 soft reset              (Eq. 3)

with V[-1] = V_reset = 0. Following PSN section 4.2 the reset uses the detached spike
(``detach_reset``), so gradients flow through the charge only.
"""

from __future__ import annotations

import torch
from torch import nn

from ._common import check_time_first, default_surrogate

RESETS = ("soft", "hard")


class LIF(nn.Module):
    """Serial LIF neuron with soft or hard reset.

    Parameters
    ----------
    reset : {"soft", "hard"}
    tau : float
        Membrane time constant (2 as in PSN and PSU).
    v_threshold, v_reset : float
    detach_reset : bool
        Use ``S.detach()`` in the reset (PSN section 4.2).
    surrogate : callable, optional
    """

    def __init__(self, reset: str = "soft", tau: float = 2.0, v_threshold: float = 1.0,
                 v_reset: float = 0.0, detach_reset: bool = True, surrogate=None):
        super().__init__()
        if reset not in RESETS:
            raise ValueError(f"reset must be one of {RESETS}, got {reset!r}")
        self.reset, self.tau, self.v_threshold, self.v_reset = reset, tau, v_threshold, v_reset
        self.detach_reset = detach_reset
        self.surrogate = surrogate or default_surrogate()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_time_first(x, None, type(self).__name__)
        v = torch.full_like(x[0], self.v_reset)
        spikes = []
        for x_t in x:
            h = v + (x_t - v) / self.tau
            s = self.surrogate(h - self.v_threshold)
            s_r = s.detach() if self.detach_reset else s
            if self.reset == "soft":
                v = h - self.v_threshold * s_r
            else:
                v = h * (1.0 - s_r) + self.v_reset * s_r
            spikes.append(s)
        return torch.stack(spikes)

    def extra_repr(self) -> str:
        return f"reset={self.reset}, tau={self.tau}, v_threshold={self.v_threshold}"
