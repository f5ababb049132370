"""Network files saved and loaded, and whole trained networks exported to integers (docs/CONTRACT.md section 5); split from test_network.py."""

import json
import numpy as np
import pytest
from shiftpsn.base.network import NetworkSpec, load_network_results
from shiftpsn.cli import main as cli

from test_network import random_network, good_network  # noqa: F401 (helpers and fixtures of test_network)


def test_save_load_round_trip():
    for seed in range(5):
        d = random_network(seed)
        net = NetworkSpec.from_dict(d)
        again = NetworkSpec.from_dict(json.loads(net.to_json()))
        assert again.to_dict() == net.to_dict() == NetworkSpec.from_dict(net.to_dict()).to_dict()
        assert again.ranges == net.ranges
    d = good_network()
    d["name"] = "mynet"
    d["layers"][0].update(lanes=1, name="d0")
    d["layers"][1].update(lanes=1, name="n1", arith="mac")
    text = NetworkSpec.from_dict(d).to_json()
    assert json.loads(text) == d


# ----------------------------------------------------------------------------- export of a trained network


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    from shiftpsn.golden.train.loop import TrainConfig, train
    from shiftpsn.golden.train.models import ModelConfig

    out = tmp_path_factory.mktemp("netexport")
    cfg = TrainConfig(ModelConfig("seq-digits", "mulfree", order=3, dilation="sawtooth", width=16, layers=2),
                      epochs=2, seed=1, train_subset=768, test_subset=32, batch_size=16, lr=2e-2)
    train(cfg, out, progress=False)
    return out / "model.pt"


def quantized_float_numpy(ckpt, net: dict, meta: dict, x: np.ndarray) -> np.ndarray:
    """The quantized float network in numpy float64, from the network file's integers and the scales in
    its metadata: dense = (W 2^weight_exp) h + bias 2^output_exp; neuron = its own fused float parameters
    (float64) over the dilated taps, spike when H + b_f >= 0; class = argmax of the summed logits."""
    from shiftpsn.golden.export import inference_parameters
    from shiftpsn.golden.train.checkpoints import load_checkpoint

    model, _, _ = load_checkpoint(ckpt)
    neurons = list(model.neuron_layers().values())
    h = x.astype(np.float64) / 16.0  # the task's inputs (pixels / 16)
    for L, layer in enumerate(net["layers"]):
        info = meta["layers"][L]
        assert info["index"] == L
        if layer["type"] == "dense":
            W = np.ldexp(np.array(layer["weight"], dtype=np.float64), info["weight_exp"])
            b = np.ldexp(np.array(layer["bias"], dtype=np.float64), info["output_exp"])
            h = np.einsum("bti,oi->bto", h, W) + b
            continue
        neuron = neurons[L // 2]
        wf, bf = (t.double().numpy() for t in inference_parameters(neuron))
        k, d, T = neuron.order, neuron.dilation, h.shape[1]
        H = np.zeros_like(h)
        for i in range(k):
            delay = (k - 1 - i) * d
            if delay < T:
                H[:, delay:] += wf[:, i] * h[:, :T - delay]
        h = (H + bf >= 0).astype(np.float64)
    return np.argmax(h.sum(axis=1), axis=1)


def test_export_network_round_trip(tmp_path, capsys, tiny_checkpoint):
    from shiftpsn.golden.train.checkpoints import load_checkpoint
    from shiftpsn.golden.train.loop import evaluate
    from shiftpsn.golden.train.tasks import load_task
    import torch

    out = tmp_path / "b"
    assert cli(["export", "--checkpoint", str(tiny_checkpoint), "--network", "--output", str(out / "net.json"),
                "--stimulus", str(out / "x.npy"), "--labels", str(out / "y.npy")]) == 0
    printed = capsys.readouterr().out
    assert "float" in printed and "quantized" in printed and "integer" in printed
    net_dict = json.loads((out / "net.json").read_text())
    meta = json.loads((out / "net.export.json").read_text())
    net = NetworkSpec.load(out / "net.json")
    x, y = np.load(out / "x.npy"), np.load(out / "y.npy")
    assert x.dtype == np.int64 and y.dtype == np.int64 and x.shape == (450, 8, 8) and y.shape == (450,)
    assert x.min() == 0 and x.max() == 16 and net.input_width == 6
    data = load_task("seq-digits")
    assert np.array_equal(x, np.rint(data.x_test * 16)) and np.array_equal(y, data.y_test)
    # every neuron layer's input_width is exactly what its dense layer can produce; weights are 8-bit
    for L in net.neuron_indices:
        assert net.layers[L].input_width == net.required_width(L - 1)
    for layer in net.layers[::2]:
        assert np.abs(layer.weight).max() <= 127
    # golden --net: the integer network
    assert cli(["golden", "--net", str(out / "net.json"), "--input", str(out / "x.npy"),
                "--output", str(out / "int.npz")]) == 0
    classes = load_network_results(out / "int.npz", net)["classes"]
    # the quantized float network, computed independently: the same predictions, sample for sample
    assert meta["exact_quantized_float"] is True
    quant = quantized_float_numpy(tiny_checkpoint, net_dict, meta, x)
    assert np.array_equal(classes, quant), f"{int((classes != quant).sum())} predictions differ"
    acc = meta["accuracy"]
    assert acc["integer"] == float((classes == y).mean()) == acc["quantized"]
    assert meta["agreement_integer_quantized"] == 1.0
    model, _, _ = load_checkpoint(tiny_checkpoint)
    float_acc, _ = evaluate(model, torch.from_numpy(data.x_test), torch.from_numpy(data.y_test))
    assert acc["float"] == float_acc
    assert acc["integer"] > 0.3, acc  # a briefly trained net, far above chance (0.1)
    assert set(meta["firing_rates"]) == {"spikes_1", "spikes_3"}
    assert all(0.02 < r < 0.98 for r in meta["firing_rates"].values()), meta["firing_rates"]


def test_export_network_needs_mul_free_neurons(tmp_path, capsys):
    from shiftpsn.golden.train.checkpoints import save_checkpoint
    from shiftpsn.golden.train.loop import TrainConfig
    from shiftpsn.golden.train.models import ModelConfig, SpikingMLP

    for neuron in ("cwpsn", "lif-soft"):
        config = TrainConfig(ModelConfig("seq-digits", neuron, width=4, layers=1), epochs=1)
        save_checkpoint(tmp_path / "m.pt", SpikingMLP(config.model), config)
        rc = cli(["export", "--checkpoint", str(tmp_path / "m.pt"), "--network", "--output", str(tmp_path / "n.json")])
        err = capsys.readouterr().err.strip()
        assert rc == 2 and len(err.splitlines()) == 1 and "needs mul-free (quantized) neurons" in err, err
        assert "blocks.0.neuron" in err, err


def test_export_network_bad_options(tmp_path, capsys, tiny_checkpoint):
    base = ["export", "--checkpoint", str(tiny_checkpoint), "--output", str(tmp_path / "n.json")]
    for extra, fragment in ((["--network", "--layer", "0"], "--layer applies to one layer"),
                            (["--network", "--input-width", "8"], "--input-width applies to one layer"),
                            (["--labels", str(tmp_path / "y.npy")], "--labels needs --network"),
                            (["--weight-bits", "6"], "--weight-bits needs --network")):
        assert cli(base + extra) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and fragment in err, err
