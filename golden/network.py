"""Bit-exact integer model of a whole network (docs/CONTRACT.md section 5), vectorized in numpy int64.

    dense:  Y[t][o] = bias[o] + sum_i weight[o][i] * X[t][i]
    psn:    X'[t][c] = spike[t][c] of the core (shiftpsn.golden.integer) on input Y[t][c]
    class:  argmax_o sum_t Y_last[t][o], the lowest o on ties

Every sequence of a batch starts with empty neuron histories. A dense layer is one int64 matrix product
over all sequences and steps at once (exact: :class:`shiftpsn.base.network.NetworkSpec` bounds every
partial sum within int64 and every neuron layer's input within its ``input_width`` at load); a neuron
layer is :func:`shiftpsn.golden.integer.accumulate` / :func:`~shiftpsn.golden.integer.spike`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shiftpsn.base.errors import StimulusError
from shiftpsn.base.network import INT64_MAX, DenseLayer, NetworkSpec, check_network_input

from .integer import accumulate, spike


@dataclass
class NetworkResult:
    """``logits`` int64 (B, T, O), ``classes`` int64 (B,), ``spikes`` {L: uint8 (B, T, C)} per neuron
    layer L (its index in ``layers``)."""

    logits: np.ndarray
    classes: np.ndarray
    spikes: dict

    def arrays(self) -> dict[str, np.ndarray]:
        """The results file's arrays: ``logits``, ``classes``, ``spikes_L``."""
        d = {"logits": self.logits, "classes": self.classes}
        d.update({f"spikes_{L}": s for L, s in self.spikes.items()})
        return d


def dense(layer: DenseLayer, x: np.ndarray) -> np.ndarray:
    """Y (B, T, O) int64 of a dense layer on x (B, T, I) int64 (or 0/1 uint8)."""
    B, T, I = x.shape
    y = x.reshape(B * T, I).astype(np.int64, copy=False) @ layer.weight.T
    y += layer.bias
    return y.reshape(B, T, layer.out_features)


def classify(logits: np.ndarray) -> np.ndarray:
    """argmax_o sum_t logits[b, t, o], the lowest o on ties (int64 (B,))."""
    return np.argmax(logits.sum(axis=1), axis=1).astype(np.int64)


def run_network(net: NetworkSpec, x) -> NetworkResult:
    """Run the network on an input of shape (T, I) or (B, T, I) (a (T, I) input is one sequence, B = 1).

    Raises StimulusError on an input of the wrong dtype, shape or range, or one so long that the class
    sums over time could leave int64.
    """
    h = check_network_input(x, net)
    T = h.shape[1]
    if T * net.logit_bound > INT64_MAX:
        raise StimulusError(f"input: {T} time steps could carry the class sums (up to {T} x "
                            f"{net.logit_bound}) beyond int64; give shorter sequences")
    spikes = {}
    for L, layer in enumerate(net.layers):
        if isinstance(layer, DenseLayer):
            h = dense(layer, h)
        else:
            s = spike(layer, accumulate(layer, h))
            spikes[L] = s
            h = s
    return NetworkResult(logits=h, classes=classify(h), spikes=spikes)
