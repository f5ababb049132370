"""The layer protocol (shiftpsn.base.layers): the registry, each layer type's exact integer model, ranges,
cycles and payload layouts, and the network spec walking layers only through the protocol (a layer type
registered here, in the test, is validated and run without any change to the network code).
Every expected value is worked out by hand in the comments."""

from __future__ import annotations

import numpy as np
import pytest

from shiftpsn.base.errors import SpecError
from shiftpsn.base.layers import LAYER_TYPES, DenseLayer, Layer, LifLayer, layer_from_dict, register
from shiftpsn.base.network import NetworkSpec
from shiftpsn.base.spec import CoreSpec
from shiftpsn.golden.network import run_network

from conftest import assert_equal


def test_registry_names_each_type_with_its_class_and_role():
    assert list(LAYER_TYPES) == ["dense", "lif", "psn"]
    assert LAYER_TYPES["dense"] is DenseLayer and LAYER_TYPES["psn"] is CoreSpec and LAYER_TYPES["lif"] is LifLayer
    assert (DenseLayer.role, CoreSpec.role, LifLayer.role) == ("synapse", "neuron", "neuron")
    assert issubclass(CoreSpec, Layer) and issubclass(DenseLayer, Layer)


# ----------------------------------------------------------------------------- dense
DENSE = {"type": "dense", "weight": [[1, -2], [3, 0]], "bias": [5, -1]}


def test_dense_from_dict_forward_and_dict():
    layer = layer_from_dict(DENSE, "net: layers[0]")
    assert isinstance(layer, DenseLayer) and (layer.in_features, layer.out_features, layer.lanes) == (2, 2, 2)
    # x = (2, 3): y0 = 5 + 1*2 - 2*3 = 1, y1 = -1 + 3*2 + 0*3 = 5; x = (-1, 0): y0 = 4, y1 = -4
    x = np.array([[[2, 3], [-1, 0]]], dtype=np.int64)
    assert_equal(layer.forward(x), [[[1, 5], [4, -4]]], "dense forward")
    assert layer.layer_dict() == DENSE
    assert layer.synops_per_step() == 4


def test_dense_exact_range_per_input():
    layer = layer_from_dict(DENSE, "d")
    # inputs x0 in [-1, 2], x1 in [0, 1]
    # y0 = 5 + x0 - 2*x1: least 5 - 1 - 2 = 2, most 5 + 2 - 0 = 7; partial |5| + 1*2 + 2*1 = 9
    # y1 = -1 + 3*x0:     least -1 - 3 = -4,  most -1 + 6 = 5;     partial |-1| + 3*2 = 7
    assert layer.output_range([-1, 0], [2, 1]) == ([2, -4], [7, 5], [9, 7])
    # a scalar range applies to every input: x in [-8, 7], y = x0 - 2*x1 (bias 0)
    # least -8 - 14 = -22, most 7 + 16 = 23, partial 3 * 8 = 24
    one = DenseLayer(weight=[[1, -2]], bias=[0])
    assert one.output_range(-8, 7) == ([-22], [23], [24])


def test_dense_partial_sums_beyond_int64_are_refused():
    big = DenseLayer(weight=[[1 << 62, 1 << 62]], bias=[0])
    with pytest.raises(SpecError, match=r"^here: output 0 has partial sums up to 9223372036854775808 in "
                                        r"magnitude, beyond int64"):
        big.check_input_range([-1, -1], [1, 1], "here")  # (2^62 + 2^62) * 1 = 2^63


def test_dense_cycles_per_time_step():
    layer = DenseLayer(weight=[[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]], bias=[0] * 4, lanes=2)
    # G = 4 / 2 = 2 groups, I = 3 inputs
    assert layer.step_cycles() == (4, 8)                                 # spikes: G*(1+1), G*(3+1)
    assert layer.step_cycles(input_width=4) == (10, 26)                  # 4 planes: G*(4+1), G*(4*3+1)
    assert layer.step_cycles(input_width=4, arith="mac") == (4, 8)       # one pass over nonzero inputs
    spikes = np.array([[[1, 0, 1], [0, 0, 0]]])
    lo, hi = layer.step_cycles(spikes)
    assert_equal(lo, [[6, 4]], "spike cycles")                          # 2*(1+2), 2*(1+max(1,0))
    assert_equal(hi, lo, "spike cycles (max)")
    # 4-bit two's complement: 3 = 0011, -1 = 1111, 0 = 0000; set bits per plane 2, 2, 1, 1
    lo, _ = layer.step_cycles(np.array([[[3, -1, 0]]]), input_width=4)
    assert_equal(lo, [[2 * (1 + 2 + 2 + 1 + 1)]], "bit-serial cycles")


