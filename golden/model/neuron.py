"""The mul-free channel-wise dilated Parallel Spiking Neuron (MF-PSN section 4, Appendix C).

Charging (Eq. 10 / 17) with fused, quantized weights and the threshold as a bias (Eq. 18, 26-28)::

    V[t][c] = sum_{i=0..k-1} Q(W_f)[c][i] * X[t - (k-1-i) d][c] + b_f[c]      (X[j] = 0 for j < 0)
    S[t][c] = Theta(V[t][c])                                                   (Vth = -b_f)

``Q`` is the power-of-two quantizer of Eq. 13 with the whole STE of Eq. 16 (:mod:`shiftpsn.golden.model.quant`);
``(W_f, b_f)`` come from the threshold module (:mod:`shiftpsn.golden.model.threshold`): batch norm fused by
Eq. 27-28 (default) or a plain learnable Vth. With ``quantize=False`` Q is the identity and the
module is the plain channel-wise PSN; with channel-shared weights, d = 1 and a plain threshold it is
the sliding PSN of PSN Eq. 14-15.

Training with the BN threshold runs the convolution twice (Appendix C): ``conv(X, W)`` for the batch
statistics, then ``conv(X, Q(W_f))``; in eval mode ``(Q(W_f), b_f)`` come from the running statistics
and the convolution runs once. The convolution is ``shiftpsn.golden.accel.temporal_conv`` (``method``).

Exactness of the step mode: :meth:`MulFreePSN.step` keeps a ring buffer of the last (k-1)d+1 inputs
and evaluates the same ``temporal_conv`` on that window, so step and multi-step outputs are equal
bit for bit whenever the method's per-output reduction does not depend on the output's position.
That always holds when the arithmetic is exact (integer or fixed-point inputs with power-of-two
weights: the hardware case, :mod:`shiftpsn.golden.export`), and was observed for PyTorch's CPU depthwise
conv1d on float inputs; PyTorch's CPU conv1d for a single row (N* = 1, C = 1) with k >= 8 rounds
position-dependently, so float inputs there may differ in the last bit.
"""

from __future__ import annotations

import torch
from torch import nn

from shiftpsn.golden.accel import LAYOUTS, temporal_conv
from .quant import check_exponent_range, quantize_pow2
from .surrogate import ATan, Surrogate
from .threshold import THRESHOLDS

STEP_MODES = ("m", "s")


