"""Power-of-two weight quantizer Q with the whole straight-through estimator (MF-PSN Eq. 13, 16).

Forward (Eq. 13, with the exponent clamp the hardware needs)::

    Q(w) = sign(w) * 2^clamp(round(log2 |w|), exp_min, exp_max)      for w != 0
    Q(0) = 0                                                          (a zero tap: null shift in hardware)

Backward (Eq. 16, the *whole* STE, not Eq. 14-15)::

    dQ/dw = 1                      everywhere, also at w = 0, for denormal w and for clamped exponents

Conventions (chosen here, relied on by :mod:`shiftpsn.golden.export`):

* **Zero** quantizes to exactly 0 (``+0.0``, also for ``-0.0``): the core supports zero taps through a
  null shift (docs/CONTRACT.md section 2), and 0 is the only value with no power-of-two neighbour. Any
  nonzero weight, however small (denormals included), gets a nonzero power of two: its rounded
  exponent is clamped up to ``exp_min``.
* **Rounding** is round-to-nearest of the *exact* real log2|w|, computed without a logarithm: with
  ``|w| = m * 2^e``, ``m`` in [1/2, 1) (``torch.frexp``), round(log2|w|) = e if m > 1/sqrt(2) else e-1.
  A tie would need |w| = 2^(n + 1/2), an irrational number, so no finite float is a tie and no tie
  rule is needed; the comparison ``m >= 0.70710678118654757`` (the float64 just above 1/sqrt(2)) is
  exact for float16, bfloat16, float32 and float64 weights. (``torch.round(torch.log2(w))``, the
  paper's literal formula, agrees except for weights within a few ulp of 2^(n+1/2), where float log2
  rounding decides and ``torch.round`` would then apply half-to-even.) In the linear domain the
  decision boundary between 2^n and 2^(n+1) is their geometric mean 2^(n+1/2).
* Non-finite weights are not quantized: NaN stays NaN and +-inf stays +-inf.

Fast path (:func:`pow2_round_bits`): when 2^exp_min and 2^exp_max are normal numbers of the weight's
dtype, Q is computed on the float's bits with a few integer ops (one pass each, no frexp, no float64
detour): with the magnitude bits ``mag = E 2^M + F`` (exponent field E, M mantissa bits F), |w| rounds
up to 2^(E+1-bias) exactly when F >= F_up = ceil((sqrt(2) - 1) 2^M) (the mantissa 1 + F/2^M is above
sqrt(2); irrational, so never equal), which is when ``mag + 2^M - F_up`` carries into the exponent
field. Denormal weights clamp up to exp_min, as above. Other exponent ranges take the frexp path
(:func:`pow2_round_frexp`); both give the same bits.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import NamedTuple

import torch

#: The smallest float64 above 1/sqrt(2): math.sqrt rounds 1/sqrt(2) (irrational, never a float) up.
_SQRT_HALF_UP = math.sqrt(0.5)
assert Fraction(_SQRT_HALF_UP) ** 2 > Fraction(1, 2) > Fraction(math.nextafter(_SQRT_HALF_UP, 0)) ** 2


def check_exponent_range(exp_min, exp_max) -> None:
    """Raise ValueError unless ``exp_min <= exp_max`` are integers."""
    for name, v in (("exp_min", exp_min), ("exp_max", exp_max)):
        if not isinstance(v, int) or isinstance(v, bool):
            raise ValueError(f"{name} must be an integer, got {v!r}")
    if exp_min > exp_max:
        raise ValueError(f"exp_min ({exp_min}) must be <= exp_max ({exp_max})")


def round_log2(a: torch.Tensor) -> torch.Tensor:
    """round(log2 a) as int64 for positive finite ``a`` (exact; see the module docstring)."""
    m, e = torch.frexp(a)
    e = e.to(torch.int64)
    return torch.where(m.to(torch.float64) >= _SQRT_HALF_UP, e, e - 1)


def pow2_decompose(w: torch.Tensor, exp_min: int, exp_max: int) -> tuple[torch.Tensor, torch.Tensor,
                                                                          torch.Tensor]:
    """Split Q(w) into ``(sign, exponent, nonzero)``.

    Returns
    -------
    sign : int64 tensor of +1 / -1 (+1 for zero weights)
    exponent : int64 tensor in [exp_min, exp_max] (exp_min for zero weights)
    nonzero : bool tensor, False where Q(w) = 0 (w = 0)
    """
    check_exponent_range(exp_min, exp_max)
    w = w.detach()
    nonzero = w != 0
    sign = torch.where(w < 0, -1, 1).to(torch.int64)
    a = torch.where(nonzero, w.abs(), torch.ones_like(w))  # keeps frexp away from 0
    exponent = torch.where(nonzero, round_log2(a).clamp(exp_min, exp_max), exp_min)
    return sign, exponent, nonzero


def pow2_round_frexp(w: torch.Tensor, exp_min: int, exp_max: int) -> torch.Tensor:
    """Q(w) of Eq. 13 through :func:`pow2_decompose` (any exponent range, any float dtype)."""
    sign, exponent, nonzero = pow2_decompose(w, exp_min, exp_max)
    # 2^n for integer n is exact in float64, and so is its conversion for n within w's exponent range
    mag = torch.pow(2.0, exponent.to(torch.float64))
    q = torch.where(nonzero, sign.to(torch.float64) * mag, torch.zeros_like(mag)).to(w.dtype)
    finite = torch.isfinite(w)
    return torch.where(finite, q, w.detach())


class _BitLayout(NamedTuple):
    int_dtype: torch.dtype
    mantissa_bits: int
    bias: int
    mantissa_up: int  # F_up = ceil((sqrt(2) - 1) 2^M): mantissas from here round up to the next octave
    inf_bits: int  # exponent field all ones: magnitudes from here are +-inf or NaN


def _bit_layout(mantissa_bits: int, exponent_bits: int, int_dtype: torch.dtype) -> _BitLayout:
    # the integer F_up with (2^M + F_up - 1)^2 < 2^(2M+1) < (2^M + F_up)^2 (sqrt(2) 2^M is irrational)
    up = math.isqrt(1 << (2 * mantissa_bits + 1)) + 1 - (1 << mantissa_bits)
    return _BitLayout(int_dtype, mantissa_bits, (1 << (exponent_bits - 1)) - 1, up,
                      ((1 << exponent_bits) - 1) << mantissa_bits)


_BIT_LAYOUTS = {
    torch.float16: _bit_layout(10, 5, torch.int16),
    torch.bfloat16: _bit_layout(7, 8, torch.int16),
    torch.float32: _bit_layout(23, 8, torch.int32),
    torch.float64: _bit_layout(52, 11, torch.int64),
}


def bits_fast_path(dtype: torch.dtype, exp_min: int, exp_max: int) -> bool:
    """Whether :func:`pow2_round_bits` applies: 2^exp_min and 2^exp_max are normal ``dtype`` numbers."""
    lay = _BIT_LAYOUTS.get(dtype)
    return lay is not None and 1 - lay.bias <= exp_min and exp_max <= lay.bias


def pow2_round_bits(w: torch.Tensor, exp_min: int, exp_max: int) -> torch.Tensor:
    """Q(w) of Eq. 13 by integer ops on the bits of ``w`` (see the module docstring, fast path).

    Requires :func:`bits_fast_path`; gives the same bits as :func:`pow2_round_frexp`.
    """
    lay = _BIT_LAYOUTS[w.dtype]
    M = lay.mantissa_bits
    bits = w.detach().view(lay.int_dtype)
    mag = bits & torch.iinfo(lay.int_dtype).max  # |w|'s bits: all but the sign bit
    # Clamping |w| to [2^exp_min, 2^exp_max] before rounding equals clamping the rounded exponent
    # (rounding is monotone and fixes powers of two); bit order is value order for |w|. Adding
    # 2^M - F_up then carries into the exponent field exactly when the mantissa is >= F_up.
    q = torch.clamp(mag, (exp_min + lay.bias) << M, (exp_max + lay.bias) << M)
    q.add_((1 << M) - lay.mantissa_up).bitwise_and_(lay.inf_bits)
    q.bitwise_or_(bits ^ mag)  # the sign bit
    q.masked_fill_(mag == 0, 0)  # Q(+-0) = +0
    q = torch.where(mag >= lay.inf_bits, bits, q)  # NaN, +-inf pass through
    return q.view(w.dtype)


def pow2_round(w: torch.Tensor, exp_min: int, exp_max: int) -> torch.Tensor:
    """Q(w) of Eq. 13 (forward only, no gradient); same dtype and device as ``w``."""
    check_exponent_range(exp_min, exp_max)
    return _pow2_round_checked(w, exp_min, exp_max)


def _pow2_round_checked(w: torch.Tensor, exp_min: int, exp_max: int) -> torch.Tensor:
    if bits_fast_path(w.dtype, exp_min, exp_max):
        return pow2_round_bits(w, exp_min, exp_max)
    return pow2_round_frexp(w, exp_min, exp_max)


class _Pow2STE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, w, exp_min, exp_max):
        return _pow2_round_checked(w, exp_min, exp_max)

    @staticmethod
    def backward(ctx, grad):
        return grad, None, None  # Eq. 16: dWq/dW = 1


def quantize_pow2(w: torch.Tensor, exp_min: int, exp_max: int) -> torch.Tensor:
    """Wq = Q(w) (Eq. 13) whose gradient is the whole straight-through estimator dWq/dW = 1 (Eq. 16).

    The forward value is exactly :func:`pow2_round` (no ``w + (q - w).detach()`` rounding error).
    """
    check_exponent_range(exp_min, exp_max)
    return _Pow2STE.apply(w, exp_min, exp_max)
