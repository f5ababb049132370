"""The configuration register map of a runtime core (docs/CONTRACT.md section 7), a mixin of CoreSpec.

Runtime cores are loaded through cfg__addr / cfg__data / cfg__we (docs/ARCHITECTURE.md). Tap word
(addr = c*k + i): bits [0, shift_code_width) amount, then sign (1 = negative), then zero. Threshold word
(addr = C*k + c): threshold_hw(c) as threshold_width-bit two's complement. The parallel core holds each
channel's weights in one register (hdl/config.py); synth reads the loaded bits back from it.
"""

from __future__ import annotations

from .ints import clog2 as _clog2
from .ints import pack_fields


class RegisterMap:
    """Register-map methods of :class:`shiftpsn.base.spec.CoreSpec` (they read its fields and widths)."""

    @property
    def tap_word_width(self) -> int:
        return self.shift_code_width + 2

    @property
    def cfg_words(self) -> int:
        return self.channels * self.order + self.channels

    @property
    def cfg_addr_width(self) -> int:
        return max(1, _clog2(self.cfg_words))

    @property
    def cfg_data_width(self) -> int:
        return max(self.tap_word_width, self.threshold_width)

    def tap_word(self, c: int, i: int) -> int:
        a = self.shift_amount(c, i)
        if a is None:
            return 1 << (self.shift_code_width + 1)
        neg = 1 if self.sign[c][i] < 0 else 0
        return a | (neg << self.shift_code_width)

    def weight_register_fields(self, c: int) -> list[tuple[int, int, int]]:
        """(address, value, width) of the fields of channel ``c``'s weight register, LSB first: its k
        taps (tap words, or for ``arith = "mac"`` the integer weights in mac_weight_width bits), then
        threshold_hw(c) in threshold_width bits. The parallel core holds each channel's weights in one
        such register (hdl/config.py); synth reads the loaded bits back from it."""
        k, C = self.order, self.channels
        mac = self.arith == "mac"
        width = self.mac_weight_width if mac else self.tap_word_width
        taps = [(c * k + i, self.int_weight(c, i) if mac else self.tap_word(c, i), width) for i in range(k)]
        return taps + [(C * k + c, self.threshold_hw(c), self.threshold_width)]

    def weight_register(self, c: int) -> tuple[int, int]:
        """(unsigned value, width) of channel ``c``'s whole weight register."""
        return pack_fields([(value, width) for _, value, width in self.weight_register_fields(c)])

    def config_words(self) -> list[tuple[int, int]]:
        """(address, unsigned data) pairs that load this spec's weights into a runtime core."""
        k = self.order
        words = [(c * k + i, self.tap_word(c, i)) for c in range(self.channels) for i in range(k)]
        mask = (1 << self.cfg_data_width) - 1
        words += [(self.channels * k + c, self.threshold_hw(c) & mask) for c in range(self.channels)]
        return words
