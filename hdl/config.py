"""Runtime weights: the configuration register file behind ``cfg__addr`` / ``cfg__data`` / ``cfg__we``."""

from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from shiftpsn.base.spec import CoreSpec

from .layouts import tap_word_layout
from .names import register_entry

__all__ = ["config_signature", "RuntimeWeights"]


def config_signature(spec: CoreSpec) -> wiring.Signature:
    """The configuration port as its driver sees it: ``addr``, ``data``, ``we`` (write strobe)."""
    return wiring.Signature({
        "addr": Out(spec.cfg_addr_width),
        "data": Out(spec.cfg_data_width),
        "we": Out(1),
    })


class RuntimeWeights(wiring.Component):
    """Configuration registers of a runtime-weights core (register map of docs/ARCHITECTURE.md).

    A write (``cfg.we`` high at a clock edge) stores ``cfg.data`` at ``cfg.addr``: tap word
    ``c*k + i`` or threshold ``C*k + c`` (:meth:`CoreSpec.config_words`); other addresses are
    ignored. The registers are not cleared by reset; they power up holding ``spec``'s weights.

    For ``arith = "shift"`` each tap register holds the tap word as written (shift amount, sign,
    zero flag). For ``arith = "mac"`` a written tap word is decoded into the tap's signed integer
    weight ``sign * 2**amount`` (0 for a zero tap, ``mac_weight_width`` bits), the weight memory
    of a multiply-accumulate neuron.

    Parameters
    ----------
    spec : CoreSpec
        Sets the sizes, the register map and the power-up values.

    Members
    -------
    cfg : In(config_signature(spec))
        Configuration port.
    tap : Out(ArrayLayout(k * tap_word_width, C))
        (``arith = "shift"``) ``tap[c]``: channel c's k tap words, tap i at bits
        ``[i*tap_word_width, (i+1)*tap_word_width)`` (layout :func:`tap_word_layout`).
    weight : Out(ArrayLayout(k * mac_weight_width, C))
        (``arith = "mac"``) ``weight[c]``: channel c's k signed integer weights, packed likewise.
    threshold : Out(ArrayLayout(signed(threshold_width), C))
        Threshold of channel c.
    """

    def __init__(self, *, spec: CoreSpec):
        self._spec = spec
        C, k = spec.channels, spec.order
        members = {"cfg": In(config_signature(spec))}
        # Plain bit vectors per channel (no nested layouts: their per-field alias wires would make
        # the Verilog of wide cores several times larger); the lanes give the fields their layout.
        tap_width = spec.mac_weight_width if spec.arith == "mac" else spec.tap_word_width
        members["weight" if spec.arith == "mac" else "tap"] = Out(data.ArrayLayout(k * tap_width, C))
        members["threshold"] = Out(data.ArrayLayout(signed(spec.threshold_width), C))
        super().__init__(members)

    @staticmethod
    def register_bits_of(s: CoreSpec) -> int:
        """Flip-flops of the register file of a core for spec ``s`` that the datapath reads.

        With ``exp_min == exp_max`` the tap word's 1-bit shift amount is stored but never read (no
        shifter stage), so it is not counted: synthesis removes it."""
        per_tap = s.mac_weight_width if s.arith == "mac" else s.shift_range.bit_length() + 2
        return s.channels * s.order * per_tap + s.channels * s.threshold_width

    @staticmethod
    def names_of(s: CoreSpec) -> dict:
        """The name map (:mod:`shiftpsn.hdl.names`): one register vector ``weights<c>`` per channel."""
        return {"registers": [register_entry(f"weights{c}", "config", width=s.weight_register(c)[1], index=c)
                              for c in range(s.channels)]}

    def elaborate(self, platform):
        m = Module()
        s = self._spec
        C, k = s.channels, s.order
        mac = s.arith == "mac"
        word = tap_word_layout(s)(self.cfg.data[: s.tap_word_width])
        if mac:
            # Decode once for all registers: sign * 2**amount, or 0 for a zero tap.
            magnitude = (Const(1, 1) << word.amount)[: s.shift_range + 1]
            written_tap = Signal(signed(s.mac_weight_width))  # a wire: built once, not per register
            m.d.comb += written_tap.eq(Mux(word.zero, 0, Mux(word.neg, -magnitude, magnitude)))
            tap_out = self.weight
        else:
            written_tap = word.as_value()
            tap_out = self.tap
        written_threshold = self.cfg.data[: s.threshold_width]

        # One register vector per channel: its k tap fields, then its threshold (fewer, wider
        # signals keep the Verilog of wide cores small). Each field has its own address comparator.
        # CoreSpec.weight_register_fields is the one definition of this packing.
        for c in range(C):
            init, row_width = s.weight_register(c)
            row = Signal(row_width, init=init, reset_less=True, name=f"weights{c}")
            offset = 0
            for i, (addr, _, width) in enumerate(s.weight_register_fields(c)):
                with m.If(self.cfg.we & (self.cfg.addr == addr)):
                    m.d.sync += row[offset: offset + width].eq(written_tap if i < k else written_threshold)
                offset += width
            taps_width = row_width - s.threshold_width
            m.d.comb += [tap_out[c].eq(row[:taps_width]), self.threshold[c].eq(row[taps_width:])]
        return m
