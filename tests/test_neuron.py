"""MulFreePSN: step == multi-step, time-first == time-last, the sliding PSN special case (papers/002
Eq. 14-15) and edge cases. BN-threshold semantics are in test_neuron_bn.py."""

import pytest
import torch

from shiftpsn.golden.accel import LAYOUTS, available_methods
from shiftpsn.golden.model.neuron import MulFreePSN


def assert_equal(got: torch.Tensor, expected: torch.Tensor, what: str) -> None:
    """torch.equal, naming the first mismatch."""
    assert got.shape == expected.shape, f"{what}: shape {tuple(got.shape)} != {tuple(expected.shape)}"
    if not torch.equal(got, expected):
        idx = tuple(int(i) for i in torch.nonzero(got != expected)[0])
        raise AssertionError(f"{what}: first mismatch at {idx}: got {got[idx].item()!r}, "
                             f"expected {expected[idx].item()!r}")


def random_case(seed: int, float_inputs: bool):
    """A random layer (trained running statistics for BN) and a time-first input (T, N, C, ...).

    ``float_inputs=False``: inputs on the grid 2^-2 with Q(W_f) powers of two, so every sum is exact
    and any evaluation order gives the same bits. ``True``: Gaussian inputs, C >= 2 (PyTorch's CPU
    conv1d reduces a single row, N* = C = 1, position-dependently for k >= 8; see shiftpsn.golden.model.neuron).
    """
    g = torch.Generator().manual_seed(seed)

    def pick(lo, hi):
        return int(torch.randint(lo, hi + 1, (1,), generator=g))

    C = pick(2, 6) if float_inputs else pick(1, 6)
    k, d, T, N = pick(1, 9), pick(1, 4), pick(1, 30), pick(1, 3)
    rest = [(), (2,), (3, 2)][pick(0, 2)]
    threshold = ["bn", "bias"][seed % 2]
    quantize = True if not float_inputs else bool(pick(0, 1))
    layer = MulFreePSN(C, k, d, quantize=quantize, threshold=threshold, exp_init=bool(pick(0, 1)))
    with torch.no_grad():
        layer.weight.add_(0.3 * torch.randn(layer.weight.shape, generator=g))
    shape = (T, N, C, *rest)
    if float_inputs:
        x = torch.randn(shape, generator=g) * 2
    else:
        x = torch.randint(-16, 17, shape, generator=g).float() / 4
    if threshold == "bn":
        layer(torch.randn((T + 1, N + 1, C, *rest), generator=g) * 3 + 1)  # running stats move
        layer.eval()
    return layer, x


def time_last_copy(layer: MulFreePSN) -> MulFreePSN:
    other = MulFreePSN(layer.channels, layer.order, layer.dilation, quantize=layer.quantize,
                       exp_min=layer.exp_min, exp_max=layer.exp_max, threshold=layer.threshold_kind,
                       layout="time-last")
    other.load_state_dict(layer.state_dict())
    return other.train(layer.training)


@pytest.mark.parametrize("float_inputs", [False, True], ids=["exact-grid", "gaussian"])
@pytest.mark.parametrize("seed", range(16))
def test_step_equals_multi_and_layouts_agree(seed, float_inputs):
    tf, x = random_case(seed, float_inputs)
    tl = time_last_copy(tf)
    x_tl = x.movedim(0, -1)  # (N, C, ..., T)
    with torch.no_grad():
        v_tf = tf.charge(x)
        s_tf = tf(x)
        assert_equal(tl.charge(x_tl).movedim(-1, 0), v_tf, "time-last charge vs time-first")
        assert_equal(tl(x_tl).movedim(-1, 0), s_tf, "time-last spikes vs time-first")
        for layer, xs in ((tf, x), (tl, x)):
            layer.reset()
            v_steps = torch.stack([layer.step_charge(xs[t]) for t in range(x.shape[0])])
            assert_equal(v_steps, v_tf, f"{layer.layout} step charge vs multi-step")
            layer.reset()
            layer.step_mode = "s"
            s_steps = torch.stack([layer(xs[t]) for t in range(x.shape[0])])
            layer.step_mode = "m"
            assert_equal(s_steps, s_tf, f"{layer.layout} step spikes vs multi-step")
    assert ((s_tf == 0) | (s_tf == 1)).all()


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_cpu_method_gives_the_same_bits_on_the_exact_grid(layout):
    """Step == multi-step for every available temporal_conv method, and all equal vanilla: on the
    exact grid (power-of-two weights, fixed-point inputs) evaluation order cannot matter."""
    base, x = random_case(4, float_inputs=False)  # BN threshold, eval mode, k, d, shape from seed 4
    if layout == "time-last":
        x_in = x.movedim(0, -1)
        base = time_last_copy(base)
    else:
        x_in = x
    with torch.no_grad():
        expected = base.charge(x_in)
        methods = available_methods(layout, "cpu")
        assert "vanilla" in methods and len(methods) >= 2
        for method in methods:
            base.method = method
            assert_equal(base.charge(x_in), expected, f"{method} multi-step vs vanilla")
            base.reset()
            steps = torch.stack([base.step_charge(x[t]) for t in range(x.shape[0])])
            steps = steps if layout == "time-first" else steps.movedim(0, -1)
            assert_equal(steps, expected, f"{method} step vs vanilla multi-step")


