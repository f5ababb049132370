"""Bit-exact integer model of a whole network (docs/CONTRACT.md section 5), vectorized in numpy int64.

    dense:  Y[t][o] = bias[o] + sum_i weight[o][i] * X[t][i]
    psn:    X'[t][c] = spike[t][c] of the core (shiftpsn.golden.integer) on input Y[t][c]
    class:  argmax_o sum_t Y_last[t][o], the lowest o on ties

Every sequence of a batch starts with empty neuron histories. A dense layer is one int64 matrix product
over all sequences and steps at once (exact: :class:`shiftpsn.base.network.NetworkSpec` bounds every
partial sum within int64 and every neuron layer's input within its ``input_width`` at load); each layer
computes through its ``forward`` (the layer protocol, ``shiftpsn.base.layers``), run in order by
``NetworkSpec.forward``; this module validates the input and collects the results.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shiftpsn.base.errors import StimulusError
from shiftpsn.base.layers import DenseLayer
from shiftpsn.base.network import INT64_MAX, NetworkSpec, check_network_input


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
    """Y (B, T, O) int64 of a dense layer on x (B, T, I) int64 (or 0/1 uint8) (``DenseLayer.forward``)."""
    return layer.forward(x)


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
    outputs = net.forward(h)
    spikes = {L: outputs[L] for L in net.neuron_indices}
    return NetworkResult(logits=outputs[-1], classes=classify(outputs[-1]), spikes=spikes)
