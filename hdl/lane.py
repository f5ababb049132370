"""One channel's datapath: delay line, one term per tap, adder tree, comparator."""

from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Value, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from shiftpsn.base.spec import CoreSpec

from .adder_tree import PipelinedAdderTree, split_pipeline
from .barrel_shift import barrel_shift_left
from .delay_line import DelayLine
from .layouts import tap_word_layout

__all__ = ["ChannelLane", "lane_depth"]


def lane_depth(spec: CoreSpec, channel: int | None) -> int:
    """History slots of a lane: ``(k-1)*d`` for runtime weights (``channel=None``); for channel c's
    constant weights, the delay of its oldest nonzero tap (0 if only the newest one is nonzero)."""
    if channel is None:
        return spec.delay_depth
    return max([spec.tap_delays[i] for i in range(spec.order) if spec.shift[channel][i] is not None],
               default=0)


class ChannelLane(wiring.Component):
    """The datapath of one channel c (Eq. 17-18 of MF-PSN on the integer grid)::

        acc   = sum_i sign[i] * (X[t - (k-1-i)*d] << (shift[i] - exp_min))
        spike = acc >= threshold

    ``acc`` and ``spike`` are combinational after the lane's ``spec.pipeline`` register stages (all
    loading on ``advance``: in the adder tree, and at the most one more between each tap's sign/zero
    select and its shifter, :func:`~shiftpsn.hdl.adder_tree.split_pipeline`); the core registers
    them at its output.

    With ``channel=None`` the weights are runtime inputs (one lane module serves every channel):
    ``arith = "shift"`` takes tap words and uses a barrel shifter per tap, ``arith = "mac"`` takes
    integer weights and multiplies. With ``channel=c`` the weights of ``spec`` channel c are baked
    in: a shift is wiring, a sign an add or a subtract (a multiplication by the constant integer
    weight for ``arith = "mac"``), the threshold a constant, and the delay line ends at the oldest
    nonzero tap.

    Parameters
    ----------
    spec : CoreSpec
        Sizes, arithmetic and pipeline depth (and the weights, for a constant lane).
    channel : int or None
        The channel whose weights are baked in, or None for runtime weights.

    Members
    -------
    x : In(signed(input_width))
        The beat's input of this channel.
    first : In(1)
        The beat starts a new sequence (its history reads as zero).
    shift : In(1)
        The beat is accepted: shift it into the delay line.
    advance : In(1)
        The pipeline moves one stage.
    tap : In(ArrayLayout(tap_word_layout(spec), k))
        Runtime ``arith = "shift"`` only: tap words (amount, neg, zero).
    weight : In(ArrayLayout(signed(mac_weight_width), k))
        Runtime ``arith = "mac"`` only: integer weights.
    threshold : In(signed(threshold_width))
        Runtime only: the threshold.
    acc : Out(signed(acc_width))
        The accumulator.
    spike : Out(1)
        ``acc >= threshold``.
    """

    def __init__(self, *, spec: CoreSpec, channel: int | None):
        if channel is not None and not 0 <= channel < spec.channels:
            raise ValueError(f"channel {channel} out of range for {spec.channels} channels")
        self._spec, self._channel = spec, channel
        self._depth = lane_depth(spec, channel)
        self.register_bits = None  # pipeline flip-flops, counted when elaborated
        k = spec.order
        members = {"x": In(signed(spec.input_width)), "first": In(1), "shift": In(1), "advance": In(1)}
        if channel is None and spec.arith == "mac":
            members["weight"] = In(data.ArrayLayout(signed(spec.mac_weight_width), k))
        elif channel is None:
            members["tap"] = In(data.ArrayLayout(tap_word_layout(spec), k))
        if channel is None:
            members["threshold"] = In(signed(spec.threshold_width))
        members["acc"] = Out(signed(spec.acc_width))
        members["spike"] = Out(1)
        super().__init__(members)

    @property
    def depth(self) -> int:
        """History slots of the delay line."""
        return self._depth

    @property
    def clocked(self) -> bool:
        """Whether the lane has flip-flops (and so ``clk`` / ``rst`` ports once converted): a delay
        line or a pipeline stage; a k = 1 lane without pipeline is pure logic."""
        return self._depth > 0 or self._spec.pipeline > 0

    @property
    def storage_bits(self) -> int:
        return self._depth * self._spec.input_width

    def elaborate(self, platform):
        m = Module()
        s = self._spec
        m.submodules.delay_line = line = DelayLine(width=s.input_width, delays=s.tap_delays, depth=self._depth)
        m.d.comb += [line.x.eq(self.x), line.first.eq(self.first), line.shift.eq(self.shift)]

        levels = ceil_log2(s.order)
        operand_cut, cuts = split_pipeline(levels, s.pipeline)
        tree = PipelinedAdderTree(m, levels=levels, cuts=cuts, enable=self.advance)
        self._cut = tree if operand_cut else None
        operands = [op for i in range(s.order) if (op := self._operand(m, i, line.taps[i])) is not None]
        total, negative = tree.build(operands)
        self.register_bits = tree.register_bits

        m.d.comb += self.acc.eq(-total if negative else total)  # exact: acc never exceeds acc_width
        threshold = self.threshold if self._channel is None else s.threshold_hw(self._channel)
        m.d.comb += self.spike.eq(self.acc >= threshold)
        return m

    def _operand(self, m: Module, i: int, x: Value) -> tuple[Value, bool] | None:
        """Tap i's adder-tree operand ``(value, negative)``, or None for a constant zero weight.

        With the operand cut (the deepest ``pipeline``) the value entering the shifter or multiplier
        is registered; the runtime weights need no register beside it (they change only while no
        beat is in flight, the configuration rule)."""
        s = self._spec
        cut = self._cut.register if self._cut is not None else (lambda value, name: value)
        if self._channel is None and s.arith == "mac":
            return cut(x, f"op{i}") * self.weight[i], False
        if self._channel is None:
            word = self.tap[i]
            # Sign and zero before the shifter: on input_width + 1 bits, not the shifted width.
            signed_x = cut(Mux(word.zero, 0, Mux(word.neg, -x, x)), f"op{i}")
            return barrel_shift_left(m, signed_x, word.amount, s.shift_range, name=f"term{i}"), False
        amount = s.shift_amount(self._channel, i)
        if amount is None:
            return None
        x = cut(x, f"op{i}")
        if s.arith == "mac":
            return x * Const(s.int_weight(self._channel, i), signed(s.mac_weight_width)), False
        return x << amount, s.sign[self._channel][i] < 0  # a shift is wiring; a sign, add or subtract
