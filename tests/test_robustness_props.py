"""Issue 12's property test: random bytes, random JSON values and random .npy headers fed to
``golden``, ``generate`` and ``rtl-run`` always end in exit 0, 1 or 2 with at most one line of error
and no traceback (an exception escaping :func:`shiftpsn.cli.main` is one), and never change an input."""

from __future__ import annotations

import contextlib
import io
import json
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shiftpsn.base.spec import uniform_spec
from shiftpsn.cli import main

SETTINGS = settings(max_examples=50, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SPEC = uniform_spec(channels=2, order=2, dilation=1)
COMMANDS = ("golden", "generate", "rtl-run")


def run_command(command: str, spec: bytes, stimulus: bytes) -> None:
    """Write the inputs into a fresh folder, run ``command`` in-process, check the outcome."""
    with tempfile.TemporaryDirectory(prefix="shiftpsn-prop-") as tmp:
        tmp = Path(tmp)
        sp, xp = tmp / "spec.json", tmp / "x.npy"
        sp.write_bytes(spec)
        xp.write_bytes(stimulus)
        out = tmp / ("core.v" if command == "generate" else "o.npz")
        argv = [command, "--spec", str(sp), "--output", str(out)]
        if command != "generate":
            argv += ["--input", str(xp)]
        err, std = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(std):
            try:
                rc = main(argv)
            except SystemExit as e:  # argparse
                rc = e.code
        assert rc in (0, 1, 2), (rc, err.getvalue())
        assert "Traceback" not in err.getvalue() + std.getvalue()
        if rc != 0:
            assert len(err.getvalue().strip().splitlines()) == 1, err.getvalue()
        assert sp.read_bytes() == spec and xp.read_bytes() == stimulus, "an input was changed"


def npy(x: np.ndarray) -> bytes:
    f = io.BytesIO()
    np.save(f, x)
    return f.getvalue()


GOOD_SPEC = SPEC.to_json().encode()
GOOD_X = npy(np.zeros((3, 2), dtype=np.int64))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2 ** 80), max_value=2 ** 80)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


def _dumps(v) -> bytes:
    return json.dumps(v).encode()


@st.composite
def mutated_specs(draw) -> bytes:
    """A valid spec with one key replaced by a random JSON value (or dropped, or a key added)."""
    d = SPEC.to_dict()
    key = draw(st.sampled_from(sorted(d) + ["extra"]))
    action = draw(st.sampled_from(["replace", "drop"]))
    if action == "drop":
        d.pop(key, None)
    else:
        d[key] = draw(json_values)
    return _dumps(d)


@st.composite
def npy_headers(draw) -> bytes:
    """An .npy file with a random header (dtype, order, shape, padding) and random data after it."""
    descr = draw(st.sampled_from(["<i8", "<i4", "|i1", "<u2", ">i8", "<f8", "|b1", "<U3", "|O", "|V8",
                                  "<i16", "xx", "<m8[s]"]))
    fortran = draw(st.booleans())
    dims = draw(st.lists(st.integers(min_value=-3, max_value=2 ** 62), min_size=0, max_size=4)
                | st.lists(st.integers(min_value=0, max_value=6), min_size=1, max_size=3))
    shape = "(" + "".join(f"{n}, " for n in dims) + ")"
    header = f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}"
    if draw(st.booleans()):
        header = draw(st.text(max_size=80))
    header += " " * ((64 - (len(header) + 11) % 64) % 64) + "\n"
    raw = header.encode("latin-1", "replace")
    version = draw(st.sampled_from([b"\x01\x00", b"\x02\x00", b"\x09\x00"]))
    size = struct.pack("<H", len(raw)) if version == b"\x01\x00" else struct.pack("<I", len(raw))
    return b"\x93NUMPY" + version + size + raw + draw(st.binary(max_size=200))


@pytest.mark.parametrize("command", COMMANDS)
@SETTINGS
@given(data=st.binary(max_size=300))
def test_random_bytes_as_spec(command, data):
    run_command(command, data, GOOD_X)


@pytest.mark.parametrize("command", ("golden", "rtl-run"))
@SETTINGS
@given(data=st.binary(max_size=300))
def test_random_bytes_as_stimulus(command, data):
    run_command(command, GOOD_SPEC, data)


@pytest.mark.parametrize("command", COMMANDS)
@SETTINGS
@given(value=json_values)
def test_random_json_as_spec(command, value):
    run_command(command, _dumps(value), GOOD_X)


@pytest.mark.parametrize("command", ("golden", "generate"))
@SETTINGS
@given(spec=mutated_specs())
def test_mutated_specs(command, spec):
    run_command(command, spec, GOOD_X)


@pytest.mark.parametrize("command", ("golden", "rtl-run"))
@SETTINGS
@given(stimulus=npy_headers())
def test_random_npy_headers(command, stimulus):
    run_command(command, GOOD_SPEC, stimulus)
