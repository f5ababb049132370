"""shiftpsn.sim.cosim on Icarus: handshake extremes, the configuration port, a reset in the middle of a
stream, cores without accumulator outputs. Expected values come from shiftpsn.golden.integer (scoreboard)."""

import numpy as np
import pytest

from shiftpsn.base.spec import uniform_spec
from shiftpsn.sim.cosim import cosimulate, regress, scrambled_weights
from shiftpsn.sim.cosim import generated as generated_core
from shiftpsn.sim.faults import fault_spec
from shiftpsn.sim.traffic import Phase, regress_stimulus, sequence_lengths


@pytest.fixture(scope="module")
def core():
    """fault_spec() generated with other power-up weights: every run loads the real ones via cfg."""
    spec = fault_spec()
    return generated_core(spec, power_up=scrambled_weights(spec))


def _plan(spec, steps, seed):
    rng = np.random.default_rng(seed)
    lengths = sequence_lengths(spec, rng, steps)
    return regress_stimulus(spec, rng, lengths), lengths


@pytest.mark.parametrize("gap_p,stall_p", [(0.0, 0.0), (0.9, 0.0), (0.0, 0.9), (0.9, 0.9), (0.5, 0.2)])
def test_valid_gaps_and_ready_stalls(core, gap_p, stall_p):
    x, lengths = _plan(core.spec, 300, seed=11)
    out = cosimulate(core, x, lengths, [Phase(0, len(lengths), gap_p, stall_p)], seed=3)
    assert out.mismatch is None, out.mismatch
    v = out.verdict
    assert v["beats_in"] == v["beats_out"] == 300
    # the probabilities took effect: idle input or stalled output cycles stretch the run
    assert v["cycles"] >= 0.8 * 300 / (1 - max(gap_p, stall_p)), v


def test_weights_are_loaded_through_the_config_port(core):
    x, lengths = _plan(core.spec, 200, seed=12)
    phases = [Phase(0, len(lengths))]
    assert cosimulate(core, x, lengths, phases).mismatch is None
    # negative control: without the configuration writes the power-up (scrambled) weights act
    stale = cosimulate(core, x, lengths, phases, load_weights=False, waves_on_failure=False)
    assert stale.mismatch is not None


def test_reset_in_the_middle_of_a_stream(core):
    x, lengths = _plan(core.spec, 400, seed=13)
    n = len(lengths)
    cut = sum(lengths[: n // 2 + 1]) - lengths[n // 2] // 2 - 1  # inside sequence n // 2
    phases = [Phase(0, n // 2 + 1, 0.3, 0.7, cut=cut, reset=True, first_after_reset=False),
              Phase(n // 2 + 1, n, 0.3, 0.3)]
    out = cosimulate(core, x, lengths, phases, seed=5)
    assert out.mismatch is None, out.mismatch
    after = sum(lengths[n // 2 + 1:])
    assert (out.epochs == 1).sum() == after  # every beat after the reset, exactly
    assert cut - 3 <= (out.epochs == 0).sum() <= cut  # only beats in flight may be lost


def test_core_without_accumulator_outputs():
    spec = uniform_spec(channels=5, order=3, dilation=3, emit_acc=False, weights="constant")
    outcome = regress(generated_core(spec), steps=600, seed=4)
    assert outcome.mismatch is None, outcome.mismatch
    assert "acc" not in outcome.got
