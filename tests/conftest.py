"""Shared fixtures: run the ``shiftpsn`` console script as a user would."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SHIFTPSN = str(Path(sys.executable).parent / "shiftpsn")


def run_cli(*args, timeout=600, **kw) -> subprocess.CompletedProcess:
    """Run ``shiftpsn ARGS`` and return the completed process (text output captured)."""
    return subprocess.run([SHIFTPSN, *map(str, args)], capture_output=True, text=True, timeout=timeout, **kw)


def assert_usage_error(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit code 2, one line on stderr naming the problem, no traceback."""
    err = proc.stderr.strip()
    assert proc.returncode == 2, f"exit {proc.returncode}, stderr: {proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    assert len(err.splitlines()) == 1, f"expected one line, got: {proc.stderr!r}"
    for f in fragments:
        assert f in err, f"{f!r} not in {err!r}"


def assert_equal(got, want, what):
    """Whole arrays equal, else the first mismatch (index, got, expected) named."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    bad = np.argwhere(got != want)
    assert not len(bad), f"{what}: first mismatch at {tuple(bad[0])}: got {got[tuple(bad[0])]}, " \
                         f"expected {want[tuple(bad[0])]}"


@pytest.fixture
def cli():
    return run_cli
