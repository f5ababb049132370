"""Sawtooth dilations (papers/000 Eq. 11) and temporal receptive fields (Fig. 2)."""

import pytest
import torch

from shiftpsn.golden.accel import temporal_conv
from shiftpsn.golden.model.dilation import next_dilation, receptive_delays, receptive_field, sawtooth_dilations


def test_sawtooth_by_hand():
    assert sawtooth_dilations(7) == [1, 2, 3, 1, 2, 3, 1]
    assert sawtooth_dilations(3, first=3) == [3, 1, 2]
    assert sawtooth_dilations(0) == []
    assert [next_dilation(d) for d in (1, 2, 3)] == [2, 3, 1]


def test_figure_2_numbers():
    """k = 2, three layers: the sliding PSN (d = 1) sees the last 4 steps, sawtooth dilations 7."""
    assert receptive_field(2, [1, 1, 1]) == 4
    assert receptive_field(2, sawtooth_dilations(3)) == 7
    assert receptive_delays(2, [1, 1, 1]) == [0, 1, 2, 3]
    assert receptive_delays(2, sawtooth_dilations(3)) == list(range(7))  # no gaps (no grid effect)
    assert receptive_delays(2, [2, 2, 2]) == [0, 2, 4, 6]                 # a fixed d = 2 leaves holes


def impulse_delays(orders, dilations, T=64):
    """Delays at which a stack of dilated convolutions (all-ones weights) answers an impulse."""
    x = torch.zeros(T, 1, 1, dtype=torch.float64)
    x[0] = 1.0
    for k, d in zip(orders, dilations):
        x = temporal_conv(x, torch.ones(1, k, dtype=torch.float64), d)
    return [t for t in range(T) if x[t, 0, 0] != 0]


@pytest.mark.parametrize("seed", range(6))
def test_delays_match_impulse_response_of_real_stack(seed):
    g = torch.Generator().manual_seed(seed)
    layers = int(torch.randint(1, 5, (1,), generator=g))
    orders = torch.randint(1, 5, (layers,), generator=g).tolist()
    dilations = sawtooth_dilations(layers) if seed % 2 else torch.randint(1, 4, (layers,), generator=g).tolist()
    delays = receptive_delays(orders, dilations)
    assert delays == impulse_delays(orders, dilations)
    assert receptive_field(orders, dilations) == max(delays) + 1


def test_bad_arguments():
    with pytest.raises(ValueError):
        receptive_field([2, 2], [1])
    with pytest.raises(ValueError):
        sawtooth_dilations(2, first=4)
    with pytest.raises(ValueError):
        receptive_delays(0, [1])
