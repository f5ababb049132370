"""The lif layer (docs/CONTRACT.md section 5.1): its integer model against an independent per-element
implementation in Python ints, on >= 100 random networks with extreme values; its validation and the
membrane bound its widths rest on."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shiftpsn.base.errors import SpecError, StimulusError
from shiftpsn.base.ints import INT64_MAX
from shiftpsn.base.layers import LifLayer, layer_from_dict
from shiftpsn.base.layers.lif import IF_MAX_STEPS
from shiftpsn.base.network import NetworkSpec
from shiftpsn.base.testing import random_network_input
from shiftpsn.base.testing_lif import random_lif, random_lif_network
from shiftpsn.golden.network import run_network

from conftest import assert_equal


# ------------------------------------------------------------------ the independent reference (Python ints)
def lif_reference(d: dict, x: list, bounds=None) -> list:
    """Spikes [t][c] of one sequence x[t][c] through a lif layer given as its JSON dict, one neuron and
    one step at a time in Python ints (floor shift: Python's >> on ints). ``bounds`` (lo, hi): assert
    that every u and v stays inside."""
    s, reset = d["leak_shift"], d["reset"]
    out = [[0] * d["channels"] for _ in x]
    for c in range(d["channels"]):
        th, v = d["threshold"][c], 0
        for t, row in enumerate(x):
            u = v - (v >> s if s is not None else 0) + int(row[c])
            spike = 1 if u >= th else 0
            v = (u - th * spike) if reset == "subtract" else u * (1 - spike)
            if bounds is not None:
                assert bounds[0] <= u <= bounds[1] and bounds[0] <= v <= bounds[1], (c, t, u, v, bounds)
            out[t][c] = spike
    return out


def dense_reference(d: dict, x: list) -> list:
    return [[b + sum(w * int(xi) for w, xi in zip(row, xt)) for row, b in zip(d["weight"], d["bias"])] for xt in x]


def psn_reference(d: dict, x: list) -> list:
    """A psn layer per element (docs/CONTRACT.md section 2): acc = sum of signed shifted delayed inputs."""
    k, dil, emin = d["order"], d["dilation"], d["exp_min"]
    out = []
    for t in range(len(x)):
        row = []
        for c in range(d["channels"]):
            acc = 0
            for i in range(k):
                e, tt = d["shift"][c][i], t - (k - 1 - i) * dil
                if e is not None and tt >= 0:
                    acc += d["sign"][c][i] * (int(x[tt][c]) << (e - emin))
            row.append(1 if acc >= d["threshold"][c] else 0)
        out.append(row)
    return out


def network_reference(net_dict: dict, x: list, bounds_of=None) -> tuple[list, dict]:
    """(logits [t][o], {L: spikes [t][c]}) of one sequence through the network's JSON, per element."""
    spikes, h = {}, x
    for L, d in enumerate(net_dict["layers"]):
        if d["type"] == "dense":
            h = dense_reference(d, h)
        elif d["type"] == "lif":
            h = spikes[L] = lif_reference(d, h, bounds_of(L) if bounds_of else None)
        else:
            h = spikes[L] = psn_reference(d, h)
    return h, spikes


# ------------------------------------------------------------------ >= 100 random networks
def extreme_input(net, rng, B, T):
    """Random inputs with extremes, plus whole sequences held at input_min, input_max and alternating
    (to push membranes to their bounds)."""
    x = random_network_input(net, rng, B, T, extreme_fraction=0.3)
    x[0] = net.input_max
    if B > 1:
        x[1] = net.input_min
    if B > 2:
        x[2, ::2], x[2, 1::2] = net.input_max, net.input_min
    return x


@pytest.mark.parametrize("chunk", range(4))
def test_golden_equals_a_per_element_reference_on_random_networks(chunk):
    """30 networks per chunk (120 in all): golden --net's logits, classes and every neuron layer's spikes
    equal the per-element reference; every lif membrane stays within membrane_range."""
    checked_lif = 0
    for seed in range(chunk * 30, chunk * 30 + 30):
        rng = np.random.default_rng(1000 + seed)
        net = random_lif_network(rng)
        d = json.loads(net.to_json())
        assert NetworkSpec.from_dict(d).to_dict() == d
        x = extreme_input(net, rng, 4, int(rng.integers(1, 40)))
        r = run_network(net, x)
        bounds = lambda L: net.layers[L].membrane_range  # noqa: E731
        for b in range(x.shape[0]):
            logits, spikes = network_reference(d, x[b].tolist(), bounds)
            assert_equal(r.logits[b], logits, f"seed {seed} sequence {b} logits")
            for L, s in spikes.items():
                assert_equal(r.spikes[L][b], s, f"seed {seed} sequence {b} spikes_{L}")
            assert r.classes[b] == int(np.argmax(np.asarray(logits).sum(axis=0))), f"seed {seed} class"
        checked_lif += sum(1 for l in d["layers"] if l["type"] == "lif")
    assert checked_lif >= 30


def test_the_layer_alone_on_extreme_inputs_and_thresholds():
    """Every leak shift 1..32 and IF, both resets, thresholds 1 .. 2^63 - 1, inputs at the extremes of
    2- to 63-bit widths (the widest the membrane allows)."""
    rng = np.random.default_rng(7)
    for case in range(200):
        W = int(rng.choice([2, 3, 8, 16, 31, 32, 47]))
        layer = random_lif(rng, channels=int(rng.integers(1, 5)), input_width=W, extreme_p=0.5)
        lo, hi = layer.input_min, layer.input_max
        T = int(rng.integers(1, 60))
        x = rng.integers(lo, hi + 1, size=(3, T, layer.channels), dtype=np.int64)
        x[0], x[1] = hi, lo
        got = layer.forward(x)
        d = layer.layer_dict()
        for b in range(3):
            assert_equal(got[b], lif_reference(d, x[b].tolist(), layer.membrane_range), f"case {case} ({d}) seq {b}")


def test_hand_computed_sequences():
    # s = 1, threshold 5, subtract: v: 0 -> u = 0 + 4 = 4 (no) -> u = 4 - 2 + 4 = 6 (spike, v = 1)
    #   -> u = 1 - 0 + 4 = 5 (spike, v = 0) -> u = 0 - 0 - 3 = -3 -> u = -3 - (-2) + 0 = -1 -> u = -1 - (-1) + 0 = 0
    sub = LifLayer(channels=1, input_width=4, leak_shift=1, threshold=[5], reset="subtract")
    x = np.array([4, 4, 4, -3, 0, 0], dtype=np.int64).reshape(1, 6, 1)
    assert_equal(sub.forward(x)[0, :, 0], [0, 1, 1, 0, 0, 0], "subtract")
    # zero reset, IF: 4, 8 (spike -> 0), 4, 1, 1, 1
    zero = LifLayer(channels=1, input_width=4, leak_shift=None, threshold=[7], reset="zero")
    assert_equal(zero.forward(x)[0, :, 0], [0, 1, 0, 0, 0, 0], "zero IF")
    # the floor of a negative membrane: v = -1, s = 3: -1 >> 3 = -1, so u = -1 + 1 + 0 = 0 (the leak reaches 0)
    f = LifLayer(channels=1, input_width=4, leak_shift=3, threshold=[1], reset="zero")
    assert_equal(f.forward(np.array([[[-1], [0], [1]]], dtype=np.int64))[0, :, 0], [0, 0, 1], "floor")
    # a sequence starts from v = 0: the second sequence of a batch does not see the first's membrane
    two = sub.forward(np.array([[[4], [4]], [[4], [4]]], dtype=np.int64))
    assert_equal(two[:, :, 0], [[0, 1], [0, 1]], "fresh sequences")


def test_membrane_bounds_are_reached_closely():
    """The leaky bound [a 2^s, b 2^s] is within 2^s of what a constant extreme input reaches."""
    for s in (1, 2, 5):
        layer = LifLayer(channels=1, input_width=4, leak_shift=s, threshold=[INT64_MAX], reset="zero")
        lo, hi = layer.membrane_range
        assert (lo, hi) == (-8 << s, 7 << s) and layer.membrane_width == 4 + s
        v_max = v_min = 0
        for _ in range(200 << s):
            v_max, v_min = v_max - (v_max >> s) + 7, v_min - (v_min >> s) - 8
        assert hi - (1 << s) < v_max <= hi and lo <= v_min < lo + (1 << s), (s, v_min, v_max)
    IF = LifLayer(channels=1, input_width=4, leak_shift=None, threshold=[1], reset="subtract")
    assert IF.membrane_range == (-8 * IF_MAX_STEPS, 7 * IF_MAX_STEPS) and IF.membrane_width == 4 + 16


def test_thresholds_beyond_the_membrane_are_stored_saturated():
    layer = LifLayer(channels=3, input_width=4, leak_shift=2, threshold=[1, 28, INT64_MAX], reset="subtract")
    assert [layer.threshold_hw(c) for c in range(3)] == [1, 28, 29]
    x = np.full((1, 50, 3), 7, dtype=np.int64)
    assert layer.forward(x)[0, :, 2].sum() == 0


def test_if_layer_refuses_sequences_it_cannot_hold():
    layer = LifLayer(channels=1, input_width=3, leak_shift=None, threshold=[1], reset="zero", where="net: layers[1] (lif)")
    with pytest.raises(StimulusError, match=r"net: layers\[1\] \(lif\): 65537 time steps, but an IF layer"):
        layer.forward(np.zeros((1, IF_MAX_STEPS + 1, 1), dtype=np.int64))


GOOD = {"type": "lif", "channels": 2, "input_width": 8, "leak_shift": 3, "threshold": [5, 9], "reset": "subtract"}


@pytest.mark.parametrize("change, message", [
    ({"channels": 0}, "'channels' must be an integer >= 1, got 0"),
    ({"input_width": 1}, r"'input_width' must be an integer in \[2, 63\], got 1"),
    ({"leak_shift": 0}, r"'leak_shift' must be an integer in \[1, 32\] or null \(no leak\), got 0"),
    ({"leak_shift": 33}, r"'leak_shift' must be an integer in \[1, 32\] or null"),
    ({"leak_shift": 2.0}, r"'leak_shift' must be an integer"),
    ({"reset": "none"}, r"'reset' must be one of \['subtract', 'zero'\], got 'none'"),
    ({"threshold": [5]}, "'threshold' must be a list of C = 2 integers"),
    ({"threshold": [5, 0]}, r"'threshold'\[1\] = 0 must lie in \[1, 2\^63 - 1\]"),
    ({"threshold": [5, 1 << 63]}, r"'threshold'\[1\] = 9223372036854775808 must lie in"),
    ({"threshold": [5, True]}, r"'threshold'\[1\] must be an integer, got True"),
    ({"lanes": 3}, "'lanes' must be an integer >= 1 dividing C = 2, got 3"),
    ({"name": "module"}, "'name' must be a Verilog identifier"),
    ({"input_width": 40, "leak_shift": 32}, r"the membrane may reach \[-2361183241434822606848, 2361183241430527639552\], 72 bits, beyond int64"),
    ({"input_width": 49, "leak_shift": None}, r"the membrane may reach .*, 65 bits, beyond int64 \(64 bits\); use a narrower input_width"),
    ({"extra": 1}, "unknown key 'extra'"),
])
def test_validation_names_the_problem(change, message):
    d = {**GOOD, **change}
    with pytest.raises(SpecError, match=r"^network: layers\[1\] \(lif\): " + message):
        layer_from_dict(d, "network: layers[1]")


def test_widest_layers_fit_int64():
    for W, s in ((32, 32), (63, 1), (48, None)):
        layer = LifLayer(channels=1, input_width=W, leak_shift=s, threshold=[INT64_MAX], reset="subtract")
        assert layer.membrane_width <= 64
        x = np.full((1, 300, 1), layer.input_min, dtype=np.int64)
        assert layer.forward(x).sum() == 0


def test_network_with_lif_round_trips_and_checks_ranges():
    d = {"input_width": 4, "layers": [
        {"type": "dense", "weight": [[3, -2], [1, 1]], "bias": [0, 1]},
        {"type": "lif", "channels": 2, "input_width": 7, "leak_shift": None, "threshold": [3, 1], "reset": "zero"},
        {"type": "dense", "weight": [[1, -1]], "bias": [0]}]}
    net = NetworkSpec.from_dict(d)
    assert net.neuron_indices == (1,) and net.to_dict() == d
    narrow = json.loads(json.dumps(d))
    narrow["layers"][1]["input_width"] = 6
    with pytest.raises(SpecError, match=r"layers\[1\] \(lif\): output 0 of layers\[0\] \(dense\) may reach -38 .* "
                                        r"needs input_width >= 7"):
        NetworkSpec.from_dict(narrow)
    wrong = json.loads(json.dumps(d))
    wrong["layers"][1]["channels"], wrong["layers"][1]["threshold"] = 3, [1, 1, 1]
    with pytest.raises(SpecError, match=r"layers\[1\] \(lif\): 'channels' is 3, expected 2"):
        NetworkSpec.from_dict(wrong)


def test_hardware_figures_of_the_protocol():
    par = LifLayer(channels=6, input_width=5, leak_shift=3, threshold=[1] * 6, reset="zero")
    mux = par.with_lanes(2)
    assert par.step_cycles() == (1, 1) and mux.step_cycles() == (3, 3) and par.synops_per_step() == 6
    assert par.memories() == {} and mux.memories() == {"membrane": (3, 8, 2), "thresholds": (3, 8, 1)}
    assert mux.stream_fields("input")["x"] == {"offset": 0, "width": 10, "count": 2, "per_element": 5, "signed": True}
    from shiftpsn.synth.switching import sram_model
    assert sram_model(par) is None and sram_model(mux)["accesses_per_step"] == 3
