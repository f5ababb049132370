"""Every temporal-convolution method (except Triton, see test_accel_triton.py) against the numpy
reference: H, dX, dW and db, float32 and float64, both layouts, random shapes with and without "..."
dimensions, k = 1 and d > T. Tolerance: test_accel_reference.TOL (relative to the reference's max)."""

import math

import numpy as np
import pytest
import torch

from shiftpsn.golden.accel import MAX_BAND_ELEMENTS, METHOD_LAYOUTS, METHODS, available_methods, method_fits, temporal_conv
from shiftpsn.golden.accel.vmap_mm import band_matrix
from test_accel_reference import TOL, assert_close, ref_backward, ref_forward

CPU_METHODS = [m for m in METHODS if m != "triton"]


def random_cases(seed: int, count: int):
    """Seeded (layout, shape, k, d) cases; every third has d > T, every fourth k = 1."""
    rng = np.random.default_rng(seed)
    cases = []
    for n in range(count):
        layout = ("time-first", "time-last")[n % 2]
        T = int(rng.integers(1, 10))
        N, C = int(rng.integers(1, 4)), int(rng.integers(1, 5))
        rest = [(), (2,), (3, 2)][int(rng.integers(0, 3))]
        k = 1 if n % 4 == 3 else int(rng.integers(2, 6))
        d = T + int(rng.integers(0, 3)) if n % 3 == 2 else int(rng.integers(1, 4))
        shape = (T, N, C, *rest) if layout == "time-first" else (N, C, *rest, T)
        cases.append((layout, shape, k, d))
    return cases


CASES = random_cases(seed=1, count=24)


def check_method(method, layout, shape, k, d, dtype, device="cpu", seed=0, bias=True):
    """Forward and backward of ``method`` against the numpy reference (raises on a mismatch)."""
    gen = torch.Generator().manual_seed(seed)
    C = shape[2] if layout == "time-first" else shape[1]
    x = torch.randn(shape, generator=gen, dtype=torch.float64)
    w = torch.randn(C, k, generator=gen, dtype=torch.float64)
    b = torch.randn(C, generator=gen, dtype=torch.float64) if bias else None
    g = torch.randn(shape, generator=gen, dtype=torch.float64)
    h_ref = ref_forward(x.numpy(), w.numpy(), d, layout, None if b is None else b.numpy())
    dx_ref, dw_ref, db_ref = ref_backward(x.numpy(), w.numpy(), d, layout, g.numpy())
    xt = x.to(device, dtype).requires_grad_()
    wt = w.to(device, dtype).requires_grad_()
    bt = None if b is None else b.to(device, dtype).requires_grad_()
    h = temporal_conv(xt, wt, d, layout, method, bias=bt)
    assert h.dtype == dtype and h.shape == x.shape
    h.backward(g.to(device, dtype))
    tol = TOL[dtype]
    tag = f"{method} {layout} shape={shape} k={k} d={d} {dtype}"
    assert_close(h, h_ref, tol, f"H [{tag}]")
    assert_close(xt.grad, dx_ref, tol, f"dX [{tag}]")
    assert_close(wt.grad, dw_ref, tol, f"dW [{tag}]")
    if bias:
        assert_close(bt.grad, db_ref, tol, f"db [{tag}]")


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("method", CPU_METHODS)
def test_method_matches_reference(method, dtype):
    ran = 0
    for n, (layout, shape, k, d) in enumerate(CASES):
        if layout in METHOD_LAYOUTS[method]:
            check_method(method, layout, shape, k, d, dtype, seed=n, bias=n % 5 != 0)
            ran += 1
    assert ran >= 10


@pytest.mark.parametrize("method", CPU_METHODS)
def test_method_without_bias_and_noncontiguous_input(method):
    layout = "time-last"
    x = torch.randn(3, 2, 5, 7, dtype=torch.float64).permute(1, 0, 2, 3)  # (N=2, C=3, 5, T=7), a view
    assert not x.is_contiguous()
    w = torch.randn(3, 3, dtype=torch.float64)
    h = temporal_conv(x, w, 2, layout, method)
    assert_close(h, ref_forward(x.numpy(), w.numpy(), 2, layout), TOL[torch.float64], method)


