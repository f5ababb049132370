"""The dense synapse engine: one dense layer of a network, time-multiplexed, without multipliers.

A dense layer (docs/CONTRACT.md section 5) computes, for every time step t::

    Y[t][o] = bias[o] + sum_i weight[o][i] * X[t][i]

Organisation (docs/ARCHITECTURE.md, "The network")
--------------------------------------------------

* **Lanes and groups.** ``lanes`` L accumulators compute L outputs at a time: the O outputs form
  G = O / L groups, group g holding outputs ``g*L .. g*L + L-1``. A group is computed by walking over
  the inputs, one input per clock cycle, all L accumulators adding that input's weights at once.
* **Weights** live in one ROM (``amaranth.lib.memory.Memory`` initialised from the network, one read
  port; Yosys maps it to block RAM when it is large enough, to LUTs otherwise): word ``g*I + i``
  holds the L weights ``weight[g*L + j][i]`` (lane j at bits ``[j*Ww, (j+1)*Ww)``, Ww the layer's
  signed weight width). The biases are a second ROM of G words of L biases.
* **Event-driven skipping.** Inputs that contribute nothing cost no cycle: the engine keeps a mask of
  the inputs still to visit and each cycle takes its lowest set bit (a priority encoder, a tree of
  ceil(log2 I) levels). After a neuron layer the inputs are 0/1 spikes: the mask is the spike vector
  and **each spike selects an
  addition** of its weight column; a silent input costs nothing.
* **The first layer** takes the signed integer network inputs (``input_width`` W bits). With
  ``arith = "shift"`` it is **bit-serial** (no multiplier): the inputs are processed as W bit planes,
  most significant first, by Horner's rule: at the start of plane p the accumulators double (a shift,
  wiring), then every input whose bit p is set adds its weight, except in the sign plane p = W-1,
  where it subtracts it (two's complement: x = -2^(W-1) x_{W-1} + sum_{p<W-1} 2^p x_p). Every plane
  is a spike layer of its own, with the same skipping of zero bits. Exact for any integer weights
  (no power-of-two restriction on the first layer). With ``arith = "mac"`` (the baseline) it visits
  the nonzero inputs and adds ``weight * x`` from a real multiplier.
* After the last input (plane) of a group one more cycle adds the biases; that result leaves as one
  output beat of the L values of the group, ``first``/``last`` copied from the time step.

Cycles per time step (one cycle per issued operation, data-dependent; the bounds are exact)::

    G * (1 + sum over the P planes of max(1, set bits of the plane))     P = W (bit-serial) or 1
    min = G * (P + 1)  (all inputs zero)     max = G * (P * I + 1)  (all bits set)

The accumulators never overflow: their width holds the exact bound of every partial sum of the layer
(``|bias| + sum_i |weight[o][i]| * max|x|``, which also bounds Horner's intermediate values).

Pipeline: stage 0 (the sequencer) issues one operation per cycle and addresses the ROMs; stage 1 adds
the read weights into the accumulators; the group's last operation writes the output register. A new
time step is taken in (from ``I / in_lanes`` input beats, the last of them handed straight to the
sequencer) while the previous one's last operation issues, so consecutive steps leave no gap.
Everything stalls while that output register is full and not read (full back-pressure).
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from shiftpsn.base.network import DenseLayer, signed_width
from shiftpsn.base.spec import pack_fields

from .names import memory_entry

__all__ = ["DenseEngine", "step_layout", "spike_shape", "store_slot"]

#: Element shape of a spike (0/1) input.
spike_shape = unsigned(1)

# operation kinds of stage 1
_NONE, _WEIGHT, _BIAS = 0, 1, 2


def step_layout(shape, lanes: int) -> data.StructLayout:
    """A beat of ``lanes`` values of one time step: ``x`` (ArrayLayout(shape, lanes), value j at bits
    ``[j*width, (j+1)*width)``), then ``first`` (the step starts a sequence) and ``last`` (it ends one).
    Every beat of a time step carries that step's ``first`` and ``last``."""
    return data.StructLayout({"x": data.ArrayLayout(shape, lanes), "first": 1, "last": 1})


