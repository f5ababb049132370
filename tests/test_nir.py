"""``shiftpsn nir export / import`` (golden/nir_export.py, golden/nir_import.py; docs/CONTRACT.md 5.2):

* export then import is the identity on random networks with lif and psn layers (the file equal after
  both are loaded), and the exported file loads with ``nir.read``;
* without its metadata an export still imports to a network with the same spikes and classes;
* an Affine -> LIF -> Affine graph written with the nir API as snnTorch writes it imports with the
  rounding a hand computation gives, and runs through ``rtl-run --net`` equal to ``golden --net``;
* IF and single-pole CubaLIF import; a second pole, other node types and broken graphs are refused with
  one line naming the node and its type (exit 2).
"""

from __future__ import annotations

import json

import nir
import numpy as np
import pytest
from conftest import assert_usage_error

from shiftpsn.base.network import NetworkSpec
from shiftpsn.base.testing import random_network_input
from shiftpsn.base.testing_lif import random_lif_network
from shiftpsn.golden.network import run_network
from shiftpsn.golden.nir_export import METADATA_KEY, to_nir, write_nir
from shiftpsn.golden.nir_import import from_nir, import_nir


def random_net(seed: int) -> NetworkSpec:
    return random_lif_network(np.random.default_rng(seed), psn_p=0.4, random_lanes=True, name=f"n{seed}")


@pytest.mark.parametrize("chunk", range(2))
def test_export_then_import_is_the_identity(tmp_path, chunk):
    for seed in range(chunk * 20, chunk * 20 + 20):
        net = random_net(seed)
        path = tmp_path / f"{seed}.nir"
        write_nir(net, path)
        g = nir.read(str(path))
        assert METADATA_KEY in g.metadata and {"input", "output"} <= set(g.nodes)
        back, report = import_nir(path)
        assert report["exact"] and back.to_dict() == net.to_dict(), seed


def test_cli_round_trip_and_edited_graph_is_imported_from_its_values(cli, tmp_path):
    net = random_net(3)
    net.save(tmp_path / "net.json")
    r = cli("nir", "export", "--net", tmp_path / "net.json", "--output", tmp_path / "net.nir")
    assert r.returncode == 0, r.stderr
    r = cli("nir", "import", "--input", tmp_path / "net.nir", "--output", tmp_path / "back.json")
    assert r.returncode == 0, r.stderr
    assert "the exact network, no rounding" in r.stdout
    assert NetworkSpec.load(tmp_path / "back.json").to_dict() == NetworkSpec.load(tmp_path / "net.json").to_dict()
    assert (tmp_path / "back.json").read_text() == (tmp_path / "net.json").read_text()
    # a graph edited after export no longer matches its metadata: its values are imported (and rounded)
    g = to_nir(net)
    g.nodes["dense0"].weight = g.nodes["dense0"].weight + 0.25
    back, report = from_nir(g, weight_bits=12)
    assert not report["exact"]


@pytest.mark.parametrize("seed", range(8))
def test_export_without_metadata_imports_to_the_same_spikes(seed):
    """The graph's values alone (IF layers with zero reset, and psn layers: a power-of-two scale of a
    layer commutes with them; a leak's floor shift does not): the same spikes, the logits scaled by
    the last layer's power of two."""
    net = random_net(100 + seed)
    layers = [l.replace(reset="zero", leak_shift=None) if l.type_name == "lif" else l for l in net.layers]
    net = NetworkSpec(input_width=net.input_width, layers=tuple(layers))
    g = to_nir(net)
    g.metadata = {}
    big = max(int(np.abs(l.weight).max()) for l in net.layers if l.type_name == "dense")
    big = max([big] + [int(np.abs(l.bias).max()) for l in net.layers if l.type_name == "dense"])
    back, report = from_nir(g, weight_bits=big.bit_length() + 1, input_width=net.input_width)
    assert not report["exact"] and [l.type_name for l in back.layers] == [l.type_name for l in net.layers]
    x = random_network_input(net, np.random.default_rng(seed), 4, 12, extreme_fraction=0.3)
    want, got = run_network(net, x), run_network(back, x)
    for L in net.neuron_indices:
        np.testing.assert_array_equal(got.spikes[L], want.spikes[L], err_msg=f"seed {seed} spikes_{L}")
    e = report["layers"][-1]["scale"]
    np.testing.assert_array_equal(got.logits * 2.0 ** e, want.logits)


