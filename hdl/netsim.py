"""Drive any valid/ready stream component (a dense engine, a network top) in Amaranth's simulator:
input beats in with random gaps, output beats out under random stalls, and every handshake of chosen
internal streams recorded (for checking each layer of a network on its own).
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import ClockDomain, Elaboratable, Module, Signal
from amaranth.sim import Simulator

__all__ = ["stream_sim", "pack", "unpack"]


def pack(layout, **fields) -> int:
    """The integer of a payload of ``layout`` (a StructLayout) from field values: an int, or a list of
    ints for an ArrayLayout field (two's complement)."""
    word = 0
    for name, value in fields.items():
        f = layout[name]
        shape = f.shape
        if hasattr(shape, "elem_shape"):  # ArrayLayout
            ew = shape.elem_shape.width if hasattr(shape.elem_shape, "width") else len(Signal(shape.elem_shape))
            for j, v in enumerate(value):
                word |= (int(v) & ((1 << ew) - 1)) << (f.offset + j * ew)
        else:
            word |= (int(value) & ((1 << f.width) - 1)) << f.offset
    return word


def unpack(layout, word: int) -> dict:
    """Field values of a payload integer (inverse of :func:`pack`; signed elements sign-extended)."""
    out = {}
    for name, f in layout:
        shape = f.shape
        bits = (word >> f.offset) & ((1 << f.width) - 1)
        if hasattr(shape, "elem_shape"):
            es = shape.elem_shape
            ew, sgn = (es.width, es.signed) if hasattr(es, "signed") else (len(Signal(es)), False)
            vals = []
            for j in range(shape.length):
                v = (bits >> (j * ew)) & ((1 << ew) - 1)
                vals.append(v - (1 << ew) if sgn and ew and v >> (ew - 1) else v)
            out[name] = vals
        else:
            sgn = getattr(shape, "signed", False)
            out[name] = bits - (1 << f.width) if sgn and bits >> (f.width - 1) else bits
    return out


def stream_sim(dut, beats: list[int], n_out: int, *, rng: np.random.Generator | None = None,
               valid_p: float = 1.0, ready_p: float = 1.0, monitors: dict | None = None,
               limit: int | None = None, reset_at: int | None = None, before: list[int] = ()) -> dict:
    """Stream the payload integers ``beats`` into ``dut.i`` and collect ``n_out`` beats of ``dut.o``.

    Inputs are offered with probability ``valid_p`` per cycle (a random payload otherwise) and the
    output read with probability ``ready_p``. ``monitors`` maps a name to a stream interface inside
    ``dut`` (anything with ``valid``, ``ready``, ``payload``): every handshake on it is recorded.

    With ``reset_at``, the beats ``before`` are streamed first, ``rst`` is pulsed for one cycle at
    cycle ``reset_at`` (whatever is in flight; ``before``'s remaining beats are dropped), and then
    ``beats`` follow; what left before the reset is recorded under the ``"before_"`` keys.

    Returns ``{"out": [payload ints], "out_cycles": [...], "in_cycles": [...], name: [payload ints]}``.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    monitors = monitors or {}
    res = {"out": [], "out_cycles": [], "in_cycles": [], **{k: [] for k in monitors}}
    width = len(dut.i.payload.as_value())
    limit = limit or 200 + 400 * (len(beats) + len(before) + n_out) / max(min(valid_p, ready_p), 0.05)
    if reset_at is not None:
        limit += reset_at

    async def testbench(ctx):
        nonlocal beats
        n_in, cycle = 0, 0
        if reset_at is not None:
            queue, beats = beats, list(before)
        while len(res["out"]) < n_out or (reset_at is not None and cycle <= reset_at):
            if reset_at is not None and cycle == reset_at:
                for key in list(res):  # what left before the reset
                    res[f"before_{key}"], res[key] = res[key], []
                ctx.set(dut.i.valid, 0)
                ctx.set(harness.rst, 1)
                await ctx.tick()
                ctx.set(harness.rst, 0)
                cycle += 1
                beats, n_in = queue, 0
                continue
            offer = n_in < len(beats) and rng.random() < valid_p
            ctx.set(dut.i.valid, offer)
            ctx.set(dut.i.payload.as_value(), beats[n_in] if offer else
                    int.from_bytes(rng.bytes((width + 7) // 8), "little") & ((1 << width) - 1))
            take = bool(rng.random() < ready_p)
            ctx.set(dut.o.ready, take)
            for name, s in monitors.items():
                if ctx.get(s.valid) and ctx.get(s.ready):
                    res[name].append(ctx.get(s.payload.as_value()))
            if offer and ctx.get(dut.i.ready):
                n_in += 1
                res["in_cycles"].append(cycle)
            if take and ctx.get(dut.o.valid):
                res["out"].append(ctx.get(dut.o.payload.as_value()))
                res["out_cycles"].append(cycle)
            await ctx.tick()
            cycle += 1
            if cycle > limit:
                raise AssertionError(f"stalled: {n_in} beats in, {len(res['out'])} out after {cycle} cycles")
        res["cycles"] = cycle

    harness = _Harness(dut)
    sim = Simulator(harness)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    return res


class _Harness(Elaboratable):
    def __init__(self, dut):
        self.dut = dut
        self.rst = Signal()

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = sync = ClockDomain()
        m.d.comb += sync.rst.eq(self.rst)
        m.submodules.dut = self.dut
        return m
