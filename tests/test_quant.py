"""The power-of-two quantizer Q (papers/000 Eq. 13) and its whole straight-through estimator (Eq. 16).

Expected exponents come from exact rational arithmetic (fractions.Fraction): round(log2 a) = n
where 2^n <= a < 2^(n+1), plus one when a^2 > 2^(2n+1) (a above the geometric mean 2^(n+1/2)).
"""

import math
from fractions import Fraction

import numpy as np
import pytest
import torch

from shiftpsn.golden.model.quant import pow2_decompose, pow2_round, quantize_pow2


def exact_round_log2(a: float) -> int:
    """round(log2 a) for a > 0, computed with rationals (no float log, no frexp)."""
    f = Fraction(a)
    n = f.numerator.bit_length() - f.denominator.bit_length()
    while Fraction(2) ** n > f:
        n -= 1
    while Fraction(2) ** (n + 1) <= f:
        n += 1
    return n + 1 if f * f > Fraction(2) ** (2 * n + 1) else n


def reference_q(w: float, exp_min: int, exp_max: int) -> float:
    if w == 0:
        return 0.0
    n = min(max(exact_round_log2(abs(w)), exp_min), exp_max)
    return math.copysign(2.0 ** n, w)


def assert_same(got: torch.Tensor, expected: torch.Tensor, inputs: torch.Tensor) -> None:
    if not torch.equal(got, expected):
        i = int(torch.nonzero(got != expected)[0, 0])
        raise AssertionError(f"first mismatch at {i}: w={inputs[i].item()!r} got {got[i].item()!r} "
                             f"expected {expected[i].item()!r}")


def sample_weights(dtype, n=4000, seed=0):
    """Log-uniform magnitudes over many octaves, both signs, plus values within a few ulp of every
    boundary 2^(n+1/2), exact powers of two, zeros and denormals."""
    g = torch.Generator().manual_seed(seed)
    octaves = 12 if dtype == torch.float16 else 20
    mag = torch.exp2(torch.rand(n, generator=g, dtype=torch.float64) * 2 * octaves - octaves)
    sign = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0).double()
    vals = (sign * mag).to(dtype)
    info = torch.finfo(dtype)
    bnd = torch.tensor([2.0 ** (k + 0.5) for k in range(-12, 12)], dtype=dtype)
    near = [bnd]
    up, down = bnd.clone(), bnd.clone()
    for _ in range(3):  # the neighbouring floats on both sides of each boundary
        up = torch.nextafter(up, torch.full_like(up, math.inf))
        down = torch.nextafter(down, torch.zeros_like(down))
        near += [up, down]
    special = torch.tensor([0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 2.0 ** -20, info.tiny, -info.tiny,
                            info.tiny / 8, -info.tiny / 1024, 2.0 ** 30], dtype=dtype)
    w = torch.cat([vals, *near, -bnd, special])
    return w[torch.isfinite(w)]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16])
@pytest.mark.parametrize("exp_min,exp_max", [(-8, 7), (-3, 0), (-30, 30), (2, 2)])
def test_q_matches_exact_rational_rounding(dtype, exp_min, exp_max):
    w = sample_weights(dtype)
    expected = torch.tensor([reference_q(float(v), exp_min, exp_max) for v in w.tolist()], dtype=dtype)
    assert_same(pow2_round(w, exp_min, exp_max), expected, w)


def test_q_agrees_with_float64_log2_away_from_boundaries():
    """The paper's literal formula sign * 2^round(log2|w|) (Python round: half-to-even) where float
    log2 cannot be fooled (more than 1e-6 from a half-integer)."""
    w = sample_weights(torch.float32, seed=3)
    w = w[w != 0]
    lg = [math.log2(abs(v)) for v in w.tolist()]
    keep = torch.tensor([abs(x - math.floor(x) - 0.5) > 1e-6 for x in lg])
    expected = torch.tensor([math.copysign(2.0 ** min(max(round(x), -8), 7), v)
                             for x, v, k in zip(lg, w.tolist(), keep.tolist()) if k], dtype=torch.float32)
    assert_same(pow2_round(w[keep], -8, 7), expected, w[keep])


def test_zero_is_exactly_positive_zero_and_denormals_clamp():
    tiny = torch.finfo(torch.float32).tiny
    w = torch.tensor([0.0, -0.0, tiny / 64, -tiny / 64, 1e-45, 1e-30], dtype=torch.float32)
    q = pow2_round(w, -8, 7)
    assert torch.equal(q, torch.tensor([0.0, 0.0, 2 ** -8, -(2 ** -8), 2 ** -8, 2 ** -8]))
    assert not torch.signbit(q[:2]).any(), "Q(-0.0) must be +0.0"
    sign, exponent, nonzero = pow2_decompose(w, -8, 7)
    assert nonzero.tolist() == [False, False, True, True, True, True]
    assert sign.tolist() == [1, 1, 1, -1, 1, 1]
    assert exponent.tolist() == [-8] * 6