@pytest.mark.parametrize("method", CPU_METHODS)
def test_gradcheck(method):
    layout = "time-last" if "time-first" not in METHOD_LAYOUTS[method] else "time-first"
    shape = (4, 2, 3, 2) if layout == "time-first" else (2, 3, 2, 4)
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 2, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w, b: temporal_conv(x, w, 2, layout, method, b), (x, w, b))


def test_band_matrix_eq19_eq20():
    w = torch.tensor([[1.0, 2.0, 3.0]])  # k = 3, d = 2, T = 5: taps at delays 4, 2, 0
    a = band_matrix(w, 5, 2, "time-first")[0]
    expected = torch.tensor([[3, 0, 0, 0, 0], [0, 3, 0, 0, 0], [2, 0, 3, 0, 0], [0, 2, 0, 3, 0],
                             [1, 0, 2, 0, 3]], dtype=torch.float32)
    assert torch.equal(a, expected)
    assert torch.equal(band_matrix(w, 5, 2, "time-last")[0], expected.T)


def test_available_methods_cpu():
    assert available_methods("time-first", "cpu") == ["vanilla", "vmap_mm", "shift_add"]
    assert available_methods("time-last", "cpu") == ["vanilla", "vmap_conv1d", "conv2d", "vmap_mm", "shift_add"]


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(layout="sideways"), "layout must be one of"),
    (dict(method="nope"), "unknown method"),
    (dict(method="conv2d"), "supports only the time-last layout"),
    (dict(weight=torch.ones(4, 2)), "weight must have shape (C=3, k)"),
    (dict(weight=torch.ones(3, 0)), "at least one tap"),
    (dict(dilation=0), "dilation must be an integer >= 1"),
    (dict(bias=torch.ones(2)), "bias must have shape (C=3,)"),
    (dict(x=torch.ones(4, 2)), "at least 3 dimensions"),
])
def test_bad_arguments(kwargs, fragment):
    args = dict(x=torch.ones(4, 2, 3), weight=torch.ones(3, 2), dilation=1, layout="time-first", method="vanilla")
    args.update(kwargs)
    with pytest.raises(ValueError, match=None) as e:
        temporal_conv(**args)
    assert fragment in str(e.value)


def test_method_fits_bounds_band_matrices():
    assert MAX_BAND_ELEMENTS == 1 << 24
    assert method_fits("vmap_mm", (512, 8, 64), "time-first")  # 64 * 512^2 = 2^24
    assert not method_fits("vmap_mm", (513, 8, 64), "time-first")
    assert not method_fits("vmap_mm", (8, 64, 1024), "time-last")  # T last: 64 * 1024^2
    assert method_fits("shift_add", (10**6, 1, 64), "time-first")


@pytest.mark.parametrize("layout,shape,k,d", [
    ("time-last", (3, 4, 8), 16, 1), ("time-last", (2, 3, 2, 16), 9, 2), ("time-last", (2, 3, 10), 10, 1),
    ("time-last", (3, 2, 2, 9), 12, 1), ("time-last", (6, 3, 22), 8, 3)])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_shift_add_lag_matrix_weight_grad(layout, shape, k, d, dtype):
    """Many taps in a short sequence: shift_add's dW comes from the lag-matrix product."""
    from shiftpsn.golden.accel.shift_add import use_lag_matrix

    T = shape[-1]
    n_taps = sum(1 for i in range(k) if (k - 1 - i) * d < T)
    assert use_lag_matrix(T, k, d, n_taps, layout, rows=math.prod(shape) // (T * shape[1]))
    check_method("shift_add", layout, shape, k, d, dtype, seed=k)


def test_shift_add_lag_matrix_choice():
    from shiftpsn.golden.accel.shift_add import use_lag_matrix

    assert use_lag_matrix(64, 16, 2, 16, "time-last", 32) and not use_lag_matrix(64, 16, 2, 16, "time-first", 32)
    assert not use_lag_matrix(64, 4, 2, 4, "time-last", 32) and not use_lag_matrix(1024, 16, 2, 16, "time-last", 8)
    assert not use_lag_matrix(64, 16, 2, 16, "time-last", 1)  # the T x (T + 30) matrix would dwarf X
