"""Issue 12 continued: numbers and options checked up front, device files, limits of generate; split from test_robustness.py."""

from __future__ import annotations
import json
import os
import time
import pytest
from conftest import run_cli

from test_robustness import snapshot, assert_unchanged, assert_outcome, run_main, strict_json, small_spec, files, checkpoint  # noqa: F401 (helpers and fixtures of test_robustness)


TRAIN = ("train", "--task", "seq-digits", "--neuron", "mulfree", "--epochs", "1", "--width", "4",
         "--train-subset", "32", "--test-subset", "16", "--quiet")


@pytest.mark.parametrize("option,value", [
    ("--seed", "-1"), ("--seed", str(2 ** 32)), ("--seed", str(10 ** 30)),
    ("--weight-decay", "nan"), ("--weight-decay", "-1"), ("--lr", "inf"), ("--lr", "-0.5"),
    ("--width", "100000000"), ("--layers", "100000"), ("--order", "100000"), ("--batch-size", "0"),
])
def test_train_hyper_parameters_checked_up_front(tmp_path, capsys, option, value):
    t0 = time.monotonic()
    proc = run_main(capsys, *TRAIN, "--output-dir", tmp_path / "o", option, value)
    assert_outcome(proc, 2, option)
    assert not (tmp_path / "o").exists()
    assert time.monotonic() - t0 < 30, "checked before any work"


@pytest.mark.parametrize("argv,option", [
    (("regress", "--seed", "-1"), "--seed"),
    (("regress", "--seed", str(2 ** 32)), "--seed"),
    (("synth", "--seed", "-5", "--target", "generic", "--output-dir", "{tmp}/s"), "--seed"),
    (("autoselect", "--shape", "100000,100000,100000", "--order", "2", "--dilation", "1"), "--shape"),
    (("autoselect", "--shape", "8,4,4", "--order", "100000000", "--dilation", "1"), "--order"),
    (("autoselect", "--shape", "8,4,4", "--order", "2", "--dilation", "1", "--repeats", "100000000"),
     "--repeats"),
], ids=lambda a: "-".join(map(str, a[:3])) if isinstance(a, tuple) else a)
def test_numbers_out_of_range_exit_2(tmp_path, argv, option):
    argv = [str(a).format(tmp=tmp_path) for a in argv]
    assert_outcome(run_cli(*argv, timeout=60), 2, option)


def test_unwritable_home_falls_back_to_a_temporary_tool_cache(tmp_path, files):
    """HOME a file (so ~/.cache cannot be made): the WebAssembly tools' cache moves to a temp dir."""
    spec, _ = files
    home = tmp_path / "home"
    home.write_text("not a directory\n")
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_CACHE_HOME", "YOWASP_CACHE_DIR")}
    env["HOME"] = str(home)
    snap = snapshot(spec, home)
    proc = run_cli("generate", "--spec", spec, "--output", tmp_path / "v" / "core.v", env=env, timeout=600)
    assert_outcome(proc, 0)
    assert_unchanged(snap)
    assert (tmp_path / "v" / "core.v").is_file()


@pytest.mark.parametrize("command", ["golden", "generate"])
def test_spec_from_a_device_file(tmp_path, files, command):
    _, x = files
    argv = ("--output", tmp_path / "core.v") if command == "generate" else \
        ("--input", x, "--output", tmp_path / "o.npz")
    proc = run_cli(command, "--spec", "/dev/zero", *argv, timeout=30)
    assert_outcome(proc, 2, "/dev/zero")


# ---------------------------------------------------------------- Why 5: wrong outcomes
def test_synth_verilog_without_the_module_is_bad_input(tmp_path, files):
    spec, _ = files
    v = tmp_path / "other.v"
    v.write_text("module other(input a, output b);\n  assign b = a;\nendmodule\n")
    snap = snapshot(spec, v)
    proc = run_cli("synth", "--spec", spec, "--verilog", v, "--target", "generic", "--output-dir",
                   tmp_path / "s", "--no-activity", timeout=120)
    assert_outcome(proc, 2, str(v), "shiftpsn_core")
    assert_unchanged(snap)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "1e308"])
def test_synth_clock_checked_at_parse_time(tmp_path, files, value):
    spec, _ = files
    proc = run_cli("synth", "--spec", spec, "--target", "generic", "--output-dir", tmp_path / "s",
                   f"--clock-mhz={value}", timeout=60)
    assert_outcome(proc, 2, "--clock-mhz")
    assert "[synth" not in proc.stdout, "rejected before any tool ran"
    assert not (tmp_path / "s").exists()


def test_train_that_diverged_exits_1_and_writes_no_bare_nan(tmp_path, capsys):
    out = tmp_path / "o"
    proc = run_main(capsys, "train", "--task", "seq-digits", "--neuron", "mulfree", "--epochs", "2", "--width", "8",
                   "--train-subset", "64", "--test-subset", "64", "--quiet", "--lr", "1e30", "--batch-size", "8",
                   "--output-dir", out)
    assert_outcome(proc, 1, "diverged")
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            strict_json(line)
    for f in out.glob("*.json"):
        strict_json(f.read_text())


