"""Baseline neurons (shiftpsn.golden.baselines) against hand-worked sequences, direct formulas and SpikingJelly."""

import math

import numpy as np
import pytest
import torch

from shiftpsn.golden.baselines import (LIF, NEURONS, PSN, PSU, MaskedPSN, NeuronArgs, SlidingPSN, band_mask,
                              build_neuron, check_neuron, leak_matrix, masking_progress, reset_matrix)
from shiftpsn.base.errors import UsageError


def identity(v):
    """A 'surrogate' that returns the potential itself: the neuron then outputs H - Vth."""
    return v


def first_mismatch(a, b):
    idx = np.argwhere(np.asarray(a) != np.asarray(b))
    return None if len(idx) == 0 else (tuple(idx[0]), np.asarray(a)[tuple(idx[0])], np.asarray(b)[tuple(idx[0])])


# ----------------------------------------------------------------------------- LIF
# tau = 2, Vth = 1, V_reset = 0; worked by hand (binary fractions, so float is exact):
#   X = 3.75, 1.25, 0.5, 2.0
#   soft: H0 = 1.875 -> S=1, V=0.875; H1 = 0.875 + (1.25-0.875)/2 = 1.0625 -> S=1, V=0.0625;
#         H2 = 0.0625 + (0.5-0.0625)/2 = 0.28125 -> S=0; H3 = 0.28125 + (2-0.28125)/2 = 1.140625 -> S=1
#   hard: H0 = 1.875 -> S=1, V=0; H1 = 0.625 -> S=0; H2 = 0.625 + (0.5-0.625)/2 = 0.5625 -> S=0;
#         H3 = 0.5625 + (2-0.5625)/2 = 1.28125 -> S=1
LIF_X = [3.75, 1.25, 0.5, 2.0]
LIF_EXPECTED = {"soft": [1, 1, 0, 1], "hard": [1, 0, 0, 1]}


@pytest.mark.parametrize("reset", ["soft", "hard"])
def test_lif_hand_worked(reset):
    x = torch.tensor(LIF_X).view(4, 1, 1)
    s = LIF(reset)(x).view(-1).tolist()
    assert s == LIF_EXPECTED[reset], f"{reset}: got {s}, expected {LIF_EXPECTED[reset]}"


def test_lif_fires_at_threshold_exactly():
    # H = 2.0 / 2 = 1.0 = Vth: Theta(0) = 1
    assert LIF("soft")(torch.tensor([[[2.0]]])).item() == 1.0
    assert LIF("soft")(torch.tensor([[[1.999]]])).item() == 0.0


def _lif_numpy(x, reset, tau=2.0, vth=1.0):
    v = np.zeros(x.shape[1:])
    out = []
    for xt in x:
        h = v + (xt - v) / tau
        s = (h >= vth).astype(float)
        v = h - vth * s if reset == "soft" else h * (1 - s)
        out.append(s)
    return np.stack(out)


@pytest.mark.parametrize("reset", ["soft", "hard"])
def test_lif_random_against_numpy(reset):
    rng = np.random.default_rng(1)
    # multiples of 1/8 in a small range: every step of the recursion is exact in float32 and float64
    x = rng.integers(-8, 40, size=(12, 5, 7)) / 8.0
    got = LIF(reset)(torch.tensor(x, dtype=torch.float64)).numpy()
    want = _lif_numpy(x, reset)
    assert first_mismatch(got, want) is None, first_mismatch(got, want)


def test_lif_gradient_flows_and_detach_reset():
    x = torch.randn(6, 3, 4, requires_grad=True)
    LIF("hard")(x).sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


# ----------------------------------------------------------------------------- PSN family
def test_psn_identity_weights():
    T = 5
    n = PSN(T, surrogate=None)
    with torch.no_grad():
        n.weight.copy_(torch.eye(T))  # H = X, bias -1: S = (X >= 1)
    x = torch.tensor([0.5, 1.0, 2.0, -3.0, 0.999]).view(T, 1, 1).repeat(1, 2, 3)
    s = n(x)
    assert torch.equal(s, (x >= 1.0).float())


