"""The integer golden model against a direct per-element loop written from INTERFACE.md section 2.

The reference below reads the raw spec dict and uses Python integers; it shares no code with
shiftpsn.golden.integer (no CoreSpec helpers, no numpy arithmetic).
"""

import numpy as np
import pytest

from shiftpsn.golden.integer import run
from shiftpsn.base.spec import CoreSpec
from shiftpsn.base.stimulus import random_stimulus
from shiftpsn.base.testing import random_spec


def reference(spec: dict, x: list) -> tuple[list, list]:
    """acc[b][t][c] = sum_i sign*(X[t-(k-1-i)d] << (shift-exp_min)); spike = acc >= theta."""
    k, d, e0 = spec["order"], spec["dilation"], spec["exp_min"]
    acc_out, spk_out = [], []
    for seq in x:
        acc_seq, spk_seq = [], []
        for t in range(len(seq)):
            acc_row, spk_row = [], []
            for c in range(spec["channels"]):
                acc = 0
                for i in range(k):
                    e = spec["shift"][c][i]
                    j = t - (k - 1 - i) * d
                    if e is None or j < 0:
                        continue
                    acc += spec["sign"][c][i] * (int(seq[j][c]) << (e - e0))
                acc_row.append(acc)
                spk_row.append(1 if acc >= spec["threshold"][c] else 0)
            acc_seq.append(acc_row)
            spk_seq.append(spk_row)
        acc_out.append(acc_seq)
        spk_out.append(spk_seq)
    return spk_out, acc_out


def assert_same(name, got, expected):
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.shape == expected.shape, f"{name}: shape {got.shape} != {expected.shape}"
    diff = np.argwhere(got != expected)
    assert diff.size == 0, (f"{name}: {len(diff)} mismatches; first at (b, t, c) = {tuple(diff[0])}: "
                            f"expected {expected[tuple(diff[0])]}, got {got[tuple(diff[0])]}")


def check(spec: CoreSpec, x: np.ndarray):
    spikes, acc = run(spec, x)
    ref_spikes, ref_acc = reference(spec.to_dict(), x.tolist())
    assert_same("acc", acc, ref_acc)
    assert_same("spikes", spikes, ref_spikes)
    assert spikes.dtype == np.uint8 and acc.dtype == np.int64


@pytest.mark.parametrize("block", range(4))
def test_random_specs_match_reference(block):
    """>= 200 random specs: C 1..64, k 1..16, d 1..4, input_width 2..16, exp ranges with negative and
    positive exponents, zero taps, thresholds beyond the accumulator range, B > 1."""
    rng = np.random.default_rng(1000 + block)
    for _ in range(55):
        spec = random_spec(rng, channels=(1, 64), order=(1, 16), dilation=(1, 4), input_width=(2, 16),
                           exp_lo=(-6, 3), exp_span=(0, 8))
        B = int(rng.integers(1, 4))
        T = int(rng.integers(1, 3 * spec.delay_depth + 4))
        check(spec, random_stimulus(spec, rng, B, T, extreme_fraction=0.2))


def _spec(**kw):
    base = dict(channels=1, order=1, dilation=1, input_width=8, exp_min=0, exp_max=0,
                shift=[[0]], sign=[[1]], threshold=[0])
    base.update(kw)
    return CoreSpec(**base)


def test_hand_worked_example():
    """k=2, d=2, weights 2^1 (newest) and -2^-1 (oldest), exp_min=-1: acc = 4*x[t] - x[t-2]."""
    spec = _spec(order=2, dilation=2, exp_min=-1, exp_max=1, shift=[[-1, 1]], sign=[[-1, 1]], threshold=[5])
    x = np.array([[1], [2], [3], [-4]], dtype=np.int16)
    spikes, acc = run(spec, x)
    assert acc[:, 0].tolist() == [4, 8, 11, -18]
    assert spikes[:, 0].tolist() == [0, 1, 1, 0]
    assert acc.shape == (4, 1)


def test_most_negative_input_largest_shift_negative_sign():
    """-2^(W-1) << R with sign -1 on every tap: the largest positive acc, which must fit acc_width."""
    k, W, R = 4, 8, 5
    spec = _spec(channels=2, order=k, input_width=W, exp_min=-2, exp_max=R - 2, shift=[[R - 2] * k] * 2,
                 sign=[[-1] * k, [1] * k], threshold=[2 ** (W - 1 + R) * k, -(2 ** (W - 1 + R)) * k])
    x = np.full((1, 5, 2), -(2 ** (W - 1)), dtype=np.int64)
    spikes, acc = run(spec, x)
    assert acc[0, -1].tolist() == [k * 2 ** (W - 1 + R), -k * 2 ** (W - 1 + R)]
    assert spec.acc_min <= acc.min() and acc.max() <= spec.acc_max
    assert spikes[0, -1].tolist() == [1, 1]
    check(spec, x)


def test_thresholds_beyond_accumulator_range():
    spec = _spec(channels=3, shift=[[0]] * 3, sign=[[1]] * 3, threshold=[10 ** 30, -(10 ** 30), 0])
    x = np.array([[127, -128, 0], [-128, 127, 5]], dtype=np.int64)
    spikes, _ = run(spec, x)
    assert spikes.tolist() == [[0, 1, 1], [0, 1, 1]]


def test_zero_taps_and_all_zero_channel():
    spec = _spec(channels=2, order=3, shift=[[None, None, None], [0, None, 0]], sign=[[1] * 3, [1, -1, -1]],
                 threshold=[0, 1])
    x = np.arange(8, dtype=np.int64).reshape(4, 2)
    spikes, acc = run(spec, x)
    assert acc[:, 0].tolist() == [0, 0, 0, 0]           # all taps zero: acc 0, spikes (0 >= 0)
    assert spikes[:, 0].tolist() == [1, 1, 1, 1]
    assert acc[:, 1].tolist() == [-1, -3, 1 - 5, 3 - 7]  # x[t-2] - x[t]


def test_sequences_in_a_batch_do_not_share_history():
    spec = _spec(order=3, dilation=2, shift=[[0, 0, 0]], sign=[[1, 1, 1]])
    x = np.array([[[5]] * 6, [[1]] * 6])
    _, acc = run(spec, x)
    assert acc[1, :, 0].tolist() == [1, 1, 2, 2, 3, 3]   # the second sequence never sees the 5s
    assert acc[0, :, 0].tolist() == [5, 5, 10, 10, 15, 15]


def test_sequence_shorter_than_delay_line():
    spec = _spec(order=4, dilation=4, shift=[[0] * 4], sign=[[1] * 4])
    spikes, acc = run(spec, np.array([[3], [4]]))
    assert acc[:, 0].tolist() == [3, 4]
