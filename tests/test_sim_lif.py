"""Co-simulation of networks with lif layers (hdl/lif_stage.py) in real simulators against the integer model:

* random networks with lif layers (random lanes: registers, block RAM with G = 2 and G >= 3; psn layers
  beside them) equal golden in Icarus under random gaps, stalls, a reset mid-sequence and extreme
  inputs; ``shiftpsn rtl-run --net`` writes what ``shiftpsn golden --net`` writes, in Icarus and Verilator;
* planted lif faults fail ``shiftpsn regress --net`` with exit 1; the healthy network passes.

The long sweeps (many networks, Verilator) are marked slow (``make regress``).
"""

from __future__ import annotations

import numpy as np
import pytest

from shiftpsn.base.layers import DenseLayer, LifLayer
from shiftpsn.base.network import NetworkSpec, signed_width
from shiftpsn.base.testing import random_network_input
from shiftpsn.base.testing_lif import random_lif_network
from shiftpsn.cli import main as shiftpsn
from shiftpsn.sim.cosim import generated, regress
from shiftpsn.sim.fault_edits import Fault, replace, stage, within
from shiftpsn.sim.faults import write_faulty_network


def hw_lif_network(seed: int, **kw) -> NetworkSpec:
    """A random lif network small enough to co-simulate quickly, random lanes everywhere."""
    kw = {"width": (1, 10), "inputs": (1, 6), **kw}
    return random_lif_network(np.random.default_rng(seed), random_lanes=True, name="lif_net", **kw)


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_random_lif_network_equals_golden_icarus(seed):
    rtl = generated(hw_lif_network(seed))
    assert len(rtl.monitors()) == len(rtl.design.neuron_indices)  # every neuron layer's spikes are watched
    out = regress(rtl, steps=160, seed=seed)
    assert out.mismatch is None, out.mismatch.report()
    assert out.verdict["stalled"] is None and out.verdict["beats_out"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 124))
def test_random_lif_network_equals_golden_icarus_many(seed):
    rtl = generated(hw_lif_network(seed, width=(1, 24)))
    out = regress(rtl, steps=400, seed=seed)
    assert out.mismatch is None, out.mismatch.report()


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(200, 203))
def test_random_lif_network_equals_golden_verilator_many(seed):
    rtl = generated(hw_lif_network(seed, width=(1, 24)))
    out = regress(rtl, sim="verilator", steps=600, seed=seed)
    assert out.mismatch is None, out.mismatch.report()


def _cli_run_equals_golden(cli, tmp_path, net: NetworkSpec, sim: str, seed: int):
    net_path = tmp_path / "net.json"
    net.save(net_path)
    rng = np.random.default_rng(seed)
    x = random_network_input(net, rng, 3, 9, extreme_fraction=0.3)
    x[0] = net.input_max  # membranes climb
    np.save(tmp_path / "x.npy", x)
    g = cli("golden", "--net", net_path, "--input", tmp_path / "x.npy", "--output", tmp_path / "g.npz")
    assert g.returncode == 0, g.stderr
    r = cli("rtl-run", "--net", net_path, "--input", tmp_path / "x.npy", "--output", tmp_path / "r.npz",
            "--sim", sim)
    assert r.returncode == 0, r.stderr
    with np.load(tmp_path / "g.npz") as zg, np.load(tmp_path / "r.npz") as zr:
        assert sorted(zg.files) == sorted(zr.files) and f"spikes_{net.neuron_indices[0]}" in zg.files
        for k in zg.files:
            assert zg[k].dtype == zr[k].dtype and zg[k].shape == zr[k].shape, k
            np.testing.assert_array_equal(zr[k], zg[k], err_msg=k)


def test_cli_rtl_run_net_equals_golden_icarus(cli, tmp_path):
    _cli_run_equals_golden(cli, tmp_path, lif_fault_network(), "icarus", 1)


def test_cli_rtl_run_net_equals_golden_verilator(cli, tmp_path):
    """The one Verilator case of the fast suite (builds are slow): both lif organisations."""
    _cli_run_equals_golden(cli, tmp_path, lif_fault_network(), "verilator", 2)


