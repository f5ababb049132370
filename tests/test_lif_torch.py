"""The trainable torch LIF with a power-of-two leak (golden/model/lif.py): on inputs on its grid its
spikes are exactly the integer lif layer's; it trains (the leak shift too, through the straight-through
rounding); a trained Linear -> ShiftLIF -> Linear model goes through NIR to an integer network."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from shiftpsn.golden.model.lif import ShiftLIF


@pytest.mark.parametrize("leak_shift, reset, grid, threshold", [
    (1.0, "subtract", 1.0, 5.0), (3.2, "zero", 0.25, 2.6), (None, "subtract", 0.5, 1.2), (None, "zero", 1.0, 1.0),
    (7.0, "subtract", 2.0 ** -6, 0.3), (32.0, "zero", 1.0, 100.0),
])
def test_forward_on_the_grid_is_the_integer_model(leak_shift, reset, grid, threshold):
    rng = np.random.default_rng(int(grid * 64) + int(threshold * 10))
    W = 8
    layer = ShiftLIF(5, leak_shift=leak_shift, threshold=threshold, reset=reset, grid=grid)
    x_int = rng.integers(-(1 << (W - 1)), 1 << (W - 1), size=(6, 40, 5))
    x_int[0] = (1 << (W - 1)) - 1
    x_int[1] = -(1 << (W - 1))
    got = layer.double()(torch.tensor(x_int * grid, dtype=torch.float64)).detach().numpy().astype(np.uint8)
    want = layer.to_layer(input_width=W).forward(x_int.astype(np.int64))
    bad = np.argwhere(got != want)
    assert not len(bad), f"first mismatch at {tuple(bad[0])}"
    assert 0 < want.mean() < 1


def test_training_moves_weights_and_leak():
    """Two classes of random sequences (mean input +-0.5 on channel pairs); Linear -> ShiftLIF ->
    Linear with spike counts as logits, 80 Adam steps: the loss falls, the leak shift receives
    gradient and stays an integer in the forward pass."""
    torch.manual_seed(0)
    B, T, I = 64, 12, 4
    y = torch.arange(B) % 2
    x = torch.randn(B, T, I) * 0.5 + (y[:, None, None] * 2 - 1) * torch.tensor([0.5, -0.5, 0.5, -0.5])
    lif = ShiftLIF(8, leak_shift=2.4, threshold=1.0, reset="subtract", grid=2.0 ** -8)
    fc1, fc2 = nn.Linear(I, 8), nn.Linear(8, 2)
    params = list(fc1.parameters()) + list(fc2.parameters()) + list(lif.parameters())
    opt = torch.optim.Adam(params, lr=0.03)

    def loss_acc():
        logits = fc2(lif(fc1(x))).mean(dim=1)
        return nn.functional.cross_entropy(logits, y), (logits.argmax(1) == y).float().mean().item()

    first, _ = loss_acc()
    leak0 = lif.leak.item()
    grads = []
    for _ in range(80):
        opt.zero_grad()
        loss, _ = loss_acc()
        loss.backward()
        grads.append(abs(lif.leak.grad.item()))
        opt.step()
    last, acc = loss_acc()
    assert last.item() < 0.7 * first.item() and acc >= 0.9, (first.item(), last.item(), acc)
    assert max(grads) > 0 and lif.leak.item() != leak0
    assert isinstance(lif.leak_shift, int) and 1 <= lif.leak_shift <= 32


def test_trained_model_goes_through_nir_to_an_integer_network(tmp_path):
    """Linear -> ShiftLIF (zero reset, NIR's) -> Linear, trained a little, written as a NIR graph and
    imported: the integer network's class agrees with the float model's on most sequences."""
    import nir

    from shiftpsn.golden.nir_import import import_nir
    from shiftpsn.golden.network import run_network

    torch.manual_seed(1)
    B, T, I = 64, 10, 3
    y = torch.arange(B) % 2
    x_int = torch.randint(-8, 8, (B, T, I)) + (y[:, None, None] * 8 - 4)
    x = x_int.double()
    lif = ShiftLIF(6, leak_shift=2.0, threshold=4.0, reset="zero").double()
    fc1, fc2 = nn.Linear(I, 6).double(), nn.Linear(6, 2).double()
    opt = torch.optim.Adam(list(fc1.parameters()) + list(fc2.parameters()) + list(lif.parameters()), lr=0.05)
    for _ in range(40):
        opt.zero_grad()
        nn.functional.cross_entropy(fc2(lif(fc1(x))).mean(dim=1), y).backward()
        opt.step()
    with torch.no_grad():
        float_cls = fc2(lif(fc1(x))).mean(dim=1).argmax(1).numpy()
    graph = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([I])}),
        "fc1": nir.Affine(weight=fc1.weight.detach().numpy(), bias=fc1.bias.detach().numpy()),
        "lif": lif.nir_node(),
        "fc2": nir.Affine(weight=fc2.weight.detach().numpy(), bias=fc2.bias.detach().numpy()),
        "output": nir.Output(output_type={"output": np.array([2])}),
    }, edges=[("input", "fc1"), ("fc1", "lif"), ("lif", "fc2"), ("fc2", "output")])
    nir.write(str(tmp_path / "m.nir"), graph)
    net, report = import_nir(tmp_path / "m.nir", weight_bits=10, input_width=6)
    assert net.layers[1].leak_shift == lif.leak_shift and report["layers"][1]["tau"]["largest_relative_error"] == 0
    agree = (run_network(net, x_int.numpy().astype(np.int64)).classes == float_cls).mean()
    assert agree >= 0.9, agree
