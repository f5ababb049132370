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
from amaranth.hdl import ClockDomain, Const, Module, Signal, signed
from amaranth.sim import Simulator

from shiftpsn.base.spec import CoreSpec
from shiftpsn.hdl.adder_tree import PipelinedAdderTree, pipeline_cuts
from shiftpsn.hdl.config import RuntimeWeights
from shiftpsn.hdl.delay_line import DelayLine
from shiftpsn.hdl.lane import ChannelLane
from shiftpsn.hdl.simulator import _Harness  # the dut in a sync domain whose reset the bench drives


# --------------------------------------------------------------------------------------------- helpers
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
