"""Drive any valid/ready stream component in Amaranth's simulator like a testbench: a core, an engine, a
dense engine or a whole network top. Input beats go in with random gaps, output beats come out under
random stalls, runtime weights are written through ``cfg`` first, ``rst`` can be pulsed between
sequences, and every handshake of chosen internal streams is recorded (each layer of a network checked
on its own).

Payloads are packed and unpacked from the layer's payload schema (:mod:`shiftpsn.base.payload`, the
contract) or from the component's Amaranth layout (:func:`pack` / :func:`unpack`, for the blocks of a
network), so a layout mistake in a core shows up as a mismatch.
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import ClockDomain, Elaboratable, Module, Signal
from amaranth.sim import Simulator

from shiftpsn.base import payload
from shiftpsn.base.spec import CoreSpec
from shiftpsn.base.stimulus import from_beats, to_beats

__all__ = ["stream_sim", "simulate_amaranth", "pack", "unpack"]


def pack(layout, **fields) -> int:
    """The integer of a payload of ``layout`` (a StructLayout) from field values: an int, or a list of
    ints for an ArrayLayout field (two's complement)."""
    word = 0
    for name, value in fields.items():
        f = layout[name]
        if hasattr(f.shape, "elem_shape"):  # ArrayLayout
            ew = len(Signal(f.shape.elem_shape))
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
               limit: int | None = None, reset_at: int | None = None, before: list[int] = (),
               config=(), drained_resets=(), vcd: str | None = None) -> dict:
    """Stream the payload integers ``beats`` into ``dut.i`` and collect ``n_out`` beats of ``dut.o``.

    Inputs are offered with probability ``valid_p`` per cycle (a random payload otherwise) and the
    output read with probability ``ready_p``. ``monitors`` maps a name to a stream interface inside
    ``dut`` (anything with ``valid``, ``ready``, ``payload``): every handshake on it is recorded.
    ``config``: ``(addr, data)`` words written through ``dut.cfg`` first, one per cycle.

    Resets: with ``reset_at``, the beats ``before`` are streamed first, ``rst`` is pulsed for one cycle
    at cycle ``reset_at`` (whatever is in flight; ``before``'s remaining beats are dropped), and then
    ``beats`` follow; what left before the reset is recorded under the ``"before_"`` keys. With
    ``drained_resets`` (input beat indices, for a dut with one output beat per input beat), ``rst`` is
    pulsed before beat n once every earlier beat's output has left.

    Returns ``{"out": [payload ints], "out_cycles": [...], "in_cycles": [...], "cycles": n, name: [...]}``.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    monitors = monitors or {}
    config, drained_resets = list(config), set(drained_resets)
    res = {"out": [], "out_cycles": [], "in_cycles": [], **{k: [] for k in monitors}}
    width = len(dut.i.payload.as_value())
    limit = limit or 200 + 400 * (len(beats) + len(before) + n_out) / max(min(valid_p, ready_p), 0.05)
    limit += len(config) + (reset_at or 0)

    async def testbench(ctx):
        nonlocal beats
        for addr, data in config:
            ctx.set(dut.cfg.addr, addr)
            ctx.set(dut.cfg.data, data)
            ctx.set(dut.cfg.we, 1)
            await ctx.tick()
        if config:
            ctx.set(dut.cfg.we, 0)
        n_in, cycle, done_resets = 0, 0, set()
        if reset_at is not None:
            queue, beats = beats, list(before)

        async def pulse_reset():
            ctx.set(dut.i.valid, 0)
            ctx.set(harness.rst, 1)
            await ctx.tick()
            ctx.set(harness.rst, 0)

        while len(res["out"]) < n_out or (reset_at is not None and cycle <= reset_at):
            if reset_at is not None and cycle == reset_at:
                for key in list(res):  # what left before the reset
                    res[f"before_{key}"], res[key] = res[key], []
                await pulse_reset()
                cycle += 1
                beats, n_in = queue, 0
                continue
            pending = n_in in drained_resets and n_in not in done_resets
            if pending and len(res["out"]) == n_in:  # the earlier beats have drained: nothing in flight
                done_resets.add(n_in)
                await pulse_reset()
                cycle += 1
                continue
            offer = not pending and n_in < len(beats) and rng.random() < valid_p
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
    if vcd:
        with sim.write_vcd(vcd):
            sim.run()
    else:
        sim.run()
    return res


def simulate_amaranth(core, x: np.ndarray, *, load: CoreSpec | None = None,
                      rng: np.random.Generator | None = None, valid_p: float = 1.0, ready_p: float = 1.0,
                      reset_between: bool = False, vcd: str | None = None) -> dict:
    """Stream the sequences ``x`` (B, T, C), or (B, T, P, C) with positions > 1, through a core or
    engine (:func:`stream_sim`) and decode its output beats.

    A time step is ``beats_per_step`` beats of ``lanes`` neurons; every beat of a sequence's first time
    step carries ``first = 1``. For a runtime core, ``load``'s weights are first written through the
    configuration port. With ``reset_between``, ``rst`` is pulsed between sequences and only the very
    first time step carries ``first``.

    Returns a dict: ``spikes`` uint8 and ``acc`` int64 (None without emit_acc) of the shape of ``x``,
    ``first`` bool, (B, T) for one beat per time step, else (B, T, beats_per_step),
    ``in_cycles`` / ``out_cycles`` (B*T*beats_per_step,) cycle of each handshake.
    """
    spec = core.spec
    xb = to_beats(spec, np.asarray(x))
    B, T, G, L = xb.shape
    t = np.tile(np.arange(T), B)
    first = (t == 0) & ((np.repeat(np.arange(B), T) == 0) | (not reset_between))
    beats = payload.pack_inputs(spec, xb.reshape(B * T, G * L), first)
    per_seq = T * G
    r = stream_sim(core, beats, len(beats), rng=rng, valid_p=valid_p, ready_p=ready_p,
                   config=load.config_words() if load is not None else (),
                   drained_resets=range(per_seq, len(beats), per_seq) if reset_between else (), vcd=vcd)
    layout = spec.stream_fields("output")
    got = payload.unpack_outputs(spec, payload.int_strings(r["out"], payload.payload_width(layout)))
    spikes = from_beats(spec, got["spikes"].reshape(B, T, G, L))
    acc = from_beats(spec, got["acc"].reshape(B, T, G, L)) if spec.emit_acc else None
    out_first = got["first"].astype(bool).reshape((B, T) if G == 1 else (B, T, G))
    return {"spikes": spikes, "acc": acc, "first": out_first,
            "in_cycles": np.array(r["in_cycles"]), "out_cycles": np.array(r["out_cycles"])}


class _Harness(Elaboratable):
    """The dut in an explicit ``sync`` domain whose reset the testbench drives."""

    def __init__(self, dut):
        self.dut = dut
        self.rst = Signal()

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = sync = ClockDomain()
        m.d.comb += sync.rst.eq(self.rst)
        m.submodules.dut = self.dut
        return m