@pytest.mark.parametrize("option", ["--test-subset", "--train-subset"])
def test_more_samples_than_exist_is_an_error(tmp_path, capsys, option):
    argv = list(TRAIN)
    i = argv.index(option)
    argv[i + 1] = "100000"
    proc = run_main(capsys, *argv, "--output-dir", tmp_path / "o")
    assert_outcome(proc, 2, option, "100000")


# ---------------------------------------------------------------- Why 6: runaway work
@pytest.mark.parametrize("change,fragment", [("channels", "channels"), ("dilation", "storage")])
def test_generate_size_limits_checked_up_front(tmp_path, change, fragment):
    s = small_spec()
    if change == "channels":
        n = 100_000
        s = s.replace(channels=n, shift=[s.shift[0]] * n, sign=[s.sign[0]] * n, threshold=[0] * n)
    sp = tmp_path / "big.json"
    s.save(sp)
    if change == "dilation":  # beyond the spec's own validation: written as a file, judged by the command
        sp.write_text(json.dumps({**s.to_dict(), "dilation": 10 ** 6}))
    snap = snapshot(sp)
    t0 = time.monotonic()
    proc = run_cli("generate", "--spec", sp, "--output", tmp_path / "core.v", timeout=60)
    assert_outcome(proc, 2, fragment, "limit")
    assert time.monotonic() - t0 < 20
    assert_unchanged(snap)


def test_regress_steps_limit(tmp_path):
    t0 = time.monotonic()
    proc = run_cli("regress", "--steps", str(10 ** 9), timeout=60)
    assert_outcome(proc, 2, "--steps", "limit")
    assert time.monotonic() - t0 < 20


def test_generate_prints_progress(tmp_path, files):
    spec, _ = files
    out = assert_outcome(run_cli("generate", "--spec", spec, "--output", tmp_path / "core.v", timeout=120), 0)
    assert len(out.splitlines()) >= 3, f"a line per generation step: {out!r}"


# ---------------------------------------------------------------- Why 7: newcomer snags
def test_rtl_run_creates_its_output_directory(tmp_path, files):
    spec, x = files
    snap = snapshot(spec, x)
    out = tmp_path / "new" / "dir" / "r.npz"
    assert_outcome(run_cli("rtl-run", "--spec", spec, "--input", x, "--output", out, timeout=300), 0)
    assert out.is_file()
    assert_unchanged(snap)


def test_export_creates_its_output_directory(tmp_path, checkpoint):
    snap = snapshot(checkpoint)
    out = tmp_path / "new" / "dir" / "layer.json"
    proc = run_cli("export", "--checkpoint", checkpoint, "--output", out, "--stimulus",
                   tmp_path / "other" / "x.npy", timeout=300)
    assert_outcome(proc, 0)
    assert out.is_file() and (tmp_path / "other" / "x.npy").is_file()
    assert_unchanged(snap)


def test_regress_says_why_output_beats_differ_from_steps():
    proc = run_cli("regress", "--steps", "3000", timeout=300)
    out = assert_outcome(proc, 0)
    (line,) = [ln for ln in out.splitlines() if "PASS" in ln]
    assert "3000 steps" in line and "reset" in line, line


@pytest.mark.parametrize("argv", [
    ("train", "--task", "seq-digits", "--neuron", "mulfree", "--epochs", "30", "--output-dir", "{blocker}/o"),
    ("regress", "--steps", "3000", "--waves", "{blocker}/w"),
    ("golden", "--spec", "{spec}", "--input", "{x}", "--output", "{blocker}/o.npz"),
    ("rtl-run", "--spec", "{spec}", "--input", "{x}", "--output", "{blocker}/o.npz"),
    ("export", "--checkpoint", "{ckpt}", "--output", "{blocker}/s.json"),
    ("synth", "--spec", "{spec}", "--target", "generic", "--output-dir", "{blocker}/s"),
    ("autoselect", "--shape", "4,2,3", "--order", "2", "--dilation", "1", "--cache", "{blocker}/c.json"),
], ids=lambda a: a[0])
def test_unwritable_output_found_before_the_work(tmp_path, files, checkpoint, argv):
    """An output under a regular file (so it cannot be written): exit 2 before any work is done."""
    spec, x = files
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a directory\n")
    snap = snapshot(spec, x, blocker, checkpoint)
    argv = [a.format(blocker=blocker, spec=spec, x=x, ckpt=checkpoint) for a in argv]
    t0 = time.monotonic()
    proc = run_cli(*argv, timeout=60)
    assert_outcome(proc, 2, str(blocker))
    assert time.monotonic() - t0 < 30
    assert proc.stdout.strip() == "", f"work started before the output was checked: {proc.stdout[:300]!r}"
    assert_unchanged(snap)


# ---------------------------------------------------------------- atomic writes
def test_atomic_write_keeps_the_old_file_when_interrupted(tmp_path):
    from shiftpsn.base.paths import atomic_write

    target = tmp_path / "f.json"
    target.write_text("old\n")

    def half(f):
        f.write(b"new, but ")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, half)
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"], "no temporary file left behind"
    atomic_write(target, b"new\n")
    assert target.read_text() == "new\n"