def test_non_finite_weights_pass_through():
    w = torch.tensor([math.nan, math.inf, -math.inf, 3.0])
    q = pow2_round(w, -8, 7)
    assert torch.isnan(q[0]) and q[1] == math.inf and q[2] == -math.inf and q[3] == 4.0


def test_every_nonzero_output_is_a_signed_power_of_two_in_range():
    w = sample_weights(torch.float32, seed=5)
    q = pow2_round(w, -5, 3)
    nz = q != 0
    m, e = torch.frexp(q[nz].abs())
    assert torch.all(m == 0.5)
    assert torch.all((e - 1 >= -5) & (e - 1 <= 3))
    assert torch.equal(torch.sign(q[nz]), torch.sign(w[nz]))
    assert torch.equal(nz, w != 0)


# ---------------------------------------------------------------- straight-through estimator (Eq. 16)
def test_ste_passes_the_gradient_unchanged():
    g = torch.Generator().manual_seed(1)
    w = torch.cat([torch.randn(200, generator=g) * 10.0 ** torch.randint(-6, 4, (200,), generator=g),
                   torch.tensor([0.0, -0.0, 1e-42, -1e-44, 1e6, -1e-9])]).requires_grad_(True)
    upstream = torch.randn(w.shape, generator=g)
    q = quantize_pow2(w, -8, 7)
    assert torch.equal(q.detach(), pow2_round(w.detach(), -8, 7))  # forward is Q exactly
    (grad,) = torch.autograd.grad(q, w, upstream)
    assert torch.equal(grad, upstream)
    assert not torch.isnan(grad).any()


