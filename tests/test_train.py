"""Training smoke test, checkpoints, the command lines' bad-input handling, and the exported layer's
exactness on its real (quantized) test-set input currents."""

import json

import numpy as np
import pytest
import torch

from shiftpsn.golden.integer import run as integer_run
from shiftpsn.golden.train.checkpoints import load_checkpoint
from shiftpsn.golden.export import export_layer, input_exponent, quantize_current
from shiftpsn.golden.train.loop import TrainConfig, train
from shiftpsn.golden.train.models import ModelConfig
from shiftpsn.golden.train.tasks import TASKS, load_task
from shiftpsn.cli import main as cli
from shiftpsn.base.errors import UsageError
from shiftpsn.base.spec import CoreSpec

# one worker runs this file, so the trained fixture below is built once
pytestmark = pytest.mark.xdist_group("golden_train")


def first_mismatch(got, want):
    idx = np.argwhere(got != want)
    if len(idx) == 0:
        return None
    i = tuple(idx[0])
    return f"first mismatch at (sequence, t, c) = {i}: got {got[i]}, expected {want[i]} ({len(idx)} in all)"


@pytest.fixture(scope="module")
def mulfree_ckpt(tmp_path_factory):
    """A mul-free network trained for 3 epochs on a subset (sawtooth: layer 1 has d = 2)."""
    out = tmp_path_factory.mktemp("mulfree")
    cfg = TrainConfig(ModelConfig("seq-digits", "mulfree", order=3, dilation="sawtooth", width=16),
                      epochs=3, seed=3, train_subset=512, test_subset=96)
    result = train(cfg, out, progress=False)
    return out / "model.pt", result


def test_tasks_shapes_and_split():
    for name, shape in TASKS.items():
        if shape.dataset != "digits":
            continue  # MNIST: tests/test_mnist_task.py
        d = load_task(name)
        assert d.x_train.shape == (1347, shape.steps, shape.features)
        assert d.x_test.shape == (450, shape.steps, shape.features)
        assert 0.0 <= d.x_train.min() and d.x_train.max() <= 1.0
        # stratified: each class holds a quarter of its images in the test set (to one sample)
        per_class = np.bincount(d.y_train) + np.bincount(d.y_test)
        assert np.all(np.abs(np.bincount(d.y_test) - per_class / 4) <= 1)
    a, b = load_task("seq-digits"), load_task("pixel-digits")
    assert np.array_equal(a.x_test.reshape(450, -1), b.x_test.reshape(450, -1))  # one fixed split


def test_smoke_training_and_checkpoint(mulfree_ckpt):
    path, result = mulfree_ckpt
    assert result.finite and len(result.history) == 3
    assert json.loads((path.parent / "results.json").read_text())["test_acc"] == result.test_acc
    model, cfg, saved = load_checkpoint(path)
    assert cfg.model.neuron == "mulfree" and cfg.model.dilations() == [1, 2, 3]
    data = load_task("seq-digits", test_subset=96)
    with torch.no_grad():
        correct = int((model(torch.from_numpy(data.x_test)).argmax(1) == torch.from_numpy(data.y_test)).sum())
    assert correct == round(saved["test_acc"] * 96)


def test_training_is_reproducible():
    cfg = TrainConfig(ModelConfig("seq-digits", "sliding-psn", order=2, width=8), epochs=1, seed=5,
                      train_subset=64, test_subset=32)
    a, b = train(cfg, progress=False), train(cfg, progress=False)
    assert [h.loss for h in a.history] == [h.loss for h in b.history]


@pytest.mark.parametrize("layer", [None, "1", "blocks.2.neuron"])
def test_exported_layer_is_exact_on_real_currents(mulfree_ckpt, layer):
    path, _ = mulfree_ckpt
    e = export_layer(path, layer, input_width=8)
    assert e.x.dtype == np.int64 and e.x.shape == (450, 8, 16) and e.spikes.shape == e.x.shape
    assert e.x.min() >= -128 and e.x.max() <= 127
    assert e.spec.dilation == {None: 1, "1": 2, "blocks.2.neuron": 3}[layer]
    spikes, _ = integer_run(e.spec, e.x)
    assert 0 < spikes.mean() < 1, "a trivial layer (never or always fires) proves nothing"
    assert np.array_equal(spikes, e.spikes), first_mismatch(spikes, e.spikes)


def test_exported_layer_is_exact_with_a_wide_accumulator(mulfree_ckpt):
    # 12-bit inputs and the full exponent range [-8, 7]: acc_width 30 > 26, so the float reference
    # cannot be the float32 layer and runs the layer's fused weights in float64
    e = export_layer(mulfree_ckpt[0], 0, input_width=12, tight=False)
    assert e.spec.acc_width == 30
    spikes, _ = integer_run(e.spec, e.x)
    assert 0 < spikes.mean() < 1
    assert np.array_equal(spikes, e.spikes), first_mismatch(spikes, e.spikes)


