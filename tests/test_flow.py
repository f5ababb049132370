"""``shiftpsn flow`` end to end on small settings, its reuse of a checkpoint, and its bad-input paths."""

import json
import os

import numpy as np
import pytest

from conftest import assert_usage_error

SMALL = ["--epochs", "1", "--width", "4", "--test-subset", "12", "--targets", "asic"]


@pytest.fixture(scope="module")
def flow_dir(tmp_path_factory):
    from conftest import run_cli

    d = tmp_path_factory.mktemp("flow")
    proc = run_cli("flow", "--output-dir", d, *SMALL, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return d, proc


@pytest.mark.xdist_group("flow")
def test_flow_artifacts_and_summary(flow_dir):
    d, proc = flow_dir
    for rel in ["train/model.pt", "core/spec.json", "core/core.v", "core/core.core.json", "core/stimulus.npy",
                "cosim/rtl.npz", "cosim/golden.npz", "synth/asic/report.json", "summary.md", "summary.json",
                "training.png", "shift_vs_mac.png"]:
        assert (d / rel).is_file(), rel
    s = json.loads((d / "summary.json").read_text())
    cos = s["cosim"]
    assert cos["sequences"] == 12 and cos["sequences_identical"] == 12
    assert cos["spike_mismatches"] == 0 and cos["acc_mismatches"] == 0
    assert cos["spikes_checked"] == 12 * 8 * 4
    for key in ("float", "quantized", "integer"):
        assert 0.0 <= s["accuracy"][key] <= 1.0
    asic = s["synth"]["asic"]
    assert asic["core"]["area_um2"] > 0 and asic["baseline"]["area_um2"] > 0
    assert asic["ratio"]["area_um2"] == pytest.approx(asic["baseline"]["area_um2"] / asic["core"]["area_um2"])
    md = (d / "summary.md").read_text()
    assert "RTL spikes identical to golden on **12/12** test sequences" in md
    assert "| integer (layer 0" in md and "mac / shift" in md
    for stage in ("train", "export", "generate", "cosim", "synth", "summary"):
        assert f"[flow] {stage} done in" in proc.stdout


@pytest.mark.xdist_group("flow")
def test_flow_rtl_files_are_what_the_hardware_and_golden_produced(flow_dir):
    """Independent of the flow's own comparison: the saved RTL results equal a fresh golden run."""
    from shiftpsn.golden.integer import run
    from shiftpsn.base.spec import CoreSpec

    d, _ = flow_dir
    spec = CoreSpec.load(d / "core" / "spec.json")
    x = np.load(d / "core" / "stimulus.npy")
    rtl = np.load(d / "cosim" / "rtl.npz")
    spikes, acc = run(spec, x)
    np.testing.assert_array_equal(rtl["acc"], acc)
    np.testing.assert_array_equal(rtl["spikes"], spikes)


@pytest.mark.xdist_group("flow")
def test_flow_reuses_checkpoint(flow_dir, cli):
    d, _ = flow_dir
    before = (d / "train" / "model.pt").stat().st_mtime_ns
    proc = cli("flow", "--output-dir", d, *SMALL, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "train done in" in proc.stdout and "reused" in proc.stdout
    assert "synth: reusing the reports" in proc.stdout
    assert (d / "train" / "model.pt").stat().st_mtime_ns == before


def test_flow_bad_inputs(cli, tmp_path):
    (tmp_path / "file").write_text("x")
    assert_usage_error(cli("flow", "--output-dir", tmp_path / "file", *SMALL), "exists and is not a directory")
    assert_usage_error(cli("flow", "--output-dir", tmp_path / "o", "--epochs", "0"), "--epochs must be >= 1")
    assert_usage_error(cli("flow", "--output-dir", tmp_path / "o", "--targets", "fpga"), "--target")
    env = dict(os.environ, PATH=str(tmp_path))  # no simulator on PATH
    assert_usage_error(cli("flow", "--output-dir", tmp_path / "o", *SMALL, env=env), "iverilog")
