"""The engine's weight memories (docs/ARCHITECTURE.md, "The neuron engine").

Runtime weights live in memories loaded through the configuration port (same register map as the
parallel core), constant weights in initialised ROMs, read in the same cycle as the history. How the
engine's lanes find their channel's weights depends on L and C (:func:`weight_mode`):

- ``C`` divides ``L`` ("fixed"): lane j always serves channel ``j mod C``: constant weights are
  wiring (as in the parallel core), runtime weights the parallel core's register file; no
  :class:`WeightStore`;
- ``L`` divides ``C`` ("wide"): a beat's lanes serve L consecutive channels ``c0 .. c0+L-1`` with
  ``c0`` a multiple of L: L banks of C/L rows, lane j reads bank j (channels ``j mod L``);
- otherwise ("ports"): lane j serves channel ``(g*L + j) mod C``: one bank of C rows with a read
  port per distinct ``j mod C`` (min(L, C) ports; Yosys gives each its copy of the memory).

The memories are written only while no beat is in flight (the configuration rule of the contract), so
they carry Yosys' ``no_rw_check`` attribute (:data:`NO_RW_CHECK`) like the history memories.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from shiftpsn.base.spec import CoreSpec, pack_fields

from .config import config_signature
from .layouts import tap_word_layout
from .names import memory_entry
from .neuron_base import require_psn

__all__ = ["WeightStore", "weight_mode", "NO_RW_CHECK"]

#: Yosys attribute: reads and writes of this memory never collide (the engine's hazard argument).
NO_RW_CHECK = {"no_rw_check": 1}


def weight_mode(spec: CoreSpec) -> str:
    """How the engine's lanes reach their channel's weights: ``"fixed"``, ``"wide"`` or ``"ports"``."""
    if spec.lane_channels_fixed:
        return "fixed"
    return "wide" if spec.channels % spec.lanes == 0 else "ports"


def _divmod_const(value: Value, divisor: int) -> tuple[Value, Value]:
    """``(value // divisor, value % divisor)`` for an unsigned value: wiring for a power of two."""
    if divisor & (divisor - 1) == 0:
        b = divisor.bit_length() - 1
        return value >> b, value[:b] if b else Const(0, 1)
    return value // divisor, value % divisor


class WeightStore(wiring.Component):
    """Channel weights of the engine in memory: taps and thresholds, read once per beat.

    ``banks`` pairs of memories: taps (per channel k fields of ``weight_tap_width`` bits, the tap
    word or, for ``arith = "mac"``, the integer weight) and thresholds (``threshold_width`` bits).
    "wide" organisation: L banks of C/L rows, bank b holding the channels ``c = row*L + b`` (one
    read port each: lane b reads bank b); "ports": one bank of C rows with min(L, C) read ports.
    Runtime weights: a configuration write (register map of the contract: tap ``c*k + i``,
    threshold ``C*k + c``) writes one field through a write port with field granularity; power-up
    contents are ``spec``'s weights, never cleared by reset. Constant weights: initialised ROMs.

    Parameters
    ----------
    spec : CoreSpec
        An engine spec whose weight organisation (:func:`weight_mode`) is "wide" or "ports".

    Members
    -------
    cfg : In(config_signature(spec))
        Runtime weights only: the configuration port.
    addr : In(ArrayLayout(unsigned(row address bits), ports))
        Row read by each read port (sampled at a clock edge when ``en`` is high).
    en : In(1)
        Read enable of all ports (the read data holds while it is low).
    taps : Out(ArrayLayout(k*weight_tap_width, ports))
        Tap fields of the channel each port read (tap i at field i).
    thresholds : Out(ArrayLayout(signed(threshold_width), ports))
        Threshold of that channel.
    """

    def __init__(self, *, spec: CoreSpec):
        require_psn(self, spec)
        mode = weight_mode(spec)
        if mode == "fixed":
            raise ValueError("a spec whose lanes each serve one fixed channel keeps its weights in "
                             "registers or constants, not in a WeightStore")
        self._spec = spec
        self.banks = spec.lanes if mode == "wide" else 1
        self.rows = spec.channels // self.banks
        self.ports = spec.lanes if mode == "wide" else min(spec.lanes, spec.channels)
        members = {
            "addr": In(data.ArrayLayout(unsigned(max(1, ceil_log2(self.rows))), self.ports)),
            "en": In(1),
            "taps": Out(data.ArrayLayout(spec.order * spec.weight_tap_width, self.ports)),
            "thresholds": Out(data.ArrayLayout(signed(spec.threshold_width), self.ports)),
        }
        if spec.weights == "runtime":
            members["cfg"] = In(config_signature(spec))
        super().__init__(members)

    def names(self) -> dict:
        """The name map (:mod:`shiftpsn.hdl.names`): the tap and threshold memories of each bank."""
        s = self._spec
        mems = []
        for b in range(self.banks):
            mems.append(memory_entry(f"taps{b}", "taps", depth=self.rows, width=s.order * s.weight_tap_width,
                                     index=b))
            mems.append(memory_entry(f"thresholds{b}", "thresholds", depth=self.rows, width=s.threshold_width,
                                     index=b))
        return {"memories": mems, "registers": []}

    def elaborate(self, platform):
        m = Module()
        s = self._spec
        banks, k, C, Tw, H = self.banks, s.order, s.channels, s.weight_tap_width, s.threshold_width
        mac = s.arith == "mac"
        if s.weights == "runtime":
            a, we = self.cfg.addr, self.cfg.we
            word = tap_word_layout(s)(self.cfg.data[: s.tap_word_width])
            if mac:  # a written tap word is stored as its integer weight sign * 2**amount
                magnitude = (Const(1, 1) << word.amount)[: s.shift_range + 1]
                written_tap = Signal(signed(Tw))
                m.d.comb += written_tap.eq(Mux(word.zero, 0, Mux(word.neg, -magnitude, magnitude)))
            else:
                written_tap = word.as_value()
            # address -> (bank, row, field): c*k + i is tap i of channel c = row*banks + bank;
            # C*k + c the threshold of channel c
            channel, tap = _divmod_const(a, k)
            row, bank = _divmod_const(channel, banks)
            thr_channel = Signal(s.channel_addr_width)
            m.d.comb += thr_channel.eq(a - C * k)
            thr_row, thr_bank = _divmod_const(thr_channel, banks)
            is_tap, is_thr = Signal(), Signal()
            m.d.comb += [is_tap.eq(we & (a < C * k)), is_thr.eq(we & (a >= C * k) & (a < C * k + C))]
        read = []
        for b in range(banks):
            chans = range(b, C, banks)
            tap_init = [pack_fields([(s.int_weight(c, i) if mac else s.tap_word(c, i), Tw) for i in range(k)])[0]
                        for c in chans]
            thr_init = [pack_fields([(s.threshold_hw(c), H)])[0] for c in chans]
            tap_mem = m.submodules[f"taps{b}"] = Memory(shape=k * Tw, depth=self.rows, init=tap_init,
                                                         attrs=NO_RW_CHECK)
            thr_mem = m.submodules[f"thresholds{b}"] = Memory(shape=H, depth=self.rows, init=thr_init,
                                                               attrs=NO_RW_CHECK)
            if s.weights == "runtime":
                tap_wr = tap_mem.write_port(granularity=Tw)
                thr_wr = thr_mem.write_port()
                m.d.comb += [
                    tap_wr.addr.eq(row), tap_wr.data.eq(written_tap.replicate(k)),
                    tap_wr.en.eq(Cat(is_tap & (bank == b) & (tap == i) for i in range(k))),
                    thr_wr.addr.eq(thr_row), thr_wr.data.eq(self.cfg.data[:H]),
                    thr_wr.en.eq(is_thr & (thr_bank == b)),
                ]
            read += [(tap_mem, thr_mem)] * (self.ports // banks)
        for q, (tap_mem, thr_mem) in enumerate(read):
            tap_rd, thr_rd = tap_mem.read_port(), thr_mem.read_port()
            m.d.comb += [tap_rd.addr.eq(self.addr[q]), thr_rd.addr.eq(self.addr[q]),
                         tap_rd.en.eq(self.en), thr_rd.en.eq(self.en),
                         self.taps[q].eq(tap_rd.data), self.thresholds[q].eq(thr_rd.data)]
        return m