def test_ste_jacobian_is_identity():
    """gradcheck-style: the analytical Jacobian dQ/dW is the identity (Eq. 16), also at 0 / denormals."""
    w = torch.tensor([[0.3, -2.7, 0.0], [1e-40, -5e-45, 100.0]], dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(lambda v: quantize_pow2(v, -4, 4), w)
    assert torch.equal(jac.reshape(6, 6), torch.eye(6, dtype=torch.float64))


def test_ste_through_downstream_computation():
    """d/dW of L(Q(W)) is L'(Q(W)): the chain rule sees Q as identity in backward."""
    w = torch.tensor([0.0, 0.37, -1.9, 1e-41], requires_grad=True)
    x = torch.tensor([1.5, -2.0, 0.25, 3.0])
    loss = (quantize_pow2(w, -8, 7) * x).pow(2).sum()
    loss.backward()
    q = pow2_round(w.detach(), -8, 7)
    assert torch.equal(w.grad, 2 * q * x * x)


def test_bad_exponent_range():
    with pytest.raises(ValueError, match="exp_min"):
        pow2_round(torch.ones(2), 3, 2)
    with pytest.raises(ValueError, match="integer"):
        quantize_pow2(torch.ones(2), -1.5, 2)


def test_dtype_kept_and_float64_range():
    """Q keeps dtype and device; float64 weights far beyond float32 range still quantize exactly."""
    w = torch.tensor([1e-300, 3e200, -7.0], dtype=torch.float64)
    q = pow2_round(w, -2000, 2000)
    assert q.dtype == torch.float64
    assert q.tolist() == [reference_q(v, -2000, 2000) for v in w.tolist()]
    assert np.isfinite(q.numpy()).all()


# ---------------------------------------------------------------- the bit-level fast path
from shiftpsn.golden.model.quant import bits_fast_path, pow2_round_bits, pow2_round_frexp  # noqa: E402

INT_OF = {torch.float16: torch.int16, torch.bfloat16: torch.int16, torch.float32: torch.int32,
          torch.float64: torch.int64}


def expected_bits(w: torch.Tensor, exp_min: int, exp_max: int) -> torch.Tensor:
    """Bits of the rational reference Q (non-finite inputs: their own bits)."""
    vals = w.double().tolist()  # exact: every float16/bfloat16/float32 value is a float64
    out = [reference_q(v, exp_min, exp_max) if math.isfinite(v) else v for v in vals]
    q = torch.tensor(out, dtype=torch.float64).to(w.dtype).view(INT_OF[w.dtype])
    nonfinite = ~torch.isfinite(w)
    return torch.where(nonfinite, w.view(INT_OF[w.dtype]), q)


def assert_same_bits(got: torch.Tensor, w: torch.Tensor, exp_min: int, exp_max: int) -> None:
    exp = expected_bits(w, exp_min, exp_max)
    got = got.view(INT_OF[w.dtype])
    if not torch.equal(got, exp):
        i = int(torch.nonzero(got != exp)[0, 0])
        raise AssertionError(f"first mismatch at {i}: w={w[i].item()!r} got bits {int(got[i]):#x} "
                             f"expected {int(exp[i]):#x}")


@pytest.mark.parametrize("dtype,exp_min,exp_max", [
    (torch.float16, -14, 15), (torch.float16, -8, 7), (torch.float16, 3, 3),
    (torch.bfloat16, -126, 127), (torch.bfloat16, -8, 0)])
def test_bits_path_on_every_16_bit_float(dtype, exp_min, exp_max):
    """All 65536 bit patterns (zeros, denormals, every boundary, inf, NaN) against rationals."""
    w = torch.arange(-(1 << 15), 1 << 15, dtype=torch.int32).to(torch.int16).view(dtype)
    assert bits_fast_path(dtype, exp_min, exp_max)
    assert_same_bits(pow2_round_bits(w, exp_min, exp_max), w, exp_min, exp_max)
    assert_same_bits(pow2_round(w, exp_min, exp_max), w, exp_min, exp_max)


@pytest.mark.parametrize("dtype,exp_min,exp_max", [
    (torch.float32, -126, 127), (torch.float32, -8, 7), (torch.float64, -1022, 1023),
    (torch.float64, -8, 0)])
def test_bits_path_on_random_bit_patterns(dtype, exp_min, exp_max):
    """Uniformly random bits (every exponent, denormals, NaN payloads) plus the boundary samples."""
    g = torch.Generator().manual_seed(11)
    info = torch.iinfo(INT_OF[dtype])
    raw = torch.randint(info.min, info.max, (6000,), generator=g, dtype=torch.int64).to(INT_OF[dtype])
    w = torch.cat([raw.view(dtype), sample_weights(dtype),
                   torch.tensor([math.inf, -math.inf, math.nan], dtype=dtype)])
    assert_same_bits(pow2_round_bits(w, exp_min, exp_max), w, exp_min, exp_max)


@pytest.mark.parametrize("dtype,exp_min,exp_max", [(torch.float32, -140, 0), (torch.float16, -20, 15),
                                                   (torch.float16, -8, 16)])
def test_frexp_path_outside_the_normal_range(dtype, exp_min, exp_max):
    """Ranges whose ends are not normal numbers take the frexp path: denormal or overflowing results."""
    assert not bits_fast_path(dtype, exp_min, exp_max)
    info = torch.iinfo(INT_OF[dtype])
    g = torch.Generator().manual_seed(12)
    raw = torch.randint(info.min, info.max, (3000,), generator=g, dtype=torch.int64).to(INT_OF[dtype])
    w = torch.cat([raw.view(dtype), sample_weights(dtype)])
    assert_same_bits(pow2_round_frexp(w, exp_min, exp_max), w, exp_min, exp_max)
    assert_same_bits(pow2_round(w, exp_min, exp_max), w, exp_min, exp_max)


def test_fast_path_bounds():
    assert bits_fast_path(torch.float32, -126, 127) and not bits_fast_path(torch.float32, -127, 0)
    assert not bits_fast_path(torch.float32, 0, 128)
    assert bits_fast_path(torch.float16, -14, 15) and not bits_fast_path(torch.float16, -15, 0)
    assert bits_fast_path(torch.float64, -1022, 1023) and not bits_fast_path(torch.float64, -1023, 0)
    assert not bits_fast_path(torch.int32, 0, 1)


def test_bits_path_keeps_shape_and_handles_views():
    w = torch.randn(6, 5, dtype=torch.float32).t()  # non-contiguous
    q = pow2_round(w, -8, 7)
    assert q.shape == w.shape
    flat = w.contiguous().reshape(-1)
    assert_same_bits(q.contiguous().reshape(-1), flat, -8, 7)


@pytest.mark.parametrize("exp_min,exp_max", [(-8, 7), (-2000, 2000)])
def test_ste_identity_on_both_paths(exp_min, exp_max):
    w = torch.tensor([0.3, -0.0, 1e-310, -7.5, 2.0 ** 0.5], dtype=torch.float64, requires_grad=True)
    up = torch.tensor([1.0, -2.0, 3.0, 0.5, -0.25], dtype=torch.float64)
    q = quantize_pow2(w, exp_min, exp_max)
    assert_same_bits(q.detach(), w.detach(), exp_min, exp_max)
    (grad,) = torch.autograd.grad(q, w, up)
    assert torch.equal(grad, up)
