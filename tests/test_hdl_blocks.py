"""The core's building blocks on their own, each against a small reference model written here.

In the style of Amaranth's own tests of its library blocks: every block is driven by
``amaranth.sim.Simulator`` with an async testbench and seeded random stimulus (extreme values, random
enables, stalls, sequence starts and resets); a plain-Python model of the *documented* behaviour
computes the whole expected output sequence from the same stimulus, and the two sequences are compared
at the end, naming the first cycle that differs.

The models are written from the docstrings and docs/CONTRACT.md (sections 2 and 7), never from the
code under test:

- ``DelayLine`` (hdl/delay_line.py): tap ``j`` reads the input ``delays[j]`` accepted beats ago, 0 before
  the sequence began (a ``first`` beat sees an empty history, ``rst`` empties it) and 0 for a delay
  beyond ``depth``; delay 0 is ``x`` itself.
- ``PipelinedAdderTree`` (hdl/adder_tree.py): the exact signed sum of ``(value, negative)`` operands,
  ``len(cuts)`` enabled clock edges late, holding while ``enable`` is low.
- ``RuntimeWeights`` (hdl/config.py): the register map of ``CoreSpec`` (tap word ``c*k + i``, threshold
  ``C*k + c``; the ``mac`` decode ``sign * 2**amount``), power-up values from the spec, a write
  changes only its own field, other addresses and ``rst`` change nothing.
- ``ChannelLane`` (hdl/lane.py): ``acc = sum_i sign[i] * (X[t - (k-1-i)*d] << (shift[i] - exp_min))`` and
  ``spike = acc >= theta`` (docs/CONTRACT.md section 2), ``pipeline`` advances late, for constant and
  runtime weights and both arithmetics.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from amaranth.hdl import ClockDomain, Const, Elaboratable, Module, Signal, signed
from amaranth.sim import Simulator

from shiftpsn.base.spec import CoreSpec, pack_fields
from shiftpsn.base.testing import random_spec
from shiftpsn.hdl.adder_tree import PipelinedAdderTree, pipeline_cuts
from shiftpsn.hdl.config import RuntimeWeights
from shiftpsn.hdl.delay_line import DelayLine
from shiftpsn.hdl.lane import ChannelLane


# --------------------------------------------------------------------------------------------- helpers
class _Harness(Elaboratable):
    """``dut`` in an explicit ``sync`` domain whose synchronous reset the testbench drives."""

    def __init__(self, dut):
        self.dut = dut
        self.rst = Signal()

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = sync = ClockDomain()
        m.d.comb += sync.rst.eq(self.rst)
        m.submodules.dut = self.dut
        return m


def _run(top, bench) -> None:
    sim = Simulator(top)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def _matches(expected, actual) -> bool:
    """``expected`` equals ``actual``; None (anywhere in a tuple) is "don't care"."""
    if expected is None:
        return True
    if isinstance(expected, tuple):
        return len(expected) == len(actual) and all(_matches(e, a) for e, a in zip(expected, actual))
    return expected == actual


def assert_same_sequence(what: str, expected: list, actual: list, stimulus: list | None = None) -> None:
    """The whole sequences agree; otherwise fail naming the first cycle that differs (and its stimulus)."""
    assert len(actual) == len(expected), f"{what}: {len(actual)} cycles observed, {len(expected)} expected"
    bad = [n for n, (e, a) in enumerate(zip(expected, actual)) if not _matches(e, a)]
    if bad:
        n = bad[0]
        stim = f", stimulus {stimulus[n]}" if stimulus is not None else ""
        pytest.fail(f"{what}: first mismatch at cycle {n}: expected {expected[n]}, got {actual[n]}"
                    f"{stim} ({len(bad)} of {len(expected)} cycles differ)")


def _signed_range(width: int) -> tuple[int, int]:
    return -(1 << (width - 1)), (1 << (width - 1)) - 1


def _random_signed(rng, width: int, extreme_p: float = 0.25) -> int:
    """A signed ``width``-bit value; with probability ``extreme_p`` the most negative or the largest."""
    lo, hi = _signed_range(width)
    if rng.random() < extreme_p:
        return lo if rng.random() < 0.6 else hi
    return int(rng.integers(lo, hi + 1))


def _random_bits(rng, width: int) -> int:
    return int.from_bytes(rng.bytes((width + 7) // 8), "little") & ((1 << width) - 1)


def _to_signed(value: int, width: int) -> int:
    value &= (1 << width) - 1
    return value - (1 << width) if value >> (width - 1) else value


# ============================================================================================ DelayLine
def delay_line_model(stimulus: list[dict], delays: tuple[int, ...], depth: int) -> list[tuple[int, ...]]:
    """Taps per cycle: delay 0 is ``x``; delay j > 0 the input j accepted beats ago in the current
    sequence (0 if the sequence is younger, if this beat is ``first``, or if j > depth). A beat
    shifts in on ``shift``; ``first`` starts the history afresh; ``rst`` at an edge empties it."""
    history: list[int] = []  # accepted inputs of the current sequence, newest last
    out = []
    for s in stimulus:
        past = [] if s["first"] else history
        out.append(tuple(s["x"] if j == 0 else past[-j] if j <= depth and j <= len(past) else 0
                         for j in delays))
        if s["rst"]:
            history = []
        elif s["shift"]:
            history = [s["x"]] if s["first"] else history + [s["x"]]
    return out


def assert_exercised(stimulus: list[dict], delays: tuple[int, ...], depth: int, at_least: int = 5) -> None:
    """The stimulus itself is good enough: every stored tap reads real (nonzero) history often,
    and the sequence holds first beats and resets."""
    seen = delay_line_model(stimulus, delays, depth)
    for j, delay in enumerate(delays):
        if delay <= depth:
            hits = sum(1 for taps in seen if taps[j] != 0)
            assert hits >= at_least, f"tap {j} (delay {delay}) read history only {hits} times"
    assert sum(s["first"] for s in stimulus) >= 2 and sum(s["rst"] for s in stimulus) >= 1


def _delay_line_stimulus(rng, width: int, cycles: int, longest: int, *, shift_p=0.7):
    """Random beats; sequences (``first``) and resets rare enough that the longest delay is reached."""
    first_p, rst_p = 1 / (3 * longest + 6), 1 / (4 * longest + 16)
    return [{"x": _random_signed(rng, width), "first": int(rng.random() < first_p),
             "shift": int(rng.random() < shift_p), "rst": int(rng.random() < rst_p)}
            for _ in range(cycles)]


def _simulate_delay_line(dut: DelayLine, stimulus: list[dict]) -> list[tuple[int, ...]]:
    top = _Harness(dut)
    got = []

    async def bench(ctx):
        for s in stimulus:
            ctx.set(dut.x, s["x"])
            ctx.set(dut.first, s["first"])
            ctx.set(dut.shift, s["shift"])
            ctx.set(top.rst, s["rst"])
            got.append(tuple(ctx.get(dut.taps[j]) for j in range(len(dut.taps))))
            await ctx.tick()

    _run(top, bench)
    return got


@pytest.mark.parametrize("width,delays,depth", [
    (2, (0,), 0),                 # k = 1: no history at all, the tap is x itself
    (4, (2, 1, 0), 2),            # k = 3, d = 1
    (8, (9, 6, 3, 0), 9),         # k = 4, d = 3: (k-1)*d slots
    (5, (6, 4, 2, 0), 4),         # line cut short (oldest tap a constant zero weight): delay 6 reads 0
    (3, (4, 2, 0), 0),            # only the newest tap stored: every delayed tap reads 0
    (6, (0, 5, 1, 5, 3), 5),      # any order, repeated delays
    (16, (14, 7, 0), 14),         # wide input, d = 7
])
def test_delay_line_matches_model(width, delays, depth):
    rng = np.random.default_rng(100 + width + depth)
    dut = DelayLine(width=width, delays=delays, depth=depth)
    assert dut.storage_bits == depth * width  # documented: exactly depth * width flip-flops
    stimulus = _delay_line_stimulus(rng, width, 150 + 20 * max(delays), max(delays))
    expected = delay_line_model(stimulus, delays, depth)
    assert_exercised(stimulus, delays, depth)
    assert_same_sequence(f"taps (width {width}, delays {delays}, depth {depth})",
                         expected, _simulate_delay_line(dut, stimulus), stimulus)


def test_delay_line_first_and_reset_read_zero():
    """A full line of the most negative input, then: a first beat reads zeros and leaves only itself;
    after rst every delayed tap reads 0 until refilled; a beat without shift changes nothing."""
    width, delays, depth = 4, (3, 2, 1, 0), 3
    lo = _signed_range(width)[0]
    beat = lambda x, first=0, shift=1, rst=0: {"x": x, "first": first, "shift": shift, "rst": rst}  # noqa: E731
    stimulus = ([beat(lo)] * 4 + [beat(5, first=1), beat(6), beat(7, shift=0), beat(7)]
                + [beat(-1)] * 3 + [beat(2, rst=1), beat(3), beat(4, first=1, shift=0), beat(5)])
    expected = delay_line_model(stimulus, delays, depth)
    # spelled out, so a wrong model fails too
    assert expected == [(0, 0, 0, lo), (0, 0, lo, lo), (0, lo, lo, lo), (lo, lo, lo, lo),
                        (0, 0, 0, 5), (0, 0, 5, 6), (0, 5, 6, 7), (0, 5, 6, 7),
                        (5, 6, 7, -1), (6, 7, -1, -1), (7, -1, -1, -1), (-1, -1, -1, 2),
                        (0, 0, 0, 3), (0, 0, 0, 4), (0, 0, 3, 5)]
    got = _simulate_delay_line(DelayLine(width=width, delays=delays, depth=depth), stimulus)
    assert_same_sequence("taps", expected, got, stimulus)


# =================================================================================== PipelinedAdderTree
def adder_tree_model(operand_values: list[list[int]], negatives: list[bool], enables: list[int],
                     stages: int) -> list[int | None]:
    """The output per cycle: sum_j (-v_j if negative_j else v_j) of the operands as they were at the
    ``stages``-th most recent clock edge with ``enable`` high (the current operands when stages = 0);
    None (don't care) before ``stages`` enabled edges."""
    pipe = deque([None] * stages)
    out = []
    for values, enable in zip(operand_values, enables):
        total = sum(-v if neg else v for v, neg in zip(values, negatives))
        out.append(pipe[0] if stages else total)
        if enable and stages:
            pipe.popleft()
            pipe.append(total)
    return out


def _run_adder_tree(rng, widths, negatives, constants, levels, cuts, cycles, enable_p=0.6):
    """Build a tree over operands (Signals, or Consts where ``constants[j]`` is an int), drive random
    operand values and enables; return (stimulus values, enables, observed outputs, tree)."""
    m = Module()
    m.domains.sync = ClockDomain()
    enable = Signal()
    operands = [Const(c, signed(w)) if c is not None else Signal(signed(w), name=f"op{j}")
                for j, (w, c) in enumerate(zip(widths, constants))]
    tree = PipelinedAdderTree(m, levels=levels, cuts=cuts, enable=enable)
    total, negative = tree.build(list(zip(operands, negatives)))
    values = [[c if c is not None else _random_signed(rng, w) for w, c in zip(widths, constants)]
              for _ in range(cycles)]
    enables = [int(rng.random() < enable_p) for _ in range(cycles)]
    got = []

    async def bench(ctx):
        for vals, en in zip(values, enables):
            for op, v in zip(operands, vals):
                if isinstance(op, Signal):
                    ctx.set(op, v)
            ctx.set(enable, en)
            result = ctx.get(total)
            got.append(-result if negative else result)
            await ctx.tick()

    _run(m, bench)
    return values, enables, got, tree


# (operands, extra levels beyond ceil(log2(n))) x every legal number of register stages
_TREE_CASES = [(n, extra, stages) for n, extra in [(1, 0), (2, 0), (3, 0), (5, 0), (8, 0), (9, 0), (3, 1)]
               for stages in range(max(0, n - 1).bit_length() + extra + 2)]


@pytest.mark.parametrize("n,extra_levels,stages", _TREE_CASES)
def test_adder_tree_matches_model(n, extra_levels, stages):
    rng = np.random.default_rng(200 + 16 * n + 4 * extra_levels + stages)
    levels = max(0, n - 1).bit_length() + extra_levels
    cuts = pipeline_cuts(levels, stages)
    widths = [int(rng.integers(2, 10)) for _ in range(n)]
    negatives = [bool(rng.random() < 0.5) for _ in range(n)]
    # a share of constant operands (they are not registered, but count all the same)
    constants = [_random_signed(rng, w) if n > 1 and rng.random() < 0.2 else None for w in widths]
    values, enables, got, tree = _run_adder_tree(rng, widths, negatives, constants, levels, cuts, 90)
    if not cuts:
        assert tree.register_bits == 0
    assert_same_sequence(f"sum (widths {widths}, negative {negatives}, constants {constants}, "
                         f"levels {levels}, cuts {cuts})",
                         adder_tree_model(values, negatives, enables, stages), got,
                         [dict(values=v, enable=e) for v, e in zip(values, enables)])


@pytest.mark.parametrize("negative", [False, True])
@pytest.mark.parametrize("stages", [0, 2, 4])
def test_adder_tree_extreme_sums_do_not_overflow(negative, stages):
    """Seven operands all at the most negative value (or all at the largest), one sign, enable held
    high: the sum reaches both ends of its range exactly, ``stages`` cycles late."""
    n, width, levels = 7, 5, 3
    lo, hi = _signed_range(width)
    m = Module()
    m.domains.sync = ClockDomain()
    ops = [Signal(signed(width), name=f"op{j}") for j in range(n)]
    total, neg = PipelinedAdderTree(m, levels=levels, cuts=pipeline_cuts(levels, stages),
                                    enable=Const(1)).build([(op, negative) for op in ops])
    sequence = [lo, hi, lo, lo, hi, hi] + [0] * stages
    got = []

    async def bench(ctx):
        for v in sequence:
            for op in ops:
                ctx.set(op, v)
            value = ctx.get(total)
            got.append(-value if neg else value)
            await ctx.tick()

    _run(m, bench)
    expected = adder_tree_model([[v] * n for v in sequence], [negative] * n, [1] * len(sequence), stages)
    sign = -1 if negative else 1
    assert {sign * n * lo, sign * n * hi} <= set(expected)  # both ends really are exercised
    assert_same_sequence(f"extreme sum (negative {negative}, stages {stages})", expected, got)


def test_adder_tree_register_bits_and_constants():
    """Registers after the operands hold each operand's width; constants cost none and still add."""
    m = Module()
    m.domains.sync = ClockDomain()
    a, b = Signal(signed(3)), Signal(signed(6))
    tree = PipelinedAdderTree(m, levels=2, cuts=(0,), enable=Const(1))
    total, neg = tree.build([(a, False), (Const(-5, signed(4)), True), (b, True)])
    assert tree.register_bits == 3 + 6
    got = []

    async def bench(ctx):
        for va, vb in [(-4, -32), (3, 31), (0, 0)]:
            ctx.set(a, va)
            ctx.set(b, vb)
            await ctx.tick()
            value = ctx.get(total)
            got.append(-value if neg else value)

    _run(m, bench)
    assert_same_sequence("sum", [-4 + 5 + 32, 3 + 5 - 31, 5], got)

    for operands, expected in [([(Const(-2, signed(3)), False), (Const(3, signed(3)), True)], -5),
                               ([], 0)]:  # no operand (all weights zero): the sum is 0
        m = Module()
        m.domains.sync = ClockDomain()
        tree = PipelinedAdderTree(m, levels=1, cuts=(0,), enable=Const(1))
        total, neg = tree.build(operands)
        assert tree.register_bits == 0, operands
        got = []

        async def bench(ctx):
            for _ in range(3):
                value = ctx.get(total)
                got.append(-value if neg else value)
                await ctx.tick()

        _run(m, bench)
        assert_same_sequence(f"constant sum of {operands}", [expected] * 3, got)


# ======================================================================================= RuntimeWeights
class RegisterFileModel:
    """The configuration registers of docs/CONTRACT.md section 7, from the spec's weights at power-up.

    Field per address: tap (c, i) at ``c*k + i`` (the tap word amount | neg << S | zero << S+1, or for
    ``arith = "mac"`` the integer weight ``sign * 2**amount``, 0 for a zero tap), threshold of c at
    ``C*k + c`` (theta saturated to [acc_min, acc_max + 1]). Everything is kept as plain ints."""

    def __init__(self, spec: CoreSpec):
        self.spec = spec
        s, C, k = spec, spec.channels, spec.order
        self.S = max(1, (s.exp_max - s.exp_min).bit_length())
        self.taps = {}
        for c in range(C):
            for i in range(k):
                e = s.shift[c][i]
                word = (1 << (self.S + 1) if e is None
                        else (e - s.exp_min) | (int(s.sign[c][i] < 0) << self.S))
                self.taps[c * k + i] = self._decode(word) if s.arith == "mac" else word
        acc_w = s.input_width + (s.exp_max - s.exp_min) + max(0, k - 1).bit_length() + 1
        acc_min, acc_max = _signed_range(acc_w)
        self.threshold_width = acc_w + 1
        self.thresholds = {C * k + c: min(max(s.threshold[c], acc_min), acc_max + 1) for c in range(C)}

    def _decode(self, word: int) -> int:
        amount, neg, zero = word & ((1 << self.S) - 1), (word >> self.S) & 1, (word >> (self.S + 1)) & 1
        return 0 if zero else (-1 if neg else 1) << amount

    def write(self, addr: int, data: int) -> None:
        if addr in self.taps:
            word = data & ((1 << (self.S + 2)) - 1)
            self.taps[addr] = self._decode(word) if self.spec.arith == "mac" else word
        elif addr in self.thresholds:
            self.thresholds[addr] = _to_signed(data, self.threshold_width)

    def outputs(self) -> tuple:
        """Per channel: (its k tap fields packed LSB first as an unsigned int, its signed threshold)."""
        s, C, k = self.spec, self.spec.channels, self.spec.order
        tap_width = (s.exp_max - s.exp_min) + 2 if s.arith == "mac" else self.S + 2
        return tuple((pack_fields([(self.taps[c * k + i], tap_width) for i in range(k)])[0],
                      self.thresholds[C * k + c]) for c in range(C))


def _simulate_weights(dut: RuntimeWeights, spec: CoreSpec, writes: list[dict]) -> list[tuple]:
    top = _Harness(dut)
    taps = dut.weight if spec.arith == "mac" else dut.tap
    got = []

    async def bench(ctx):
        for w in writes:
            ctx.set(dut.cfg.addr, w["addr"])
            ctx.set(dut.cfg.data, w["data"])
            ctx.set(dut.cfg.we, w["we"])
            ctx.set(top.rst, w["rst"])
            got.append(tuple((ctx.get(taps[c]), ctx.get(dut.threshold[c])) for c in range(spec.channels)))
            await ctx.tick()
        got.append(tuple((ctx.get(taps[c]), ctx.get(dut.threshold[c])) for c in range(spec.channels)))

    _run(top, bench)
    return got


def register_file_expected(spec: CoreSpec, writes: list[dict]) -> list[tuple]:
    """Outputs per cycle (and once more after the last edge): a write takes effect at its edge."""
    model = RegisterFileModel(spec)
    out = []
    for w in writes:
        out.append(model.outputs())
        if w["we"]:
            model.write(w["addr"], w["data"])
    out.append(model.outputs())
    return out


def _weights_spec(rng, C, k, W, exp_min, exp_max, arith) -> CoreSpec:
    return random_spec(rng, channels=C, order=k, dilation=1, input_width=W, exp_lo=exp_min,
                       exp_span=exp_max - exp_min, zero_tap_p=0.25, extreme_threshold_p=0.3, arith=arith)


_WEIGHT_CASES = [
    # C, k, W, exp_min, exp_max, arith
    (1, 1, 2, 0, 0, "shift"),     # smallest: one tap, exp_min == exp_max (1-bit amount field)
    (1, 1, 3, 1, 1, "mac"),       # exp_min == exp_max: integer weights +-1 or 0
    (3, 2, 4, -1, 2, "shift"),
    (2, 4, 6, -2, 3, "mac"),
    (5, 3, 8, -4, 1, "shift"),    # 20 words in a 5-bit address: 12 unmapped addresses
    (2, 3, 4, 2, 2, "shift"),     # exp_min == exp_max with several taps
]


@pytest.mark.parametrize("C,k,W,exp_min,exp_max,arith", _WEIGHT_CASES)
def test_runtime_weights_random_writes(C, k, W, exp_min, exp_max, arith):
    """Power-up values, then random writes (mapped and unmapped addresses, junk in the unused data
    bits) and rst pulses: after each edge only the written field has changed."""
    rng = np.random.default_rng(300 + C * 16 + k)
    spec = _weights_spec(rng, C, k, W, exp_min, exp_max, arith)
    S = max(1, (exp_max - exp_min).bit_length())
    writes = []
    for _ in range(25 * (C * k + C) + 40):
        addr = _random_bits(rng, spec.cfg_addr_width)
        data = _random_bits(rng, spec.cfg_data_width)
        if arith == "mac" and addr < C * k:  # a valid tap word: amount in [0, exp_max - exp_min]
            amount = int(rng.integers(0, exp_max - exp_min + 1))
            data = (data & ~((1 << S) - 1)) | amount
        we = int(rng.random() < 0.5)
        rst = int(not we and rng.random() < 0.15)
        writes.append({"addr": addr, "data": data, "we": we, "rst": rst})
    got = _simulate_weights(RuntimeWeights(spec=spec), spec, writes)
    expected = register_file_expected(spec, writes)
    assert_same_sequence(f"(taps, threshold) per channel, spec {spec.to_dict()}", expected, got,
                         writes + [None])


@pytest.mark.parametrize("C,k,W,exp_min,exp_max,arith", _WEIGHT_CASES)
def test_runtime_weights_load_config_words(C, k, W, exp_min, exp_max, arith):
    """Generated from one spec and loaded with another's ``config_words()``: the registers then read
    back as the other spec's register map (``CoreSpec.weight_register``), and as the model says."""
    rng = np.random.default_rng(400 + C * 16 + k)
    powered = _weights_spec(rng, C, k, W, exp_min, exp_max, arith)
    loaded = powered
    while loaded.config_words() == powered.config_words():  # other weights, so the port must work
        loaded = _weights_spec(rng, C, k, W, exp_min, exp_max, arith)
    writes = [{"addr": a, "data": d, "we": 1, "rst": 0} for a, d in loaded.config_words()]
    writes += [{"addr": 0, "data": 0, "we": 0, "rst": 1}]  # rst afterwards clears nothing
    dut = RuntimeWeights(spec=powered)
    got = _simulate_weights(dut, powered, writes)
    expected = register_file_expected(powered, writes)
    assert_same_sequence("(taps, threshold) per channel", expected, got, writes + [None])
    assert got[0] == RegisterFileModel(powered).outputs()
    assert got[-1] == RegisterFileModel(loaded).outputs()
    for c, (taps, threshold) in enumerate(got[-1]):  # the whole register, per CoreSpec's map
        value, width = loaded.weight_register(c)
        tap_bits = width - loaded.threshold_width
        assert taps | ((threshold & ((1 << loaded.threshold_width) - 1)) << tap_bits) == value, c


# ========================================================================================= ChannelLane
def lane_weights(spec: CoreSpec, c: int) -> list[int]:
    """Integer weight of each tap: sign * 2**(shift - exp_min), 0 for a zero tap (CONTRACT section 2)."""
    return [0 if e is None else spec.sign[c][i] * 2 ** (e - spec.exp_min) for i, e in enumerate(spec.shift[c])]


def lane_model(spec: CoreSpec, c: int, stimulus: list[dict]) -> list[tuple]:
    """(acc, spike) per cycle: acc = sum_i w_i * X[t - (k-1-i)*d], X the current sequence's accepted
    inputs (x itself for delay 0; 0 before the sequence, after rst, or for a first beat's history),
    delivered ``pipeline`` advancing edges later; spike = acc >= theta. None: don't care (the pipeline
    has not been filled since power-up or rst)."""
    w, k, d, theta = lane_weights(spec, c), spec.order, spec.dilation, spec.threshold[c]
    history: list[int] = []
    pipe = deque([None] * spec.pipeline)
    out = []
    for s in stimulus:
        past = [] if s["first"] else history

        def X(j):
            return s["x"] if j == 0 else past[-j] if j <= len(past) else 0

        acc_now = sum(w[i] * X((k - 1 - i) * d) for i in range(k))
        acc = pipe[0] if spec.pipeline else acc_now
        out.append((acc, None if acc is None else int(acc >= theta)))
        if s["rst"]:
            history, pipe = [], deque([None] * spec.pipeline)
            continue
        if s["shift"]:
            history = [s["x"]] if s["first"] else history + [s["x"]]
        if s["advance"] and spec.pipeline:
            pipe.popleft()
            pipe.append(acc_now)
    return out


def _tap_words(spec: CoreSpec, c: int, rng) -> int:
    """Channel c's k tap words packed (tap i at i * (S + 2)), per the documented layout; a zero tap
    carries random amount and sign bits (the zero flag alone decides)."""
    S = max(1, (spec.exp_max - spec.exp_min).bit_length())
    word = 0
    for i, e in enumerate(spec.shift[c]):
        if e is None:
            t = int(rng.integers(0, spec.exp_max - spec.exp_min + 1)) | int(rng.integers(0, 2)) << S | 1 << (S + 1)
        else:
            t = (e - spec.exp_min) | int(spec.sign[c][i] < 0) << S
        word |= t << (i * (S + 2))
    return word


def _simulate_lane(spec: CoreSpec, c: int, runtime: bool, stimulus: list[dict], rng) -> list[tuple]:
    lane = ChannelLane(spec=spec, channel=None if runtime else c)
    top = _Harness(lane)
    got = []

    async def bench(ctx):
        if runtime:  # the weights of channel c, held for the whole run
            if spec.arith == "mac":
                width = spec.exp_max - spec.exp_min + 2
                ctx.set(lane.weight.as_value(), pack_fields([(v, width) for v in lane_weights(spec, c)])[0])
            else:
                ctx.set(lane.tap.as_value(), _tap_words(spec, c, rng))
            acc_w = spec.input_width + spec.exp_max - spec.exp_min + max(0, spec.order - 1).bit_length() + 1
            lo, hi = _signed_range(acc_w)
            ctx.set(lane.threshold, min(max(spec.threshold[c], lo), hi + 1))  # saturated, as documented
        for s in stimulus:
            ctx.set(lane.x, s["x"])
            ctx.set(lane.first, s["first"])
            ctx.set(lane.shift, s["shift"])
            ctx.set(lane.advance, s["advance"])
            ctx.set(top.rst, s["rst"])
            got.append((ctx.get(lane.acc), ctx.get(lane.spike)))
            await ctx.tick()

    _run(top, bench)
    return got


def _lane_stimulus(rng, spec: CoreSpec, cycles: int, *, extreme_p=0.25) -> list[dict]:
    """Beats as the core drives a lane: advance when the output is free (random stalls), shift when
    a valid beat is accepted; occasionally a shift without advance or the other way round. Sequences
    and resets are rare enough that the oldest tap reads real history."""
    first_p, rst_p = 1 / (3 * spec.delay_depth + 6), 1 / (4 * spec.delay_depth + 16)
    out = []
    for _ in range(cycles):
        advance = int(rng.random() < 0.75)
        shift = int(advance and rng.random() < 0.8) if rng.random() < 0.9 else int(rng.random() < 0.5)
        out.append({"x": _random_signed(rng, spec.input_width, extreme_p),
                    "first": int(rng.random() < first_p), "shift": shift, "advance": advance,
                    "rst": int(rng.random() < rst_p)})
    return out


def _lane_spec(rng, C, k, d, W, exp_min, exp_max, shift_rows=None, **optional) -> CoreSpec:
    spec = random_spec(rng, channels=C, order=k, dilation=d, input_width=W, exp_lo=exp_min,
                       exp_span=exp_max - exp_min, zero_tap_p=0.2, extreme_threshold_p=0.2, **optional)
    if shift_rows is not None:
        spec = spec.replace(shift=[list(r) for r in shift_rows])
    return spec


_LANE_SHAPES = {
    # name: (C, k, d, W, exp_min, exp_max, shift rows or None for random)
    "k1_same_exp": (2, 1, 1, 2, 0, 0, None),
    "k3_d2": (3, 3, 2, 4, -1, 2, None),
    "k4_same_exp": (2, 4, 1, 5, 3, 3, None),
    "k5_d3_zero_taps": (2, 5, 3, 6, -2, 3, [[None, 1, None, -2, 3], [None, None, 0, 2, None]]),
    "k8": (2, 8, 1, 3, 0, 4, None),
    "newest_tap_only": (1, 2, 4, 4, -1, 1, [[None, 1]]),
    "all_zero_taps": (1, 3, 2, 4, 0, 2, [[None, None, None]]),
}
_LANE_CASES = [(name, mode, pipeline)
               for name, shape in _LANE_SHAPES.items()
               for mode in ("constant-shift", "constant-mac", "runtime-shift", "runtime-mac")
               for pipeline in range(max(0, shape[1] - 1).bit_length() + 2)]  # every legal depth


@pytest.mark.parametrize("shape,mode,pipeline", _LANE_CASES)
def test_channel_lane_matches_contract(shape, mode, pipeline):
    C, k, d, W, lo, hi, rows = _LANE_SHAPES[shape]
    seed = 500 + 97 * list(_LANE_SHAPES).index(shape) + 7 * pipeline + len(mode)
    rng = np.random.default_rng(seed)
    weights, arith = mode.split("-")
    spec = _lane_spec(rng, C, k, d, W, lo, hi, rows, arith=arith, weights=weights, pipeline=pipeline)
    c = int(rng.integers(0, C))
    runtime = weights == "runtime"
    stimulus = _lane_stimulus(rng, spec, 150 + 20 * (k - 1) * d)
    assert_exercised(stimulus, spec.tap_delays, spec.delay_depth)
    expected = lane_model(spec, c, stimulus)
    got = _simulate_lane(spec, c, runtime, stimulus, rng)
    assert_same_sequence(f"(acc, spike) of channel {c}, spec {spec.to_dict()}", expected, got, stimulus)


@pytest.mark.parametrize("mode", ["constant-shift", "runtime-shift", "runtime-mac"])
def test_channel_lane_extreme_accumulator(mode):
    """All taps at the largest shift with one sign, inputs pinned at the most negative value (then the
    largest): the accumulator reaches the largest and smallest sums the taps can make, exactly, and
    the threshold sits at the top one."""
    weights, arith = mode.split("-")
    k, d, W, lo, hi = 4, 2, 4, -1, 2
    spec = CoreSpec(channels=2, order=k, dilation=d, input_width=W, exp_min=lo, exp_max=hi,
                    shift=[[hi] * k] * 2, sign=[[-1] * k, [1] * k], threshold=[k << (W - 1 + hi - lo), 0],
                    weights=weights, arith=arith, pipeline=2)
    xmin, xmax = _signed_range(W)
    beat = lambda x, first=0: {"x": x, "first": first, "shift": 1, "advance": 1, "rst": 0}  # noqa: E731
    stimulus = ([beat(xmin, 1)] + [beat(xmin)] * 10 + [beat(xmax, 1)] + [beat(xmax)] * 10)
    rng = np.random.default_rng(9)
    for c in range(2):
        expected = lane_model(spec, c, stimulus)
        accs = [e[0] for e in expected if e[0] is not None]
        top = (-1 if c == 0 else 1) * k * xmin << (hi - lo)
        assert top in accs and -top + (k << (hi - lo)) * (1 if c == 0 else -1) in accs  # the range ends
        got = _simulate_lane(spec, c, weights == "runtime", stimulus, rng)
        assert_same_sequence(f"(acc, spike) of channel {c}", expected, got, stimulus)
