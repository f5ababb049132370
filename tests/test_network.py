"""Whole networks (docs/CONTRACT.md section 5): ``golden --net`` against an independent per-element
implementation of the contract on random networks, the exact range check, bad network files and inputs,
and the export of a trained network (integer predictions == the quantized float network's)."""

import copy
import json

import numpy as np
import pytest

from conftest import assert_usage_error, run_cli
from shiftpsn.base.network import NetworkSpec
from shiftpsn.cli import main as cli

# ----------------------------------------------------------------------------- the contract, per element


def reference(net: dict, x: list) -> dict:
    """Logits, classes and spikes of a network dict on x (B lists of T lists of I ints), one element at
    a time in Python integers, straight from docs/CONTRACT.md sections 2 and 5."""
    logits, classes, spikes = [], [], {}
    for seq in x:
        h = seq
        T = len(h)
        for L, layer in enumerate(net["layers"]):
            if layer["type"] == "dense":
                W, bias = layer["weight"], layer["bias"]
                h = [[bias[o] + sum(W[o][i] * h[t][i] for i in range(len(W[o]))) for o in range(len(W))]
                     for t in range(T)]
                continue
            k, d, emin = layer["order"], layer["dilation"], layer["exp_min"]
            lo, hi = -(1 << (layer["input_width"] - 1)), (1 << (layer["input_width"] - 1)) - 1
            assert all(lo <= v <= hi for row in h for v in row), "a neuron input outside input_width"
            out = []
            for t in range(T):
                row = []
                for c in range(layer["channels"]):
                    acc = 0
                    for i in range(k):
                        e, j = layer["shift"][c][i], t - (k - 1 - i) * d
                        if e is not None and j >= 0:
                            acc += layer["sign"][c][i] * (h[j][c] << (e - emin))
                    row.append(1 if acc >= layer["threshold"][c] else 0)
                out.append(row)
            spikes.setdefault(L, []).append(out)
            h = out
        sums = [sum(h[t][o] for t in range(T)) for o in range(len(h[0]))]
        logits.append(h)
        classes.append(sums.index(max(sums)))  # the lowest o on ties
    return {"logits": logits, "classes": classes, **{f"spikes_{L}": s for L, s in spikes.items()}}


def dense_range(W, bias, xmin, xmax):
    """Exact (lo, hi) per output by brute force over each weight's two extreme inputs."""
    lo = [b + sum(min(w * xmin, w * xmax) for w in row) for row, b in zip(W, bias)]
    hi = [b + sum(max(w * xmin, w * xmax) for w in row) for row, b in zip(W, bias)]
    return lo, hi


def width_of(lo: int, hi: int) -> int:
    w = 2
    while lo < -(1 << (w - 1)) or hi > (1 << (w - 1)) - 1:
        w += 1
    return w


def random_dense(rng, O, I, style):
    if style == "extreme":  # every weight at +-2^20 - 1, bias at an extreme
        big = (1 << 20) - 1
        W = [[int(rng.choice([-big, big])) for _ in range(I)] for _ in range(O)]
        bias = [int(rng.choice([-big, big, 0])) for _ in range(O)]
    elif style == "wide":
        mag = int(rng.integers(1, 16))
        W = [[int(v) for v in rng.integers(-(1 << mag), (1 << mag) + 1, I)] for _ in range(O)]
        bias = [int(v) for v in rng.integers(-(1 << (mag + 3)), (1 << (mag + 3)) + 1, O)]
    else:
        W = [[int(v) for v in rng.integers(-3, 4, I)] for _ in range(O)]
        bias = [int(v) for v in rng.integers(-4, 5, O)]
    return {"type": "dense", "weight": W, "bias": bias}