def test_dense_stream_fields():
    layer = DenseLayer(weight=[[1, -2], [3, 0]], bias=[5, -1], lanes=1)
    assert layer.stream_fields("input", input_width=4) == {
        "x": {"offset": 0, "width": 8, "count": 2, "per_element": 4, "signed": True},
        "first": {"offset": 8, "width": 1}, "last": {"offset": 9, "width": 1}}
    # spike inputs: y0 in [5 - 2, 5 + 1] = [3, 6], y1 in [-1, 2]: 4 signed bits hold [-1, 6]
    assert layer.stream_fields("output") == {
        "x": {"offset": 0, "width": 4, "count": 1, "per_element": 4, "signed": True},
        "first": {"offset": 4, "width": 1}, "last": {"offset": 5, "width": 1}}


# ----------------------------------------------------------------------------- psn
def small_psn(**optional) -> CoreSpec:
    # channel 0: tap 0 (oldest) +2^1, tap 1 (newest) -2^0; channel 1: tap 0 zero, tap 1 +2^0
    return CoreSpec(channels=2, order=2, dilation=1, input_width=4, exp_min=0, exp_max=1,
                    shift=[[1, 0], [None, 0]], sign=[[1, -1], [1, 1]], threshold=[3, 1], **optional)


def test_psn_forward_is_the_core_arithmetic():
    spec = small_psn()
    x = np.array([[[2, 1], [1, 0], [3, 1]]], dtype=np.int64)
    # c0: acc = 2*x[t-1] - x[t]: t0 -2, t1 2*2 - 1 = 3, t2 2*1 - 3 = -1 -> >= 3: 0, 1, 0
    # c1: acc = x[t]: 1, 0, 1 -> >= 1: 1, 0, 1
    assert_equal(spec.forward(x), [[[0, 1], [1, 0], [0, 1]]], "psn forward")
    # two sequences: the second starts afresh (t0 of sequence 1 sees no history)
    two = np.concatenate([x, x[:, ::-1]])
    # sequence 1: x = (3,1), (1,0), (2,1): c0 acc -3, 2*3 - 1 = 5, 2*1 - 2 = 0 -> 0, 1, 0; c1: 1, 0, 1
    assert_equal(spec.forward(two)[1], [[0, 1], [1, 0], [0, 1]], "psn forward, second sequence")


def test_psn_protocol_figures():
    spec = small_psn(lanes=1)
    assert (spec.in_features, spec.out_features, spec.lanes) == (2, 2, 1)
    assert spec.step_cycles() == (2, 2)          # 2 neurons in 1 lane: 2 beats per step
    assert spec.synops_per_step() == 4           # 2 neurons * order 2
    assert spec.output_range([-8, -8], [7, 7]) == ([0, 0], [1, 1], None)
    # acc width = 4 + (1 - 0) + ceil(log2 2) + 1 = 7
    assert spec.stream_fields("input") == {
        "x": {"offset": 0, "width": 4, "count": 1, "per_element": 4, "signed": True},
        "first": {"offset": 4, "width": 1}}
    assert spec.stream_fields("output") == {
        "spikes": {"offset": 0, "width": 1, "count": 1, "per_element": 1, "signed": False},
        "first": {"offset": 1, "width": 1},
        "acc": {"offset": 2, "width": 7, "count": 1, "per_element": 7, "signed": True}}
    assert "acc" not in small_psn(emit_acc=False).stream_fields("output")


def test_psn_layer_dict_round_trip_and_range_check():
    spec = small_psn(lanes=1)
    d = spec.layer_dict()
    assert d == {"type": "psn", "channels": 2, "order": 2, "dilation": 1, "input_width": 4, "exp_min": 0,
                 "exp_max": 1, "shift": [[1, 0], [None, 0]], "sign": [[1, -1], [1, 1]], "threshold": [3, 1],
                 "lanes": 1}
    assert layer_from_dict(d, "l") == spec
    with pytest.raises(SpecError, match=r"^net: layers\[1\] \(psn\): 'order' must be >= 1"):
        layer_from_dict({**d, "order": 0}, "net: layers[1]")
    # 4-bit inputs hold [-8, 7]; -9 needs 5 bits
    with pytest.raises(SpecError, match=r"^w: output 0 of layers\[0\] \(dense\) may reach -9 .* it needs "
                                        r"input_width >= 5$"):
        spec.check_input_range([-9, 0], [0, 0], "w", "layers[0] (dense)")


# ----------------------------------------------------------------------------- networks
def small_network(**top) -> NetworkSpec:
    d0 = DenseLayer(weight=[[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]], bias=[0] * 4, lanes=2)
    # 4-bit inputs [-8, 7]: output 3 = x0 + x1 in [-16, 14] needs 6 bits
    p1 = CoreSpec(channels=4, order=1, dilation=1, input_width=6, exp_min=0, exp_max=0,
                  shift=[[0]] * 4, sign=[[1]] * 4, threshold=[1] * 4, lanes=2)
    d2 = DenseLayer(weight=[[1, 1, 0, 0], [0, 0, 1, -1]], bias=[0, 0], lanes=1)
    return NetworkSpec(input_width=4, layers=(d0, p1, d2), **top)


