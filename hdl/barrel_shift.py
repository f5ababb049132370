"""Barrel shifter: a left shift by a runtime amount in log-depth multiplexer stages."""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, Value, signed

__all__ = ["barrel_shift_left"]


def barrel_shift_left(m: Module, value: Value, amount: Value, max_shift: int, *, name: str) -> Signal:
    """``value << amount`` for a signed ``value`` and an ``amount`` in ``[0, max_shift]``.

    Stage ``b`` shifts by ``2**b`` when bit ``b`` of ``amount`` is set: ``max_shift.bit_length()``
    stages of 2:1 multiplexers, each stage's output a named wire (so every stage is built once).
    The result is ``len(value) + max_shift`` bits, signed: exactly the range of a valid amount; an
    amount above ``max_shift`` (not a valid configuration) wraps.

    Parameters
    ----------
    m : Module
        Module to add the multiplexers to (combinational domain).
    value : Value
        Signed operand.
    amount : Value
        Unsigned shift amount, at least ``max_shift.bit_length()`` bits.
    max_shift : int
        Largest valid amount, ``exp_max - exp_min``.
    name : str
        Prefix of the stage wires.
    """
    width = len(value) + max_shift
    stage = Signal(signed(len(value)), name=f"{name}_in")
    m.d.comb += stage.eq(value)
    for b in range(max_shift.bit_length()):
        shifted = Signal(signed(width), name=f"{name}_s{b}")
        m.d.comb += shifted.eq(Mux(amount[b], stage << (1 << b), stage))  # truncates to `width`
        stage = shifted
    if len(stage) != width:  # max_shift == 0: no stage at all
        assert max_shift == 0
    return stage