def test_psn_is_a_full_matrix_product():
    T, N, C = 6, 3, 4
    n = PSN(T, surrogate=identity)
    x = torch.randn(T, N, C, dtype=torch.float64)
    n = n.double()
    want = np.einsum("ts,snc->tnc", n.weight.detach().numpy(), x.numpy()) + n.bias.detach().numpy()[:, :, None]
    np.testing.assert_allclose(n(x).detach().numpy(), want, rtol=0, atol=1e-12)


def test_band_mask_hand_worked():
    want = torch.tensor([[1, 0, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]], dtype=torch.float32)
    assert torch.equal(band_mask(4, 2), want)
    assert torch.equal(band_mask(3, 3), torch.tril(torch.ones(3, 3)))


def test_masking_schedule():
    # lambda = min(1, 8 epoch / (epochs - 1)) (papers/002 section 4.2)
    assert [masking_progress(e, 17) for e in (0, 1, 2, 3)] == [0.0, 0.5, 1.0, 1.0]
    assert masking_progress(0, 1) == 1.0


def test_masked_psn_progressive_mask():
    T, k = 6, 2
    n = MaskedPSN(T, k, surrogate=identity).double()
    w = n.weight.detach().clone()
    n.on_epoch_start(0, 17)  # lambda 0: the all-ones mask, W itself
    assert torch.equal(n.effective_weight().detach(), w)
    n.on_epoch_start(1, 17)  # lambda 1/2: W * (M/2 + 1/2)
    assert torch.equal(n.effective_weight().detach(), w * (0.5 * band_mask(T, k).double() + 0.5))
    n.on_epoch_start(2, 17)  # lambda 1: the band
    assert torch.equal(n.effective_weight().detach(), w * band_mask(T, k).double())


def test_masked_psn_is_causal_with_order_k_once_masked():
    T, k = 8, 3
    n = MaskedPSN(T, k, surrogate=identity).double()
    n.on_epoch_start(5, 6)
    x = torch.randn(T, 2, 3, dtype=torch.float64)
    base = n(x)
    for t in range(T):
        y = x.clone()
        y[t] += 10.0
        changed = (n(y) - base).abs().amax(dim=(1, 2)) > 0
        # H[t'] reads X[t'-k+1 .. t']: exactly t' in [t, t+k-1] change
        assert changed.tolist() == [t <= u <= t + k - 1 for u in range(T)], (t, changed.tolist())


def _sliding_direct(x, w, b):
    T, k = x.shape[0], len(w)
    h = np.zeros_like(x)
    for t in range(T):
        for i in range(k):
            j = t - k + 1 + i
            if j >= 0:
                h[t] += w[i] * x[j]
    return h + b


def test_sliding_psn_formula_and_exp_init():
    k = 4
    n = SlidingPSN(k, surrogate=identity).double()
    # supplementary Eq. 17: W_i = 2^(i-k+1), bias -1
    assert n.weight.detach().tolist() == [0.125, 0.25, 0.5, 1.0] and n.bias.item() == -1.0
    with torch.no_grad():
        n.weight.copy_(torch.tensor([0.3, -1.7, 0.9, 2.1]))
    x = torch.randn(10, 3, 5, dtype=torch.float64)
    want = _sliding_direct(x.numpy(), n.weight.detach().numpy(), n.bias.item())
    np.testing.assert_allclose(n(x).detach().numpy(), want, rtol=0, atol=1e-12)


def test_sliding_psn_matches_spikingjelly():
    sj = pytest.importorskip("spikingjelly.activation_based.neuron")
    k, T = 3, 7
    ref = sj.SlidingPSN(k, exp_init=True, step_mode="m")
    ours = SlidingPSN(k)
    assert torch.equal(ours.weight.detach(), ref.weight.detach())
    with torch.no_grad():
        w = torch.tensor([0.5, -0.25, 1.0])
        ours.weight.copy_(w)
        ref.weight.copy_(w)
    # values on a 1/16 grid: every sum is exact, so the spikes must agree bit for bit
    x = torch.randint(-32, 33, (T, 4, 6)).float() / 16
    got, want = ours(x), ref(x)
    assert torch.equal(got, want), first_mismatch(got.numpy(), want.detach().numpy())


