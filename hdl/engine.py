"""The time-multiplexed neuron engine: ``lanes`` < P*C neurons per clock cycle, histories in block RAM.

A layer of N = P*C neurons (``positions`` P per channel, sharing the channel's weights) is served by
``lanes`` L copies of one neuron datapath. A time step is G = N / L stream beats; beat g carries
neurons ``n = g*L + j`` in lane j (``n = p*C + c``, channel fastest; shiftpsn.base.ports).

Memory organisation (docs/ARCHITECTURE.md, "The neuron engine")
---------------------------------------------------------------

* **Histories**: one ``lib.memory.Memory`` per lane j, of G words of S*W bits (S =
  ``history_slots`` = (k-1)*d, or less for constant zero taps; slot s at ``[s*W, (s+1)*W)`` is the
  input s+1 steps ago); word g is the history of neuron ``g*L + j``. A beat reads its word once
  (synchronous read port, address = the beat counter, issued when the beat is accepted) and writes it
  back once, shifted by one step, when it leaves the first pipeline stage. Yosys infers block RAM
  (iCE40 SB_RAM40_4K, ECP5 DP16KD); one beat touches ``CoreSpec.history_word_width`` = L*S*W bits.
* **Weights**: runtime weights live in memories loaded through the configuration port (same register
  map as the parallel core), constant weights in initialised ROMs, read in the same cycle as the
  history (:class:`WeightStore`). How lanes find their channel's weights depends on L and C:

  - ``C`` divides ``L`` ("fixed"): lane j always serves channel ``j mod C``: constant weights are
    wiring (as in the parallel core), runtime weights the parallel core's register file;
  - ``L`` divides ``C`` ("wide"): a beat's lanes serve L consecutive channels ``c0 .. c0+L-1`` with
    ``c0`` a multiple of L: L banks of C/L rows, lane j reads bank j (channels ``j mod L``);
  - otherwise ("ports"): lane j serves channel ``(g*L + j) mod C``: one bank of C rows with a read
    port per distinct ``j mod C`` (min(L, C) ports; Yosys gives each its copy of the memory).

``first`` without clearing memory: a beat with ``first`` (and every beat of the first time step after
``rst``, flag ``fresh``) masks the history it reads to zero (the taps of delay >= 1 read 0) and writes
back a history holding only its own input. Nothing is ever cleared.

Read-during-write hazards: the history word of beat g is read at the edge that accepts beat g
(reads and writes happen only at advancing edges, where the pipeline moves). With G = 2 it is
written at the next advancing edge, when beat g leaves stage 1; at that edge the read port samples
the beat counter, which already holds g+1 mod G. With G >= 3 the new word is registered first and
written one advancing edge later (``late_write``: no block RAM output drives a block RAM input
in one cycle), when the read port samples g+2 mod G. Either way the addresses read and written at
one edge differ (G >= 2, resp. G >= 3), and a word's write has landed before its next read, which
needs the beat counter to go round (G advancing edges after the read). ``rst`` clears the valid
flags, so a pending write is dropped; the first time step after ``rst`` reads empty histories anyway. The memories carry Yosys' ``no_rw_check`` attribute (no collision logic is
generated), which this argument justifies; the weight memories are only written while no beat is in
flight (the configuration rule of the contract).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from shiftpsn.base.ports import output_fields, payload_width
from shiftpsn.base.spec import CoreSpec, pack_fields

from .adder_tree import PipelinedAdderTree, split_pipeline
from .barrel_shift import barrel_shift_left
from .config import RuntimeWeights, config_signature
from .layouts import input_layout, output_layout, tap_word_layout

__all__ = ["NeuronDatapath", "WeightStore", "ShiftPSNEngine", "weight_mode"]

#: Yosys attribute: reads and writes of this memory never collide (see the module docstring).
_NO_RW_CHECK = {"no_rw_check": 1}


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


class NeuronDatapath(wiring.Component):
    """One lane's arithmetic: a term per tap, a balanced adder tree, a comparator (Eq. 17-18)::

        acc   = sum_i sign[i] * (taps[i] << (shift[i] - exp_min))
        spike = acc >= threshold

    The same operands as the parallel core's :class:`~shiftpsn.hdl.lane.ChannelLane`, without a delay
    line: the engine feeds the taps from its history memory. ``acc`` and ``spike`` are combinational
    after ``spec.pipeline`` register stages (loading on ``advance``): in the adder tree, and at the
    most one more between the sign/zero select and the shifter
    (:func:`~shiftpsn.hdl.adder_tree.split_pipeline`). Weights given as inputs may change every beat:
    tap weights are used before the first stage (the shift amount or integer weight registered beside
    the operand cut), and the threshold is delayed through ``spec.pipeline`` registers beside them.

    Parameters
    ----------
    spec : CoreSpec
        Sizes, arithmetic and pipeline depth (and the weights, for a constant lane).
    channel : int or None
        The channel whose constant weights are baked in, or None for weights given as inputs
        (runtime weights, or constant weights read from a ROM).

    Members
    -------
    taps : In(ArrayLayout(signed(input_width), k))
        ``taps[i]`` = the input ``(k-1-i)*d`` steps ago, as stored (whatever came before).
    empty : In(1)
        The history is empty (the beat's first time step): the taps of delay >= 1 count as 0. Applied
        to the zero flag of a tap word where there is one, so no logic follows the history data.
    advance : In(1)
        The pipeline moves one stage.
    tap : In(ArrayLayout(tap_word_layout(spec), k))
        ``channel=None``, ``arith = "shift"``: tap words (amount, neg, zero).
    weight : In(ArrayLayout(signed(mac_weight_width), k))
        ``channel=None``, ``arith = "mac"``: integer weights.
    threshold : In(signed(threshold_width))
        ``channel=None``: the threshold.
    acc : Out(signed(acc_width))
        The accumulator.
    spike : Out(1)
        ``acc >= threshold``.
    """

    def __init__(self, *, spec: CoreSpec, channel: int | None):
        if not isinstance(spec, CoreSpec):
            raise TypeError(f"spec must be a CoreSpec, not {type(spec).__name__}")
        if channel is not None and not 0 <= channel < spec.channels:
            raise ValueError(f"channel {channel} out of range for {spec.channels} channels")
        self._spec, self._channel = spec, channel
        self.register_bits = None  # adder-tree flip-flops, counted when elaborated
        k = spec.order
        members = {"taps": In(data.ArrayLayout(signed(spec.input_width), k)), "empty": In(1),
                   "advance": In(1)}
        if channel is None:
            if spec.arith == "mac":
                members["weight"] = In(data.ArrayLayout(signed(spec.mac_weight_width), k))
            else:
                members["tap"] = In(data.ArrayLayout(tap_word_layout(spec), k))
            members["threshold"] = In(signed(spec.threshold_width))
        members["acc"] = Out(signed(spec.acc_width))
        members["spike"] = Out(1)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        s = self._spec
        levels = ceil_log2(s.order)
        operand_cut, cuts = split_pipeline(levels, s.pipeline)
        tree = PipelinedAdderTree(m, levels=levels, cuts=cuts, enable=self.advance)
        self._cut = tree if operand_cut else None
        operands = [op for i in range(s.order) if (op := self._operand(m, i, self.taps[i])) is not None]
        total, negative = tree.build(operands)
        self.register_bits = tree.register_bits
        m.d.comb += self.acc.eq(-total if negative else total)  # exact: acc never exceeds acc_width
        if self._channel is None:
            # the threshold changes from beat to beat: it travels beside the tree's register stages
            threshold = self.threshold
            for q in range(s.pipeline):
                delayed = Signal(signed(s.threshold_width), name=f"threshold_p{q}")
                with m.If(self.advance):
                    m.d.sync += delayed.eq(threshold)
                threshold = delayed
                self.register_bits += s.threshold_width
        else:
            threshold = s.threshold_hw(self._channel)
        m.d.comb += self.spike.eq(self.acc >= threshold)
        return m

    def _operand(self, m: Module, i: int, x: Value) -> tuple[Value, bool] | None:
        """As the parallel lane's, but the weights change from beat to beat: with the operand cut,
        the shift amount (or the integer weight) is registered beside the value."""
        s = self._spec
        cut = self._cut.register if self._cut is not None else (lambda value, name: value)
        history = s.tap_delays[i] > 0  # reads as 0 while ``empty``
        if self._channel is None and s.arith == "mac":
            x = Mux(self.empty, 0, x) if history else x
            return cut(x, f"op{i}") * cut(Value.cast(self.weight[i]), f"weight{i}_op"), False
        if self._channel is None:
            word = self.tap[i]
            zero = word.zero | self.empty if history else word.zero
            signed_x = cut(Mux(zero, 0, Mux(word.neg, -x, x)), f"op{i}")
            amount = cut(Value.cast(word.amount), f"amount{i}_op")
            return barrel_shift_left(m, signed_x, amount, s.shift_range, name=f"term{i}"), False
        amount = s.shift_amount(self._channel, i)
        if amount is None:
            return None
        x = cut(Mux(self.empty, 0, x) if history else x, f"op{i}")
        if s.arith == "mac":
            return x * Const(s.int_weight(self._channel, i), signed(s.mac_weight_width)), False
        return x << amount, s.sign[self._channel][i] < 0


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
        if not isinstance(spec, CoreSpec):
            raise TypeError(f"spec must be a CoreSpec, not {type(spec).__name__}")
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
                                                         attrs=_NO_RW_CHECK)
            thr_mem = m.submodules[f"thresholds{b}"] = Memory(shape=H, depth=self.rows, init=thr_init,
                                                               attrs=_NO_RW_CHECK)
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


class ShiftPSNEngine(wiring.Component):
    """Time-multiplexed shift-add PSN layer: ``lanes`` neuron-steps per cycle for lanes < P*C.

    Computes exactly what :class:`~shiftpsn.hdl.core.ShiftPSNCore` computes (docs/CONTRACT.md
    sections 2 and 2.1) for N = P*C neurons, L = ``spec.lanes`` at a time: a time step is
    G = N / L beats; beat g carries neurons ``g*L .. g*L + L-1`` (shiftpsn.base.ports). Histories and
    weights live in memory (the organisation and the hazard argument are in the module docstring).

    Pipeline: the beat counter addresses the history (and weight) memories when a beat is accepted;
    stage 1 holds the beat while the memories' read data arrive (and writes the history back when a
    step has 2 beats); stage 2 registers the read data as they come (block RAM clock-to-out leaves
    no room for logic), writes the history back (``late_write``) and feeds L :class:`NeuronDatapath`
    lanes (``spec.pipeline`` register stages in their datapaths). On ``first`` or in the first step
    after reset the history reads as empty: the word written back is masked, and the lanes' ``empty``
    makes their history taps count as 0. The output register holds one beat. Everything advances
    when the output register is empty or being read
    (``i.ready = ~o.valid | o.ready``): one beat per cycle while ``o.ready`` is high, nothing lost,
    duplicated or reordered under back-pressure. Latency ``spec.pipeline + 3`` cycles; a time step
    takes ``beats_per_step`` cycles. ``rst`` (synchronous) clears the valid flags and the beat
    counter, and makes the next time step read empty histories; it clears no memory and no weight.

    Parameters
    ----------
    spec : CoreSpec
        A spec with ``lanes`` < ``positions * channels`` (the parallel core serves lanes = P*C), and
        the weights (baked in for ``weights = "constant"``, the power-up contents otherwise).

    Members
    -------
    i : In(stream.Signature(input_layout(spec)))
        Input beats. ``payload.x``: ArrayLayout(signed(input_width), lanes), the inputs of neurons
        ``g*lanes + j``; ``payload.first``: set on every beat of a sequence's first time step.
    o : Out(stream.Signature(output_layout(spec)))
        Output beats in input order. ``payload.spikes``: unsigned(lanes), bit j = lane j;
        ``payload.first``: copied from the input beat; ``payload.acc`` (only when ``spec.emit_acc``):
        ArrayLayout(signed(acc_width), lanes).
    cfg : In(config_signature(spec))
        Only for ``weights = "runtime"``: ``addr``, ``data``, ``we``; the register map of the parallel
        core (tap ``c*k + i``, threshold ``C*k + c``). Write only while no beat is in flight.
    """

    def __init__(self, *, spec: CoreSpec):
        if not isinstance(spec, CoreSpec):
            self._MustUse__silence = True
            raise TypeError(f"spec must be a CoreSpec, not {type(spec).__name__}")
        if spec.parallel:
            self._MustUse__silence = True
            raise ValueError(f"the engine serves lanes < positions * channels; lanes = {spec.lanes} is the "
                             "parallel core (ShiftPSNCore)")
        self._spec = spec
        self._datapaths = None  # the NeuronDatapaths of the last elaboration
        members = {
            "i": In(stream.Signature(input_layout(spec))),
            "o": Out(stream.Signature(output_layout(spec))),
        }
        if spec.weights == "runtime":
            members["cfg"] = In(config_signature(spec))
        super().__init__(members)

    @property
    def spec(self) -> CoreSpec:
        return self._spec

    @property
    def latency(self) -> int:
        """Cycles from an input handshake to its output beat being valid (o.ready held high)."""
        return self._spec.pipeline + 3

    @property
    def cycles_per_step(self) -> int:
        """Cycles per time step in steady state without back-pressure: beats_per_step."""
        return self._spec.cycles_per_step

    @property
    def storage_bits(self) -> int:
        """History memory bits (``CoreSpec.history_bits``)."""
        return self._spec.history_bits

    @property
    def weight_mode(self) -> str:
        return weight_mode(self._spec)

    @property
    def late_write(self) -> bool:
        """Whether the history write-back is registered (from stage 2) rather than written from
        stage 1: when a step has at least 3 beats (see the module docstring on hazards)."""
        return self._spec.beats_per_step >= 3 and self._spec.history_slots > 0

    @property
    def registers(self) -> dict[str, int]:
        """Flip-flops by role, as documented (memories and their read registers excluded):
        counters (beat counter, channel base or row counter, ``fresh``),
        stage1 (valid, first, history-first, beat address, the L inputs), stage2 (valid, first,
        history-first, the taps, the memory weights), config (runtime "fixed" register file),
        pipeline (adder trees and valid/first stages), output (payload), handshake (o.valid), total.
        Adder-tree registers are counted when the engine is elaborated."""
        s = self._spec
        if self._datapaths is None or any(d.register_bits is None for d in self._datapaths):
            raise RuntimeError("registers are counted during elaboration; elaborate the engine first")
        mode = weight_mode(s)
        counter = s.beat_addr_width + 1
        if mode == "wide":
            counter += max(1, ceil_log2(s.channels // s.lanes))
        elif mode == "ports":
            counter += s.channel_addr_width
        S = s.history_slots
        if self.late_write:  # the registered new words, then the oldest taps they do not hold
            stage2 = 2 + s.beat_addr_width + s.lanes * S * s.input_width + s.input_width * sum(
                1 for j in range(s.lanes) for i, delay in enumerate(s.tap_delays) if delay == S and self._tap_used(j, i))
        else:
            stage2 = 2 + s.input_width * sum(1 for j in range(s.lanes) for i, delay in enumerate(s.tap_delays)
                                             if delay <= S and self._tap_used(j, i))
        if mode != "fixed":  # one register per weight read port
            ports = s.lanes if mode == "wide" else min(s.lanes, s.channels)
            stage2 += ports * (s.order * s.weight_tap_width + s.threshold_width)
        stage2 += 1 if self._history_read else 0  # the history-empty flag
        regs = {
            "counters": counter,
            "stage1": 3 + s.beat_addr_width + s.lanes * s.input_width,
            "stage2": stage2,
            "config": RuntimeWeights.register_bits_of(s) if mode == "fixed" and s.weights == "runtime" else 0,
            "pipeline": sum(d.register_bits for d in self._datapaths) + 2 * s.pipeline,
            "output": payload_width(output_fields(s)),  # the output register holds one payload
            "handshake": 1,
        }
        regs["total"] = sum(regs.values())
        return regs

    def elaborate(self, platform):
        m = Module()
        s = self._spec
        L, G, C, W, S = s.lanes, s.beats_per_step, s.channels, s.input_width, s.history_slots
        mode = weight_mode(s)

        advance, accepted = Signal(), Signal()
        m.d.comb += [advance.eq(~self.o.valid | self.o.ready), self.i.ready.eq(advance),
                     accepted.eq(self.i.valid & advance)]

        # ---- counters: which beat of the time step the next accepted beat is
        beat = Signal(range(G), name="beat")
        last = Signal(name="last_beat")
        m.d.comb += last.eq(beat == G - 1)
        with m.If(accepted):
            m.d.sync += beat.eq(Mux(last, 0, beat + 1))
        fresh = Signal(init=1, name="fresh")  # no whole time step accepted since reset
        with m.If(accepted):  # `last` in the data, not the enable: the enable is the handshake alone
            m.d.sync += fresh.eq(fresh & ~last)

        # ---- weights: per lane (tap words or integer weights, threshold), aligned with stage 1
        lane_weights = self._weights(m, accepted, last, advance, mode)

        # ---- stage 1: the accepted beat, while the memories' read data arrive
        valid1 = Signal(name="valid_s1")
        first1 = Signal(name="first_s1")
        hfirst1 = Signal(name="hist_first_s1")  # the history reads as empty
        beat1 = Signal(range(G), name="beat_s1")
        x1 = Signal(data.ArrayLayout(signed(W), L), name="x_s1")
        with m.If(advance):
            m.d.sync += [valid1.eq(self.i.valid), first1.eq(self.i.payload.first),
                         hfirst1.eq(self.i.payload.first | fresh), beat1.eq(beat), x1.eq(self.i.payload.x)]

        # ---- histories: one memory per lane, word g = the history of neuron g*L + j. The word is
        # written back from stage 1, or (late_write, G >= 3) from a register in stage 2, so that no
        # block RAM output drives a block RAM input in one cycle. The read data go to registers
        # unmasked (block RAM clock-to-out leaves no room for logic); the mask on first / fresh is
        # applied to the word written back and, through the datapaths' ``empty``, to the taps
        olds, new_qs = [None] * L, [None] * L
        valid2, first2 = Signal(name="valid_s2"), Signal(name="first_s2")
        hfirst2 = Signal(name="hist_first_s2") if self._history_read else None
        if S and self.late_write:
            beat_w = Signal(range(G), name="hist_addr_s2")
            with m.If(advance):
                m.d.sync += beat_w.eq(beat1)
        for j in range(L if S else 0):
            history = m.submodules[f"history{j}"] = Memory(shape=S * W, depth=G, init=[], attrs=_NO_RW_CHECK)
            hist_rd, hist_wr = history.read_port(), history.write_port()
            olds[j] = Signal(S * W, name=f"history{j}_old")  # as read (not masked)
            m.d.comb += [hist_rd.addr.eq(beat), hist_rd.en.eq(advance), olds[j].eq(hist_rd.data)]
            if self.late_write:
                # the new word registered unmasked (x, then all but the oldest slot), masked when written
                new_qs[j] = new_q = Signal(S * W, name=f"history{j}_new_s2")
                with m.If(advance):
                    m.d.sync += new_q.eq(Cat(x1[j], olds[j][: (S - 1) * W]))
                written = Cat(new_q[:W], Mux(hfirst2, 0, new_q[W:])) if S > 1 else new_q
                m.d.comb += [hist_wr.addr.eq(beat_w), hist_wr.en.eq(valid2 & advance), hist_wr.data.eq(written)]
            else:
                new_word = Cat(x1[j], Mux(hfirst1, 0, olds[j])[: (S - 1) * W])
                m.d.comb += [hist_wr.addr.eq(beat1), hist_wr.en.eq(valid1 & advance), hist_wr.data.eq(new_word)]

        # ---- stage 2: the taps read from the history memory (and the memory weights) registered:
        # block RAM clock-to-out leaves little of a cycle, so nothing but wires follows it
        loads = [valid2.eq(valid1), first2.eq(first1)] + ([hfirst2.eq(hfirst1)] if hfirst2 is not None else [])
        taps2 = []
        for j in range(L):
            lane_taps = []
            for i, delay in enumerate(s.tap_delays):
                if delay > S or not self._tap_used(j, i):
                    lane_taps.append(Const(0, W))  # a zero tap (constant weights): not stored
                    continue
                if new_qs[j] is not None and delay < S:  # the registered new word holds it already
                    lane_taps.append(new_qs[j][delay * W: (delay + 1) * W].as_signed())
                    continue
                reg = Signal(signed(W), name=f"tap{j}_{i}_s2")
                loads.append(reg.eq(x1[j] if delay == 0 else olds[j][(delay - 1) * W: delay * W]))
                lane_taps.append(reg)
            taps2.append(lane_taps)
        weights2 = [None] * L
        registered = {}  # one register per weight read port (lanes may share a port)
        for j in range(L):
            if lane_weights[j] is None:
                continue
            taps_word, threshold = lane_weights[j]
            if mode == "fixed":  # registers that change only by configuration: nothing to align
                weights2[j] = (taps_word, threshold)
                continue
            key = id(taps_word)
            if key not in registered:
                q = len(registered)
                t2 = Signal(len(taps_word), name=f"weights{q}_s2")
                h2 = Signal(signed(s.threshold_width), name=f"threshold{q}_s2")
                loads += [t2.eq(taps_word), h2.eq(threshold)]
                registered[key] = (t2, h2)
            weights2[j] = registered[key]
        with m.If(advance):
            m.d.sync += loads

        # ---- L lanes
        self._datapaths = []
        accs, spikes = [], []
        for j in range(L):
            channel = j % C if (mode == "fixed" and s.weights == "constant") else None
            dp = m.submodules[f"lane{j}"] = NeuronDatapath(spec=s, channel=channel)
            self._datapaths.append(dp)
            m.d.comb += [dp.taps.eq(Cat(*taps2[j])), dp.advance.eq(advance)]
            if hfirst2 is not None:
                m.d.comb += dp.empty.eq(hfirst2)
            if channel is None:
                taps_word, threshold = weights2[j]
                m.d.comb += [(dp.weight if s.arith == "mac" else dp.tap).eq(taps_word), dp.threshold.eq(threshold)]
            accs.append(dp.acc)
            spikes.append(dp.spike)

        # ---- valid and first beside the adder-tree stages, then the output register
        valid, first = valid2, first2
        for q in range(s.pipeline):
            valid_q, first_q = Signal(name=f"valid_p{q}"), Signal(name=f"first_p{q}")
            with m.If(advance):
                m.d.sync += [valid_q.eq(valid), first_q.eq(first)]
            valid, first = valid_q, first_q
        with m.If(advance):
            m.d.sync += self.o.valid.eq(valid)
            with m.If(valid):
                m.d.sync += [self.o.payload.spikes.eq(Cat(spikes)), self.o.payload.first.eq(first)]
                if s.emit_acc:
                    m.d.sync += self.o.payload.acc.eq(Cat(accs))
        return m

    @property
    def _history_read(self) -> bool:
        """Whether some lane uses a tap read from the history memory (delay 1 .. history_slots):
        then the history-empty flag travels into stage 2."""
        s = self._spec
        return any(1 <= delay <= s.history_slots and self._tap_used(j, i)
                   for j in range(s.lanes) for i, delay in enumerate(s.tap_delays))

    def _tap_used(self, lane: int, i: int) -> bool:
        """Whether lane ``lane``'s tap i can be nonzero: always, except a constant zero tap of a lane
        with a fixed channel (its weight is wiring)."""
        s = self._spec
        if s.weights == "constant" and weight_mode(s) == "fixed":
            return s.shift[lane % s.channels][i] is not None
        return True

    def _weights(self, m: Module, accepted, last, advance, mode: str) -> list | None:
        """Per lane ``(taps, threshold)`` values valid in stage 1 (None entries for constant lanes)."""
        s = self._spec
        L, C = s.lanes, s.channels
        if mode == "fixed":
            if s.weights == "constant":
                return [None] * L
            m.submodules.weights = regs = RuntimeWeights(spec=s)
            wiring.connect(m, wiring.flipped(self.cfg), regs.cfg)
            taps = regs.weight if s.arith == "mac" else regs.tap
            return [(taps[j % C], regs.threshold[j % C]) for j in range(L)]

        m.submodules.weights = store = WeightStore(spec=s)
        if s.weights == "runtime":
            wiring.connect(m, wiring.flipped(self.cfg), store.cfg)
        m.d.comb += store.en.eq(advance)
        if mode == "wide":
            # lane j reads bank j at row (beat*L mod C) / L, the same row for all lanes
            rows = C // L
            row = Signal(range(rows), name="weight_row")
            with m.If(accepted):
                m.d.sync += row.eq(Mux(last | (row == rows - 1), 0, row + 1))
            m.d.comb += [store.addr[j].eq(row) for j in range(L)]
            return [(store.taps[j], store.thresholds[j]) for j in range(L)]
        # "ports": port q serves the lanes j with j mod C == q, channel (beat*L + q) mod C
        base = Signal(range(C), name="channel_base")  # (beat * L) mod C
        step = L % C
        nxt = base + step
        with m.If(accepted):
            m.d.sync += base.eq(Mux(last, 0, Mux(nxt >= C, nxt - C, nxt)))
        for q in range(store.ports):
            addr = base + q
            m.d.comb += store.addr[q].eq(Mux(addr >= C, addr - C, addr))
        per_port = [(store.taps[q], store.thresholds[q]) for q in range(store.ports)]
        return [per_port[j % C] for j in range(L)]
