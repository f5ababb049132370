"""shiftpsn.sim.traffic (sequence lengths, stimulus, phases, threshold aiming, plan files) and shiftpsn.sim.matrix (the
pairwise covering design)."""

import itertools

import numpy as np

from shiftpsn.golden.integer import run as golden_run
from shiftpsn.base.spec import uniform_spec
from shiftpsn.sim.faults import fault_spec
from shiftpsn.sim.matrix import FACTORS, MATRIX, pairwise, row_spec
from shiftpsn.sim.traffic import Phase, Plan, aim_at_thresholds, default_phases, regress_stimulus, sequence_lengths


def test_sequence_lengths_sum_and_variety():
    spec = uniform_spec()
    lengths = sequence_lengths(spec, np.random.default_rng(0), 3000)
    assert sum(lengths) == 3000 and min(lengths) >= 1
    assert sum(n <= spec.delay_depth + 1 for n in lengths) >= 20  # short sequences, where history matters
    assert max(lengths) > 2 * (spec.delay_depth + 1)
    assert sequence_lengths(spec, np.random.default_rng(0), 1) == [1]


def test_regress_stimulus_has_extremes_and_fits():
    spec = uniform_spec(input_width=6)
    rng = np.random.default_rng(1)
    lengths = sequence_lengths(spec, rng, 2000)
    x = regress_stimulus(spec, rng, lengths)
    assert x.shape == (2000, spec.channels)
    assert x.min() == spec.input_min and x.max() == spec.input_max
    starts = np.cumsum([0] + lengths)
    # sequence 8 is a constant run of input_min (largest accumulators)
    if len(lengths) > 8:
        assert (x[starts[8]:starts[9]] == spec.input_min).all()


def test_default_phases_cover_the_plan():
    lengths = [3] * 40
    phases = default_phases(40, lengths)
    assert phases[0].start == 0 and phases[-1].stop == 40
    assert all(a.stop == b.start for a, b in zip(phases, phases[1:]))
    assert {(p.gap_p, p.stall_p) for p in phases} >= {(0.0, 0.0), (0.9, 0.0), (0.0, 0.9)}
    resets = [p for p in phases if p.reset]
    assert len(resets) == 1 and resets[0].cut < 3 * (resets[0].stop - resets[0].start)
    assert not resets[0].first_after_reset
    one = default_phases(1, [5])
    assert [(p.start, p.stop) for p in one] == [(0, 1)] and not one[0].reset


def test_aiming_hits_thresholds():
    spec = fault_spec()
    rng = np.random.default_rng(2)
    x = rng.integers(spec.input_min, spec.input_max + 1, size=(2000, spec.channels))
    aimed = aim_at_thresholds(spec, x, rng, 0.3)
    assert aimed.min() >= spec.input_min and aimed.max() <= spec.input_max
    theta = np.array(spec.threshold)

    def hits(seq):
        _, acc = golden_run(spec, seq)
        return ((acc == theta) | (acc == theta - 1)).sum(axis=0)

    before, after = hits(x), hits(aimed)
    assert (after[:2] >= 50).all(), after  # channels 0 and 1 have weight-1 or -2 taps: reachable
    assert after.sum() > 10 * max(1, before.sum())


def test_plan_roundtrip(tmp_path):
    plan = Plan(design=uniform_spec().to_dict(), stimulus="x.npy", lengths=[2, 3], results="r.npz",
                phases=[Phase(0, 1, 0.5, 0.9, cut=1, reset=True, first_after_reset=False), Phase(1, 2)], seed=7)
    plan.save(tmp_path / "p.json")
    assert Plan.load(tmp_path / "p.json") == plan


def test_pairwise_covers_every_pair():
    for factors in (FACTORS, {"a": [1, 2, 3], "b": [1, 2], "c": [1, 2, 3, 4], "d": [0, 1]}):
        rows = pairwise(factors)
        for a, b in itertools.combinations(factors, 2):
            for u, v in itertools.product(factors[a], factors[b]):
                assert any(r[a] == u and r[b] == v for r in rows), (a, u, b, v)
    assert len(MATRIX) <= 24  # instead of the 2304 of the cartesian product
    assert pairwise(FACTORS) == MATRIX  # deterministic


def test_matrix_specs_are_valid_and_seeded():
    for i, row in enumerate(MATRIX):
        spec = row_spec(row, seed=i)
        assert (spec.channels, spec.order, spec.input_width) == (row["channels"], row["order"], row["input_width"])
        assert spec == row_spec(row, seed=i)
