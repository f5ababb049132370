"""The readout of a network: sums the logits over each sequence's time steps and emits the class."""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from .dense import step_layout

__all__ = ["Readout", "readout_layout"]


def readout_layout(*, outputs: int, lanes: int, logit_width: int, sum_width: int) -> data.StructLayout:
    """The network's output beat, LSB first: ``logits`` (``lanes`` signed logits of one time step),
    ``first``, ``last``, ``done`` (the sequence's final beat), ``cls`` (the class, valid with ``done``),
    ``sums`` (the O sums over the sequence, valid with ``done``)."""
    return data.StructLayout({
        "logits": data.ArrayLayout(signed(logit_width), lanes),
        "first": 1, "last": 1, "done": 1,
        "cls": unsigned(max(1, ceil_log2(outputs))),
        "sums": data.ArrayLayout(signed(sum_width), outputs),
    })


class Readout(wiring.Component):
    """Sum the logits of each sequence over time; at its end emit the class (argmax, lowest index on ties).

    Input beats carry ``lanes`` logits of one time step (G = O / lanes beats per step, beat g holding
    logits ``g*lanes + j``) with the step's ``first`` and ``last`` flags. **The end of a sequence is
    its time step marked ``last``** (an explicit flag that travels with every beat from the network
    input, like AXI-Stream TLAST), so the class leaves as soon as the sequence's last logits arrive,
    without waiting for the next sequence. A step with ``first`` starts the sums afresh.

    Every input beat leaves as one output beat (for verification every step's logits are visible);
    the last beat of a sequence's ``last`` step carries ``done = 1``, the class ``cls`` and the sums.

    Sums: O registers of ``sum_width`` bits, held as a ring of G groups that rotates by one group per
    beat (the group being added is always at the head: no multiplexer over groups), back in natural
    order after each whole time step. The class is found on the fly during the ``last`` step: each
    beat compares its ``lanes`` final sums with the best so far (strictly greater wins, so the lowest
    index keeps a tie). ``sums`` and ``cls`` are read straight from these registers, which hold still
    while the output beat waits (no input is taken then).

    Parameters
    ----------
    outputs : int
        O, logits per time step.
    lanes : int
        Logits per input beat (dividing O).
    logit_width : int
        Bits of a signed logit.
    sum_width : int
        Bits of a signed sum: exact while ``|sum|`` < 2^(sum_width - 1) (the network top sizes it for
        ``max_steps`` time steps per sequence).

    Members
    -------
    i : In(stream.Signature(step_layout(signed(logit_width), lanes)))
    o : Out(stream.Signature(readout_layout(...)))
    """

    def __init__(self, *, outputs: int, lanes: int, logit_width: int, sum_width: int):
        for name, v in (("outputs", outputs), ("lanes", lanes), ("logit_width", logit_width),
                        ("sum_width", sum_width)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                self._MustUse__silence = True
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        if outputs % lanes or sum_width < logit_width:
            self._MustUse__silence = True
            raise ValueError(f"lanes ({lanes}) must divide outputs ({outputs}) and sum_width ({sum_width}) "
                             f"be at least logit_width ({logit_width})")
        self._O, self._L, self._lw, self._sw = outputs, lanes, logit_width, sum_width
        super().__init__({
            "i": In(stream.Signature(step_layout(signed(logit_width), lanes))),
            "o": Out(stream.Signature(readout_layout(outputs=outputs, lanes=lanes, logit_width=logit_width,
                                                     sum_width=sum_width))),
        })

    @property
    def latency(self) -> int:
        """Cycles from an input handshake to its output beat being valid."""
        return 1

    def elaborate(self, platform):
        m = Module()
        O, L, SW = self._O, self._L, self._sw
        G = O // L
        i, o = self.i, self.o
        accept = Signal()
        m.d.comb += [i.ready.eq(~o.valid | o.ready), accept.eq(i.valid & i.ready)]

        ring = [[Signal(signed(SW), name=f"sum_g{g}_{j}") for j in range(L)] for g in range(G)]
        g = Signal(range(G), name="group")
        ob = Signal(range(O), name="out_base")  # g * lanes, kept as a running sum
        group_last = Signal()
        m.d.comb += group_last.eq(g == G - 1)
        best_v = Signal(signed(SW), name="best_sum")
        best_i = Signal(unsigned(max(1, ceil_log2(O))), name="best_index")

        news = []
        for j in range(L):
            new = Signal(signed(SW), name=f"new_sum{j}")
            m.d.comb += new.eq(Mux(i.payload.first, 0, ring[0][j]) + i.payload.x[j])
            news.append(new)
        # the running argmax over this beat's final sums (only used in the last step)
        cur_v, cur_i = best_v, best_i
        for j in range(L):
            take = Signal(name=f"take{j}")
            if j == 0:
                m.d.comb += take.eq((g == 0) | (news[0] > cur_v))
            else:
                m.d.comb += take.eq(news[j] > cur_v)
            nv, ni = Signal(signed(SW), name=f"best_v{j}"), Signal.like(best_i, name=f"best_i{j}")
            m.d.comb += [nv.eq(Mux(take, news[j], cur_v)), ni.eq(Mux(take, ob + j, cur_i))]
            cur_v, cur_i = nv, ni

        logits_q = Signal(data.ArrayLayout(signed(self._lw), L), name="logits_q")
        first_q, last_q, done_q = Signal(name="first_q"), Signal(name="last_q"), Signal(name="done_q")
        with m.If(o.ready):
            m.d.sync += o.valid.eq(0)
        with m.If(accept):
            m.d.sync += [o.valid.eq(1), logits_q.eq(i.payload.x), first_q.eq(i.payload.first),
                         last_q.eq(i.payload.last), done_q.eq(i.payload.last & group_last),
                         g.eq(Mux(group_last, 0, g + 1)), ob.eq(Mux(group_last, 0, ob + L))]
            for gg in range(G - 1):  # rotate: the head group goes to the tail, updated
                m.d.sync += [ring[gg][j].eq(ring[gg + 1][j]) for j in range(L)]
            m.d.sync += [ring[G - 1][j].eq(news[j]) for j in range(L)]
            with m.If(i.payload.last):
                m.d.sync += [best_v.eq(cur_v), best_i.eq(cur_i)]
        m.d.comb += [o.payload.logits.eq(logits_q), o.payload.first.eq(first_q), o.payload.last.eq(last_q),
                     o.payload.done.eq(done_q), o.payload.cls.eq(best_i),
                     o.payload.sums.eq(Cat(*[s for grp in ring for s in grp]))]
        return m
