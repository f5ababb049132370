"""Export of a trained MulFreePSN to a core spec: shiftpsn.golden.integer.run reproduces the float layer's
spikes exactly on integer inputs (INTERFACE.md section 2, theta = ceil(Vth * 2^-exp_min))."""

import json

import numpy as np
import pytest
import torch

from shiftpsn.golden.export import export_metadata, export_spec, float_reference
from shiftpsn.golden.integer import run
from shiftpsn.golden.model.neuron import MulFreePSN
from shiftpsn.base.errors import UsageError


def assert_arrays_equal(got: np.ndarray, expected: np.ndarray, what: str) -> None:
    assert got.shape == expected.shape, f"{what}: shape {got.shape} != {expected.shape}"
    bad = np.argwhere(got != expected)
    if len(bad):
        idx = tuple(int(i) for i in bad[0])
        raise AssertionError(f"{what}: {len(bad)} mismatches, first at (sequence, t, c) = {idx}: "
                             f"got {got[idx]}, expected {expected[idx]}")


def trained_layer(seed: int, layout="time-first", threshold="bn", steps=6, C=8, k=4, d=2) -> MulFreePSN:
    """Random init, a few Adam steps on random data towards a 30 % firing rate, then eval mode."""
    torch.manual_seed(seed)
    layer = MulFreePSN(C, k, d, threshold=threshold, layout=layout, exp_init=False)
    opt = torch.optim.Adam(layer.parameters(), lr=0.05)
    for _ in range(steps):
        x = torch.randint(-20, 21, (24, 8, C)).float()
        if layout == "time-last":
            x = x.permute(1, 2, 0)
        loss = (layer(x).mean() - 0.3) ** 2
        opt.zero_grad()
        loss.backward()
        opt.step()
    return layer.eval()


def to_layout(x: np.ndarray, layout: str) -> torch.Tensor:
    """(B, T, C) integers -> the layer's float layout."""
    t = torch.from_numpy(x).float()
    return t.permute(1, 0, 2) if layout == "time-first" else t.permute(0, 2, 1)


def from_layout(t: torch.Tensor, layout: str) -> np.ndarray:
    return (t.permute(1, 0, 2) if layout == "time-first" else t.permute(0, 2, 1)).detach().numpy()


@pytest.mark.parametrize("layout,threshold,input_width,input_exp", [
    ("time-first", "bn", 6, 0), ("time-last", "bn", 8, -3), ("time-first", "bias", 5, 2)])
