"""The lif neuron layer in hardware (docs/ARCHITECTURE.md, "The network in hardware"): ``lanes`` membrane
updates per cycle, all additions, shifts and compares (no multiplier).

One update (:func:`membrane_update`), in ``membrane_width`` bits (``LifLayer.membrane_width``; every
value lies in the layer's proven membrane range, so sums taken modulo 2^width are exact)::

    v0 = 0 if the step starts a sequence else v;   u = v0 - (v0 >>> s) + x   (>>> arithmetic; no term
    for IF);   spike = u >= threshold_hw;   v' = u - threshold_hw if spike else u   ("subtract")
                                                 = 0               if spike else u   ("zero")

Two organisations, both one beat per cycle with full back-pressure (``i.ready = ~o.valid | o.ready``):

* **parallel** (lanes = C, one beat per time step): C membrane registers; the beat is computed when it is
  accepted and its spikes leave through the output register. Latency 1. ``rst`` clears the membranes.
* **time-multiplexed** (lanes < C, G = C / lanes beats per time step; beat g carries channels
  ``g*lanes + j`` in lane j): the membranes live in one block RAM of G words (word g: the lanes' membranes
  of beat g, lane j at bits ``[j*width, (j+1)*width)``), the thresholds in a ROM of the same shape, both
  read at the edge that accepts the beat (address: the beat counter). With G >= 3 the read data are
  registered first (stage 2; block RAM clock-to-out leaves no room for logic) and the new word is written
  from stage 2, two advancing edges after the read; the next read of that word comes G >= 3 advancing
  edges after it, so it sees the write. With G = 2 the update is computed from the read data in stage 1
  and written one advancing edge after the read (the next read is two edges after it). Latency 3.
  ``first`` (and every beat of the first time step after ``rst``, flag ``fresh``) makes the membrane
  read as 0; no memory is ever cleared. The memories carry Yosys' ``no_rw_check`` (no collision logic):
  by the argument above no word is read at the edge it is written.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory

from shiftpsn.base.ints import pack_fields
from shiftpsn.base.layers.lif import LifLayer

from .dense import neuron_stage_members
from .names import memory_entry, register_entry
from .weight_store import NO_RW_CHECK

__all__ = ["LifStage", "membrane_update"]


def membrane_update(m: Module, layer: LifLayer, v, x, threshold, empty, tag: str) -> tuple[Signal, Signal]:
    """``(spike, v_new)`` of one neuron (module docstring) from its membrane ``v`` (signed, membrane
    width), input ``x``, stored threshold and the flag ``empty`` (the membrane reads as 0)."""
    width = layer.membrane_width
    v0 = Signal(signed(width), name=f"v0_{tag}")
    u = Signal(signed(width), name=f"u_{tag}")
    spike = Signal(name=f"spike_{tag}")
    v_new = Signal(signed(width), name=f"v_new_{tag}")
    m.d.comb += v0.eq(Mux(empty, 0, v))
    leak = v0 >> layer.leak_shift if layer.leak_shift is not None else 0  # arithmetic: v0 is signed
    m.d.comb += [u.eq(v0 - leak + x),  # truncated to the width: exact, every u lies in the proven range
                 spike.eq(u >= threshold)]
    fired = u - threshold if layer.reset == "subtract" else Const(0, signed(width))
    m.d.comb += v_new.eq(Mux(spike, fired, u))
    return spike, v_new


class LifStage(wiring.Component):
    """A lif layer of a network (module docstring): beats of ``lanes`` inputs of one time step with
    ``first`` and ``last`` in, their spikes with ``first`` and ``last`` out.

    Parameters
    ----------
    layer : LifLayer

    Members
    -------
    i : In(stream.Signature(step_layout(signed(input_width), lanes)))
    o : Out(stream.Signature(step_layout(unsigned(1), lanes)))
        ``x``: the spikes, element j = lane j.
    """

    def __init__(self, *, layer: LifLayer):
        if not isinstance(layer, LifLayer):
            self._MustUse__silence = True
            raise TypeError(f"layer must be a LifLayer, not {type(layer).__name__}")
        self._layer = layer
        super().__init__(neuron_stage_members(layer.input_width, layer.lanes))

    @property
    def layer(self) -> LifLayer:
        return self._layer

    @property
    def latency(self) -> int:
        """Cycles from an input handshake to its output beat being valid (o.ready held high)."""
        return 1 if self._layer.parallel else 3

    @property
    def late_write(self) -> bool:
        """Whether the membrane read data are registered before the update (G >= 3, module docstring)."""
        return self._layer.beats_per_step >= 3

    # the stage interface (shiftpsn.hdl.stages)
    kind = "lif"
    monitored = True  # its output stream is the layer's spikes

    @property
    def latency_bound(self) -> int:
        return self.latency

    @property
    def step_cycles(self) -> tuple[int, int]:
        return self._layer.step_cycles()

    def layer_entry(self, L: int) -> dict:
        s = self._layer
        return {"index": L, "kind": "lif", "channels": s.channels, "lanes": s.lanes, "input_width": s.input_width,
                "leak_shift": s.leak_shift, "reset": s.reset, "membrane_width": s.membrane_width,
                "hardware": "registers" if s.parallel else "block ram", "cycles_per_step": list(self.step_cycles)}

    def names(self) -> dict:
        """The membrane registers (parallel) or the membrane and threshold memories."""
        s, w = self._layer, self._layer.membrane_width
        if s.parallel:
            return {"memories": [], "lanes": [],
                    "registers": [register_entry(f"membrane{c}", "membrane", width=w, index=c) for c in range(s.channels)]}
        G, L = s.beats_per_step, s.lanes
        return {"registers": [], "lanes": [],
                "memories": [memory_entry("membrane", "membrane", depth=G, width=L * w),
                             memory_entry("thresholds", "thresholds", depth=G, width=L * w)]}

    def elaborate(self, platform):
        m = Module()
        advance, accepted = Signal(), Signal()
        m.d.comb += [advance.eq(~self.o.valid | self.o.ready), self.i.ready.eq(advance),
                     accepted.eq(self.i.valid & advance)]
        if self._layer.parallel:
            self._parallel(m, advance)
        else:
            self._multiplexed(m, advance, accepted)
        return m

    def _parallel(self, m: Module, advance) -> None:
        s, w = self._layer, self._layer.membrane_width
        spikes = []
        for c in range(s.channels):
            v = Signal(signed(w), name=f"membrane{c}")
            th = Const(s.threshold_hw(c), signed(w))
            spike, v_new = membrane_update(m, s, v, self.i.payload.x[c], th, self.i.payload.first, f"c{c}")
            with m.If(self.i.valid & advance):
                m.d.sync += v.eq(v_new)
            spikes.append(spike)
        self._output(m, advance, self.i.valid, Cat(spikes), self.i.payload.first, self.i.payload.last)

    def _multiplexed(self, m: Module, advance, accepted) -> None:
        s, w = self._layer, self._layer.membrane_width
        G, L = s.beats_per_step, s.lanes

        beat = Signal(range(G), name="beat")
        last_beat = beat == G - 1
        fresh = Signal(init=1, name="fresh")  # no whole time step accepted since reset
        with m.If(accepted):
            m.d.sync += [beat.eq(Mux(last_beat, 0, beat + 1)), fresh.eq(fresh & ~last_beat)]

        words = [pack_fields([(s.threshold_hw(g * L + j), w) for j in range(L)])[0] for g in range(G)]
        m.submodules.membrane = membrane = Memory(shape=L * w, depth=G, init=[], attrs=NO_RW_CHECK)
        m.submodules.thresholds = thresholds = Memory(shape=L * w, depth=G, init=words)
        v_rd, v_wr, th_rd = membrane.read_port(), membrane.write_port(), thresholds.read_port()
        m.d.comb += [v_rd.addr.eq(beat), v_rd.en.eq(advance), th_rd.addr.eq(beat), th_rd.en.eq(advance)]

        # stage 1: the accepted beat while the memories' read data arrive
        valid1, first1, last1 = Signal(name="valid_s1"), Signal(name="first_s1"), Signal(name="last_s1")
        empty1, beat1 = Signal(name="empty_s1"), Signal(range(G), name="beat_s1")
        x1 = Signal(data.ArrayLayout(signed(s.input_width), L), name="x_s1")
        with m.If(advance):
            m.d.sync += [valid1.eq(self.i.valid), first1.eq(self.i.payload.first), last1.eq(self.i.payload.last),
                         empty1.eq(self.i.payload.first | fresh), beat1.eq(beat), x1.eq(self.i.payload.x)]

        valid2, first2, last2 = Signal(name="valid_s2"), Signal(name="first_s2"), Signal(name="last_s2")
        with m.If(advance):
            m.d.sync += [valid2.eq(valid1), first2.eq(first1), last2.eq(last1)]
        if self.late_write:  # stage 2 holds the read data; the update is computed and written from it
            v2, th2 = Signal(L * w, name="membrane_s2"), Signal(L * w, name="threshold_s2")
            empty2, beat2 = Signal(name="empty_s2"), Signal(range(G), name="beat_s2")
            x2 = Signal(data.ArrayLayout(signed(s.input_width), L), name="x_s2")
            with m.If(advance):
                m.d.sync += [v2.eq(v_rd.data), th2.eq(th_rd.data), empty2.eq(empty1), beat2.eq(beat1), x2.eq(x1)]
            spikes, new = self._lanes(m, v2, th2, x2, empty2)
            m.d.comb += [v_wr.addr.eq(beat2), v_wr.data.eq(new), v_wr.en.eq(valid2 & advance)]
            spikes_out = spikes
        else:  # G = 2: the update from the read data in stage 1, its spikes registered into stage 2
            spikes, new = self._lanes(m, v_rd.data, th_rd.data, x1, empty1)
            m.d.comb += [v_wr.addr.eq(beat1), v_wr.data.eq(new), v_wr.en.eq(valid1 & advance)]
            spikes_out = Signal(L, name="spikes_s2")
            with m.If(advance):
                m.d.sync += spikes_out.eq(spikes)
        self._output(m, advance, valid2, spikes_out, first2, last2)

    def _lanes(self, m: Module, v_word, th_word, x, empty):
        """The L lanes' updates from membrane and threshold words: (spikes, new membrane word)."""
        s, w = self._layer, self._layer.membrane_width
        spikes, news = [], []
        for j in range(s.lanes):
            spike, v_new = membrane_update(m, s, v_word[j * w:(j + 1) * w].as_signed(), x[j],
                                           th_word[j * w:(j + 1) * w].as_signed(), empty, f"l{j}")
            spikes.append(spike)
            news.append(v_new)
        return Cat(spikes), Cat(news)

    def _output(self, m: Module, advance, valid, spikes, first, last) -> None:
        """The output register: loaded whenever the pipeline advances."""
        with m.If(advance):
            m.d.sync += self.o.valid.eq(valid)
            with m.If(valid):
                m.d.sync += [self.o.payload.x.eq(spikes), self.o.payload.first.eq(first),
                             self.o.payload.last.eq(last)]