# ----------------------------------------------------------------------------- planted lif faults
def lif_fault_network() -> NetworkSpec:
    """I = 3 inputs of 5 bits -> dense 6 (lanes 2) -> lif (lanes 2: G = 3, block RAM; leak 2, subtract)
    -> dense 4 -> lif (parallel, IF, zero reset) -> dense 3: thresholds that typical inputs reach within
    a few steps, so a wrong leak, comparator, reset or first flag changes spikes."""
    d0 = DenseLayer([[3, -2, 1], [-4, 5, 2], [1, 1, -3], [7, -1, 0], [-2, -6, 3], [2, 3, 5]],
                    [5, -3, 0, 8, -7, 1], lanes=2)
    lo, hi, _ = d0.output_range(-16, 15)
    l1 = LifLayer(channels=6, input_width=signed_width(min(lo), max(hi)), leak_shift=2, reset="subtract",
                  threshold=[20, 35, 9, 60, 14, 41], lanes=2)
    d2 = DenseLayer([[9, -7, 3, 12, -5, 1], [-8, 6, 11, -3, 4, -10], [5, 5, -9, 2, 7, -6], [-2, -11, 4, 8, -3, 9]],
                    [-3, 4, 0, -6])
    lo, hi, _ = d2.output_range(0, 1)
    l3 = LifLayer(channels=4, input_width=signed_width(min(lo), max(hi)), leak_shift=None, reset="zero",
                  threshold=[7, 12, 3, 20])
    d4 = DenseLayer([[6, -4, 9, 2], [-5, 8, 3, 7], [4, 6, -7, 5]], [0, -2, 1])
    return NetworkSpec(input_width=5, layers=(d0, l1, d2, l3, d4), name="lif_fault_net")


LIF_FAULTS = (
    Fault("lif_comparator_gt", "lane 0 of lif layers[1] spikes on u > threshold",
          within(stage("lifstage", 1), replace(r"(assign spike_l0 = .*?) >= ", r"\1 > ", "spike comparator")),
          "network"),
    Fault("lif_leak_dropped", "lane 1 of lif layers[1] never subtracts its leak",
          within(stage("lifstage", 1), replace(r"\$signed\((v0_l1)\) - \$signed\([^)]*\)", r"$signed(\1)",
                                               "leak subtraction")), "network"),
    Fault("lif_subtract_as_zero", "lane 0 of lif layers[1] resets to zero instead of subtracting",
          within(stage("lifstage", 1), replace(r"assign (\\\$\d+ ) = (spike_l0) \? \S+\s+: ", r"assign \1 = \2 ? 1'h0 : ",
                                               "subtract reset")), "network"),
    Fault("lif_membrane_kept_on_first", "channel 0 of lif layers[3] keeps its membrane across sequences",
          within(stage("lifstage", 3), replace(r"assign (v0_c0) = [^;]*\? \d+'h0+ : ([^;]+);", r"assign \1 = \2;",
                                               "membrane clear on first")), "network"),
)


def _regress_net(verilog, net_path, capsys):
    rc = shiftpsn(["regress", "--net", str(net_path), "--verilog", str(verilog)])
    return rc, capsys.readouterr()  # default steps, seed, sim


def test_healthy_lif_network_passes(tmp_path, capsys):
    rc, out = _regress_net(*write_faulty_network(None, tmp_path, lif_fault_network()), capsys)
    assert rc == 0, out.err
    assert "PASS lif_fault_net" in out.out


@pytest.mark.parametrize("fault", LIF_FAULTS, ids=[f.name for f in LIF_FAULTS])
def test_lif_fault_is_caught(fault, tmp_path, capsys):
    verilog, net_path = write_faulty_network(fault, tmp_path, lif_fault_network())  # raises if the edit finds nothing
    rc, out = _regress_net(verilog, net_path, capsys)
    err = out.err.strip()
    assert rc == 1, f"{fault.name} ({fault.description}) not caught: {out.out}{out.err}"
    assert len(err.splitlines()) == 1 and "FAIL" in err, err
