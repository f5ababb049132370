"""Integer rules shared by the specs: what counts as an integer, ceil(log2), two's-complement widths
and packing. stdlib only (the base layer cannot use amaranth.utils)."""

from __future__ import annotations

from typing import Any

#: Largest int64; every golden-model value and partial sum stays within +-INT64_MAX.
INT64_MAX = (1 << 63) - 1


def is_int(v: Any) -> bool:
    """True for a Python int that is not a bool."""
    return isinstance(v, int) and not isinstance(v, bool)


def clog2(n: int) -> int:
    """ceil(log2(n)) for n >= 1."""
    return (n - 1).bit_length()


def signed_width(lo: int, hi: int) -> int:
    """Fewest bits (>= 2) of a signed two's-complement number that holds every value of [lo, hi]."""
    w = 2
    while lo < -(1 << (w - 1)) or hi > (1 << (w - 1)) - 1:
        w += 1
    return w


def pack_fields(fields: list[tuple[int, int]]) -> tuple[int, int]:
    """(unsigned word, total width) of ``(value, width)`` fields packed LSB first, two's complement."""
    word, offset = 0, 0
    for value, width in fields:
        word |= (value & ((1 << width) - 1)) << offset
        offset += width
    return word, offset


class SignedInputRange:
    """``input_min`` / ``input_max`` of anything whose inputs are signed ``input_width``-bit numbers
    (a psn or lif layer, a network): the one definition of that range."""

    @property
    def input_min(self) -> int:
        return -(1 << (self.input_width - 1))

    @property
    def input_max(self) -> int:
        return (1 << (self.input_width - 1)) - 1