class MulFreePSN(nn.Module):
    """Mul-free channel-wise dilated PSN (Eq. 10, 13, 16-18, 26-28).

    Parameters
    ----------
    channels, order, dilation : int
        C, k, d of Eq. 10.
    quantize : bool
        Use Q(W_f) (Eq. 13) in the convolution; False gives the plain channel-wise PSN.
    exp_min, exp_max : int
        Exponent clamp of Q: quantized weights are +-2^e with e in [exp_min, exp_max], or 0.
    threshold : {"bn", "bias"}
        Batch-norm threshold (Appendix C, Eq. 26-28; gamma = 1, beta = -1 at init) or a plain learnable
        Vth (Eq. 18, init 1).
    surrogate : Surrogate, optional
        Spike function with surrogate gradient; default ``ATan(alpha=2)`` (MF-PSN Appendix E).
    layout : {"time-first", "time-last"}
        Multi-step input layout, (T, N, C, ...) or (N, C, ..., T).
    method : str
        ``shiftpsn.golden.accel.temporal_conv`` method.
    step_mode : {"m", "s"}
        What ``forward`` does: "m" whole sequences, "s" one time step (:meth:`step`).
    exp_init : bool
        Weights W[c][i] = 2^(i - k + 1) (PSN Eq. 17, SpikingJelly's SlidingPSN), else the
        Kaiming-uniform init of ``nn.Conv1d`` (bound 1/sqrt(k)).
    eps, momentum : float
        Batch-norm constants (``threshold="bn"``).
    """

    def __init__(self, channels: int, order: int, dilation: int = 1, *, quantize: bool = True,
                 exp_min: int = -8, exp_max: int = 7, threshold: str = "bn",
                 surrogate: Surrogate | None = None, layout: str = "time-first", method: str = "vanilla",
                 step_mode: str = "m", exp_init: bool = True, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        for name, v in (("channels", channels), ("order", order), ("dilation", dilation)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        check_exponent_range(exp_min, exp_max)
        if threshold not in THRESHOLDS:
            raise ValueError(f"threshold must be one of {sorted(THRESHOLDS)}, got {threshold!r}")
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
        if step_mode not in STEP_MODES:
            raise ValueError(f"step_mode must be one of {STEP_MODES}, got {step_mode!r}")
        self.channels, self.order, self.dilation = channels, order, dilation
        self.quantize = bool(quantize)
        self.exp_min, self.exp_max = exp_min, exp_max
        self.layout, self.method, self.step_mode = layout, method, step_mode
        self.threshold_kind = threshold
        self.surrogate = surrogate if surrogate is not None else ATan(2.0)
        if exp_init:
            w = torch.pow(2.0, torch.arange(order, dtype=torch.float32) - (order - 1)).repeat(channels, 1)
        else:
            w = torch.empty(channels, order).uniform_(-order ** -0.5, order ** -0.5)
        self.weight = nn.Parameter(w)  # W (C, k); tap k-1 weights the newest input
        if threshold == "bn":
            self.threshold = THRESHOLDS[threshold](channels, eps=eps, momentum=momentum)
        else:
            self.threshold = THRESHOLDS[threshold](channels)
        self.reset()

    # ------------------------------------------------------------------ helpers
    @property
    def window(self) -> int:
        """Inputs one output depends on, counting the gaps: (k-1)d + 1 (the step-mode ring buffer)."""
        return (self.order - 1) * self.dilation + 1

    @property
    def channel_dim(self) -> int:
        """Axis of C in a multi-step input: 2 for time-first (T, N, C, ...), 1 for time-last."""
        return 2 if self.layout == "time-first" else 1

    def _conv(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return temporal_conv(x, weight, self.dilation, self.layout, self.method)

    def _check_input(self, x: torch.Tensor, cdim: int, what: str) -> None:
        if x.dim() <= cdim or x.shape[cdim] != self.channels:
            raise ValueError(f"{what}: expected {self.channels} channels on axis {cdim} "
                             f"({self.layout}), got shape {tuple(x.shape)}")

    def fused_parameters(self, x: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The weight and bias the convolution uses: ``(Q(W_f) or W_f, b_f)``, shapes (C, k), (C,).

        With the BN threshold in training mode ``x`` (a multi-step input) is required: its batch
        statistics (and a first convolution) define W_f and b_f, and the running statistics are
        updated. Otherwise the running statistics / Vth are used and ``x`` is ignored.
        """
        if self.threshold.needs_statistics and self.training:
            if x is None:
                raise ValueError("fused_parameters needs the input batch in training mode (BN statistics)")
            mean, var = self.threshold.batch_statistics(self._conv(x, self.weight), self.channel_dim)
            w_f, b_f = self.threshold.fuse(self.weight, mean, var)
        else:
            w_f, b_f = self.threshold.fuse(self.weight)
        if self.quantize:
            w_f = quantize_pow2(w_f, self.exp_min, self.exp_max)
        return w_f, b_f

    def bias_view(self, b: torch.Tensor, ndim: int, cdim: int) -> torch.Tensor:
        """Per-channel ``b`` (C,) shaped to broadcast over an ``ndim``-axis tensor with C on ``cdim``."""
        shape = [1] * ndim
        shape[cdim] = self.channels
        return b.reshape(shape)

    # ------------------------------------------------------------------ multi-step
    def charge(self, x: torch.Tensor) -> torch.Tensor:
        """V = conv(X, Q(W_f)) + b_f for a whole sequence (multi-step layout); spikes are V >= 0."""
        self._check_input(x, self.channel_dim, "MulFreePSN input")
        w, b = self.fused_parameters(x)
        h = self._conv(x, w)
        return h + self.bias_view(b, h.dim(), self.channel_dim).to(h.dtype)

    def multi_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        """Spikes S = Theta(V) (Eq. 18) of a whole sequence in ``layout``."""
        return self.surrogate(self.charge(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.multi_step_forward(x) if self.step_mode == "m" else self.step(x)

    # ------------------------------------------------------------------ step by step
    def reset(self) -> None:
        """Forget the step-mode history (the next :meth:`step` starts a new sequence, X[j<0] = 0)."""
        self._ring: list[torch.Tensor] | None = None
        self._head = -1

    def step_charge(self, x_t: torch.Tensor) -> torch.Tensor:
        """V[t] for one time step ``x_t`` of shape (N, C, ...), given the buffered history."""
        if self.threshold.needs_statistics and self.training:
            raise RuntimeError("step mode with the BN threshold needs eval mode: batch statistics "
                               "are defined over whole sequences (call .eval())")
        self._check_input(x_t, 1, "MulFreePSN step input")
        L = self.window
        if self._ring is None:
            self._ring = [torch.zeros_like(x_t) for _ in range(L)]
        elif self._ring[0].shape != x_t.shape:
            raise ValueError(f"step input shape {tuple(x_t.shape)} differs from the buffered "
                             f"{tuple(self._ring[0].shape)}; call reset() to start a new sequence")
        self._head = (self._head + 1) % L
        self._ring[self._head] = x_t
        # the window X[t-(L-1)] .. X[t] in time order, in the module's layout
        win = torch.stack([self._ring[(self._head + 1 + j) % L] for j in range(L)])
        if self.layout == "time-last":
            win = win.movedim(0, -1)
        w, b = self.fused_parameters()
        h = self._conv(win, w)
        h_t = h[-1] if self.layout == "time-first" else h[..., -1]
        return h_t + self.bias_view(b, h_t.dim(), 1).to(h_t.dtype)

    def step(self, x_t: torch.Tensor) -> torch.Tensor:
        """Spikes S[t] for one time step (N, C, ...); the history lives in a ring buffer of (k-1)d+1."""
        return self.surrogate(self.step_charge(x_t))

    def extra_repr(self) -> str:
        return (f"channels={self.channels}, order={self.order}, dilation={self.dilation}, "
                f"quantize={self.quantize}, exp=[{self.exp_min}, {self.exp_max}], "
                f"threshold={self.threshold_kind!r}, layout={self.layout!r}, method={self.method!r}, "
                f"step_mode={self.step_mode!r}")