def neuron_stage_members(input_width: int, lanes: int) -> dict:
    """The streams of a neuron layer's network stage (psn or lif): ``lanes`` signed inputs of one time
    step in, their spikes out, each beat with ``first`` and ``last``."""
    return {"i": In(stream.Signature(step_layout(signed(input_width), lanes))),
            "o": Out(stream.Signature(step_layout(spike_shape, lanes)))}


def store_slot(m: Module, register: Signal, slot: Value, value: Value) -> None:
    """Load ``value`` into slot ``slot`` of ``register`` (slots of ``len(value)`` bits, LSB first) on
    the clock edge; a slot number beyond the register loads nothing."""
    w = len(Value.cast(value))
    with m.Switch(slot):
        for q in range(len(register) // w):
            with m.Case(q):
                m.d.sync += register[q * w:(q + 1) * w].eq(value)


def _lowest_set_bit(mask: Value, n: int) -> tuple[Value, Value]:
    """``(any, index)`` of the lowest set bit of ``mask[:n]`` (some index < n when none): a balanced tree of
    ceil(log2 n) levels, each choosing the lower half when it has a set bit."""
    if n == 1:
        return mask[0], Const(0, 1)
    half = 1 << ((n - 1).bit_length() - 1)  # the largest power of two below n
    any_lo, idx_lo = _lowest_set_bit(mask[:half], half)
    any_hi, idx_hi = _lowest_set_bit(mask[half:], n - half)
    width = (n - 1).bit_length()
    return any_lo | any_hi, Mux(any_lo, idx_lo.as_unsigned(), idx_hi.as_unsigned() + half)[:width]


class DenseEngine(wiring.Component):
    """One dense layer, ``lanes`` outputs at a time, one input (bit plane) per cycle, no multiplier
    except the first layer's in the ``arith = "mac"`` baseline (module docstring).

    Parameters
    ----------
    layer : DenseLayer
        Weights and biases (baked into the ROMs).
    input_width : int or None
        Bits of the signed integer inputs (the network's first layer), or None for 0/1 spike inputs.
    out_width : int
        Bits of the signed outputs; must hold the layer's exact output range for every legal input.
    in_lanes : int, optional
        Inputs per input beat (dividing I); default I (one beat per time step).
    lanes : int, optional
        Outputs computed at once and carried per output beat (dividing O); default ``layer.lanes``.
    arith : str
        ``"shift"`` (default: bit-serial integer inputs) or ``"mac"`` (a multiplier for integer inputs).
        Spike inputs are added the same way in both.

    Members
    -------
    i : In(stream.Signature(step_layout(signed(input_width) or unsigned(1), in_lanes)))
        Input beats: ``I / in_lanes`` per time step, beat b carrying inputs ``b*in_lanes + j``.
    o : Out(stream.Signature(step_layout(signed(out_width), lanes)))
        Output beats: ``O / lanes`` per time step, beat g carrying outputs ``g*lanes + j``, in order.
    """

    def __init__(self, *, layer: DenseLayer, input_width: int | None, out_width: int,
                 in_lanes: int | None = None, lanes: int | None = None, arith: str = "shift"):
        def fail(exc):
            self._MustUse__silence = True  # a component that failed to construct is not "unused"
            raise exc

        if getattr(layer, "type_name", None) != "dense":  # the layer protocol's dense type
            fail(TypeError(f"layer must be a DenseLayer, not {type(layer).__name__}"))
        I, O = layer.in_features, layer.out_features
        in_lanes = I if in_lanes is None else in_lanes
        lanes = layer.lanes if lanes is None else lanes
        for name, v, n in (("in_lanes", in_lanes, I), ("lanes", lanes, O)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1 or n % v:
                fail(ValueError(f"{name} must be an integer >= 1 dividing {n}, got {v!r}"))
        if input_width is not None and (not isinstance(input_width, int) or input_width < 2):
            fail(ValueError(f"input_width must be None (spikes) or an integer >= 2, got {input_width!r}"))
        if arith not in ("shift", "mac"):
            fail(ValueError(f"arith must be 'shift' or 'mac', got {arith!r}"))
        if input_width is None:
            xmin, xmax = 0, 1
        else:
            xmin, xmax = -(1 << (input_width - 1)), (1 << (input_width - 1)) - 1
        lo, hi, partial = layer.output_range(xmin, xmax)
        need = signed_width(min(lo), max(hi))
        if not isinstance(out_width, int) or out_width < need:
            fail(ValueError(f"out_width {out_width!r} cannot hold the outputs' range [{min(lo)}, {max(hi)}]: "
                            f"it needs at least {need} bits"))
        self._layer, self._input_width, self._out_width = layer, input_width, out_width
        self._in_lanes, self._lanes, self._arith = in_lanes, lanes, arith
        w = layer.weight
        self.weight_width = signed_width(min(int(w.min()), 0), max(int(w.max()), 0))
        self.bias_width = signed_width(min(int(layer.bias.min()), 0), max(int(layer.bias.max()), 0))
        self.acc_width = max(signed_width(-max(partial), max(partial)), out_width)
        self._x_shape = x_shape = spike_shape if input_width is None else signed(input_width)
        super().__init__({
            "i": In(stream.Signature(step_layout(x_shape, in_lanes))),
            "o": Out(stream.Signature(step_layout(signed(out_width), lanes))),
        })

    # ----------------------------------------------------------------- derived numbers
    @property
    def layer(self) -> DenseLayer:
        return self._layer

    @property
    def lanes(self) -> int:
        return self._lanes

    @property
    def in_lanes(self) -> int:
        return self._in_lanes

    @property
    def out_width(self) -> int:
        return self._out_width

    @property
    def groups(self) -> int:
        """G = O / lanes: output beats (and output groups computed one after another) per time step."""
        return self._layer.out_features // self._lanes

    @property
    def bit_serial(self) -> bool:
        """Integer inputs processed as bit planes (``arith = "shift"`` first layer)."""
        return self._input_width is not None and self._arith == "shift"

    @property
    def multiplies(self) -> bool:
        """Integer inputs multiplied (the ``arith = "mac"`` first layer)."""
        return self._input_width is not None and self._arith == "mac"

    @property
    def planes(self) -> int:
        """P: passes over the inputs per group (W bit planes, or 1)."""
        return self._input_width if self.bit_serial else 1

    @property
    def cycles_per_step(self) -> tuple[int, int]:
        """(fewest, most) clock cycles per time step (module docstring), without back-pressure."""
        G, P, I = self.groups, self.planes, self._layer.in_features
        return G * (P + 1), G * (P * I + 1)

    def cycles_for(self, x) -> int:
        """Clock cycles the engine spends on one time step of inputs ``x`` (I ints)."""
        P = self.planes
        if self.bit_serial:
            W = self._input_width
            planes = [sum((int(v) >> p) & 1 for v in x) for p in range(W)]
        else:
            planes = [sum(1 for v in x if int(v) != 0)]
        return self.groups * (1 + sum(max(1, n) for n in planes[:P]))

    @property
    def rom_bits(self) -> int:
        """Bits of the weight ROM (G*I words of lanes*weight_width) and the bias ROM (G words)."""
        I = self._layer.in_features
        return self.groups * I * self._lanes * self.weight_width + self.groups * self._lanes * self.bias_width

    # ----------------------------------------------------------------- the stage interface (shiftpsn.hdl.stages)
    kind = "dense"
    monitored = False

    @property
    def step_cycles(self) -> tuple[int, int]:
        return self.cycles_per_step

    @property
    def latency_bound(self) -> int:
        """A whole step's operations, then stage 1 and the output register."""
        return self.cycles_per_step[1] + 2

    def layer_entry(self, L: int) -> dict:
        return {"index": L, "kind": "dense", "inputs": self._layer.in_features, "outputs": self._layer.out_features,
                "lanes": self._lanes, "in_lanes": self._in_lanes,
                "first_layer": ("bit-serial" if self.bit_serial else "multiplier") if L == 0 else None,
                "weight_width": self.weight_width, "bias_width": self.bias_width, "acc_width": self.acc_width,
                "out_width": self._out_width, "rom_bits": self.rom_bits, "cycles_per_step": list(self.cycles_per_step)}

    def names(self) -> dict:
        """The name map (:mod:`shiftpsn.hdl.names`): the weight and bias ROMs."""
        I, L = self._layer.in_features, self._lanes
        return {"memories": [memory_entry("weights", "weights", depth=self.groups * I, width=L * self.weight_width),
                             memory_entry("biases", "biases", depth=self.groups, width=L * self.bias_width)],
                "registers": []}

    # ----------------------------------------------------------------- hardware
    def _plane_mask(self, xs, plane):
        """The inputs a pass visits: bit ``plane`` of each input (bit-serial), nonzero inputs, or spikes."""
        if self.bit_serial:
            if isinstance(plane, int):
                return Cat(Value.cast(x)[plane] for x in xs)
            return Cat(Value.cast(x).bit_select(plane, 1) for x in xs)
        if self._input_width is None:
            return Cat(Value.cast(x) for x in xs)
        return Cat(Value.cast(x) != 0 for x in xs)

    def elaborate(self, platform):
        m = Module()
        layer = self._layer
        I, L, G, P = layer.in_features, self._lanes, self.groups, self.planes
        IL = self._in_lanes
        beats = I // IL
        Ww, Bw, Aw, Ow = self.weight_width, self.bias_width, self.acc_width, self._out_width
        x_shape = self._x_shape
        xw = 1 if self._input_width is None else self._input_width
        x_layout = data.ArrayLayout(x_shape, I)

        # ---- ROMs: word g*I + i = the L weights of input i for group g; bias word g
        w = layer.weight.tolist()
        b = layer.bias.tolist()
        w_init = [pack_fields([(w[g * L + j][i], Ww) for j in range(L)])[0] for g in range(G) for i in range(I)]
        b_init = [pack_fields([(b[g * L + j], Bw) for j in range(L)])[0] for g in range(G)]
        m.submodules.weights = wrom = Memory(shape=L * Ww, depth=G * I, init=w_init)
        m.submodules.biases = brom = Memory(shape=L * Bw, depth=G, init=b_init)
        w_rd, b_rd = wrom.read_port(), brom.read_port()

        # ---- handshakes: stage 1 and the sequencer stall while the group's result cannot leave
        advance = Signal()
        v1, end1 = Signal(name="valid_s1"), Signal(name="end_s1")
        m.d.comb += advance.eq(~(v1 & end1 & self.o.valid & ~self.o.ready))

        # ---- the step being computed, and the sequencer's state
        work = Signal(x_layout, name="step_x")
        work_first, work_last = Signal(name="step_first"), Signal(name="step_last")
        busy = Signal(name="busy")
        g = Signal(range(G), name="group")
        base = Signal(range(G * I), name="weight_base")  # g*I, kept as a running sum (no multiply)
        p = Signal(range(P), name="plane")
        mask = Signal(I, name="mask")  # the inputs of this pass still to visit
        plane_first = Signal(name="plane_first")  # the next operation starts a pass (doubles, bit-serial)
        group_first = Signal(name="group_first")  # the next operation starts a group (clears)
        bias_phase = Signal(name="bias_phase")  # every pass done: the next operation adds the biases

        issue = Signal()
        issue_last = Signal()  # the step's last operation issues this cycle
        m.d.comb += [issue.eq(busy & advance), issue_last.eq(issue & bias_phase & (g == G - 1))]

        # ---- input: I / in_lanes beats per step; the last one goes straight to the sequencer
        free = Signal()
        m.d.comb += free.eq(~busy | issue_last)
        beat_last = Signal()
        accept = Signal()
        if beats > 1:
            staged = Signal((I - IL) * xw, name="staged")
            beat = Signal(range(beats), name="in_beat")
            m.d.comb += beat_last.eq(beat == beats - 1)
            with m.If(accept):
                m.d.sync += beat.eq(Mux(beat_last, 0, beat + 1))
                store_slot(m, staged, beat, self.i.payload.x)
            new_x = Cat(staged, self.i.payload.x)
        else:
            m.d.comb += beat_last.eq(1)
            new_x = self.i.payload.x.as_value()
        m.d.comb += [self.i.ready.eq(~beat_last | free), accept.eq(self.i.valid & self.i.ready)]
        load = Signal()
        m.d.comb += load.eq(accept & beat_last)
        new_view = x_layout(new_x)

        # ---- sequencer: the lowest input still to visit
        low = Signal(range(I), name="low")  # 0 when the mask is empty
        found, index = _lowest_set_bit(mask, I)
        with m.If(found):  # (a process: the Verilog names the address ``weight_base + low``)
            m.d.comb += low.eq(index)
        mask_next = Signal(I)
        m.d.comb += mask_next.eq(mask & (mask - 1))
        xs = [work[i] for i in range(I)]

        kind1 = Signal(2, name="kind_s1")
        neg1, dbl1, clr1 = Signal(name="neg_s1"), Signal(name="dbl_s1"), Signal(name="clr_s1")
        first1, last1 = Signal(name="first_s1"), Signal(name="last_s1")
        x1 = Signal(x_shape, name="x_s1") if self.multiplies else None

        m.d.comb += [w_rd.addr.eq(base + low), w_rd.en.eq(advance), b_rd.addr.eq(g), b_rd.en.eq(advance)]
        with m.If(advance):
            m.d.sync += [v1.eq(issue), first1.eq(work_first), last1.eq(work_last)]
            if self.multiplies:
                m.d.sync += x1.eq(Array(xs)[low])
        with m.If(issue):
            with m.If(bias_phase):
                m.d.sync += [kind1.eq(_BIAS), end1.eq(1), dbl1.eq(0), clr1.eq(0), neg1.eq(0)]
                with m.If(g == G - 1):
                    m.d.sync += busy.eq(0)
                with m.Else():
                    m.d.sync += [g.eq(g + 1), base.eq(base + I), p.eq(P - 1), mask.eq(self._plane_mask(xs, P - 1)),
                                 plane_first.eq(1), group_first.eq(1), bias_phase.eq(0)]
            with m.Else():
                m.d.sync += [kind1.eq(Mux(mask.any(), _WEIGHT, _NONE)), end1.eq(0),
                             dbl1.eq(plane_first if self.bit_serial else 0), clr1.eq(group_first),
                             neg1.eq((p == P - 1) if self.bit_serial else 0), group_first.eq(0)]
                with m.If(mask_next == 0):
                    if P > 1:
                        with m.If(p == 0):
                            m.d.sync += bias_phase.eq(1)
                        with m.Else():
                            m.d.sync += [p.eq(p - 1), mask.eq(self._plane_mask(xs, (p - 1)[:len(p)])), plane_first.eq(1)]
                    else:
                        m.d.sync += bias_phase.eq(1)
                with m.Else():
                    m.d.sync += [mask.eq(mask_next), plane_first.eq(0)]
        with m.If(load):  # after the sequencer: a new step overrides its state
            m.d.sync += [work.eq(new_x), work_first.eq(self.i.payload.first), work_last.eq(self.i.payload.last),
                         busy.eq(1), g.eq(0), base.eq(0), p.eq(P - 1),
                         mask.eq(self._plane_mask([new_view[i] for i in range(I)], P - 1)),
                         plane_first.eq(1), group_first.eq(1), bias_phase.eq(0)]

        # ---- stage 1: L accumulators
        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        emit = Signal()
        m.d.comb += emit.eq(v1 & end1 & advance)
        with m.If(emit):
            m.d.sync += [self.o.valid.eq(1), self.o.payload.first.eq(first1), self.o.payload.last.eq(last1)]
        for j in range(L):
            acc = Signal(signed(Aw), name=f"acc{j}")
            wj = w_rd.data[j * Ww:(j + 1) * Ww].as_signed()
            bj = b_rd.data[j * Bw:(j + 1) * Bw].as_signed()
            if self.multiplies:
                tw = wj * x1
            elif self.bit_serial:
                tw = Mux(neg1, -wj, wj)
            else:
                tw = wj
            term = Signal(signed(Aw), name=f"term{j}")
            m.d.comb += term.eq(Mux(kind1 == _WEIGHT, tw, Mux(kind1 == _BIAS, bj, 0)))
            start = Signal(signed(Aw), name=f"start{j}")
            m.d.comb += start.eq(Mux(clr1, 0, Mux(dbl1, acc << 1, acc) if self.bit_serial else acc))
            result = Signal(signed(Aw), name=f"sum{j}")
            m.d.comb += result.eq(start + term)  # exact: Aw bounds every partial sum
            with m.If(v1 & advance):
                m.d.sync += acc.eq(result)
            with m.If(emit):
                m.d.sync += self.o.payload.x[j].eq(result[:Ow])
        return m
