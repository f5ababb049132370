"""Co-simulation of the pairwise core matrix (shiftpsn.sim.matrix) against the golden model, fixed seeds.

``make test`` runs a representative subset on both simulators; the whole matrix (16 cores x 2
simulators) is marked slow and runs in ``make regress``.
"""

import pytest

from shiftpsn.sim.cosim import regress, scrambled_weights
from shiftpsn.sim.cosim import generated as generated_core
from shiftpsn.sim.matrix import ENGINE_MATRIX, MATRIX, engine_row_name, engine_row_spec, row_name, row_spec

STEPS = 1500
#: rows that cover, between them, every level of every factor except C = 64 and k = 1
FAST = {"icarus": [1, 6, 10, 11], "verilator": [7]}


def _check(index: int, sim: str) -> None:
    spec = row_spec(MATRIX[index], seed=index)
    power_up = scrambled_weights(spec) if spec.weights == "runtime" else None
    outcome = regress(generated_core(spec, power_up=power_up), sim=sim, steps=STEPS, seed=index)
    v = outcome.verdict
    assert outcome.mismatch is None, f"{row_name(MATRIX[index])} on {sim}: {outcome.mismatch}" \
                                     f" (waveform: {outcome.waves})"
    assert v["stalled"] is None
    # every beat came out except the few in flight when the mid-stream reset hit
    assert v["beats_in"] - (spec.pipeline + 2) <= v["beats_out"] <= v["beats_in"] <= STEPS


@pytest.mark.parametrize("sim,index", [(s, i) for s, rows in FAST.items() for i in rows],
                         ids=lambda p: str(p))
def test_matrix_subset(sim, index):
    _check(index, sim)


@pytest.mark.slow
@pytest.mark.parametrize("sim", ["icarus", "verilator"])
@pytest.mark.parametrize("index", range(len(MATRIX)), ids=[row_name(r) for r in MATRIX])
def test_matrix_full(sim, index):
    _check(index, sim)


# ----------------------------------------------------------------------------- the engine
#: engine rows run by ``make test``: the three weight organisations, both weight modes and arithmetics
ENGINE_FAST = {"icarus": [2, 8, 10], "verilator": [13]}


def _check_engine(index: int, sim: str) -> None:
    spec = engine_row_spec(ENGINE_MATRIX[index], seed=100 + index)
    steps = max(40, 1500 // spec.beats_per_step)  # about 1,500 beats
    power_up = scrambled_weights(spec) if spec.weights == "runtime" else None
    outcome = regress(generated_core(spec, power_up=power_up), sim=sim, steps=steps, seed=index)
    v = outcome.verdict
    assert outcome.mismatch is None, f"{engine_row_name(ENGINE_MATRIX[index])} on {sim}: {outcome.mismatch}" \
                                     f" (waveform: {outcome.waves})"
    assert v["stalled"] is None
    beats = steps * spec.beats_per_step
    assert v["beats_in"] - (spec.pipeline + 4) <= v["beats_out"] <= v["beats_in"] <= beats


@pytest.mark.parametrize("sim,index", [(s, i) for s, rows in ENGINE_FAST.items() for i in rows],
                         ids=lambda p: str(p))
def test_engine_matrix_subset(sim, index):
    _check_engine(index, sim)


@pytest.mark.slow
@pytest.mark.parametrize("sim", ["icarus", "verilator"])
@pytest.mark.parametrize("index", range(len(ENGINE_MATRIX)), ids=[engine_row_name(r) for r in ENGINE_MATRIX])
def test_engine_matrix_full(sim, index):
    _check_engine(index, sim)
