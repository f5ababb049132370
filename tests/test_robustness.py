"""Issue 12: never destroy a user's file, never a traceback, caches that heal, no runaway work.

One test (at least) per failure of the issue's "Why", each through the command line as a user runs it:
the exit code, a one-line message without a traceback, and the input files' bytes unchanged afterwards.
The limits named here are documented in docs/CONTRACT.md section 4 (``shiftpsn.base.limits``).
"""

from __future__ import annotations

import json
import os
import struct
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import run_cli
from shiftpsn.base.spec import CoreSpec, uniform_spec
from shiftpsn.cli import main

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------------------- helpers
def snapshot(*paths) -> dict:
    """Bytes of each input file (to check afterwards that nothing overwrote them)."""
    return {Path(p): Path(p).read_bytes() for p in paths}


def assert_unchanged(snap: dict) -> None:
    for path, data in snap.items():
        assert path.is_file(), f"input {path} was removed"
        assert path.read_bytes() == data, f"input {path} was changed"


def assert_outcome(proc, code: int, *fragments: str) -> str:
    """Exit ``code``; no traceback anywhere; for a failure exactly one line on stderr holding every
    fragment. Returns stderr (failure) or stdout (success)."""
    both = proc.stdout + proc.stderr
    assert "Traceback" not in both, both[-3000:]
    assert proc.returncode == code, f"exit {proc.returncode}, expected {code}; stderr: {proc.stderr[-2000:]}"
    if code == 0:
        return proc.stdout
    err = proc.stderr.strip()
    assert len(err.splitlines()) == 1, f"expected one line, got: {err!r}"
    for f in fragments:
        assert f in err, f"{f!r} not in {err!r}"
    return err


def run_main(capsys, *argv) -> SimpleNamespace:
    """``shiftpsn ARGV`` in this process (torch is imported once for all tests): an escaping
    exception fails the test like a traceback would."""
    capsys.readouterr()
    rc = main([str(a) for a in argv])
    out = capsys.readouterr()
    return SimpleNamespace(returncode=rc, stdout=out.out, stderr=out.err)


def strict_json(text: str):
    """json.loads that refuses NaN / Infinity (which are not JSON)."""
    def bad(name):
        raise ValueError(f"bare {name} in JSON")
    return json.loads(text, parse_constant=bad)


def small_spec(**kw) -> CoreSpec:
    return uniform_spec(channels=2, order=2, dilation=1, **kw)


@pytest.fixture
def files(tmp_path):
    """A small spec core.json and a stimulus x.npy in a fresh folder."""
    spec = tmp_path / "core.json"
    small_spec().save(spec)
    x = tmp_path / "x.npy"
    np.save(x, np.array([[1, -3], [5, 7], [-8, 2], [0, 1]], dtype=np.int64))
    return spec, x


def spec64(threshold) -> CoreSpec:
    """A legal spec with a 64-bit accumulator (input_width 41 + shifts 0..21 + 1 + 1)."""
    return CoreSpec(channels=2, order=2, dilation=1, input_width=41, exp_min=0, exp_max=21,
                    shift=[[0, 21], [21, 0]], sign=[[1, 1], [1, -1]], threshold=threshold)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A tiny trained network (model.pt) for export."""
    out = tmp_path_factory.mktemp("ckpt")
    proc = run_cli("train", "--task", "seq-digits", "--neuron", "mulfree", "--order", "2", "--epochs", "1",
                   "--width", "4", "--train-subset", "32", "--test-subset", "16", "--quiet",
                   "--output-dir", out / "run", timeout=300)
    assert proc.returncode == 0, proc.stderr
    return out / "run" / "model.pt"


# ---------------------------------------------------------------- Why 1: data loss
def test_generate_does_not_replace_the_spec_beside_the_verilog(files):
    """`generate --spec core.json --output core.v` used to write CORE.json's description to core.json."""
    spec, _ = files
    snap = snapshot(spec)
    proc = run_cli("generate", "--spec", spec, "--output", spec.with_suffix(".v"), timeout=120)
    assert_outcome(proc, 0)
    assert_unchanged(snap)
    desc = spec.parent / "core.core.json"
    assert desc.is_file(), "the description goes to core.core.json"
    info = strict_json(desc.read_text())
    assert info["top"] == "shiftpsn_core" and info["spec"] == CoreSpec.load(spec).to_dict()


def test_generate_refuses_when_the_description_would_be_the_spec(tmp_path):
    """A spec that happens to carry the description's name is not overwritten either (exit 2, both paths)."""
    spec = tmp_path / "core.core.json"
    small_spec().save(spec)
    snap = snapshot(spec)
    proc = run_cli("generate", "--spec", spec, "--output", tmp_path / "core.v", timeout=120)
    assert_outcome(proc, 2, str(spec))
    assert_unchanged(snap)
    assert not (tmp_path / "core.v").exists()


