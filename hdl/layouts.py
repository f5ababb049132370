"""Amaranth layouts of the core's stream payloads, built from :mod:`shiftpsn.base.ports` (the one place the
bit positions are defined) and checked against it, so the Verilog ports match the contract bit for bit.
"""

from __future__ import annotations

from amaranth.hdl import signed, unsigned
from amaranth.lib import data

from shiftpsn.base import ports
from shiftpsn.base.spec import CoreSpec

__all__ = ["input_layout", "output_layout", "tap_word_layout"]

# Shape of one channel's element of each payload field (signed fields hold two's-complement numbers).
_SIGNED_FIELDS = {"x", "acc"}


def _struct(fields: list[tuple[str, int, int]]) -> data.StructLayout:
    members = {}
    for name, width, per in fields:
        if name in _SIGNED_FIELDS:
            members[name] = data.ArrayLayout(signed(per), width // per)
        else:  # flags and spike vectors: plain bits, channel c at bit c
            members[name] = unsigned(width)
    layout = data.StructLayout(members)
    # StructLayout packs LSB first in declaration order; prove it agrees with shiftpsn.base.ports.
    for name, (offset, width, _) in ports.offsets(fields).items():
        field = layout[name]
        assert (field.offset, field.width) == (offset, width), (name, field, offset, width)
    return layout


def input_layout(spec: CoreSpec) -> data.StructLayout:
    """``x`` (C signed input_width-bit inputs) then ``first``."""
    return _struct(ports.input_fields(spec))


def output_layout(spec: CoreSpec) -> data.StructLayout:
    """``spikes`` (bit c = channel c), ``first``, then ``acc`` (C signed acc_width-bit) if emit_acc."""
    return _struct(ports.output_fields(spec))


def tap_word_layout(spec: CoreSpec) -> data.StructLayout:
    """One tap's configuration word (docs/ARCHITECTURE.md register map): shift amount
    ``shift - exp_min``, then ``neg`` (1 = negative weight), then ``zero`` (zero tap)."""
    return data.StructLayout({"amount": unsigned(spec.shift_code_width), "neg": 1, "zero": 1})