def test_reset_starts_a_new_sequence():
    torch.manual_seed(0)
    layer = MulFreePSN(3, 3, 2, threshold="bias")
    a = torch.randint(-8, 9, (9, 2, 3)).float()
    b = torch.randint(-8, 9, (7, 2, 3)).float()
    for t in range(a.shape[0]):
        layer.step(a[t])
    with_history = torch.stack([layer.step_charge(b[t]) for t in range(b.shape[0])])
    layer.reset()
    fresh = torch.stack([layer.step_charge(b[t]) for t in range(b.shape[0])])
    assert_equal(fresh, layer.charge(b), "after reset")
    assert not torch.equal(with_history, fresh), "history before reset must matter"


def test_step_mode_gradients_match_multi_step():
    torch.manual_seed(1)
    layer = MulFreePSN(4, 3, 2, threshold="bias")
    x = torch.randint(-8, 9, (10, 2, 4)).float()
    up = torch.randn(10, 2, 4)
    (layer.charge(x) * up).sum().backward()
    g_multi = layer.weight.grad.clone()
    layer.weight.grad = None
    layer.reset()
    (torch.stack([layer.step_charge(x[t]) for t in range(10)]) * up).sum().backward()
    torch.testing.assert_close(layer.weight.grad, g_multi, rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- the sliding PSN (papers/002)
def sliding_psn_reference(x, w, vth):
    """papers/002 Eq. 14-15 written out: H[t] = sum_i W_i X[t-k+1+i] (X[j<0] = 0), S = Theta(H - Vth)."""
    k = len(w)
    T = x.shape[0]
    h = torch.zeros_like(x)
    for t in range(T):
        for i in range(k):
            j = t - k + 1 + i
            if j >= 0:
                h[t] += w[i] * x[j]
    return h - vth, (h - vth >= 0).to(x.dtype)


@pytest.mark.parametrize("k", [1, 2, 5])
def test_shared_weights_d1_unquantized_is_the_sliding_psn(k):
    """Dyadic weights, threshold and inputs make every sum exact, so equality is bit for bit."""
    g = torch.Generator().manual_seed(k)
    C, T, N = 5, 23, 3
    w = torch.randint(-16, 17, (k,), generator=g).float() / 8
    vth = 0.625
    layer = MulFreePSN(C, k, 1, quantize=False, threshold="bias")
    with torch.no_grad():
        layer.weight.copy_(w.repeat(C, 1))
        layer.threshold.v_threshold.fill_(vth)
    x = torch.randint(-12, 13, (T, N, C), generator=g).float() / 4
    v_ref, s_ref = sliding_psn_reference(x, w, vth)
    with torch.no_grad():
        assert_equal(layer.charge(x), v_ref, "charge vs papers/002 Eq. 14")
        assert_equal(layer(x), s_ref, "spikes vs papers/002 Eq. 15")
    assert 0 < s_ref.mean() < 1

    # and against SpikingJelly 2.0's SlidingPSN (H = W X + b, b = -Vth), an independent implementation
    from spikingjelly.activation_based import neuron as sj  # installed by `make setup`
    ref = sj.SlidingPSN(k, step_mode="m")
    with torch.no_grad():
        ref.weight.copy_(w)
        ref.bias.fill_(-vth)
        assert_equal(ref(x), s_ref, "SpikingJelly SlidingPSN vs papers/002 Eq. 15")


# ---------------------------------------------------------------- construction and edge cases
def test_exp_init_and_defaults():
    layer = MulFreePSN(2, 3)
    assert layer.weight.tolist() == [[0.25, 0.5, 1.0], [0.25, 0.5, 1.0]]  # papers/002 Eq. 17
    assert layer.window == 3 and layer.threshold_kind == "bn"
    assert MulFreePSN(1, 4, 3).window == 10
    assert type(layer.surrogate).__name__ == "ATan" and layer.surrogate.alpha == 2.0


@pytest.mark.parametrize("threshold", ["bn", "bias"])
def test_zero_and_denormal_weights_give_no_nan(threshold):
    layer = MulFreePSN(4, 3, 2, threshold=threshold)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.0, 0.0, 0.0], [1e-42, -1e-44, 0.0],
                                         [0.0, -0.0, 0.5], [3e-39, 1.0, -1e-45]]))
    x = torch.randn(12, 3, 4, requires_grad=True)
    v = layer.charge(x)
    s = layer.surrogate(v)
    (s.sum() + v.sum()).backward()
    grads = [x.grad] + [p.grad for p in layer.parameters()]
    assert torch.isfinite(v).all()
    assert all(torch.isfinite(gr).all() for gr in grads)
    layer.eval()
    with torch.no_grad():
        w, b = layer.fused_parameters()
        assert torch.isfinite(w).all() and torch.isfinite(b).all()
        assert (w[0] == 0).all(), "zero weights quantize to zero taps"


def test_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match="order"):
        MulFreePSN(4, 0)
    with pytest.raises(ValueError, match="layout"):
        MulFreePSN(4, 2, layout="time-middle")
    with pytest.raises(ValueError, match="threshold"):
        MulFreePSN(4, 2, threshold="lif")
    with pytest.raises(ValueError, match="exp_min"):
        MulFreePSN(4, 2, exp_min=3, exp_max=1)
    layer = MulFreePSN(4, 2)
    with pytest.raises(ValueError, match="4 channels"):
        layer(torch.zeros(5, 2, 3))
    with pytest.raises(RuntimeError, match="eval"):
        layer.step(torch.zeros(2, 4))  # BN threshold in training: no step mode
    layer.eval()
    layer.step(torch.zeros(2, 4))
    with pytest.raises(ValueError, match="reset"):
        layer.step(torch.zeros(3, 4))