# ----------------------------------------------------------------------------- a graph as snnTorch writes it
def snntorch_style_graph() -> nir.NIRGraph:
    """Affine(2 -> 3) -> LIF (beta = 0.8: tau = dt / (1 - beta) = 5, r = tau / dt = 5) -> Affine(3 -> 2)."""
    w1 = np.array([[0.5, -0.25], [0.3, 0.2], [0.9, 0.7]])
    w2 = np.array([[1.5, -2.0, 0.5], [-1.0, 3.0, 0.75]])
    return nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([2])}),
        "fc1": nir.Affine(weight=w1, bias=np.array([0.3, 0.0, -0.2])),
        "lif1": nir.LIF(tau=np.full(3, 5.0), r=np.full(3, 5.0), v_leak=np.zeros(3), v_threshold=np.array([1.0, 1.0, 0.6])),
        "fc2": nir.Affine(weight=w2, bias=np.array([0.0, 0.4])),
        "output": nir.Output(output_type={"output": np.array([2])}),
    }, edges=[("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "output")])


def test_snntorch_style_graph_rounds_as_computed_by_hand(tmp_path):
    """4-bit weights (|q| <= 7). fc1: largest |value| 0.9, 0.9 / 7 -> scale 2^-2: weights / 0.25 =
    [[2, -1], [1.2, 0.8], [3.6, 2.8]] -> [[2, -1], [1, 1], [4, 3]]; worst relative error 0.05 / 0.2 = 0.25
    at (1, 1) (0.3 -> 0.25 is 1/6, 0.9 -> 1.0 is 1/9, 0.7 -> 0.75 is 1/14); bias / 0.25 = [1.2, 0, -0.8] ->
    [1, 0, -1], worst 0.05 / 0.2 = 0.25 at 2. lif1: gain r / tau = 1; tau 5 -> 2^round(2.32) = 4, error
    1 / 5 = 0.2; membrane unit 0.25, v > 1.0 is u >= 5, v > 0.6 is u >= floor(2.4) + 1 = 3. fc2: 3.0 / 7
    -> scale 2^-1: [[3, -4, 1], [-2, 6, 1.5 -> 2]], worst 0.25 / 0.75 = 1/3 at (1, 2); bias [0, 0.8 -> 1],
    worst 0.1 / 0.4 = 0.25 at 1. Input 8 bits: fc1 row 2 reaches 7 * -128 - 1 = -897: 11-bit lif inputs."""
    path = tmp_path / "g.nir"
    nir.write(str(path), snntorch_style_graph())
    net, report = import_nir(path, weight_bits=4)
    d0, lif, d2 = net.layers
    assert d0.weight.tolist() == [[2, -1], [1, 1], [4, 3]] and d0.bias.tolist() == [1, 0, -1]
    assert (lif.leak_shift, lif.threshold, lif.reset, lif.input_width) == (2, (5, 5, 3), "zero", 11)
    assert d2.weight.tolist() == [[3, -4, 1], [-2, 6, 2]] and d2.bias.tolist() == [0, 1]
    r0, r1, r2 = report["layers"]
    assert r0["scale"] == -2 and r0["weight"] == {"largest_relative_error": pytest.approx(0.25), "at": [1, 1]}
    assert r0["bias"] == {"largest_relative_error": pytest.approx(0.25), "at": 2}
    assert r1["tau"] == {"leak_shift": 2, "largest_relative_error": pytest.approx(0.2), "at": 0}
    assert r2["scale"] == -1 and r2["weight"] == {"largest_relative_error": pytest.approx(1 / 3), "at": [1, 2]}
    assert r2["bias"] == {"largest_relative_error": pytest.approx(0.25), "at": 1}


def test_snntorch_style_graph_runs_in_rtl_as_in_golden(cli, tmp_path):
    nir.write(str(tmp_path / "g.nir"), snntorch_style_graph())
    r = cli("nir", "import", "--input", tmp_path / "g.nir", "--output", tmp_path / "net.json", "--weight-bits", "4",
            "--report", tmp_path / "rounding.json")
    assert r.returncode == 0, r.stderr
    assert "layers[1] 'lif1' (LIF) -> lif, membrane unit 2^-2; largest relative error: tau 0.2" in r.stdout
    assert "layers[0] 'fc1' (Affine) -> dense, scale 2^-2; largest relative error: weight 0.25, bias 0.25" in r.stdout
    assert json.loads((tmp_path / "rounding.json").read_text())["layers"][2]["weight"]["at"] == [1, 2]
    net = NetworkSpec.load(tmp_path / "net.json")
    x = random_network_input(net, np.random.default_rng(5), 3, 10, extreme_fraction=0.3)
    np.save(tmp_path / "x.npy", x)
    g = cli("golden", "--net", tmp_path / "net.json", "--input", tmp_path / "x.npy", "--output", tmp_path / "g.npz")
    assert g.returncode == 0, g.stderr
    r = cli("rtl-run", "--net", tmp_path / "net.json", "--input", tmp_path / "x.npy", "--output", tmp_path / "r.npz")
    assert r.returncode == 0, r.stderr
    with np.load(tmp_path / "g.npz") as zg, np.load(tmp_path / "r.npz") as zr:
        assert sorted(zg.files) == sorted(zr.files) == ["classes", "logits", "spikes_1"]
        assert zg["spikes_1"].any()
        for k in zg.files:
            np.testing.assert_array_equal(zr[k], zg[k], err_msg=k)


def _graph(neuron, drop=(), edges=None):
    nodes = {"input": nir.Input(input_type={"input": np.array([2])}),
             "fc1": nir.Linear(weight=np.array([[1.0, -0.5], [0.25, 2.0]])), "n1": neuron,
             "fc2": nir.Affine(weight=np.eye(2), bias=np.zeros(2)), "output": nir.Output(output_type={"output": np.array([2])})}
    nodes = {k: v for k, v in nodes.items() if k not in drop}
    return nir.NIRGraph(nodes=nodes, edges=edges or [("input", "fc1"), ("fc1", "n1"), ("n1", "fc2"), ("fc2", "output")],
                        type_check=False)


def test_if_and_single_pole_cubalif_import():
    net, report = from_nir(_graph(nir.IF(r=np.array([2.0, 2.0]), v_threshold=np.array([3.0, 3.0]))), weight_bits=4)
    # IF gain r = 2: weights [[2, -1], [0.5, 4]], largest 4 -> 4 / 7 -> scale 2^0: [[2, -1], [0 (0.5 ties to even), 4]]
    assert net.layers[0].weight.tolist() == [[2, -1], [0, 4]] and net.layers[1].leak_shift is None
    assert net.layers[1].threshold == (4, 4)  # v > 3 on unit 1: u >= 4
    cuba = nir.CubaLIF(tau_syn=np.ones(2), tau_mem=np.full(2, 8.0), r=np.full(2, 8.0), v_leak=np.zeros(2),
                       v_threshold=np.ones(2), w_in=np.ones(2))
    net, report = from_nir(_graph(cuba), weight_bits=6)
    assert net.layers[1].leak_shift == 3 and report["layers"][1]["type"] == "CubaLIF"


@pytest.mark.parametrize("graph, message", [
    (lambda: _graph(nir.CubaLIF(tau_syn=np.full(2, 5.0), tau_mem=np.full(2, 8.0), r=np.full(2, 8.0), v_leak=np.zeros(2),
                                v_threshold=np.ones(2))),
     r"node 'n1' \(CubaLIF\): tau_syn = \[5.0, 5.0\] is a second pole"),
    (lambda: _graph(nir.LI(tau=np.full(2, 4.0), r=np.ones(2), v_leak=np.zeros(2))),
     r"node 'n1' \(LI\): not supported \(supported: Input, Output, Affine"),
    (lambda: _graph(nir.LIF(tau=np.array([4.0, 8.0]), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2))),
     r"node 'n1' \(LIF\): tau rounds to 2\^\[2, 3\]; a lif layer has one leak_shift"),
    (lambda: _graph(nir.LIF(tau=np.full(2, 4.0), r=np.ones(2), v_leak=np.ones(2), v_threshold=np.ones(2))),
     r"node 'n1' \(LIF\): v_leak is not 0"),
    (lambda: _graph(nir.Flatten(input_type={"input": np.array([2])}, start_dim=0, end_dim=-1)),
     r"node 'n1' \(Flatten\): not supported"),
    (lambda: _graph(nir.IF(r=np.ones(2), v_threshold=np.ones(2)), drop=("fc2",),
                    edges=[("input", "fc1"), ("fc1", "n1"), ("n1", "output")]),
     r"node 'output' \(Output\): expected an Affine or Linear node here"),
])
def test_unsupported_graphs_are_refused_naming_the_node(cli, tmp_path, graph, message):
    path = tmp_path / "g.nir"
    nir.write(str(path), graph())
    r = cli("nir", "import", "--input", path, "--output", tmp_path / "net.json")
    assert_usage_error(r, "")
    assert len(r.stderr.strip().splitlines()) == 1
    import re
    assert re.search(message, r.stderr), r.stderr
    assert not (tmp_path / "net.json").exists()


def test_bad_command_lines(cli, tmp_path):
    assert_usage_error(cli("nir", "import", "--input", tmp_path / "missing.nir", "--output", tmp_path / "n.json"),
                       "NIR file not found")
    (tmp_path / "junk.nir").write_text("not hdf5")
    assert_usage_error(cli("nir", "import", "--input", tmp_path / "junk.nir", "--output", tmp_path / "n.json"),
                       "not a readable NIR graph")
    assert_usage_error(cli("nir", "export", "--input", tmp_path / "junk.nir", "--output", tmp_path / "n.nir"),
                       "nir export takes --net")
    assert_usage_error(cli("nir", "import", "--input", tmp_path / "junk.nir", "--output", tmp_path / "junk.nir"),
                       "junk.nir")
    assert (tmp_path / "junk.nir").read_text() == "not hdf5"
