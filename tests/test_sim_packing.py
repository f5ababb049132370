"""shiftpsn.sim.packing: whole-beat payloads against bit-by-bit Python-integer arithmetic (ports.py layouts)."""

import numpy as np
import pytest

from shiftpsn.base.ports import input_fields, output_fields, payload_width
from shiftpsn.base.spec import uniform_spec
from shiftpsn.base.payload import pack_inputs, unpack_outputs


def _input_int(x_row, first, W):
    """Direct formula: channel c at bits [c*W, c*W+W), two's complement; first at bit C*W."""
    v = 0
    for c, xc in enumerate(x_row):
        v |= (int(xc) % (1 << W)) << (c * W)
    return v | (int(first) << (len(x_row) * W))


@pytest.mark.parametrize("C,W", [(1, 2), (5, 3), (8, 8), (64, 16)])
def test_pack_inputs_matches_formula(C, W):
    spec = uniform_spec(channels=C, input_width=W, exp_min=0, exp_max=0)
    rng = np.random.default_rng(C * 100 + W)
    x = rng.integers(spec.input_min, spec.input_max + 1, size=(40, C))
    x[0], x[1] = spec.input_min, spec.input_max  # extremes in every channel
    first = rng.integers(0, 2, size=40)
    got = pack_inputs(spec, x, first)
    want = [_input_int(x[n], first[n], W) for n in range(40)]
    assert got == want
    assert max(got) < 1 << payload_width(input_fields(spec))


@pytest.mark.parametrize("C,W,exp_max,k", [(1, 2, 0, 1), (3, 8, 5, 4), (64, 8, 3, 4), (2, 16, 45, 4)])
def test_unpack_outputs_matches_formula(C, W, exp_max, k):
    spec = uniform_spec(channels=C, order=k, input_width=W, exp_min=0, exp_max=exp_max)
    A = spec.acc_width
    assert A <= 64
    rng = np.random.default_rng(A)
    n = 30
    spikes = rng.integers(0, 2, size=(n, C))
    first = rng.integers(0, 2, size=n)
    acc = [[int(rng.integers(spec.acc_min, spec.acc_max, endpoint=True)) for _ in range(C)] for _ in range(n)]
    acc[0] = [spec.acc_min] * C
    acc[1] = [spec.acc_max] * C
    width = payload_width(output_fields(spec))
    strings = []
    for r in range(n):
        v = sum(int(spikes[r, c]) << c for c in range(C)) | (int(first[r]) << C)
        for c in range(C):
            v |= (acc[r][c] % (1 << A)) << (C + 1 + c * A)
        strings.append(format(v, f"0{width}b"))
    got = unpack_outputs(spec, strings)
    np.testing.assert_array_equal(got["spikes"], spikes)
    np.testing.assert_array_equal(got["first"], first)
    np.testing.assert_array_equal(got["acc"], np.array(acc, dtype=np.int64))
    assert got["acc"].dtype == np.int64
    assert not got["unknown"].any()


def test_unpack_marks_x_and_z_bits():
    spec = uniform_spec(channels=2)
    width = payload_width(output_fields(spec))
    good = "0" * width
    got = unpack_outputs(spec, [good, "X" + good[1:], good[:-1] + "Z"])
    assert got["unknown"].tolist() == [False, True, True]


def test_unpack_without_acc_and_empty():
    spec = uniform_spec(channels=4, emit_acc=False)
    got = unpack_outputs(spec, ["10101"])  # MSB first: first=1, spikes 0b0101 -> channels 0 and 2
    assert "acc" not in got
    assert got["first"].tolist() == [1]
    assert got["spikes"].tolist() == [[1, 0, 1, 0]]
    empty = unpack_outputs(spec, [])
    assert empty["spikes"].shape == (0, 4)
