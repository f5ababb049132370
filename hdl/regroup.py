"""Re-cut a stream of one time step's values into beats of another size (between a dense layer and
the next neuron layer when their ``lanes`` differ)."""

from __future__ import annotations

from math import gcd

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .dense import step_layout, store_slot
from .names import empty_names

__all__ = ["Regroup"]


class Regroup(wiring.Component):
    """Re-cut a stream of ``values`` per time step from beats of ``a`` values into beats of ``b``.

    Through beats of ``gcd(a, b)``: each input beat is split into ``a / gcd`` pieces, and ``b / gcd``
    pieces are collected into an output beat. Beats never straddle time steps (a and b divide
    ``values``), so ``first`` and ``last`` are carried along. Order is kept; full back-pressure.

    Parameters
    ----------
    shape : shape-castable
        Shape of one value.
    a, b : int
        Values per input and per output beat (both dividing ``values``).
    values : int
        Values per time step.

    Members
    -------
    i : In(stream.Signature(step_layout(shape, a)))
    o : Out(stream.Signature(step_layout(shape, b)))
    """

    def __init__(self, *, shape, a: int, b: int, values: int):
        if values % a or values % b:
            self._MustUse__silence = True
            raise ValueError(f"beats of {a} and {b} values must both divide {values}")
        self._shape, self._a, self._b = shape, a, b
        super().__init__({"i": In(stream.Signature(step_layout(shape, a))),
                          "o": Out(stream.Signature(step_layout(shape, b)))})

    # the stage interface (shiftpsn.hdl.stages)
    kind = "regroup"
    monitored = False
    latency_bound = 2  # one register to split, one to collect
    step_cycles = None  # never slower than the stages around it

    def layer_entry(self, L: int) -> dict:
        return {"index": L, "kind": "regroup", "from_lanes": self._a, "to_lanes": self._b}

    def names(self) -> dict:
        return empty_names()

    def elaborate(self, platform):
        m = Module()
        a, b = self._a, self._b
        c = gcd(a, b)
        ew = len(Signal(self._shape))
        # ---- split: hold one input beat, hand out a/c pieces
        if a > c:
            n = a // c
            held = Signal(a * ew, name="held")
            hf, hl = Signal(name="held_first"), Signal(name="held_last")
            hv = Signal(name="held_valid")
            k = Signal(range(n), name="piece")
            piece_v, piece_r = Signal(), Signal()
            piece = Signal(c * ew)
            with m.Switch(k):
                for q in range(n):
                    with m.Case(q):
                        m.d.comb += piece.eq(held[q * c * ew:(q + 1) * c * ew])
            m.d.comb += [piece_v.eq(hv), self.i.ready.eq(~hv | (piece_r & (k == n - 1)))]
            with m.If(piece_v & piece_r):
                m.d.sync += k.eq(Mux(k == n - 1, 0, k + 1))
                with m.If(k == n - 1):
                    m.d.sync += hv.eq(0)
            with m.If(self.i.valid & self.i.ready):
                m.d.sync += [held.eq(self.i.payload.x), hf.eq(self.i.payload.first),
                             hl.eq(self.i.payload.last), hv.eq(1)]
            src = (piece_v, piece_r, piece, hf, hl)
        else:
            piece_r = Signal()
            m.d.comb += self.i.ready.eq(piece_r)
            src = (self.i.valid, piece_r, self.i.payload.x.as_value(), self.i.payload.first, self.i.payload.last)
        sv, sr, sx, sf, sl = src
        # ---- collect: b/c pieces into an output beat
        n = b // c
        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        if n > 1:
            coll = Signal((b - c) * ew, name="collected")
            k = Signal(range(n), name="slot")
            at_end = Signal()
            m.d.comb += [at_end.eq(k == n - 1), sr.eq(~at_end | ~self.o.valid | self.o.ready)]
            with m.If(sv & sr):
                m.d.sync += k.eq(Mux(at_end, 0, k + 1))
                store_slot(m, coll, k, sx)
                with m.If(at_end):
                    m.d.sync += [self.o.valid.eq(1), self.o.payload.x.eq(Cat(coll, sx)),
                                 self.o.payload.first.eq(sf), self.o.payload.last.eq(sl)]
        else:
            m.d.comb += sr.eq(~self.o.valid | self.o.ready)
            with m.If(sv & sr):
                m.d.sync += [self.o.valid.eq(1), self.o.payload.x.eq(sx),
                             self.o.payload.first.eq(sf), self.o.payload.last.eq(sl)]
        return m
