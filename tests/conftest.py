"""Shared fixtures: run the ``shiftpsn`` console script as a user would."""

import subprocess
import sys
from pathlib import Path

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


@pytest.fixture
def cli():
    return run_cli
