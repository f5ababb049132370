"""shiftpsn.sim.scoreboard: the expected stream (against a direct loop over the INTERFACE.md formula) and the
first-mismatch report for every kind of difference."""

import numpy as np
import pytest

from shiftpsn.base.spec import CoreSpec
from shiftpsn.sim.scoreboard import Expected, compare, driven_first_flags
from shiftpsn.sim.traffic import Phase, Plan

SPEC = CoreSpec(channels=2, order=3, dilation=2, input_width=4, exp_min=-1, exp_max=2,
                shift=[[2, None, -1], [0, 1, 2]], sign=[[1, 1, -1], [-1, 1, 1]], threshold=[3, -5])
LENGTHS = [3, 5, 1, 6]


def _direct(spec, x_seq):
    """acc[t][c] = sum_i sign*(X[t-(k-1-i)d] << (shift - exp_min)), X before the sequence = 0."""
    T, C = x_seq.shape
    acc = np.zeros((T, C), np.int64)
    for t in range(T):
        for c in range(C):
            for i in range(spec.order):
                j = t - (spec.order - 1 - i) * spec.dilation
                if j >= 0 and spec.shift[c][i] is not None:
                    acc[t, c] += spec.sign[c][i] * (int(x_seq[j, c]) << (spec.shift[c][i] - spec.exp_min))
    return acc


def _plan(phases):
    return Plan(design=SPEC.to_dict(), stimulus="", lengths=LENGTHS, results="", phases=phases)


@pytest.fixture
def x():
    return np.random.default_rng(3).integers(-8, 8, size=(sum(LENGTHS), 2))


def _perfect(exp):
    """What a correct core sends for every driven beat, epoch by epoch."""
    rows = np.concatenate([idx for idx, _ in exp.epochs])
    epochs = np.concatenate([np.full(len(idx), e) for e, (idx, _) in enumerate(exp.epochs)])
    got = {"spikes": exp.spikes[rows].copy(), "first": exp.first[rows].copy(), "acc": exp.acc[rows].copy(),
           "unknown": np.zeros(len(rows), bool)}
    return got, epochs


def test_expected_matches_direct_formula(x):
    exp = Expected(SPEC, _plan([Phase(0, 4)]), x)
    start = 0
    for b, n in enumerate(LENGTHS):
        acc = _direct(SPEC, x[start:start + n])
        np.testing.assert_array_equal(exp.acc[start:start + n], acc)
        np.testing.assert_array_equal(exp.spikes[start:start + n], acc >= np.array(SPEC.threshold))
        assert exp.sequence[start:start + n].tolist() == [b] * n
        assert exp.t[start:start + n].tolist() == list(range(n))
        start += n
    assert exp.first.tolist() == [1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]


def test_perfect_stream_passes(x):
    exp = Expected(SPEC, _plan([Phase(0, 2), Phase(2, 4, 0.5, 0.5)]), x)
    assert compare(exp, {"o": _perfect(exp)}) is None


def test_acc_mismatch_reports_sequence_t_channel(x):
    exp = Expected(SPEC, _plan([Phase(0, 4)]), x)
    got, ep = _perfect(exp)
    got["acc"][5, 1] += 1  # beat 5 = sequence 1, t 2
    m = compare(exp, {"o": (got, ep)})
    assert m.as_tuple() == (1, 2, 1, int(exp.acc[5, 1]), int(exp.acc[5, 1]) + 1)
    assert m.field == "acc" and "sequence 1, t 2, channel 1" in str(m)


def test_spike_and_first_mismatches(x):
    exp = Expected(SPEC, _plan([Phase(0, 4)]), x)
    got, ep = _perfect(exp)
    got["spikes"][9, 0] ^= 1  # sequence 3, t 0
    m = compare(exp, {"o": (got, ep)})
    assert (m.field, m.sequence, m.t, m.channel) == ("spikes", 3, 0, 0)
    got, ep = _perfect(exp)
    got["first"][3] = 0  # sequence 1 starts at beat 3
    m = compare(exp, {"o": (got, ep)})
    assert (m.field, m.sequence, m.t, m.channel, m.expected, m.got) == ("first", 1, 0, None, 1, 0)


def test_missing_extra_and_unknown_beats(x):
    exp = Expected(SPEC, _plan([Phase(0, 4)]), x)
    got, ep = _perfect(exp)
    short = {k: v[:-2] for k, v in got.items()}
    m = compare(exp, {"o": (short, ep[:-2])})
    assert (m.field, m.sequence, m.t, m.expected) == ("missing", 3, 4, 2)
    assert compare(exp, {"o": (short, ep[:-2])}, complete=False) is None  # a run still going on
    longer = {k: np.concatenate([v, v[-1:]]) for k, v in got.items()}
    m = compare(exp, {"o": (longer, np.concatenate([ep, ep[-1:]]))})
    assert (m.field, m.got) == ("extra", 1)
    got["unknown"][4] = True
    m = compare(exp, {"o": (got, ep)})
    assert (m.sequence, m.t) == (1, 1) and "X or Z" in m.field


def test_reset_epoch_may_end_early_but_not_differ(x):
    # phase 0 drives sequences 0-1 but stops after 5 beats (inside sequence 1) and resets
    plan = _plan([Phase(0, 2, cut=5, reset=True, first_after_reset=False), Phase(2, 4)])
    exp = Expected(SPEC, plan, x)
    assert [len(idx) for idx, _ in exp.epochs] == [5, 7]
    assert [exact for _, exact in exp.epochs] == [False, True]
    assert driven_first_flags(plan)[8] == 0  # sequence 2 starts after the reset without `first`
    got, ep = _perfect(exp)
    keep = np.r_[0:3, 5:12]  # two in-flight beats of epoch 0 were dropped by the reset
    assert compare(exp, {"o": ({k: v[keep] for k, v in got.items()}, ep[keep])}) is None
    got["acc"][2, 0] -= 1  # a received epoch-0 beat that is wrong is still caught
    m = compare(exp, {"o": (got, ep)})
    assert (m.sequence, m.t, m.channel) == (0, 2, 0)