def test_network_cycles_from_the_protocol():
    net = small_network()
    mac = net.with_arith("mac")
    assert mac.arith == "mac" and mac.layers[1].arith == "mac" and mac.layers[0] is net.layers[0]
    assert mac.cycles_per_step()["layers"][0] == {"layer": 0, "kind": "dense", "min": 4, "max": 8}  # one pass
    assert net.neuron_indices == (1,) and net.arith == "shift"
    # dense 0: bit-serial, G = 2, P = 4, I = 3 -> (10, 26); psn: 4 neurons / 2 lanes -> (2, 2);
    # dense 2: spikes, G = 2, I = 4 -> (2*2, 2*5) = (4, 10); readout: 2 logits / 1 lane -> (2, 2)
    assert net.cycles_per_step() == {"min": 10, "max": 26, "layers": [
        {"layer": 0, "kind": "dense", "min": 10, "max": 26}, {"layer": 1, "kind": "psn", "min": 2, "max": 2},
        {"layer": 2, "kind": "dense", "min": 4, "max": 10}, {"layer": None, "kind": "readout", "min": 2, "max": 2}]}
    # x = (1, 2, 0): planes: bit 0 {1}, bit 1 {2}, bits 2, 3 none -> 2*(1 + 1 + 1 + 1 + 1) = 10;
    # spikes (>= 1): y = (1, 2, 0, 3) -> (1, 1, 0, 1), 3 set -> dense 2: 2*(1+3) = 8 -> slowest 10.
    # x = (7, 7, 7): every low bit set: planes 3, 3, 3, 0 -> 2*(1 + 3+3+3+1) = 22
    x = np.array([[[1, 2, 0], [7, 7, 7]]], dtype=np.int64)
    assert_equal(net.step_cycles(x), [[10, 22]], "network step cycles")


class SignNeuron(Layer):
    """A neuron type this test adds: spike = x > 0 (no history), one beat per step."""

    type_name, role = "sign", "neuron"

    def __init__(self, n):
        self.in_features = self.out_features = self.lanes = n
        self.name = None

    def layer_dict(self):
        return {"type": "sign", "n": self.in_features}

    @classmethod
    def from_layer_dict(cls, d, where):
        return cls(d["n"])

    def with_lanes(self, lanes):
        return self

    def forward(self, x):
        return (x > 0).astype(np.uint8)

    def output_range(self, lo, hi):
        return [0] * len(lo), [1] * len(lo), None

    def check_input_features(self, features, where, source):
        if features != self.in_features:
            raise SpecError(f"{where}: takes {self.in_features} inputs, {source} has {features}")

    def check_input_range(self, lo, hi, where, source="the input"):
        pass

    def step_cycles(self, in_activity=None, *, input_width=None, arith="shift"):
        return 1, 1

    def synops_per_step(self):
        return 0

    def stream_fields(self, direction, **context):
        return {}


@pytest.fixture
def sign_type():
    register(SignNeuron)
    yield SignNeuron
    del LAYER_TYPES["sign"]


def test_a_new_layer_type_needs_no_change_to_the_network(sign_type):
    d = {"input_width": 4, "layers": [
        {"type": "dense", "weight": [[1, -1], [0, 2]], "bias": [0, -1]},
        {"type": "sign", "n": 2},
        {"type": "dense", "weight": [[1, 1], [1, -1]], "bias": [0, 0]}]}
    net = NetworkSpec.from_dict(d)
    assert net.neuron_indices == (1,) and net.to_dict() == d
    # x = (3, 1): y = (2, 1) -> spikes (1, 1) -> logits (2, 0); x = (0, 0): y = (0, -1) -> (0, 0) -> (0, 0)
    r = run_network(net, np.array([[3, 1], [0, 0]], dtype=np.int64))
    assert_equal(r.spikes[1], [[[1, 1], [0, 0]]], "sign spikes")
    assert_equal(r.logits, [[[2, 0], [0, 0]]], "logits")
    assert_equal(r.classes, [0], "class")  # sums (2, 0)
    bad = {**d, "layers": [d["layers"][0], d["layers"][0], d["layers"][2]]}
    with pytest.raises(SpecError, match=r"layers\[1\] is a dense layer, expected lif/psn/sign: layers alternate "
                                        r"dense, lif/psn/sign, dense, \.\.\. starting and ending with dense"):
        NetworkSpec.from_dict(bad)
