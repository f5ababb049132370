"""Sawtooth dilations and the temporal receptive field of stacked neuron layers (MF-PSN Eq. 11, Fig. 2).

Layer l of a stack with order k_l and dilation d_l makes H^l[t] depend on its input at the delays
{0, d_l, 2 d_l, ..., (k_l - 1) d_l} (Eq. 10). A stack sees its input at every sum of one delay per
layer; the receptive field is the span of those delays, ``1 + sum_l (k_l - 1) d_l`` time steps.
Fig. 2 (k = 2, three layers): dilations 1, 1, 1 see the last 4 steps, the sawtooth 1, 2, 3 the last 7.
"""

from __future__ import annotations

from collections.abc import Sequence


def next_dilation(d: int) -> int:
    """d^{l+1} = d^l mod 3 + 1 (Eq. 11): 1 -> 2 -> 3 -> 1."""
    return d % 3 + 1


def sawtooth_dilations(num_layers: int, first: int = 1) -> list[int]:
    """Dilations of ``num_layers`` stacked neuron layers, d^0 = ``first`` (1 in the paper), Eq. 11."""
    if num_layers < 0:
        raise ValueError(f"num_layers must be >= 0, got {num_layers}")
    if first not in (1, 2, 3):
        raise ValueError(f"the sawtooth of Eq. 11 runs through 1, 2, 3; first = {first}")
    out = []
    d = first
    for _ in range(num_layers):
        out.append(d)
        d = next_dilation(d)
    return out


def _per_layer(orders: int | Sequence[int], dilations: Sequence[int]) -> list[tuple[int, int]]:
    ks = [orders] * len(dilations) if isinstance(orders, int) else list(orders)
    if len(ks) != len(dilations):
        raise ValueError(f"{len(ks)} orders for {len(dilations)} dilations")
    for k, d in zip(ks, dilations):
        if k < 1 or d < 1:
            raise ValueError(f"orders and dilations must be >= 1, got k={k}, d={d}")
    return list(zip(ks, dilations))


def receptive_delays(orders: int | Sequence[int], dilations: Sequence[int]) -> list[int]:
    """Sorted delays tau such that the stack's output at t depends on its input at t - tau."""
    delays = {0}
    for k, d in _per_layer(orders, dilations):
        delays = {a + j * d for a in delays for j in range(k)}
    return sorted(delays)


def receptive_field(orders: int | Sequence[int], dilations: Sequence[int]) -> int:
    """Temporal receptive field of a stack: 1 + sum_l (k_l - 1) d_l time steps (Fig. 2)."""
    return 1 + sum((k - 1) * d for k, d in _per_layer(orders, dilations))
