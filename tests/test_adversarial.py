"""Issue 27, the quick half: each failure of the adversarial tour through the command line (exit code,
one line, every input's bytes unchanged by SHA-256). The cases that run Yosys, a simulator or the solver
are in tests/test_adversarial_tools.py."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shiftpsn.base.spec import uniform_spec

from conftest import SHIFTPSN, assert_usage_error, run_cli

SPEC = uniform_spec(channels=2, order=2, dilation=1, input_width=4)


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def spec_file(folder: Path, name: str = "spec.json", **changes) -> Path:
    """A spec written by hand (plain bytes: not an output of shiftpsn)."""
    p = folder / name
    p.write_text(json.dumps({**SPEC.to_dict(), **changes}))  # unvalidated: the command must judge it
    return p


def user_file(path: Path, text: str = "my own work, not shiftpsn's\n") -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return sha(path)


def stimulus(folder: Path, x=None) -> Path:
    p = folder / "x.npy"
    np.save(p, np.zeros((3, 2), dtype=np.int64) if x is None else x)
    return p


# ------------------------------------------------------------------------------------ overwrites
def test_generate_refuses_a_handwritten_verilog_file_and_force_replaces_it(tmp_path):
    spec = spec_file(tmp_path)
    mine = tmp_path / "existing_handwritten.v"
    before = user_file(mine, "module mine(input a); endmodule\n")
    assert_usage_error(run_cli("generate", "--spec", spec, "--output", mine), str(mine), "not written by shiftpsn",
                       "--force")
    assert sha(mine) == before and not (tmp_path / "existing_handwritten.core.json").exists()
    proc = run_cli("generate", "--spec", spec, "--output", mine, "--force")
    assert proc.returncode == 0, proc.stderr
    # its own output: a rerun replaces it without --force
    assert run_cli("generate", "--spec", spec, "--output", mine).returncode == 0


def test_golden_refuses_a_users_npz_but_replaces_its_own(tmp_path):
    spec, x = spec_file(tmp_path), stimulus(tmp_path)
    mine = tmp_path / "mine.npz"
    np.savez(mine, spikes=np.ones(3))
    before = sha(mine)
    assert_usage_error(run_cli("golden", "--spec", spec, "--input", x, "--output", mine), str(mine), "--force")
    assert sha(mine) == before
    ours = tmp_path / "ours.npz"
    for _ in range(2):
        proc = run_cli("golden", "--spec", spec, "--input", x, "--output", ours)
        assert proc.returncode == 0, proc.stderr
    ours.write_bytes(ours.read_bytes() + b"\0")  # changed by the user since: theirs now
    assert_usage_error(run_cli("golden", "--spec", spec, "--input", x, "--output", ours), "changed since")


def test_synth_refuses_a_users_report(tmp_path):
    spec = spec_file(tmp_path)
    out = tmp_path / "out"
    before = user_file(out / "report.md", "# my notes\n")
    assert_usage_error(run_cli("synth", "--spec", spec, "--target", "generic", "--output-dir", out),
                       "report.md", "not written by shiftpsn")
    assert sha(out / "report.md") == before and sorted(os.listdir(out)) == ["report.md"]


@pytest.mark.parametrize("name", ["model.pt", "results.json"])
def test_train_refuses_a_foreign_file_in_its_output_dir(tmp_path, name):
    before = user_file(tmp_path / "run" / name, "{}")
    proc = run_cli("train", "--task", "seq-digits", "--neuron", "mulfree", "--epochs", "1",
                   "--output-dir", tmp_path / "run")
    assert_usage_error(proc, name, "not written by shiftpsn")
    assert sha(tmp_path / "run" / name) == before


def test_export_refuses_a_users_spec_file(tmp_path):
    ckpt = tmp_path / "model.pt"
    ckpt.write_bytes(b"PK\x03\x04 not really")
    mine = tmp_path / "spec.json"
    before = user_file(mine, "{}")
    assert_usage_error(run_cli("export", "--checkpoint", ckpt, "--output", mine), str(mine), "--force")
    assert sha(mine) == before and sha(ckpt) == hashlib.sha256(b"PK\x03\x04 not really").hexdigest()


# ------------------------------------------------------------------------------------ legal specs beyond the hardware
def test_history_wider_than_the_widest_signal_is_refused_at_validation(tmp_path):
    """channels 1, order 2, dilation 16385, input_width 4, positions 2, lanes 1: 65,540 bits per neuron."""
    spec = spec_file(tmp_path, dilation=16385, positions=2, lanes=1)
    before = sha(spec)
    for argv in (("generate", "--output", tmp_path / "c.v"),
                 ("golden", "--input", stimulus(tmp_path), "--output", tmp_path / "o.npz")):
        assert_usage_error(run_cli(argv[0], "--spec", spec, *argv[1:]), "delay-line storage of one neuron",
                           "65540", "limit")
    assert sha(spec) == before and not (tmp_path / "c.v").exists()


def test_history_of_exactly_two_to_the_16_bits_is_refused(tmp_path):
    """(k-1)*d*W = 2^16: Amaranth's widest signal is 2^16 - 1 bits."""
    spec = spec_file(tmp_path, dilation=1 << 14)  # W = 4
    assert_usage_error(run_cli("generate", "--spec", spec, "--output", tmp_path / "c.v"), "65536")