# ----------------------------------------------------------------------------- PSU family
def test_psu_matrices_hand_worked():
    A = torch.tensor([[1 / 2, 0, 0, 0], [1 / 4, 1 / 2, 0, 0], [1 / 8, 1 / 4, 1 / 2, 0],
                      [1 / 16, 1 / 8, 1 / 4, 1 / 2]])
    B = torch.tensor([[0, 0, 0, 0], [1 / 2, 0, 0, 0], [1 / 4, 1 / 2, 0, 0], [1 / 8, 1 / 4, 1 / 2, 0]])
    assert torch.equal(leak_matrix(4, 2.0), A)      # papers/004 Eq. 5, tau = 2
    assert torch.equal(reset_matrix(4, 2.0, 1.0), B)  # Eq. 7, Vth = 1


def test_psu_formula():
    T = 5
    x = torch.randn(T, 3, 2, dtype=torch.float64)
    tau = 2.0
    a = np.array([[(1 / tau) * (1 - 1 / tau) ** (i - j) if i >= j else 0.0 for j in range(T)] for i in range(T)])
    b = np.array([[(1 - 1 / tau) ** (i - j) if i > j else 0.0 for j in range(T)] for i in range(T)])
    xi = x.numpy().reshape(T, -1)
    ai = a @ xi
    want = (ai - b @ (1 / (1 + np.exp(-ai))) - 1.0).reshape(x.shape)  # Eq. 10
    got = PSU(T, "psu", surrogate=identity).double()(x).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("variant", ["psu", "ipsu", "rpsu"])
def test_psu_shapes_and_causality(variant):
    T = 6
    n = PSU(T, variant, surrogate=identity).double()
    if n.learned is not None:
        with torch.no_grad():  # as if training had filled the whole matrix: Eq. 12's mask must hold
            n.learned.add_(torch.randn(T, T, dtype=torch.float64))
    x = torch.randn(T, 2, 3, 4, dtype=torch.float64)
    base = n(x)
    assert base.shape == x.shape
    for t in range(T):
        y = x.clone()
        y[t] += 5.0
        changed = (n(y) - base).abs().flatten(1).amax(1) > 0
        assert not changed[:t].any(), f"{variant}: output before t={t} depends on X[{t}]"
        assert changed[t], f"{variant}: output at t={t} ignores X[{t}]"


def test_ipsu_rpsu_learn_the_right_matrix():
    T = 4
    ip, rp = PSU(T, "ipsu"), PSU(T, "rpsu")
    with torch.no_grad():
        ip.learned.mul_(2)
        rp.learned.mul_(3)
    a_i, a_r = ip.matrices()
    assert torch.equal(a_i, 2 * leak_matrix(T, 2.0)) and torch.equal(a_r, leak_matrix(T, 2.0))
    a_i, a_r = rp.matrices()
    assert torch.equal(a_i, leak_matrix(T, 2.0)) and torch.equal(a_r, 3 * leak_matrix(T, 2.0))


# ----------------------------------------------------------------------------- registry
@pytest.mark.parametrize("name", sorted(NEURONS))
def test_registry_builds_every_neuron(name):
    torch.manual_seed(0)
    T, N, C = 8, 4, 6
    n = build_neuron(name, NeuronArgs(channels=C, steps=T, order=3, dilation=2))
    x = torch.randn(T, N, C, requires_grad=True)
    s = n(x)
    assert s.shape == x.shape
    assert set(torch.unique(s.detach()).tolist()) <= {0.0, 1.0}
    s.sum().backward()
    assert torch.isfinite(x.grad).all()


def test_registry_unknown_name():
    with pytest.raises(UsageError, match="unknown neuron 'nope'"):
        check_neuron("nope")


def test_time_first_length_checked():
    with pytest.raises(ValueError, match="T = 8"):
        PSN(8)(torch.zeros(5, 2, 3))
    assert math.isclose(float(SlidingPSN(2)(torch.zeros(5, 2, 3)).detach().sum()), 0.0)