def test_generate_beside_an_exported_spec(tmp_path, checkpoint):
    """`export --output build/layer0.json` then `generate --output build/layer0.v` kept both files."""
    build = tmp_path / "build"
    spec = build / "layer0.json"
    assert_outcome(run_cli("export", "--checkpoint", checkpoint, "--output", spec, timeout=300), 0)
    snap = snapshot(spec, build / "layer0.export.json", checkpoint)
    assert_outcome(run_cli("generate", "--spec", spec, "--output", build / "layer0.v", timeout=120), 0)
    assert_unchanged(snap)
    assert (build / "layer0.core.json").is_file()
    # rtl-run / regress --verilog read the description under its new name (top and spec)
    from shiftpsn.sim.cosim import from_file as file_core

    core = file_core(build / "layer0.v")
    assert core.spec == CoreSpec.load(spec) and core.top == core.spec.name


def test_autoselect_cache_never_merges_into_a_foreign_json(files, capsys):
    spec, _ = files
    snap = snapshot(spec)
    proc = run_main(capsys, "autoselect", "--shape", "4,2,3", "--order", "2", "--dilation", "1", "--repeats", "1",
                   "--layout", "time-first", "--cache", spec)
    assert_outcome(proc, 2, str(spec), "autoselect cache")
    assert_unchanged(snap)


