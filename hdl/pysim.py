"""Drive a :class:`ShiftPSNCore` or :class:`ShiftPSNEngine` in Amaranth's simulator, stream beats in
and out, like a testbench.

Payloads are packed and unpacked with :mod:`shiftpsn.base.ports` (the contract), not with the core's
own layouts, so a layout mistake in the core shows up as a mismatch.
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import ClockDomain, Elaboratable, Module, Signal
from amaranth.sim import Simulator

from shiftpsn.base import ports
from shiftpsn.base.spec import CoreSpec
from shiftpsn.base.stimulus import from_beats, to_beats

from .core import ShiftPSNCore
from .engine import ShiftPSNEngine

__all__ = ["pack_input", "unpack_output", "simulate_amaranth"]


def pack_input(spec: CoreSpec, x_t, first: bool) -> int:
    """The input payload of one beat: inputs ``x_t`` (``lanes`` ints) and the ``first`` flag."""
    off = ports.offsets(ports.input_fields(spec))
    x_off, _, w = off["x"]
    word = int(bool(first)) << off["first"][0]
    for c, v in enumerate(x_t):
        word |= (int(v) & ((1 << w) - 1)) << (x_off + c * w)
    return word


def unpack_output(spec: CoreSpec, word: int) -> tuple[list[int], bool, list[int] | None]:
    """``(spikes, first, acc)`` of an output payload (``acc`` None when emit_acc is off)."""
    off = ports.offsets(ports.output_fields(spec))
    s_off = off["spikes"][0]
    spikes = [(word >> (s_off + c)) & 1 for c in range(spec.lanes)]
    first = bool((word >> off["first"][0]) & 1)
    if "acc" not in off:
        return spikes, first, None
    a_off, _, a = off["acc"]
    acc = []
    for c in range(spec.lanes):
        v = (word >> (a_off + c * a)) & ((1 << a) - 1)
        acc.append(v - (1 << a) if v >> (a - 1) else v)
    return spikes, first, acc


def simulate_amaranth(core: ShiftPSNCore | ShiftPSNEngine, x: np.ndarray, *, load: CoreSpec | None = None,
                      rng: np.random.Generator | None = None, valid_p: float = 1.0, ready_p: float = 1.0,
                      reset_between: bool = False, vcd: str | None = None) -> dict:
    """Stream the sequences ``x`` (B, T, C), or (B, T, P, C) with positions > 1, through ``core`` and
    collect its output beats.

    A time step is ``beats_per_step`` beats of ``lanes`` neurons (shiftpsn.base.ports); every beat of
    a sequence's first time step carries ``first = 1``. Input beats are offered with probability
    ``valid_p`` per cycle (garbage payload otherwise) and the output is read with probability
    ``ready_p`` per cycle. For a runtime core, ``load``'s weights are first written through the
    configuration port. With ``reset_between``, ``rst`` is pulsed between sequences and only
    the very first time step carries ``first``.

    Returns a dict: ``spikes`` uint8 and ``acc`` int64 (None without emit_acc) of the shape of ``x``,
    ``first`` bool, (B, T) for one beat per time step, else (B, T, beats_per_step),
    ``in_cycles`` / ``out_cycles`` (B*T*beats_per_step,) cycle of each handshake.
    """
    spec = core.spec
    rng = rng if rng is not None else np.random.default_rng(0)
    xb = to_beats(spec, np.asarray(x))
    B, T, G, L = xb.shape
    beats = [pack_input(spec, xb[b, t, g], t == 0 and (b == 0 or not reset_between))
             for b in range(B) for t in range(T) for g in range(G)]
    limit = 50 + 4 * len(beats) / max(min(valid_p, ready_p), 0.05) + 4 * spec.cfg_words
    out_words, in_cycles, out_cycles = [], [], []
    i_payload, o_payload = core.i.payload.as_value(), core.o.payload.as_value()
    garbage_bits = len(i_payload)

    async def testbench(ctx):
        if load is not None:
            for addr, data in load.config_words():
                ctx.set(core.cfg.addr, addr)
                ctx.set(core.cfg.data, data)
                ctx.set(core.cfg.we, 1)
                await ctx.tick()
            ctx.set(core.cfg.we, 0)
        n_in, cycle, resets = 0, 0, set()
        while len(out_words) < len(beats):
            boundary = reset_between and 0 < n_in < len(beats) and n_in % (T * G) == 0 and n_in not in resets
            if boundary and len(out_words) == n_in:
                # the previous sequence has drained: pulse rst for one cycle, nothing in flight
                resets.add(n_in)
                ctx.set(core.i.valid, 0)
                ctx.set(harness.rst, 1)
                await ctx.tick()
                ctx.set(harness.rst, 0)
                cycle += 1
                continue
            offer = not boundary and n_in < len(beats) and rng.random() < valid_p
            ctx.set(core.i.valid, offer)
            ctx.set(i_payload, beats[n_in] if offer else _random_bits(rng, garbage_bits))
            take = rng.random() < ready_p
            ctx.set(core.o.ready, take)
            if offer and ctx.get(core.i.ready):
                n_in += 1
                in_cycles.append(cycle)
            if take and ctx.get(core.o.valid):
                out_words.append(ctx.get(o_payload))
                out_cycles.append(cycle)
            await ctx.tick()
            cycle += 1
            if cycle > limit:
                raise AssertionError(f"stalled: {n_in} beats in, {len(out_words)} out after {cycle} cycles")

    harness = _Harness(core)
    sim = Simulator(harness)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    if vcd:
        with sim.write_vcd(vcd):
            sim.run()
    else:
        sim.run()
    decoded = [unpack_output(spec, w) for w in out_words]
    spikes = from_beats(spec, np.array([d[0] for d in decoded], dtype=np.uint8).reshape(B, T, G, L))
    first = np.array([d[1] for d in decoded], dtype=bool).reshape((B, T) if G == 1 else (B, T, G))
    acc = None if not spec.emit_acc else from_beats(
        spec, np.array([d[2] for d in decoded], dtype=np.int64).reshape(B, T, G, L))
    return {"spikes": spikes, "acc": acc, "first": first,
            "in_cycles": np.array(in_cycles), "out_cycles": np.array(out_cycles)}


def _random_bits(rng: np.random.Generator, bits: int) -> int:
    return int.from_bytes(rng.bytes((bits + 7) // 8), "little") & ((1 << bits) - 1)


class _Harness(Elaboratable):
    """The core in an explicit ``sync`` domain whose reset the testbench drives."""

    def __init__(self, core: ShiftPSNCore):
        self.core = core
        self.rst = Signal()

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = sync = ClockDomain()
        m.d.comb += sync.rst.eq(self.rst)
        m.submodules.core = self.core
        return m
