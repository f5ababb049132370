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
* **Weights**: runtime weights in memories loaded through the configuration port (same register
  map as the parallel core), constant weights in initialised ROMs or wiring, read in the same cycle as
  the history: :mod:`shiftpsn.hdl.weight_store` (organisations "fixed", "wide", "ports").

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

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory

from shiftpsn.base.spec import CoreSpec

from .config import RuntimeWeights
from .datapath import NeuronDatapath
from .names import lane_entry, memory_entry
from .neuron_base import NeuronLayerComponent, refuse, require_psn
from .registers import RegisterRoles
from .weight_store import NO_RW_CHECK, WeightStore, weight_mode

__all__ = ["ShiftPSNEngine", "weight_mode"]


class ShiftPSNEngine(NeuronLayerComponent):
    """Time-multiplexed shift-add PSN layer: ``lanes`` neuron-steps per cycle for lanes < P*C.

    Computes exactly what :class:`~shiftpsn.hdl.core.ShiftPSNCore` computes (docs/CONTRACT.md
    sections 2 and 2.1) for N = P*C neurons, L = ``spec.lanes`` at a time: a time step is
    G = N / L beats; beat g carries neurons ``g*L .. g*L + L-1`` (shiftpsn.base.ports). Histories and
    weights live in memory (the organisation and the hazard argument are in the module docstring).

    Pipeline: the beat counter addresses the history (and weight) memories when a beat is accepted;
    stage 1 holds the beat while the memories' read data arrive (and writes the history back when a
    step has 2 beats); stage 2 registers the read data as they come (block RAM clock-to-out leaves
    no room for logic), writes the history back (``late_write``) and feeds L :class:`~shiftpsn.hdl.datapath.NeuronDatapath`
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
        require_psn(self, spec)
        if spec.parallel:
            refuse(self, ValueError(f"the engine serves lanes < positions * channels; lanes = {spec.lanes} is "
                                    "the parallel core (ShiftPSNCore)"))
        self._registers = None  # flip-flops by role, counted when elaborated
        super().__init__(spec)

    design_kind = "engine"

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
        """Flip-flops by role (memories and their read registers excluded), as the elaboration built
        them: counters (beat counter, channel base or row counter, ``fresh``), stage1 (valid, first,
        history-first, beat address, the L inputs), stage2 (valid, first, history-first, the taps, the
        registered new history words, the memory weights), config (runtime "fixed" register file, the
        bits the datapaths read), pipeline (the datapaths' and the valid/first stages), output
        (payload), handshake (o.valid), total."""
        own, datapaths = self._registers or (None, None)
        if own is None or any(dp.register_bits is None for dp in datapaths):
            raise RuntimeError("registers are counted during elaboration; elaborate the engine first")
        regs = dict(own, pipeline=own["pipeline"] + sum(dp.register_bits for dp in datapaths))
        regs["total"] = sum(regs.values())
        return regs

    def names(self) -> dict:
        """The name map (:mod:`shiftpsn.hdl.names`): the history memories, the weight memories or
        registers, and the lanes."""
        s = self._spec
        hist = [memory_entry(f"history{j}", "history", depth=s.beats_per_step,
                             width=s.history_slots * s.input_width, index=j)
                for j in range(s.lanes if s.history_slots else 0)]
        own = {"memories": hist, "registers": [],
               "lanes": [lane_entry(f"lane{j}", index=j) for j in range(s.lanes)]}
        weights = None
        if weight_mode(s) != "fixed":
            store = WeightStore(spec=s)
            store._MustUse__silence = True  # built only for its names
            weights = store.names()
        elif s.weights == "runtime":
            weights = RuntimeWeights.names_of(s)
        return self._names_with_weights(own, weights)

    def elaborate(self, platform):
        s = self._spec
        L, G, W, S = s.lanes, s.beats_per_step, s.input_width, s.history_slots
        mode = weight_mode(s)
        m, reg = Module(), RegisterRoles()

        advance, accepted = Signal(), Signal()
        m.d.comb += [advance.eq(~self.o.valid | self.o.ready), self.i.ready.eq(advance),
                     accepted.eq(self.i.valid & advance)]

        # ---- counters: which beat of the time step the next accepted beat is
        beat = reg("counters", Signal(range(G), name="beat"))
        last = Signal(name="last_beat")
        m.d.comb += last.eq(beat == G - 1)
        with m.If(accepted):
            m.d.sync += beat.eq(Mux(last, 0, beat + 1))
        fresh = reg("counters", Signal(init=1, name="fresh"))  # no whole time step accepted since reset
        with m.If(accepted):  # `last` in the data, not the enable: the enable is the handshake alone
            m.d.sync += fresh.eq(fresh & ~last)

        # ---- weights: per lane (tap words or integer weights, threshold), aligned with stage 1
        lane_weights = self._weights(m, accepted, last, advance, mode, reg)

        # ---- stage 1: the accepted beat, while the memories' read data arrive
        valid1 = reg("stage1", Signal(name="valid_s1"))
        first1 = reg("stage1", Signal(name="first_s1"))
        hfirst1 = reg("stage1", Signal(name="hist_first_s1"))  # the history reads as empty
        beat1 = reg("stage1", Signal(range(G), name="beat_s1"))
        x1 = reg("stage1", Signal(data.ArrayLayout(signed(W), L), name="x_s1"))
        with m.If(advance):
            m.d.sync += [valid1.eq(self.i.valid), first1.eq(self.i.payload.first),
                         hfirst1.eq(self.i.payload.first | fresh), beat1.eq(beat), x1.eq(self.i.payload.x)]

        # ---- histories: one memory per lane, word g = the history of neuron g*L + j. The word is
        # written back from stage 1, or (late_write, G >= 3) from a register in stage 2, so that no
        # block RAM output drives a block RAM input in one cycle. The read data go to registers
        # unmasked (block RAM clock-to-out leaves no room for logic); the mask on first / fresh is
        # applied to the word written back and, through the datapaths' ``empty``, to the taps
        olds, new_qs = [None] * L, [None] * L
        valid2, first2 = reg("stage2", Signal(name="valid_s2")), reg("stage2", Signal(name="first_s2"))
        hfirst2 = reg("stage2", Signal(name="hist_first_s2")) if self._history_read else None
        if S and self.late_write:
            beat_w = reg("stage2", Signal(range(G), name="hist_addr_s2"))
            with m.If(advance):
                m.d.sync += beat_w.eq(beat1)
        for j in range(L if S else 0):
            history = m.submodules[f"history{j}"] = Memory(shape=S * W, depth=G, init=[], attrs=NO_RW_CHECK)
            hist_rd, hist_wr = history.read_port(), history.write_port()
            olds[j] = Signal(S * W, name=f"history{j}_old")  # as read (not masked)
            m.d.comb += [hist_rd.addr.eq(beat), hist_rd.en.eq(advance), olds[j].eq(hist_rd.data)]
            if self.late_write:
                # the new word registered unmasked (x, then all but the oldest slot), masked when written
                new_qs[j] = new_q = reg("stage2", Signal(S * W, name=f"history{j}_new_s2"))
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
                tap = reg("stage2", Signal(signed(W), name=f"tap{j}_{i}_s2"))
                loads.append(tap.eq(x1[j] if delay == 0 else olds[j][(delay - 1) * W: delay * W]))
                lane_taps.append(tap)
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
                t2 = reg("stage2", Signal(len(taps_word), name=f"weights{q}_s2"))
                h2 = reg("stage2", Signal(signed(s.threshold_width), name=f"threshold{q}_s2"))
                loads += [t2.eq(taps_word), h2.eq(threshold)]
                registered[key] = (t2, h2)
            weights2[j] = registered[key]
        with m.If(advance):
            m.d.sync += loads

        # ---- L lanes
        datapaths, accs, spikes = [], [], []
        for j in range(L):
            channel = j % s.channels if (mode == "fixed" and s.weights == "constant") else None
            dp = m.submodules[f"lane{j}"] = NeuronDatapath(spec=s, channel=channel, per_beat=True)
            datapaths.append(dp)
            m.d.comb += [dp.taps.eq(Cat(*taps2[j])), dp.advance.eq(advance)]
            if hfirst2 is not None:
                m.d.comb += dp.empty.eq(hfirst2)
            if channel is None:
                taps_word, threshold = weights2[j]
                m.d.comb += [(dp.weight if s.arith == "mac" else dp.tap).eq(taps_word), dp.threshold.eq(threshold)]
            accs.append(dp.acc)
            spikes.append(dp.spike)

        # ---- valid and first beside the datapaths' stages, then the output register
        self._finish(m, reg, advance, valid2, first2, spikes, accs, stage="p")

        own = reg.count(m, ("counters", "stage1", "stage2", "config", "pipeline", "output", "handshake"))
        if mode == "fixed" and s.weights == "runtime":
            own["config"] = RuntimeWeights.register_bits_of(s)  # the bits the datapaths read
        self._registers = own, datapaths
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

    def _weights(self, m: Module, accepted, last, advance, mode: str, reg: RegisterRoles) -> list:
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
            row = reg("counters", Signal(range(rows), name="weight_row"))
            with m.If(accepted):
                m.d.sync += row.eq(Mux(last | (row == rows - 1), 0, row + 1))
            m.d.comb += [store.addr[j].eq(row) for j in range(L)]
            return [(store.taps[j], store.thresholds[j]) for j in range(L)]
        # "ports": port q serves the lanes j with j mod C == q, channel (beat*L + q) mod C
        base = reg("counters", Signal(range(C), name="channel_base"))  # (beat * L) mod C
        step = L % C
        nxt = base + step
        with m.If(accepted):
            m.d.sync += base.eq(Mux(last, 0, Mux(nxt >= C, nxt - C, nxt)))
        for q in range(store.ports):
            addr = base + q
            m.d.comb += store.addr[q].eq(Mux(addr >= C, addr - C, addr))
        per_port = [(store.taps[q], store.thresholds[q]) for q in range(store.ports)]
        return [per_port[j % C] for j in range(L)]
