"""The MNIST tasks (seq-mnist, pixel-mnist): their inputs, a small training run, and the exported
network's integer model against its quantized float model, prediction for prediction.

Needs the data cache that `make data` fills (make test depends on it)."""

import json

import numpy as np
import pytest
import torch

from conftest import run_cli
from shiftpsn.golden.export_network import export_network
from shiftpsn.golden.network import run_network
from shiftpsn.golden.train import mnist_data
from shiftpsn.golden.train.loop import TrainConfig, train
from shiftpsn.golden.train.models import ModelConfig
from shiftpsn.golden.train.tasks import TASKS, load_task

REAL = mnist_data.data_dir() / mnist_data.NPZ_NAME
pytestmark = [pytest.mark.xdist_group("mnist_task"),
              pytest.mark.skipif(not REAL.is_file(), reason=f"no MNIST cache at {REAL}: run `make data`")]


def test_mnist_tasks_feed_integer_pixels_over_256():
    raw = mnist_data.load_mnist()
    seq = load_task("seq-mnist", train_subset=50, test_subset=30)
    pix = load_task("pixel-mnist", train_subset=50, test_subset=30)
    assert TASKS["seq-mnist"].input_exp == TASKS["pixel-mnist"].input_exp == -8
    assert seq.x_train.shape == (50, 28, 28) and seq.x_test.shape == (30, 28, 28)
    assert pix.x_train.shape == (50, 784, 1) and pix.x_test.shape == (30, 784, 1)
    # float input = pixel / 256 exactly; rows top to bottom, pixels left to right (as the raw images)
    assert seq.x_train.dtype == np.float32
    assert np.array_equal(seq.x_train.astype(np.float64) * 256, raw["x_train"][:50].astype(np.float64))
    assert np.array_equal(seq.x_test.astype(np.float64) * 256, raw["x_test"][:30].astype(np.float64))
    assert np.array_equal(pix.x_test.reshape(30, 28, 28), seq.x_test)
    assert np.array_equal(seq.y_test, raw["y_test"][:30].astype(np.int64)) and seq.y_test.dtype == np.int64
    full = load_task("seq-mnist")
    assert len(full.y_train) == 60000 and len(full.y_test) == 10000


def test_mnist_subset_beyond_the_split_is_an_error():
    from shiftpsn.base.errors import UsageError

    with pytest.raises(UsageError, match="--test-subset 10001 is larger than the seq-mnist test set"):
        load_task("seq-mnist", test_subset=10001)


@pytest.fixture(scope="module")
def seq_mnist_ckpt(tmp_path_factory):
    """A small mul-free seq-MNIST network (2 epochs on 3000 images, sawtooth: layer 1 has d = 2)."""
    out = tmp_path_factory.mktemp("seqmnist")
    cfg = TrainConfig(ModelConfig("seq-mnist", "mulfree", order=4, dilation="sawtooth", width=24, layers=2),
                      epochs=2, batch_size=64, seed=1, train_subset=3000, test_subset=500)
    torch.set_num_threads(1)
    result = train(cfg, out, progress=False)
    assert result.finite
    return out / "model.pt", result


def test_seq_mnist_export_is_exact(seq_mnist_ckpt):
    """export --network on a seq-MNIST model: 9-bit signed pixel inputs at 2^-8, and the integer model
    equal to the quantized float model prediction for prediction (float64 exact by its bounds)."""
    ckpt, result = seq_mnist_ckpt
    e = export_network(ckpt, test_subset=400)
    m = e.metadata
    assert e.net.input_width == 9 and m["input"]["input_exp"] == -8
    assert e.x.dtype == np.int64 and e.x.shape == (400, 28, 28) and e.x.min() >= 0 and e.x.max() <= 255
    assert m["exact_quantized_float"]
    mismatch = np.flatnonzero(e.predictions["integer"] != e.predictions["quantized"])
    assert mismatch.size == 0, (f"first mismatch at image {mismatch[0]}: integer "
                                f"{e.predictions['integer'][mismatch[0]]}, quantized "
                                f"{e.predictions['quantized'][mismatch[0]]}")
    assert m["agreement_integer_quantized"] == 1.0
    # an independent integer run on the exported inputs gives the exported predictions
    assert np.array_equal(run_network(e.net, e.x).classes, e.predictions["integer"])
    assert m["accuracy"]["integer"] > 0.3  # 2 epochs on 3000 images, width 24: well above chance


def test_cli_export_network_writes_mnist_inputs(seq_mnist_ckpt, tmp_path):
    ckpt, _ = seq_mnist_ckpt
    net, x, y = tmp_path / "net.json", tmp_path / "x.npy", tmp_path / "y.npy"
    r = run_cli("export", "--checkpoint", ckpt, "--network", "--output", net, "--stimulus", x, "--labels", y)
    assert r.returncode == 0, r.stderr
    assert json.loads(net.read_text())["input_width"] == 9
    labels = np.load(y)
    assert labels.shape == (10000,) and np.array_equal(labels, mnist_data.load_mnist()["y_test"])
    assert np.load(x).shape == (10000, 28, 28)
