"""``shiftpsn flow`` end to end on small settings (the whole-network default and ``--mode layer``), its
reuse of checkpoints, Verilog, co-simulation and reports, and its bad-input paths."""

import json
import os

import numpy as np
import pytest

from conftest import assert_usage_error

SMALL = ["--epochs", "1", "--width", "4", "--test-subset", "12", "--targets", "asic"]
NET_SMALL = SMALL + ["--sim", "icarus"]


# ----------------------------------------------------------------------------- the network flow (default)
@pytest.fixture(scope="module")
def net_flow_dir(tmp_path_factory):
    from conftest import run_cli

    d = tmp_path_factory.mktemp("netflow")
    proc = run_cli("flow", "--output-dir", d, *NET_SMALL, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return d, proc


@pytest.mark.xdist_group("flow")
def test_network_flow_artifacts_and_summary(net_flow_dir):
    d, proc = net_flow_dir
    for rel in ["train/model.pt", "net/net.json", "net/export.json", "net/x.npy", "net/labels.npy", "net/golden.npz",
                "net/net.v", "net/net.network.json", "net/mac.v", "cosim/rtl.npz", "cosim/cosim.json",
                "synth/shift/asic/stat.json", "synth/mac/asic/stat.json", "summary.md", "summary.json",
                "training.png", "shift_vs_mac.png"]:
        assert (d / rel).is_file(), rel
    s = json.loads((d / "summary.json").read_text())
    assert s["mode"] == "network"
    acc = s["accuracy"]
    assert set(acc) >= {"float", "quantized", "integer", "rtl"}
    assert acc["rtl"] == acc["integer"] and acc["test_samples"] == 12
    cos = s["cosim"]
    assert cos["samples"] == 12 and cos["samples_identical"] == 12 and cos["classes_equal"] == 12
    assert cos["logits_checked"] == 12 * 8 * 10 and cos["spikes_checked"] == 12 * 8 * 4 * 3
    assert s["cycles_per_sample"] > 0 and s["cycles_per_sample"] == pytest.approx(cos["cycles"] / 12)
    asic = s["synth"]["asic"]
    assert asic["shift"]["area_um2"] > 0 and asic["mac"]["area_um2"] > 0 and asic["shift"]["fmax_mhz"] > 0
    assert s["samples_per_s"]["asic"] == pytest.approx(asic["shift"]["fmax_mhz"] * 1e6 / s["cycles_per_sample"])
    assert s["energy_nj_per_sample"]["asic"] > 0
    for arith in ("shift", "mac"):  # gate-level switching on the first test sample, logits checked
        sw = asic[arith]["energy"]["switching"]
        assert sw["outputs_match_golden"], sw.get("output_mismatch") or sw.get("error")
        assert asic[arith]["energy_pj_per_sample_switching"] == pytest.approx(sw["window_pj"])
    md = (d / "summary.md").read_text()
    assert "The RTL equals the integer model on **12/12** test samples" in md
    assert "| RTL (the Verilog in icarus) |" in md and "mac / shift" in md
    for stage in ("train", "export", "generate", "cosim", "synth", "summary"):
        assert f"[flow] {stage} done in" in proc.stdout
        assert s["stage_seconds"][stage] >= 0


@pytest.mark.xdist_group("flow")
def test_network_flow_rtl_files_are_what_golden_produces(net_flow_dir):
    """Independent of the flow's own comparison: the saved RTL results equal a fresh golden run."""
    from shiftpsn.base.network import NetworkSpec
    from shiftpsn.golden.network import run_network

    d, _ = net_flow_dir
    net = NetworkSpec.load(d / "net" / "net.json")
    gold = run_network(net, np.load(d / "net" / "x.npy"))
    rtl = np.load(d / "cosim" / "rtl.npz")
    np.testing.assert_array_equal(rtl["logits"], gold.logits)
    np.testing.assert_array_equal(rtl["classes"], gold.classes)
    for L in net.neuron_indices:
        np.testing.assert_array_equal(rtl[f"spikes_{L}"], gold.spikes[L])


@pytest.mark.xdist_group("flow")
def test_network_flow_reuses_everything(net_flow_dir, cli):
    d, _ = net_flow_dir
    before = {p: (d / p).stat().st_mtime_ns for p in ("train/model.pt", "net/net.v", "cosim/rtl.npz")}
    proc = cli("flow", "--output-dir", d, *NET_SMALL, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "train done in" in proc.stdout and "reused" in proc.stdout
    assert "generate done in" in proc.stdout and "reused: 12/12 samples" in proc.stdout
    assert "synth: reusing the reports" in proc.stdout
    for p, t in before.items():
        assert (d / p).stat().st_mtime_ns == t, p


# ----------------------------------------------------------------------------- --mode layer
@pytest.fixture(scope="module")
def flow_dir(tmp_path_factory):
    from conftest import run_cli

    d = tmp_path_factory.mktemp("flow")
    proc = run_cli("flow", "--mode", "layer", "--output-dir", d, *SMALL, timeout=1200)
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
    proc = cli("flow", "--mode", "layer", "--output-dir", d, *SMALL, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "train done in" in proc.stdout and "reused" in proc.stdout
    assert "synth: reusing the reports" in proc.stdout
    assert (d / "train" / "model.pt").stat().st_mtime_ns == before


def test_flow_bad_inputs(cli, tmp_path):
    (tmp_path / "file").write_text("x")
    for mode in ("network", "layer"):
        assert_usage_error(cli("flow", "--mode", mode, "--output-dir", tmp_path / "file", *SMALL),
                           "exists and is not a directory")
    assert_usage_error(cli("flow", "--output-dir", tmp_path / "o", "--epochs", "0"), "--epochs must be >= 1")
    assert_usage_error(cli("flow", "--output-dir", tmp_path / "o", "--targets", "fpga"), "--target")
    assert_usage_error(cli("flow", "--output-dir", tmp_path / "o", "--mode", "chip"), "--mode")
    assert_usage_error(cli("flow", "--output-dir", tmp_path / "o", "--lanes", "0"), "--lanes must be >= 1")
    env = dict(os.environ, PATH=str(tmp_path))  # no simulator on PATH
    assert_usage_error(cli("flow", "--output-dir", tmp_path / "o", *NET_SMALL, env=env), "iverilog")
    assert_usage_error(cli("flow", "--mode", "layer", "--output-dir", tmp_path / "o", *SMALL, env=env), "iverilog")