def test_quantized_currents_match_the_float_currents(mulfree_ckpt):
    path, _ = mulfree_ckpt
    e = export_layer(path, 0, input_width=6)
    model, _, _ = load_checkpoint(path)
    x = torch.from_numpy(load_task("seq-digits").x_test)  # export quantizes the whole test set
    cur = model.layer_current(x, 0).permute(1, 0, 2).double().numpy()
    step = 2.0 ** e.input_exp
    inside = np.abs(cur) <= 31 * step
    # round to nearest on the 2^input_exp grid where the value fits, saturated elsewhere
    assert np.all(np.abs(e.x * step - cur)[inside] <= step / 2)
    assert np.array_equal(e.x[~inside], np.where(cur[~inside] > 0, 31, -32))
    assert e.saturated == int((~inside).sum())


def test_input_exponent_and_quantizer_by_hand():
    assert input_exponent(127.0, 8) == 0 and input_exponent(127.5, 8) == 1
    assert input_exponent(1.0, 8) == -6  # 1 / 2^-6 = 64 <= 127 < 128 = 1 / 2^-7
    x, sat = quantize_current(torch.tensor([0.26, -0.25, 0.375, 9.0]), -2, 4)
    assert x.tolist() == [1, -1, 2, 7] and sat == 1  # 0.375*4 = 1.5 -> 2 (half to even), 36 -> 7


def test_cli_train_and_export(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli(["train", "--task", "pixel-digits", "--neuron", "mulfree", "--order", "2", "--epochs", "1",
                "--width", "8", "--train-subset", "64", "--test-subset", "16", "--output-dir", str(out),
                "--quiet"]) == 0
    spec_path = tmp_path / "spec.json"
    assert cli(["export", "--checkpoint", str(out / "model.pt"), "--output", str(spec_path),
                "--input-width", "6", "--stimulus", str(tmp_path / "x.npy"),
                "--reference", str(tmp_path / "ref.npz")]) == 0
    spec = CoreSpec.load(spec_path)
    meta = json.loads((tmp_path / "spec.export.json").read_text())
    assert spec.input_width == 6 and spec.channels == 8 and spec.order == 2
    x = np.load(tmp_path / "x.npy")
    assert x.shape == (450, 64, 8)  # export quantizes the whole test set
    spikes, _ = integer_run(spec, x)
    ref = np.load(tmp_path / "ref.npz")["spikes"]
    assert np.array_equal(spikes, ref), first_mismatch(spikes, ref)
    assert meta["input_scale"] == 2.0 ** meta["input_exp"]


@pytest.mark.parametrize("argv, message", [
    (["train", "--task", "cifar", "--neuron", "psn"], "unknown task 'cifar'"),
    (["train", "--task", "seq-digits", "--neuron", "gru"], "unknown neuron 'gru'"),
    (["train", "--task", "seq-digits", "--neuron", "psn", "--dilation", "sawtooth"], "has no dilation"),
    (["train", "--task", "seq-digits", "--neuron", "lif-soft", "--quantize"], "has no quantization"),
    (["train", "--task", "seq-digits", "--neuron", "mulfree", "--dilation", "zigzag"], "dilation must be"),
    (["train", "--task", "seq-digits", "--neuron", "mulfree", "--epochs", "0"], "epochs must be"),
    (["train", "--task", "seq-digits", "--neuron", "mulfree", "--method", "fft"], "unknown convolution"),
    (["export", "--checkpoint", "/nonexistent/model.pt"], "checkpoint file not found"),
])
def test_cli_bad_input_exits_2(tmp_path, capsys, argv, message):
    extra = ["--output-dir", str(tmp_path / "o")] if argv[0] == "train" else ["--output", str(tmp_path / "s.json")]
    assert cli(argv + extra) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err


def test_export_rejects_layers_that_are_not_mul_free(tmp_path, capsys, mulfree_ckpt):
    for neuron in ("psn", "cwpsn"):
        d = tmp_path / neuron
        train(TrainConfig(ModelConfig("seq-digits", neuron, width=4), epochs=1, train_subset=16,
                          test_subset=8), d, progress=False)
        assert cli(["export", "--checkpoint", str(d / "model.pt"), "--output", str(tmp_path / "s.json")]) == 2
        assert "mul-free" in capsys.readouterr().err
    with pytest.raises(UsageError, match="no neuron layer 'blocks.7.neuron'"):
        export_layer(mulfree_ckpt[0], "blocks.7.neuron")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(UsageError, match="cannot read checkpoint"):
        load_checkpoint(bad)