def random_network(seed: int) -> dict:
    """1-3 hidden layers, widths 1..32, k 1..8, sawtooth dilations, extreme weights and thresholds;
    every neuron layer's input_width is the exact width its dense layer needs (or a bit more)."""
    rng = np.random.default_rng(seed)
    hidden = int(rng.integers(1, 4))
    input_width = int(rng.integers(2, 17))
    I = int(rng.integers(1, 33))
    xmin, xmax = -(1 << (input_width - 1)), (1 << (input_width - 1)) - 1
    layers, d = [], 1
    for l in range(hidden + 1):
        O = int(rng.integers(1, 33)) if l < hidden else int(rng.integers(1, 11))
        style = str(rng.choice(["small", "wide", "extreme"], p=[0.4, 0.4, 0.2]))
        dense = random_dense(rng, O, I, style)
        layers.append(dense)
        if l == hidden:
            break
        lo, hi = dense_range(dense["weight"], dense["bias"], xmin, xmax)
        w = width_of(min(lo), max(hi)) + int(rng.choice([0, 0, 0, 1, 2]))
        k = int(rng.integers(1, 9))
        exp_min = int(rng.integers(-4, 3))
        exp_max = exp_min + int(rng.integers(0, 7))
        shift = [[None if rng.random() < 0.15 else int(rng.integers(exp_min, exp_max + 1)) for _ in range(k)]
                 for _ in range(O)]
        sign = [[int(rng.choice([-1, 1])) for _ in range(k)] for _ in range(O)]
        scale = 1 << max(0, w - 2 + (exp_max - exp_min) // 2)
        threshold = [int(rng.integers(-scale, scale + 1)) // 4 for _ in range(O)]
        acc_w = w + (exp_max - exp_min) + (k - 1).bit_length() + 1
        extremes = [-(1 << (acc_w - 1)), (1 << (acc_w - 1)) - 1, (1 << (acc_w - 1)), 0, 1, -(1 << 100), 1 << 100]
        for c in range(O):
            if rng.random() < 0.1:
                threshold[c] = int(rng.choice(extremes))
        layers.append({"type": "psn", "channels": O, "order": k, "dilation": d, "input_width": w,
                       "exp_min": exp_min, "exp_max": exp_max, "shift": shift, "sign": sign,
                       "threshold": threshold})
        d = d % 3 + 1  # sawtooth
        I, xmin, xmax = O, 0, 1
    return {"input_width": input_width, "layers": layers}


def random_input(net: dict, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    W = net["input_width"]
    lo, hi = -(1 << (W - 1)), (1 << (W - 1)) - 1
    I = len(net["layers"][0]["weight"][0])
    B, T = int(rng.integers(1, 3)), int(rng.integers(1, 9))
    x = rng.integers(lo, hi + 1, size=(B, T, I))
    pick = rng.random(x.shape) < 0.3
    x[pick] = rng.choice([lo, hi, 0, -1], size=int(pick.sum()))
    if B > 1:  # one sequence of all-extreme steps: the first dense layer's worst cases
        x[-1] = np.where(rng.random((T, I)) < 0.5, lo, hi)
        x[-1, ::2] = np.where(np.array(net["layers"][0]["weight"][0]) > 0, hi, lo)
    return x


def run_golden(tmp_path, net: dict, x: np.ndarray) -> dict:
    (tmp_path / "net.json").write_text(json.dumps(net))
    np.save(tmp_path / "x.npy", x)
    rc = cli(["golden", "--net", str(tmp_path / "net.json"), "--input", str(tmp_path / "x.npy"),
              "--output", str(tmp_path / "out.npz")])
    assert rc == 0
    with np.load(tmp_path / "out.npz") as z:
        return {k: z[k] for k in z.files}


def assert_equal_results(got: dict, want: dict, what: str) -> None:
    assert set(got) == set(want), f"{what}: keys {sorted(got)} != {sorted(want)}"
    for key, value in want.items():
        value = np.array(value, dtype=np.uint8 if key.startswith("spikes") else np.int64)
        g = got[key]
        assert g.dtype == value.dtype, f"{what}: {key} dtype {g.dtype}"
        assert g.shape == value.shape, f"{what}: {key} shape {g.shape} != {value.shape}"
        bad = np.argwhere(g != value)
        assert len(bad) == 0, f"{what}: {key} differs at {tuple(bad[0])}: {g[tuple(bad[0])]} != " \
                              f"{value[tuple(bad[0])]}"


# ----------------------------------------------------------------------------- golden --net


def test_golden_net_equals_the_contract_on_random_networks(tmp_path, capsys):
    styles = set()
    for seed in range(110):
        net = random_network(seed)
        x = random_input(net, 1000 + seed)
        got = run_golden(tmp_path, net, x)
        assert_equal_results(got, reference(net, x.tolist()), f"network seed {seed}")
        styles.add((len(net["layers"]) // 2, max(len(layer["weight"][0]) for layer in net["layers"][::2])))
    assert {h for h, _ in styles} == {1, 2, 3}
    capsys.readouterr()


def test_shared_random_networks_are_valid_and_exact(tmp_path):
    """shiftpsn.base.testing.random_network (for regressions): valid, spiking, golden == the contract."""
    from shiftpsn.base.testing import random_network as shared_random_network
    from shiftpsn.base.testing import random_network_input

    rates = []
    for seed in range(15):
        rng = np.random.default_rng(seed)
        net = shared_random_network(rng)
        d = json.loads(net.to_json())
        x = random_network_input(net, rng, 2, 6)
        got = run_golden(tmp_path, d, x)
        assert_equal_results(got, reference(d, x.tolist()), f"shared random network {seed}")
        rates += [got[k].mean() for k in got if k.startswith("spikes_")]
    assert 0.2 < np.median(rates) < 0.8, rates


def test_the_range_is_exact_and_reached(tmp_path):
    """One dense layer (no neurons): the logits are Y, and the maximizing / minimizing inputs reach the
    computed range exactly."""
    rng = np.random.default_rng(5)
    W = [[int(v) for v in rng.integers(-1000, 1001, 7)] for _ in range(3)]
    net = {"input_width": 5, "layers": [{"type": "dense", "weight": W, "bias": [3, -7, 0]}]}
    spec = NetworkSpec.from_dict(net)
    lo, hi = dense_range(W, [3, -7, 0], -16, 15)
    assert spec.ranges[0] == (lo, hi)
    w0 = np.array(W[1])
    x = np.stack([np.where(w0 > 0, 15, -16), np.where(w0 > 0, -16, 15)])[:, None, :]  # (2, 1, 7)
    got = run_golden(tmp_path, net, x)
    assert got["logits"][:, 0, 1].tolist() == [hi[1], lo[1]]


def test_one_bit_too_narrow_is_rejected_on_random_networks():
    """The range check is tight: each random network loads with every neuron layer at exactly the width
    its dense layer needs, and is refused, naming that layer, with one bit less."""
    from shiftpsn.base.errors import SpecError

    rejected = 0
    for seed in range(40):
        net = random_network(seed)
        xmin, xmax = -(1 << (net["input_width"] - 1)), (1 << (net["input_width"] - 1)) - 1
        for L in range(1, len(net["layers"]), 2):
            dense = net["layers"][L - 1]
            lo, hi = dense_range(dense["weight"], dense["bias"], xmin, xmax)
            net["layers"][L]["input_width"] = width_of(min(lo), max(hi))
            xmin, xmax = 0, 1
        NetworkSpec.from_dict(net)
        L = 1 + 2 * (seed % (len(net["layers"]) // 2))
        if net["layers"][L]["input_width"] == 2:
            continue
        net["layers"][L]["input_width"] -= 1
        with pytest.raises(SpecError, match=rf"layers\[{L}\] \(psn\): output \d+ of layers\[{L - 1}\]"):
            NetworkSpec.from_dict(net)
        rejected += 1
    assert rejected >= 30


def psn_layer(C, input_width, threshold=1):
    return {"type": "psn", "channels": C, "order": 2, "dilation": 1, "input_width": input_width,
            "exp_min": 0, "exp_max": 1, "shift": [[0, 1]] * C, "sign": [[1, -1]] * C,
            "threshold": [threshold] * C}


def fit_network(psn_width: int) -> dict:
    """For 4-bit inputs dense output 0 ranges over [5 - 3*8 - 2*7, 5 + 3*7 + 2*8] = [-33, 42]: 7 bits."""
    dense0 = {"type": "dense", "weight": [[3, -2], [1, 1]], "bias": [5, 0]}
    return {"input_width": 4, "layers": [dense0, psn_layer(2, psn_width),
                                         {"type": "dense", "weight": [[1, -1]], "bias": [0]}]}


def test_dense_outputs_that_may_not_fit_are_rejected(tmp_path, capsys):
    lo, hi = dense_range([[3, -2], [1, 1]], [5, 0], -8, 7)
    assert width_of(min(lo), max(hi)) == 7
    NetworkSpec.from_dict(fit_network(7))  # exactly wide enough
    np.save(tmp_path / "x.npy", np.zeros((3, 2), dtype=np.int64))
    (tmp_path / "net.json").write_text(json.dumps(fit_network(6)))
    rc = cli(["golden", "--net", str(tmp_path / "net.json"), "--input", str(tmp_path / "x.npy"),
              "--output", str(tmp_path / "o.npz")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1, err
    assert "layers[1] (psn)" in err and "layers[0] (dense)" in err and "input_width >= 7" in err
    assert not (tmp_path / "o.npz").exists()
    # a later layer: spikes (0/1) into dense 2, whose range must fit layers[3]
    net = fit_network(7)
    net["layers"][2] = {"type": "dense", "weight": [[40, -30], [1, 1]], "bias": [-60, 0]}
    net["layers"] += [psn_layer(2, 8), {"type": "dense", "weight": [[1, 1]], "bias": [0]}]
    NetworkSpec.from_dict(net)  # [-60 - 30, -60 + 40] = [-90, -20] fits 8 bits
    net["layers"][2]["bias"][0] = -100  # [-130, -60] does not
    (tmp_path / "net.json").write_text(json.dumps(net))
    proc = run_cli("golden", "--net", tmp_path / "net.json", "--input", tmp_path / "x.npy",
                   "--output", tmp_path / "o.npz")
    assert_usage_error(proc, "layers[3] (psn)", "-130", "input_width >= 9")


def good_network() -> dict:
    return fit_network(7)


BAD = [
    (lambda n: n.update(input_width=1), "'input_width' must be in [2, 64]"),
    (lambda n: n.update(input_width=65), "'input_width' must be in [2, 64]"),
    (lambda n: n.update(input_width="4"), "'input_width' must be an integer"),
    (lambda n: n.update(input_width=True), "'input_width' must be an integer"),
    (lambda n: n.update(colour="red"), "unknown key 'colour'"),
    (lambda n: n.pop("layers"), "missing key 'layers'"),
    (lambda n: n.update(layers=[]), "'layers' must be a non-empty list"),
    (lambda n: n.update(layers={"a": 1}), "'layers' must be a non-empty list"),
    (lambda n: n.update(name="module"), "'name' must be a Verilog identifier"),
    (lambda n: n["layers"].pop(), "must end with a dense layer"),
    (lambda n: n["layers"].pop(0), "layers[0] is a psn layer, expected dense"),
    (lambda n: n["layers"].insert(1, copy.deepcopy(n["layers"][0])), "layers[1] is a dense layer, expected lif/psn"),
    (lambda n: n["layers"][0].update(type="conv"), "layers[0]: 'type' must be one of"),
    (lambda n: n["layers"][0].pop("type"), "layers[0]: 'type' must be one of"),
    (lambda n: n["layers"].__setitem__(0, [1, 2]), "layers[0] must be a JSON object"),
    (lambda n: n["layers"][0].update(extra=1), "layers[0] (dense): unknown key 'extra'"),
    (lambda n: n["layers"][0].pop("bias"), "layers[0] (dense): missing key 'bias'"),
    (lambda n: n["layers"][0].update(weight=[[3, -2], [1]]), "layers[0] (dense): 'weight'[1] has 1 entries"),
    (lambda n: n["layers"][0].update(weight=[[3, 2.5], [1, 1]]), "'weight'[0][1] must be an integer, got 2.5"),
    (lambda n: n["layers"][0].update(weight=[[3, True], [1, 1]]), "'weight'[0][1] must be an integer, got True"),
    (lambda n: n["layers"][0].update(weight=[]), "'weight' must be a non-empty list"),
    (lambda n: n["layers"][0].update(weight=[[], []]), "'weight'[0] is empty"),
    (lambda n: n["layers"][0].update(weight=[3, 2]), "'weight' must be a non-empty list"),
    (lambda n: n["layers"][0].update(weight=[[1 << 63, 0], [1, 1]]), "does not fit int64"),
    (lambda n: n["layers"][0].update(bias=[5]), "layers[0] (dense): 'bias' has 1 entries, expected 2"),
    (lambda n: n["layers"][0].update(bias=[5, "0"]), "'bias'[1] must be an integer"),
    (lambda n: n["layers"][0].update(bias=5), "'bias' must be a list"),
    (lambda n: n["layers"][0].update(lanes=3), "'lanes' (3) must divide the outputs O = 2"),
    (lambda n: n["layers"][0].update(name="1x"), "layers[0] (dense): 'name' must be a Verilog identifier"),
    (lambda n: n["layers"][1].update(channels=3), "layers[1] (psn): 'shift' has 2 rows"),
    (lambda n: n["layers"][1].update(colour=1), "layers[1] (psn): unknown key 'colour'"),
    (lambda n: n["layers"][1].update(order=0), "layers[1] (psn): 'order' must be >= 1"),
    (lambda n: n["layers"][1].update(positions=2, lanes=4), "layers[1] (psn): 'positions' must be 1"),
    (lambda n: n["layers"][1].update(threshold=[1, 1.5]), "layers[1] (psn): 'threshold'[1] must be an integer"),
    (lambda n: n["layers"][2].update(weight=[[1, -1, 0]]),
     "layers[2] (dense): 'weight' rows have 3 entries, expected 2"),
    (lambda n: n["layers"][0].update(weight=[[(1 << 62), (1 << 62)], [1, 1]]), "beyond int64"),
]


@pytest.mark.parametrize("mutate,fragment", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_network_files_exit_2_with_one_line(tmp_path, capsys, mutate, fragment):
    net = good_network()
    mutate(net)
    (tmp_path / "net.json").write_text(json.dumps(net))
    np.save(tmp_path / "x.npy", np.zeros((3, 2), dtype=np.int64))
    rc = cli(["golden", "--net", str(tmp_path / "net.json"), "--input", str(tmp_path / "x.npy"),
              "--output", str(tmp_path / "o.npz")])
    err = capsys.readouterr().err.strip()
    assert rc == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert fragment in err and "net.json" in err, err


@pytest.mark.parametrize("x,fragment", [
    (np.zeros((3, 2), dtype=np.float64), "dtype must be an integer type"),
    (np.zeros((3, 3), dtype=np.int64), "expected the network's inputs I = 2"),
    (np.zeros((3,), dtype=np.int64), "shape must be (T, I) or (B, T, I)"),
    (np.full((1, 3, 2), 8, dtype=np.int64), "value 8 at index (0, 0, 0) does not fit input_width = 4"),
    (np.full((3, 2), np.iinfo(np.uint64).max, dtype=np.uint64), "does not fit input_width"),
])
def test_bad_inputs_exit_2(tmp_path, capsys, x, fragment):
    (tmp_path / "net.json").write_text(json.dumps(good_network()))
    np.save(tmp_path / "x.npy", x)
    rc = cli(["golden", "--net", str(tmp_path / "net.json"), "--input", str(tmp_path / "x.npy"),
              "--output", str(tmp_path / "o.npz")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and fragment in err, err


def test_cli_spec_and_net_are_exclusive_and_errors_are_one_line(tmp_path):
    (tmp_path / "net.json").write_text("{not json")
    np.save(tmp_path / "x.npy", np.zeros((3, 2), dtype=np.int64))
    assert_usage_error(run_cli("golden", "--net", tmp_path / "net.json", "--input", tmp_path / "x.npy",
                               "--output", tmp_path / "o.npz"), "invalid JSON")
    assert_usage_error(run_cli("golden", "--net", "n.json", "--spec", "s.json", "--input", "x.npy",
                               "--output", "o.npz"), "not allowed with")