def test_autoselect_cache_never_replaces_a_file_it_cannot_parse(tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes, not JSON\n")
    snap = snapshot(notes)
    proc = run_main(capsys, "autoselect", "--shape", "4,2,3", "--order", "2", "--dilation", "1", "--repeats", "1",
                   "--layout", "time-first", "--cache", notes)
    assert_outcome(proc, 2, str(notes))
    assert_unchanged(snap)


def test_autoselect_cache_has_a_format_marker_and_is_reused(tmp_path, capsys):
    from shiftpsn.golden.accel import autoselect

    autoselect._CACHE.clear()  # in-process: only the file may answer the second run
    cache = tmp_path / "sub" / "autoselect.json"
    argv = ("autoselect", "--shape", "4,2,3", "--order", "2", "--dilation", "1", "--repeats", "1",
            "--layout", "time-first", "--json", "--cache", cache)
    first = strict_json(assert_outcome(run_main(capsys, *argv), 0))
    stored = strict_json(cache.read_text())
    assert stored.get("format") == "shiftpsn-autoselect-1"
    autoselect._CACHE.clear()
    second = strict_json(assert_outcome(run_main(capsys, *argv), 0))
    assert not first["cached"] and second["cached"]
    assert second["choice"] == first["choice"]


def test_synth_refuses_to_write_its_report_over_the_spec(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    spec = out / "report.json"
    small_spec().save(spec)
    snap = snapshot(spec)
    proc = run_cli("synth", "--spec", spec, "--target", "generic", "--output-dir", out, "--no-activity",
                   timeout=120)
    assert_outcome(proc, 2, str(spec))
    assert_unchanged(snap)


# ---------------------------------------------------------------- Why 2: thresholds of any size
@pytest.mark.parametrize("threshold", [[2 ** 63, -(2 ** 63) - 1], [10 ** 30, -(10 ** 40)], [2 ** 62, 2 ** 63 - 1]],
                         ids=["2^63", "10^30", "edge"])
def test_golden_exact_for_thresholds_of_any_size(tmp_path, threshold):
    spec = spec64(threshold)
    assert spec.acc_width == 64
    sp = tmp_path / "s.json"
    spec.save(sp)
    x = np.array([[[spec.input_max, spec.input_max], [spec.input_max, spec.input_min]],
                  [[spec.input_min, 0], [1, -1]]], dtype=np.int64)
    xp = tmp_path / "x.npy"
    np.save(xp, x)
    snap = snapshot(sp, xp)
    assert_outcome(run_cli("golden", "--spec", sp, "--input", xp, "--output", tmp_path / "o.npz"), 0)
    assert_unchanged(snap)
    with np.load(tmp_path / "o.npz") as z:
        spikes, acc = z["spikes"], z["acc"]
    # exact, in Python integers
    for b in range(2):
        for t in range(2):
            for c in range(2):
                a = sum(spec.int_weight(c, i) * int(x[b, t - (1 - i), c])
                        for i in range(2) if t - (1 - i) >= 0)
                assert int(acc[b, t, c]) == a
                assert int(spikes[b, t, c]) == int(a >= threshold[c]), (b, t, c, a, threshold[c])


def test_regress_passes_with_a_threshold_beyond_int64(tmp_path):
    sp = tmp_path / "s.json"
    spec64([2 ** 63, -(2 ** 64)]).save(sp)
    snap = snapshot(sp)
    proc = run_cli("regress", "--spec", sp, "--steps", "60", timeout=300)
    out = assert_outcome(proc, 0)
    assert "PASS" in out
    assert_unchanged(snap)


# ---------------------------------------------------------------- Why 3: a damaged build cache heals
@pytest.fixture(scope="module")
def built_cache(tmp_path_factory):
    """A sim build cache holding the small spec's core, built once by rtl-run."""
    d = tmp_path_factory.mktemp("cache")
    spec, x = d / "core.json", d / "x.npy"
    small_spec().save(spec)
    np.save(x, np.array([[1, -3], [5, 7], [-8, 2], [0, 1]], dtype=np.int64))
    env = dict(os.environ, SHIFTPSN_SIM_BUILD=str(d / "build"))
    assert_outcome(run_cli("rtl-run", "--spec", spec, "--input", x, "--output", d / "r.npz", env=env,
                           timeout=300), 0)
    return d / "build"


@pytest.mark.parametrize("damage", ["truncated", "garbage", "missing"])
def test_sim_build_cache_heals(tmp_path, files, built_cache, damage):
    """The compiled simulation is damaged three ways; the next run rebuilds it (one line) and passes."""
    import shutil

    spec, x = files
    shutil.copytree(built_cache, tmp_path / "build")
    env = dict(os.environ, SHIFTPSN_SIM_BUILD=str(tmp_path / "build"))
    argv = ("rtl-run", "--spec", spec, "--input", x, "--output", tmp_path / "r.npz")
    (sim,) = (tmp_path / "build").glob("icarus-*/sim.vvp")
    data = sim.read_bytes()
    if damage == "truncated":
        sim.write_bytes(data[: len(data) // 3])
    elif damage == "garbage":
        sim.write_bytes(np.random.default_rng(0).integers(0, 256, len(data), dtype=np.uint8).tobytes())
    else:
        sim.unlink()
    snap = snapshot(spec, x)
    proc = run_cli(*argv, env=env, timeout=300)
    out = assert_outcome(proc, 0)
    said = [ln for ln in out.splitlines() if "rebuild" in ln]
    assert len(said) == 1, f"one line should say that the cache is rebuilt: {out!r}"
    assert_unchanged(snap)
    with np.load(tmp_path / "r.npz") as z:
        from shiftpsn.golden.integer import run as golden
        spikes, acc = golden(CoreSpec.load(spec), np.load(x))
        assert np.array_equal(z["spikes"], spikes) and np.array_equal(z["acc"], acc)
    # and a third run trusts the healed build again (no rebuild line)
    out = assert_outcome(run_cli(*argv, env=env, timeout=300), 0)
    assert "rebuild" not in out


# ---------------------------------------------------------------- Why 4: one line, never a traceback
def _spec_text(**replace) -> str:
    text = small_spec().to_json()
    for key, value in replace.items():
        old = f'"{key}": {json.dumps(small_spec().to_dict()[key])}'
        assert old in text
        text = text.replace(old, f'"{key}": {value}')
    return text


@pytest.mark.parametrize("command", ["golden", "generate", "rtl-run"])
@pytest.mark.parametrize("case", ["long-int", "deep-json", "huge-file"])
def test_spec_parsing_limits(tmp_path, files, command, case):
    _, x = files
    sp = tmp_path / "bad.json"
    if case == "long-int":
        sp.write_text(_spec_text(channels="1" * 5000))
        fragment = "digits"
    elif case == "deep-json":
        sp.write_text("[" * 100_000 + "]" * 100_000)
        fragment = "nest"
    else:
        with open(sp, "w") as f:
            f.write(_spec_text().rstrip()[:-1] + ', "name": "' + "x" * (17 << 20) + '"}')
        fragment = "bytes"
    snap = snapshot(sp, x)
    out = tmp_path / ("o.npz" if command != "generate" else "core.v")
    argv = {"golden": ("--input", x, "--output", out), "rtl-run": ("--input", x, "--output", out),
            "generate": ("--output", out)}[command]
    assert_outcome(run_cli(command, "--spec", sp, *argv, timeout=60), 2, str(sp), fragment)
    assert_unchanged(snap)
    assert not out.exists()


@pytest.mark.parametrize("command", ["golden", "rtl-run"])
def test_npy_header_with_an_enormous_shape(tmp_path, files, command):
    spec, _ = files
    big = tmp_path / "big.npy"
    header = "{'descr': '<i8', 'fortran_order': False, 'shape': (100000000000, 2), }"
    header += " " * (117 - len(header)) + "\n"
    big.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + b"\0" * 64)
    snap = snapshot(spec, big)
    proc = run_cli(command, "--spec", spec, "--input", big, "--output", tmp_path / "o.npz", timeout=60)
    assert_outcome(proc, 2, str(big), "limit")
    assert_unchanged(snap)


@pytest.mark.parametrize("blob", ["{}", "format-only", "no-state"])
def test_checkpoint_without_the_expected_keys(tmp_path, capsys, blob):
    import torch

    from shiftpsn.golden.train.checkpoints import FORMAT

    ck = tmp_path / "model.pt"
    torch.save({"{}": {}, "format-only": {"format": FORMAT},
                "no-state": {"format": FORMAT, "config": {"model": {"task": "seq-digits"}}}}[blob], ck)
    snap = snapshot(ck)
    proc = run_main(capsys, "export", "--checkpoint", ck, "--output", tmp_path / "s.json")
    assert_outcome(proc, 2, str(ck))
    assert_unchanged(snap)
