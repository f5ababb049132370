"""Fault injection: every hand-made faulty variant of a generated core (shiftpsn.sim.faults) must fail
``shiftpsn regress --verilog faulty.v`` with default settings (exit 1), and the healthy core,
generated the same way, must pass (exit 0)."""

import pytest

from shiftpsn.cli import main as shiftpsn
from shiftpsn.sim.faults import ENGINE_FAULTS, FAULTS, engine_fault_spec, write_faulty_core


def _regress(path, capsys):
    rc = shiftpsn(["regress", "--verilog", str(path)])  # default --steps, --seed, --sim
    return rc, capsys.readouterr().err


def test_healthy_core_passes(tmp_path, capsys):
    rc, err = _regress(write_faulty_core(None, tmp_path), capsys)
    assert rc == 0, err


def test_at_least_ten_faults():
    assert len(FAULTS) >= 10
    assert len({f.name for f in FAULTS}) == len(FAULTS)


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_fault_is_caught(fault, tmp_path, capsys):
    path = write_faulty_core(fault, tmp_path)  # raises if the edit finds nothing to change
    rc, err = _regress(path, capsys)
    assert rc == 1, f"{fault.name} ({fault.description}) not caught: {err}"
    assert "FAIL" in err and "(sequence, t, c, expected, got)" in err, err


# ----------------------------------------------------------------------------- the engine

def test_healthy_engine_passes(tmp_path, capsys):
    rc, err = _regress(write_faulty_core(None, tmp_path, spec=engine_fault_spec()), capsys)
    assert rc == 0, err


@pytest.mark.parametrize("fault", ENGINE_FAULTS, ids=[f.name for f in ENGINE_FAULTS])
def test_engine_fault_is_caught(fault, tmp_path, capsys):
    """Wrong history address, a read-during-write hazard, one neuron's history kept on first, lanes
    swapped, an off-by-one neuron-group counter: each fails ``regress`` on the engine."""
    path = write_faulty_core(fault, tmp_path, spec=engine_fault_spec())
    rc, err = _regress(path, capsys)
    assert rc == 1, f"{fault.name} ({fault.description}) not caught: {err}"
    assert "FAIL" in err and "(sequence, t, c, expected, got)" in err, err
