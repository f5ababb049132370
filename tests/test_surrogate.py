"""Heaviside forward and surrogate derivatives against their closed forms (papers/000 Appendix E)."""

import math

import pytest
import torch

from shiftpsn.golden.model.surrogate import SURROGATES, ATan, InverseQuadratic, heaviside

POINTS = torch.cat([torch.linspace(-6, 6, 1201, dtype=torch.float64),
                    torch.tensor([0.0, -0.0, 1e-300, -1e-300, 1e8, -1e8], dtype=torch.float64)])


def autograd_derivative(fn, x):
    x = x.clone().requires_grad_(True)
    y = fn(x)
    (g,) = torch.autograd.grad(y.sum(), x)
    return y.detach(), g


def test_heaviside_fires_at_zero():
    x = torch.tensor([-1.0, -1e-45, -0.0, 0.0, 1e-45, 2.0])
    assert heaviside(x).tolist() == [0.0, 0.0, 1.0, 1.0, 1.0, 1.0]


@pytest.mark.parametrize("alpha", [0.5, 2.0, 5.0])
def test_atan_derivative_is_the_closed_form(alpha):
    spike, g = autograd_derivative(ATan(alpha), POINTS)
    # sigma(x) = alpha / (2 (1 + (pi/2 alpha x)^2)), papers/000 Appendix E (written out independently)
    expected = torch.tensor([alpha / (2 * (1 + (math.pi / 2 * alpha * v) ** 2)) for v in POINTS.tolist()],
                            dtype=torch.float64)
    torch.testing.assert_close(g, expected, rtol=1e-14, atol=0)
    assert torch.equal(spike, (POINTS >= 0).double())


@pytest.mark.parametrize("alpha", [1.0, 10.0])
def test_inverse_quadratic_derivative_is_the_closed_form(alpha):
    spike, g = autograd_derivative(InverseQuadratic(alpha), POINTS)
    expected = torch.tensor([1 / (1 + alpha * v * v) for v in POINTS.tolist()], dtype=torch.float64)
    torch.testing.assert_close(g, expected, rtol=1e-14, atol=0)
    assert torch.equal(spike, (POINTS >= 0).double())


@pytest.mark.parametrize("surrogate", [ATan(2.0), ATan(5.0), InverseQuadratic(10.0)])
def test_derivative_is_the_primitives_slope(surrogate):
    """Central differences of the documented primitive g match sigma = g'."""
    x = torch.linspace(-3, 3, 301, dtype=torch.float64)
    h = 1e-5
    numeric = (surrogate.primitive(x + h) - surrogate.primitive(x - h)) / (2 * h)
    torch.testing.assert_close(numeric, surrogate.derivative(x), rtol=1e-7, atol=1e-9)


def test_atan_primitive_is_a_smoothed_step():
    g = ATan(2.0).primitive(torch.tensor([-1e9, 0.0, 1e9], dtype=torch.float64))
    torch.testing.assert_close(g, torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64), atol=1e-8, rtol=0)


def test_atan_matches_spikingjelly():
    """An independent implementation: SpikingJelly 2.0's surrogate.ATan (same alpha convention)."""
    from spikingjelly.activation_based import surrogate as sj  # installed by `make setup`

    x = torch.linspace(-4, 4, 801)
    for alpha in (2.0, 4.0):
        _, ours = autograd_derivative(ATan(alpha), x)
        _, theirs = autograd_derivative(sj.ATan(alpha=alpha), x)
        torch.testing.assert_close(ours, theirs, rtol=1e-6, atol=0)


def test_gradient_flows_with_upstream_and_dtype():
    x = torch.tensor([-0.3, 0.0, 0.7], requires_grad=True)
    up = torch.tensor([2.0, -1.0, 0.5])
    s = ATan(2.0)(x)
    assert s.dtype == torch.float32
    s.backward(up)
    a = 2.0
    exp = [u * a / (2 * (1 + (math.pi / 2 * a * v) ** 2)) for u, v in zip(up.tolist(), [-0.3, 0.0, 0.7])]
    torch.testing.assert_close(x.grad, torch.tensor(exp), rtol=1e-6, atol=0)


def test_bad_alpha_and_registry():
    with pytest.raises(ValueError, match="alpha"):
        ATan(0.0)
    with pytest.raises(ValueError, match="alpha"):
        InverseQuadratic(math.nan)
    assert SURROGATES["atan"] is ATan and SURROGATES["inverse-quadratic"] is InverseQuadratic


@pytest.mark.parametrize("surrogate,sigma", [
    (ATan(2.0), lambda a, v: a / (2 * (1 + (math.pi / 2 * a * v) ** 2))),
    (ATan(0.5), lambda a, v: a / (2 * (1 + (math.pi / 2 * a * v) ** 2))),
    (InverseQuadratic(10.0), lambda a, v: 1 / (1 + a * v * v))])
def test_fused_backward_is_upstream_times_sigma(surrogate, sigma):
    """The two-pass backward (input_grad) against grad * sigma(x) written out in Python floats."""
    g = torch.Generator().manual_seed(4)
    x = torch.cat([POINTS, torch.randn(500, generator=g, dtype=torch.float64) * 3])
    up = torch.randn(x.shape, generator=g, dtype=torch.float64)
    xr = x.clone().requires_grad_(True)
    (got,) = torch.autograd.grad(surrogate(xr), xr, up)
    a = surrogate.alpha
    expected = torch.tensor([u * sigma(a, v) for u, v in zip(up.tolist(), x.tolist())], dtype=torch.float64)
    torch.testing.assert_close(got, expected, rtol=1e-14, atol=0)


def test_heaviside_edge_values_dtypes_and_views():
    tiny = torch.finfo(torch.float32).tiny
    x = torch.tensor([math.nan, -math.inf, math.inf, -tiny / 4, tiny / 4, -0.0, 0.0])
    assert heaviside(x).tolist() == [0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0]
    for dtype in (torch.float16, torch.bfloat16, torch.float64):
        assert heaviside(x.to(dtype)).dtype == dtype
    v = torch.randn(4, 3, 5).transpose(0, 2)  # non-contiguous: values follow the view
    s = heaviside(v)
    assert s.shape == v.shape and torch.equal(s, torch.where(v >= 0, 1.0, 0.0))
    xr = torch.tensor([0.5, -0.5], requires_grad=True)
    assert heaviside(xr).requires_grad is False  # Theta alone carries no gradient