def test_network_neuron_layer_with_a_long_delay_line_is_refused(tmp_path):
    from shiftpsn.base.testing import random_network

    net = random_network(np.random.default_rng(3), hidden=1, width=2, inputs=2, outputs=2).to_dict()
    net["layers"][1]["dilation"] = 11000
    path = tmp_path / "net.json"
    path.write_text(json.dumps(net))
    before = sha(path)
    assert_usage_error(run_cli("generate", "--net", path, "--output", tmp_path / "n.v"),
                       "delay-line storage of one neuron")
    assert sha(path) == before


def test_positions_times_channels_is_bounded(tmp_path):
    spec = spec_file(tmp_path, positions=1 << 16, lanes=2)
    assert_usage_error(run_cli("generate", "--spec", spec, "--output", tmp_path / "c.v"),
                       "positions*channels", "limit")


# ------------------------------------------------------------------------------------ messages
@pytest.mark.parametrize("what", ["directory", "device"])
def test_checkpoint_that_is_a_directory_or_a_device_says_so(tmp_path, what):
    ckpt = tmp_path if what == "directory" else Path("/dev/zero")
    proc = run_cli("export", "--checkpoint", ckpt, "--output", tmp_path / "s.json")
    assert_usage_error(proc, "is a directory" if what == "directory" else "not a regular file")
    assert "not found" not in proc.stderr


def test_pickle_checkpoint_is_one_line_without_torch_warnings(tmp_path):
    ckpt = tmp_path / "model.pt"
    ckpt.write_bytes(pickle.dumps({"state_dict": {}}))
    before = sha(ckpt)
    proc = run_cli("export", "--checkpoint", ckpt, "--output", tmp_path / "s.json")
    assert_usage_error(proc, "not a shiftpsn training checkpoint")
    assert "Warning" not in proc.stdout + proc.stderr and sha(ckpt) == before


def test_export_stimulus_with_another_suffix_is_refused_not_renamed(tmp_path):
    ckpt = tmp_path / "model.pt"
    ckpt.write_bytes(b"PK\x03\x04")
    assert_usage_error(run_cli("export", "--checkpoint", ckpt, "--output", tmp_path / "s.json", "--stimulus",
                               tmp_path / "a.json"), "--stimulus", ".npy")
    assert not (tmp_path / "a.json.npy").exists() and not (tmp_path / "a.json").exists()


