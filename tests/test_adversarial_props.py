"""Issue 27's extension of the property test (tests/test_robustness_props.py): engine specs and network
files near every size limit of docs/CONTRACT.md section 4. ``golden`` and ``generate`` run in-process on
each: exit 0, 1 or 2, at most one line of error, no traceback, no input changed; a spec or network beyond a
limit (by an independent count here) is refused with exit 2 before anything is built."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shiftpsn.base.testing import random_network
from shiftpsn.cli import main

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
#: The documented limits, written out here (not imported): the test checks the code against the contract.
HISTORY_BITS, CHANNELS, NEURONS, LANES, STORAGE_BITS = (1 << 16) - 1, 4096, 1 << 16, 4096, 1 << 22


def near(limit: int) -> st.SearchStrategy[int]:
    """Integers at and around ``limit``: -2 .. +2, and a few far on either side."""
    return st.sampled_from([max(1, limit + o) for o in (-2, -1, 0, 1, 2)] + [max(1, limit // 3), limit * 3])


def run(argv: list[str], inputs: list[Path]) -> tuple[int, str]:
    before = [hashlib.sha256(p.read_bytes()).hexdigest() for p in inputs]
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            rc = main(argv)
        except SystemExit as e:  # argparse
            rc = e.code
    text = err.getvalue()
    assert rc in (0, 1, 2), (rc, text)
    assert "Traceback" not in text + out.getvalue()
    if rc != 0:
        assert len(text.strip().splitlines()) == 1, text
    assert [hashlib.sha256(p.read_bytes()).hexdigest() for p in inputs] == before, "an input was changed"
    return rc, text


@st.composite
def engine_specs(draw):
    """A spec dict with one quantity drawn near its limit and the rest small."""
    which = draw(st.sampled_from(["history", "channels", "neurons", "lanes", "storage"]))
    C, P, k, d, W = 2, 1, 2, 1, 4
    if which == "history":
        W = draw(st.sampled_from([2, 3, 4, 8]))
        k = draw(st.sampled_from([2, 3, 5]))
        d = max(1, draw(near(HISTORY_BITS)) // (W * (k - 1)) + draw(st.integers(-1, 1)))
    elif which == "channels":
        C = draw(near(CHANNELS))
    elif which == "neurons":
        P = draw(near(NEURONS)) // C
    elif which == "storage":  # P*C*(k-1)*d*W at 2^22 and one position either side
        d = 1024
        P = STORAGE_BITS // (C * (k - 1) * d * W) + draw(st.integers(-1, 1))
    lanes = draw(near(LANES)) if which == "lanes" else draw(st.sampled_from([1, C]))
    if which == "lanes":  # the parallel core of that many channels
        C = lanes
    spec = {"channels": C, "order": k, "dilation": d, "input_width": W, "exp_min": -1, "exp_max": 1,
            "shift": [[0] * k for _ in range(C)], "sign": [[1] * k for _ in range(C)], "threshold": [1] * C,
            "positions": P, "lanes": lanes}
    return spec


def beyond_a_limit(s: dict) -> bool:
    n = s["positions"] * s["channels"]
    return ((s["order"] - 1) * s["dilation"] * s["input_width"] > HISTORY_BITS or s["channels"] > CHANNELS
            or n > NEURONS or s["lanes"] > LANES or n * (s["order"] - 1) * s["dilation"] * s["input_width"] > STORAGE_BITS)


@SETTINGS
@given(engine_specs())
def test_engine_specs_near_the_limits(spec):
    with tempfile.TemporaryDirectory(prefix="shiftpsn-prop-") as tmp:
        tmp = Path(tmp)
        sp, xp = tmp / "spec.json", tmp / "x.npy"
        sp.write_text(json.dumps(spec))
        shape = (1, 1, spec["channels"]) if spec["positions"] == 1 else (1, 1, spec["positions"], spec["channels"])
        np.save(xp, np.zeros(shape, dtype=np.int64))
        rc, _ = run(["golden", "--spec", str(sp), "--input", str(xp), "--output", str(tmp / "o.npz")], [sp, xp])
        valid = spec["lanes"] and (spec["positions"] * spec["channels"]) % spec["lanes"] == 0
        history = (spec["order"] - 1) * spec["dilation"] * spec["input_width"]
        assert (rc == 2) == (history > HISTORY_BITS or not valid), (rc, spec)  # the spec's own validation
        if beyond_a_limit(spec) or not valid:  # refused before anything is built (never generated here)
            rc, text = run(["generate", "--spec", str(sp), "--output", str(tmp / "c.v")], [sp])
            assert rc == 2 and not (tmp / "c.v").exists(), text


@st.composite
def network_files(draw):
    """A small random network with one thing pushed to a limit: a neuron layer's history, the input
    width, a weight or bias near int64, a dense layer's lanes."""
    net = random_network(np.random.default_rng(draw(st.integers(0, 2**16))), hidden=(1, 2), width=(1, 4),
                         inputs=(1, 3), outputs=(1, 3)).to_dict()
    which = draw(st.sampled_from(["history", "input_width", "weight", "bias", "lanes"]))
    if which == "history":
        layer = net["layers"][1]
        layer["dilation"] = max(1, draw(near(HISTORY_BITS)) // (layer["input_width"] * max(1, layer["order"] - 1)))
    elif which == "input_width":
        net["input_width"] = draw(st.sampled_from([1, 2, 63, 64, 65]))
    elif which == "weight":
        net["layers"][0]["weight"][0][0] = draw(st.sampled_from([2**62, 2**63 - 1, 2**63, -(2**63)]))
    elif which == "bias":
        net["layers"][-1]["bias"][0] = draw(st.sampled_from([2**63 - 2, 2**63 - 1, 2**63, -(2**63) + 1]))
    else:
        net["layers"][0]["lanes"] = draw(st.sampled_from([0, 1, 3, 4097]))
    return net


@SETTINGS
@given(network_files())
def test_network_files_near_the_limits(net):
    with tempfile.TemporaryDirectory(prefix="shiftpsn-prop-") as tmp:
        tmp = Path(tmp)
        np_, xp = tmp / "net.json", tmp / "x.npy"
        np_.write_text(json.dumps(net))
        np.save(xp, np.zeros((1, 3, len(net["layers"][0]["weight"][0])), dtype=np.int64))
        rc, _ = run(["golden", "--net", str(np_), "--input", str(xp), "--output", str(tmp / "o.npz")], [np_, xp])
        psn = [layer for layer in net["layers"] if layer.get("type") == "psn"]
        if any((p["order"] - 1) * p["dilation"] * p["input_width"] > HISTORY_BITS for p in psn):
            assert rc == 2  # network neuron layers get the same limit as cores
        if rc == 2:  # what golden refuses, generate refuses too, before building anything
            rc, text = run(["generate", "--net", str(np_), "--output", str(tmp / "n.v")], [np_])
            assert rc == 2 and not (tmp / "n.v").exists(), text
