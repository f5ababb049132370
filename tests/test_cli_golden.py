"""``shiftpsn golden`` as a user runs it: outputs, and exit 2 with one line on every kind of bad input."""

import json

import numpy as np
import pytest

from conftest import assert_usage_error
from shiftpsn.base.spec import uniform_spec


@pytest.fixture
def files(tmp_path):
    spec = uniform_spec(channels=3, order=3, dilation=2)
    spec.save(tmp_path / "spec.json")
    x = np.random.default_rng(0).integers(-128, 128, size=(2, 9, 3)).astype(np.int16)
    np.save(tmp_path / "x.npy", x)
    return tmp_path, spec, x


def test_golden_writes_results(cli, files):
    d, spec, x = files
    proc = cli("golden", "--spec", d / "spec.json", "--input", d / "x.npy", "--output", d / "out.npz")
    assert proc.returncode == 0, proc.stderr
    z = np.load(d / "out.npz")
    assert z["spikes"].dtype == np.uint8 and z["acc"].dtype == np.int64
    assert z["spikes"].shape == x.shape == z["acc"].shape
    # independent check of one value: uniform_spec(k=3, d=2): shifts [-2, -1, 0] with exp_min=-2 ->
    # weights [s0*1, 2, 4] where s0 = -1 on odd channels
    w = [[1, 2, 4], [-1, 2, 4], [1, 2, 4]]
    b, t, c = 1, 6, 1
    expected = sum(w[c][i] * int(x[b, t - (2 - i) * 2, c]) for i in range(3))
    assert z["acc"][b, t, c] == expected


def test_golden_keeps_2d_shape(cli, files):
    d, spec, x = files
    np.save(d / "x2.npy", x[0])
    proc = cli("golden", "--spec", d / "spec.json", "--input", d / "x2.npy", "--output", d / "o.npz")
    assert proc.returncode == 0, proc.stderr
    assert np.load(d / "o.npz")["acc"].shape == (9, 3)


@pytest.mark.parametrize("case", ["float", "bool", "1d", "4d", "channels", "range_hi", "range_lo", "empty",
                                  "pickle", "garbage"])
def test_bad_stimulus(cli, files, case):
    d, spec, x = files
    path = d / "bad.npy"
    arrays = {
        "float": (x.astype(np.float32), "dtype must be an integer type"),
        "bool": (x > 0, "dtype must be an integer type"),
        "1d": (x.reshape(-1), "shape must be (T, C) or (B, T, C)"),
        "4d": (x[None], "shape must be (T, C) or (B, T, C)"),
        "channels": (x[..., :2], "last dimension is 2, expected channels = 3"),
        "range_hi": (np.full((2, 3), 128, np.int32), "value 128 at index (0, 0) does not fit input_width = 8"),
        "range_lo": (np.full((2, 3), -129, np.int64), "value -129 at index (0, 0) does not fit input_width = 8"),
        "empty": (np.zeros((0, 3), np.int8), "empty array"),
    }
    if case == "pickle":
        np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
        fragment = "not a readable .npy array"
    elif case == "garbage":
        path.write_bytes(b"not numpy at all")
        fragment = "not a readable .npy array"
    else:
        array, fragment = arrays[case]
        np.save(path, array)
    proc = cli("golden", "--spec", d / "spec.json", "--input", path, "--output", d / "o.npz")
    assert_usage_error(proc, fragment)


def test_bad_spec_and_paths(cli, files):
    d, spec, x = files
    typo = spec.to_dict()
    typo["treshold"] = typo.pop("threshold")
    (d / "typo.json").write_text(json.dumps(typo))
    assert_usage_error(cli("golden", "--spec", d / "typo.json", "--input", d / "x.npy", "--output", d / "o.npz"),
                       "unknown key 'treshold'")
    (d / "broken.json").write_text("{\"channels\": 3,")
    assert_usage_error(cli("golden", "--spec", d / "broken.json", "--input", d / "x.npy", "--output", d / "o.npz"),
                       "invalid JSON")
    assert_usage_error(cli("golden", "--spec", d / "nope.json", "--input", d / "x.npy", "--output", d / "o.npz"),
                       "spec file not found")
    assert_usage_error(cli("golden", "--spec", d / "spec.json", "--input", d / "nope.npy", "--output", d / "o.npz"),
                       "stimulus file not found")
    assert_usage_error(cli("golden", "--spec", d / "spec.json", "--input", d / "x.npy", "--output", d),
                       "is a directory")
    assert_usage_error(cli("golden", "--spec", d / "spec.json", "--input", d / "x.npy", "--output", d / "o.txt"),
                       "written as .npz")
    (d / "plain").write_text("")
    assert_usage_error(cli("golden", "--spec", d / "spec.json", "--input", d / "x.npy",
                           "--output", d / "plain" / "o.npz"), "plain is not a directory")
    proc = cli("golden", "--spec", d / "spec.json", "--input", d / "x.npy", "--output", d / "new" / "o.npz")
    assert proc.returncode == 0 and (d / "new" / "o.npz").is_file()
    assert_usage_error(cli("golden", "--spec", d / "spec.json"), "required")
    assert_usage_error(cli("nosuchcommand"), "unknown command")