def test_round_trip_reproduces_float_spikes(layout, threshold, input_width, input_exp):
    layer = trained_layer(7, layout, threshold)
    spec = export_spec(layer, input_width=input_width, input_exp=input_exp)
    rng = np.random.default_rng(11)
    lo, hi = spec.input_min, spec.input_max
    x = rng.integers(lo, hi + 1, size=(3, 1200, layer.channels))
    x[:, ::37] = hi  # some extreme steps
    x[:, 5::41] = lo
    spikes_int, acc = run(spec, x)
    spikes_f64, h = float_reference(layer, x, input_width=input_width, input_exp=input_exp)
    assert_arrays_equal(spikes_int, spikes_f64, "core vs float64 layer spikes")
    assert_arrays_equal(acc, (h * 2.0 ** -spec.exp_min).astype(np.int64), "core acc vs H * 2^-exp_min")
    assert np.array_equal(h * 2.0 ** -spec.exp_min, np.round(h * 2.0 ** -spec.exp_min))
    # the module itself, in float32 (exact here: acc_width <= 26), on x * 2^input_exp
    assert spec.acc_width <= 26
    with torch.no_grad():
        s32 = layer(to_layout(x, layout) * 2.0 ** input_exp)
    assert_arrays_equal(spikes_int, from_layout(s32, layout).astype(np.uint8), "core vs float32 module")
    rate = spikes_int.mean()
    assert 0.02 < rate < 0.98, f"degenerate firing rate {rate}"
    # thresholds close to the accumulators: the comparison is exercised, not trivially decided
    near = np.abs(acc - np.array(spec.threshold)).min(axis=(0, 1))
    assert (near <= 2 ** (spec.shift_range // 2)).all(), near


def test_hand_worked_example():
    """k = 2, d = 1, W = [1/2, 1], Vth = 1.25 or 1.5, exponents [-2, 1]:
    H[t] = X[t-1]/2 + X[t]; X = 1 1 0 2 -1 gives H = 1, 1.5, 0.5, 2, 0 and acc = 4 H."""
    layer = MulFreePSN(1, 2, 1, threshold="bias", exp_min=-2, exp_max=1)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.5, 1.0]]))
        layer.threshold.v_threshold.fill_(1.25)
    layer.eval()
    spec = export_spec(layer, input_width=4)
    assert (spec.exp_min, spec.exp_max, spec.shift, spec.sign) == (-2, 1, ((-1, 0),), ((1, 1),))
    assert spec.threshold == (5,)  # ceil(1.25 * 4)
    x = np.array([[1], [1], [0], [2], [-1]])
    spikes, acc = run(spec, x)
    assert acc[:, 0].tolist() == [4, 6, 2, 8, 0]
    assert spikes[:, 0].tolist() == [0, 1, 0, 1, 0]
    assert float_reference(layer, x, input_width=4)[0][:, 0].tolist() == [0, 1, 0, 1, 0]
    # Vth on the grid: H = Vth fires (>=) in both
    with torch.no_grad():
        layer.threshold.v_threshold.fill_(1.5)
    spec = export_spec(layer, input_width=4)
    assert spec.threshold == (6,)
    assert run(spec, x)[0][:, 0].tolist() == [0, 1, 0, 1, 0]
    assert float_reference(layer, x, input_width=4)[0][:, 0].tolist() == [0, 1, 0, 1, 0]
    # input_exp = -1: the layer sees X / 2; folded into the exponents
    spec = export_spec(layer, input_width=4, input_exp=-1)
    assert (spec.exp_min, spec.exp_max, spec.shift, spec.threshold) == (-3, 0, ((-2, -1),), (12,))
    assert run(spec, 2 * x)[0][:, 0].tolist() == [0, 1, 0, 1, 0]


def test_zero_taps_constant_weights_and_tight_range():
    layer = trained_layer(3, steps=2)
    with torch.no_grad():
        layer.weight[2, 1] = 0.0  # W_f = scale * 0 = 0: a zero tap
    spec = export_spec(layer, input_width=6, weights="constant", name="psn_l0", tight=True)
    assert spec.shift[2][1] is None and spec.sign[2][1] == 1
    assert spec.weights == "constant" and spec.name == "psn_l0"
    used = [e for row in spec.shift for e in row if e is not None]
    assert (spec.exp_min, spec.exp_max) == (min(used), max(used))
    x = np.random.default_rng(2).integers(-32, 32, size=(1000, 8))
    assert_arrays_equal(run(spec, x)[0], float_reference(layer, x, input_width=6)[0], "tight export")


def test_metadata_is_json():
    layer = trained_layer(4, steps=1)
    spec = export_spec(layer, input_width=8, input_exp=-2)
    meta = export_metadata(layer, spec, input_exp=-2)
    assert json.loads(json.dumps(meta))["input_scale"] == 0.25
    assert meta["exact_float"] == ["float32", "float64"] and meta["acc_width"] == spec.acc_width


def test_export_refuses_what_it_cannot_export():
    layer = MulFreePSN(2, 2)
    with pytest.raises(UsageError, match="eval"):
        export_spec(layer, input_width=8)
    with pytest.raises(UsageError, match="quantized"):
        export_spec(MulFreePSN(2, 2, quantize=False).eval(), input_width=8)
    with pytest.raises(UsageError, match="input_exp"):
        export_spec(layer.eval(), input_width=8, input_exp=0.5)
    with pytest.raises(UsageError, match="MulFreePSN"):
        export_spec(torch.nn.Linear(2, 2), input_width=8)
    wide = MulFreePSN(2, 2, exp_min=-20, exp_max=20).eval()
    with pytest.raises(UsageError, match="acc_width"):
        float_reference(wide, np.zeros((4, 2), dtype=np.int64), input_width=8, dtype=torch.float32)
    float_reference(wide, np.zeros((4, 2), dtype=np.int64), input_width=8)  # float64 is exact here
