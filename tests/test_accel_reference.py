"""An independent numpy reference of Eq. 17/22 and its gradients Eq. 23-25, checked against a
hand-worked example; the other ``test_accel_*`` files compare every method with it."""

import numpy as np
import pytest
import torch

#: max |got - ref| <= TOL[dtype] * (1 + max |ref|) for every compared array
TOL = {torch.float64: 1e-12, torch.float32: 2e-5}


def _time_first(a: np.ndarray, layout: str) -> np.ndarray:
    return a if layout == "time-first" else np.moveaxis(a, -1, 0)


def _back(a: np.ndarray, layout: str) -> np.ndarray:
    return a if layout == "time-first" else np.moveaxis(a, 0, -1)


def _cview(v: np.ndarray, ndim: int) -> np.ndarray:
    """(C,) or (C, k)-column -> broadcast over a time-first (T, N, C, ...) array."""
    return v.reshape(v.shape[0], *([1] * (ndim - 3)))


def ref_forward(x, w, d, layout, b=None) -> np.ndarray:
    """H[t] = b + sum_i w[:, i] X[t - (k-1-i) d], X[j < 0] = 0, in float64."""
    xf = _time_first(np.asarray(x, np.float64), layout)
    T, k = xf.shape[0], w.shape[1]
    h = np.zeros_like(xf)
    for t in range(T):
        for i in range(k):
            j = t - (k - 1 - i) * d
            if j >= 0:
                h[t] += _cview(np.asarray(w[:, i], np.float64), xf.ndim) * xf[j]
    if b is not None:
        h += _cview(np.asarray(b, np.float64), xf.ndim)
    return _back(h, layout)


def ref_backward(x, w, d, layout, g) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dX, dW, db) for output gradient ``g``: Eq. 23, 24, 25 as explicit sums, in float64."""
    xf = _time_first(np.asarray(x, np.float64), layout)
    gf = _time_first(np.asarray(g, np.float64), layout)
    T, C, k = xf.shape[0], w.shape[0], w.shape[1]
    axes = tuple(a for a in range(xf.ndim) if a != 2)  # all but the channel axis
    dx = np.zeros_like(xf)
    dw = np.zeros((C, k))
    for i in range(k):
        s = (k - 1 - i) * d
        for t in range(T):
            if t + s < T:
                dx[t] += _cview(np.asarray(w[:, i], np.float64), xf.ndim) * gf[t + s]
            if t - s >= 0:
                dw[:, i] += (gf[t] * xf[t - s]).sum(axis=tuple(a - 1 for a in axes[1:]))
    db = gf.sum(axis=axes)
    return _back(dx, layout), dw, db


def assert_close(got, ref, tol: float, what: str) -> None:
    """Compare whole arrays; name the first element off by more than ``tol * (1 + max|ref|)``."""
    got = got.detach().cpu().double().numpy() if isinstance(got, torch.Tensor) else np.asarray(got)
    ref = np.asarray(ref, np.float64)
    assert got.shape == ref.shape, f"{what}: shape {got.shape} != {ref.shape}"
    bound = tol * (1.0 + (np.abs(ref).max() if ref.size else 0.0))
    bad = np.argwhere(~(np.abs(got - ref) <= bound))
    if bad.size:
        idx = tuple(bad[0])
        raise AssertionError(f"{what}: {len(bad)} elements off; first at {idx}: got {got[idx]!r}, "
                             f"expected {ref[idx]!r} (bound {bound:.3g})")


def test_reference_hand_worked():
    # one sequence, one channel, k = 2, d = 2: H[t] = 3 X[t] + 2 X[t-2] + 1 (tap 1 is the newest)
    x = np.array([1.0, 2.0, 3.0, 4.0]).reshape(4, 1, 1)
    w = np.array([[2.0, 3.0]])
    h = ref_forward(x, w, 2, "time-first", b=np.array([1.0]))
    assert h.ravel().tolist() == [4.0, 7.0, 12.0, 17.0]
    # dL/dH = g: dX[t] = 3 g[t] + 2 g[t+2]; dW[0] = sum g[t] X[t-2]; dW[1] = sum g X; db = sum g
    g = np.array([1.0, 10.0, 100.0, 1000.0]).reshape(4, 1, 1)
    dx, dw, db = ref_backward(x, w, 2, "time-first", g)
    assert dx.ravel().tolist() == [203.0, 2030.0, 300.0, 3000.0]
    assert dw.tolist() == [[100 * 1 + 1000 * 2, 1 + 20 + 300 + 4000]]
    assert db.tolist() == [1111.0]


def test_reference_layouts_agree():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 2, 3, 2))  # time-first with one "..." dimension
    w = rng.standard_normal((3, 3))
    g = rng.standard_normal(x.shape)
    xl, gl = np.moveaxis(x, 0, -1), np.moveaxis(g, 0, -1)
    assert np.array_equal(np.moveaxis(ref_forward(x, w, 2, "time-first"), 0, -1), ref_forward(xl, w, 2, "time-last"))
    a, b = ref_backward(x, w, 2, "time-first", g), ref_backward(xl, w, 2, "time-last", gl)
    assert np.array_equal(np.moveaxis(a[0], 0, -1), b[0])
    assert np.array_equal(a[1], b[1]) and np.array_equal(a[2], b[2])


@pytest.mark.parametrize("layout", ["time-first", "time-last"])
def test_vanilla_matches_reference_hand_case(layout):
    from shiftpsn.golden.accel import temporal_conv

    x = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64).reshape(4, 1, 1)
    if layout == "time-last":
        x = x.movedim(0, -1)
    h = temporal_conv(x, torch.tensor([[2.0, 3.0]], dtype=torch.float64), 2, layout, "vanilla",
                      bias=torch.tensor([1.0], dtype=torch.float64))
    assert h.flatten().tolist() == [4.0, 7.0, 12.0, 17.0]