def test_flow_lanes_that_do_not_divide_the_width_are_refused(tmp_path):
    proc = run_cli("flow", "--lanes", "3", "--width", "16", "--output-dir", tmp_path / "demo")
    assert_usage_error(proc, "--lanes 3", "16", "1, 2, 4, 8, 16")
    assert not (tmp_path / "demo").exists()  # and no empty folder left behind


def test_synth_foreign_verilog_without_a_spec_is_refused(tmp_path):
    v = tmp_path / "foreign.v"
    before = user_file(v, "module foreign(input clk, output q); assign q = clk; endmodule\n")
    assert_usage_error(run_cli("synth", "--verilog", v, "--target", "generic", "--output-dir", tmp_path / "o"),
                       "--spec")
    assert sha(v) == before and not (tmp_path / "o").exists()


def test_failed_run_leaves_no_empty_output_folder(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"channels": 0}')
    proc = run_cli("golden", "--spec", bad, "--input", stimulus(tmp_path), "--output", tmp_path / "a" / "b" / "o.npz")
    assert proc.returncode == 2 and not (tmp_path / "a").exists()


def test_train_diverged_names_an_epoch_that_ran(tmp_path):
    proc = run_cli("train", "--task", "seq-digits", "--neuron", "cwpsn", "--epochs", "2", "--width", "4",
                   "--layers", "1", "--lr", "1e30", "--train-subset", "64", "--test-subset", "16", "--quiet",
                   "--output-dir", tmp_path / "run")
    assert proc.returncode == 1, proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert "diverged" in line and "epoch 3" not in line, line


def test_train_help_is_fast_and_shows_defaults():
    code = ("import sys, contextlib, io\nfrom shiftpsn.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n    rc = main(['train', '--help'])\n"
            "print(rc, 'torch' in sys.modules)\nprint(out.getvalue())")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    first, text = proc.stdout.split("\n", 1)
    assert first == "0 False", proc.stdout + proc.stderr  # torch never imported for the help
    assert "(default: 30)" in text and "mulfree" in text and "(default: 0.01)" in text


def test_synth_output_dir_has_help():
    proc = run_cli("synth", "--help")
    block = proc.stdout.split("options:", 1)[1].split("--output-dir", 1)[1].split("\n  --", 1)[0]
    assert "report.json" in block, block


def test_rtl_run_net_refuses_sequences_longer_than_the_readout_counts(tmp_path):
    from shiftpsn.base.testing import random_network

    net = random_network(np.random.default_rng(4), hidden=1, width=2, inputs=1, outputs=2)
    path = tmp_path / "net.json"
    path.write_text(net.to_json())
    x = stimulus(tmp_path, np.zeros((1, (1 << 16) + 1, 1), dtype=np.int64))
    before = (sha(path), sha(x))
    proc = run_cli("rtl-run", "--net", path, "--input", x, "--output", tmp_path / "o.npz")
    assert_usage_error(proc, "65537", "65536")
    assert (sha(path), sha(x)) == before


def test_heartbeat_lines_at_least_every_interval():
    import io

    from shiftpsn.base.progress import Progress, wait_with_heartbeat

    out = io.StringIO()
    proc = subprocess.Popen(["sleep", "1.6"])
    assert wait_with_heartbeat(proc, "yosys asic", Progress("synth", stream=out), every=0.5) == 0
    lines = [ln for ln in out.getvalue().splitlines() if "yosys asic: still running" in ln]
    assert len(lines) >= 2, out.getvalue()


def test_heartbeat_of_in_process_work():
    import io
    import time

    from shiftpsn.base.progress import Progress, heartbeat

    out = io.StringIO()
    with heartbeat("generate", Progress("generate", stream=out), every=0.3):
        time.sleep(1.0)
    assert out.getvalue().count("generate: still running") >= 2, out.getvalue()


def test_every_command_has_force():
    for command in ("golden", "generate", "rtl-run", "synth", "train", "export", "prove", "flow"):
        proc = subprocess.run([SHIFTPSN, command, "--help"], capture_output=True, text=True, timeout=60)
        assert "--force" in proc.stdout, command
