"""A channel's delay line: the history the taps of Eq. 10 (MF-PSN) read, X[t - (k-1-i)*d]."""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["DelayLine"]


class DelayLine(wiring.Component):
    """Shift-register history of one signed input, read at fixed delays.

    It stores the last ``depth`` inputs (slot 0 the newest) and nothing else: exactly
    ``depth * width`` flip-flops. A beat shifts in when ``shift`` is high. A beat with ``first``
    high starts a new sequence: its taps read the history as zero, and the history it leaves
    behind holds only its own input (the older slots are cleared while shifting), so no per-slot
    valid bits are needed.

    Parameters
    ----------
    width : int
        Bits of the signed input.
    delays : tuple of int
        Delay (in beats) of each tap; 0 reads ``x`` itself.
    depth : int
        History slots kept; a tap with a delay beyond ``depth`` reads 0 (it belongs to a constant
        zero weight, for which no storage is spent).

    Members
    -------
    x : In(signed(width))
        The beat's input.
    first : In(1)
        The beat starts a new sequence.
    shift : In(1)
        The beat is accepted: shift it into the history.
    taps : Out(ArrayLayout(signed(width), len(delays)))
        ``taps[i]`` = the input ``delays[i]`` beats ago (0 before the sequence began).
    """

    def __init__(self, *, width: int, delays: tuple[int, ...], depth: int):
        self._width, self._delays, self._depth = width, tuple(delays), depth
        super().__init__({
            "x": In(signed(width)),
            "first": In(1),
            "shift": In(1),
            "taps": Out(data.ArrayLayout(signed(width), len(self._delays))),
        })

    @property
    def storage_bits(self) -> int:
        return self._depth * self._width

    def elaborate(self, platform):
        m = Module()
        W, depth = self._width, self._depth
        # One vector, slot j at bits [j*W, (j+1)*W): a shift is a single assignment.
        line = Signal(depth * W)
        if depth:
            with m.If(self.shift):
                m.d.sync += line.eq(Cat(self.x, Mux(self.first, 0, line[: (depth - 1) * W])))
        taps = []
        for delay in self._delays:
            if delay == 0:
                taps.append(self.x)
            elif delay <= depth:
                taps.append(Mux(self.first, 0, line[(delay - 1) * W: delay * W]))
            else:
                taps.append(Const(0, W))
        m.d.comb += self.taps.eq(Cat(*taps))
        return m
