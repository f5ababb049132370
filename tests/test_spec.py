"""Core spec: validation of every field, JSON round trip, derived widths from their formulas."""

import json
import math

import numpy as np
import pytest

from shiftpsn.base.errors import SpecError
from shiftpsn.base.spec import CoreSpec, uniform_spec
from shiftpsn.base.testing import random_spec

GOOD = dict(channels=2, order=3, dilation=2, input_width=8, exp_min=-2, exp_max=3,
            shift=[[-2, None, 3], [0, 1, 2]], sign=[[1, -1, 1], [-1, -1, 1]], threshold=[5, -7])


def bad(**changes):
    d = json.loads(json.dumps(GOOD))
    for key, value in changes.items():
        if value is KeyError:
            del d[key]
        else:
            d[key] = value
    return d


# (changes, fragment the one-line message must contain)
BAD_SPECS = [
    (dict(channels=0), "'channels' must be >= 1"),
    (dict(channels="2"), "'channels' must be an integer"),
    (dict(channels=2.0), "'channels' must be an integer"),
    (dict(channels=True), "'channels' must be an integer"),
    (dict(order=0), "'order' must be >= 1"),
    (dict(order=None), "'order' must be an integer"),
    (dict(dilation=0), "'dilation' must be >= 1"),
    (dict(dilation=[2]), "'dilation' must be an integer"),
    (dict(input_width=1), "'input_width' must be >= 2"),
    (dict(input_width="8"), "'input_width' must be an integer"),
    (dict(exp_min=1.5), "'exp_min' must be an integer"),
    (dict(exp_max="3"), "'exp_max' must be an integer"),
    (dict(exp_min=4), "exp_min (4) must be <= exp_max (3)"),
    (dict(weights="rom"), "'weights' must be one of"),
    (dict(arith="float"), "'arith' must be one of"),
    (dict(pipeline=-1), "'pipeline' must be >= 0"),
    (dict(pipeline=9), "'pipeline' must be <="),
    (dict(emit_acc=1), "'emit_acc' must be true or false"),
    (dict(name="bad name"), "'name' must be a Verilog identifier"),
    (dict(shift=[[-2, None, 3]]), "'shift' has 1 rows, expected channels = 2"),
    (dict(shift=[[-2, None], [0, 1, 2]]), "'shift'[0] has 2 entries, expected order = 3"),
    (dict(shift=[[-2, None, 4], [0, 1, 2]]), "'shift'[0][2] = 4 is outside [exp_min, exp_max] = [-2, 3]"),
    (dict(shift=[[-2, None, 1.0], [0, 1, 2]]), "'shift'[0][2] must be an integer or null"),
    (dict(shift=[-2, 0, 3]), "'shift' must be a list of 2 lists of 3 values"),
    (dict(shift="x"), "'shift' must be a list"),
    (dict(sign=[[1, -1, 0], [-1, -1, 1]]), "'sign'[0][2] must be 1 or -1"),
    (dict(sign=[[1, -1, 1], [-1, -1]]), "'sign'[1] has 2 entries, expected order = 3"),
    (dict(sign=[[1, -1, 1], [-1, -1, True]]), "'sign'[1][2] must be 1 or -1"),
    (dict(threshold=[5]), "'threshold' has 1 entries, expected channels = 2"),
    (dict(threshold=[5, 1.5]), "'threshold'[1] must be an integer"),
    (dict(threshold=5), "'threshold' must be a list of 2 integers"),
    (dict(colour="red"), "unknown key 'colour'"),
    (dict(threshold=KeyError), "missing key 'threshold'"),
    (dict(input_width=60, exp_max=10), "exceeds the supported 64 bits"),
]


@pytest.mark.parametrize("changes,message", BAD_SPECS, ids=[m for _, m in BAD_SPECS])
def test_bad_spec_is_rejected_with_one_line(changes, message):
    with pytest.raises(SpecError) as info:
        CoreSpec.from_dict(bad(**changes))
    text = str(info.value)
    assert message in text
    assert "\n" not in text


def test_not_an_object():
    with pytest.raises(SpecError, match="expected a JSON object"):
        CoreSpec.from_dict([1, 2])


def test_json_round_trip(tmp_path):
    spec = CoreSpec.from_dict(GOOD)
    spec.save(tmp_path / "s.json")
    again = CoreSpec.load(tmp_path / "s.json")
    assert again == spec
    d = json.loads((tmp_path / "s.json").read_text())
    assert d["shift"][0][1] is None and d["weights"] == "runtime" and d["arith"] == "shift"


def test_derived_widths_from_formulas():
    rng = np.random.default_rng(7)
    for _ in range(100):
        s = random_spec(rng, order=(1, 16), input_width=(2, 16))
        k, W, R = s.order, s.input_width, s.exp_max - s.exp_min
        assert s.acc_width == W + R + math.ceil(math.log2(k)) + 1
        assert s.delay_depth == (k - 1) * s.dilation
        assert s.storage_bits == s.channels * (k - 1) * s.dilation * W
        assert s.tap_delays == tuple((k - 1 - i) * s.dilation for i in range(k))
        assert s.shift_code_width == max(1, math.ceil(math.log2(R + 1)))
        # the widest possible |acc| fits: k * 2^(W-1) * 2^R
        assert k * 2 ** (W - 1 + R) <= 2 ** (s.acc_width - 1)


def test_register_map_encoding():
    s = CoreSpec.from_dict(GOOD)  # R = 5 -> 3-bit shift code, sign bit 3, zero bit 4
    words = dict(s.config_words())
    assert words[0] == 0                       # shift -2 -> amount 0, sign +
    assert words[1] == 1 << 4                  # zero tap
    assert words[2] == 5                       # amount 5
    assert words[3] == 2 | (1 << 3)            # channel 1 tap 0: amount 2, negative
    assert words[6] == 5 and words[7] == (-7) & ((1 << s.cfg_data_width) - 1)
    assert s.cfg_addr_width == 3 and len(words) == 8


def test_threshold_saturation_is_equivalent():
    s = CoreSpec.from_dict(bad(threshold=[10 ** 40, -(10 ** 40)]))
    assert s.threshold_hw(0) == s.acc_max + 1 and s.threshold_hw(1) == s.acc_min


def test_uniform_spec_is_valid():
    s = uniform_spec()
    assert (s.channels, s.order, s.dilation, s.input_width) == (8, 4, 2, 8)
