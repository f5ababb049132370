"""The neuron datapath (Eq. 17-18 of MF-PSN on the integer grid), the one lane arithmetic of every neuron
layer: the parallel core's :class:`~shiftpsn.hdl.lane.ChannelLane` (behind its delay line) and the
time-multiplexed engine's lanes (:class:`~shiftpsn.hdl.engine.ShiftPSNEngine`, fed from its history
memory) are both this component."""

from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Value, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from shiftpsn.base.spec import CoreSpec

from .adder_tree import PipelinedAdderTree, split_pipeline
from .barrel_shift import barrel_shift_left
from .layouts import tap_word_layout
from .neuron_base import require_psn

__all__ = ["NeuronDatapath", "weights_and_outputs"]


def weights_and_outputs(spec: CoreSpec, channel: int | None) -> dict:
    """The members a neuron datapath (and a lane around one) has beside its inputs: the weight inputs
    ``tap`` or ``weight`` and ``threshold`` (``channel=None``), and the outputs ``acc`` and ``spike``."""
    members = {}
    if channel is None:
        k = spec.order
        if spec.arith == "mac":
            members["weight"] = In(data.ArrayLayout(signed(spec.mac_weight_width), k))
        else:
            members["tap"] = In(data.ArrayLayout(tap_word_layout(spec), k))
        members["threshold"] = In(signed(spec.threshold_width))
    return {**members, "acc": Out(signed(spec.acc_width)), "spike": Out(1)}


class NeuronDatapath(wiring.Component):
    """One lane's arithmetic: a term per tap, a balanced adder tree, a comparator::

        acc   = sum_i sign[i] * (taps[i] << (shift[i] - exp_min))
        spike = acc >= threshold

    ``acc`` and ``spike`` are combinational after ``spec.pipeline`` register stages (loading on
    ``advance``): in the adder tree, and at the most one more between each tap's sign/zero select and
    its shifter, the *operand cut* (:func:`~shiftpsn.hdl.adder_tree.split_pipeline`).

    With ``channel=c`` the weights of ``spec`` channel c are baked in: a shift is wiring, a sign an add
    or a subtract (a multiplication by the constant integer weight for ``arith = "mac"``), the
    threshold a constant, and a zero tap costs nothing. With ``channel=None`` the weights are inputs:
    ``arith = "shift"`` takes tap words and uses a barrel shifter per tap, ``arith = "mac"`` takes
    integer weights and multiplies.

    ``per_beat`` says where the taps come from and how often the weights change:

    * False (a parallel lane): the taps come from a delay line that masks them itself, and input
      weights change only by configuration, while no beat is in flight: nothing is registered beside
      the operand cut.
    * True (a time-multiplexed lane): the taps are read from a history memory as stored, and ``empty``
      (the beat's first time step) makes the taps of delay >= 1 count as 0 (applied to a tap word's
      zero flag where there is one, so no logic follows the history data); input weights may change
      every beat: the shift amount or integer weight is registered beside the operand cut, and the
      threshold travels beside the ``spec.pipeline`` stages.

    Parameters
    ----------
    spec : CoreSpec
        Sizes, arithmetic and pipeline depth (and the weights, for a constant lane).
    channel : int or None
        The channel whose constant weights are baked in, or None for weights given as inputs.
    per_beat : bool
        See above.

    Members
    -------
    taps : In(ArrayLayout(signed(input_width), k))
        ``taps[i]`` = the input ``(k-1-i)*d`` steps ago.
    empty : In(1)
        ``per_beat`` only: the history is empty, the taps of delay >= 1 count as 0.
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

    def __init__(self, *, spec: CoreSpec, channel: int | None, per_beat: bool):
        require_psn(self, spec)
        if channel is not None and not 0 <= channel < spec.channels:
            raise ValueError(f"channel {channel} out of range for {spec.channels} channels")
        self._spec, self._channel, self._per_beat = spec, channel, bool(per_beat)
        self.register_bits = None  # flip-flops, counted when elaborated
        k = spec.order
        members = {"taps": In(data.ArrayLayout(signed(spec.input_width), k))}
        if per_beat:
            members["empty"] = In(1)
        members["advance"] = In(1)
        super().__init__({**members, **weights_and_outputs(spec, channel)})

    def elaborate(self, platform):
        m = Module()
        s = self._spec
        levels = ceil_log2(s.order)
        operand_cut, cuts = split_pipeline(levels, s.pipeline)
        tree = PipelinedAdderTree(m, levels=levels, cuts=cuts, enable=self.advance)
        self._cut = tree if operand_cut else None
        operands = [op for i in range(s.order) if (op := self._operand(m, i, self.taps[i])) is not None]
        total, negative = tree.build(operands)
        m.d.comb += self.acc.eq(-total if negative else total)  # exact: acc never exceeds acc_width
        threshold = s.threshold_hw(self._channel) if self._channel is not None else self.threshold
        if self._channel is None and self._per_beat:
            # the threshold changes from beat to beat: it travels beside the tree's register stages
            for q in range(s.pipeline):
                threshold = tree.register(threshold, f"threshold_p{q}")
        self.register_bits = tree.register_bits
        m.d.comb += self.spike.eq(self.acc >= threshold)
        return m

    def _operand(self, m: Module, i: int, x: Value) -> tuple[Value, bool] | None:
        """Tap i's adder-tree operand ``(value, negative)``, or None for a constant zero weight. With the
        operand cut the value entering the shifter or multiplier is registered (and, ``per_beat``, the
        runtime shift amount or integer weight beside it)."""
        s = self._spec
        cut = self._cut.register if self._cut is not None else (lambda value, name: value)
        weight_cut = cut if self._per_beat else (lambda value, name: value)
        empty = self.empty if self._per_beat and s.tap_delays[i] > 0 else None  # history taps read 0
        if self._channel is None and s.arith == "mac":
            x = Mux(empty, 0, x) if empty is not None else x
            return cut(x, f"op{i}") * weight_cut(Value.cast(self.weight[i]), f"weight{i}_op"), False
        if self._channel is None:
            word = self.tap[i]
            zero = word.zero | empty if empty is not None else word.zero
            # Sign and zero before the shifter: on input_width + 1 bits, not the shifted width.
            signed_x = cut(Mux(zero, 0, Mux(word.neg, -x, x)), f"op{i}")
            amount = weight_cut(Value.cast(word.amount), f"amount{i}_op")
            return barrel_shift_left(m, signed_x, amount, s.shift_range, name=f"term{i}"), False
        amount = s.shift_amount(self._channel, i)
        if amount is None:
            return None
        x = cut(Mux(empty, 0, x) if empty is not None else x, f"op{i}")
        if s.arith == "mac":
            return x * Const(s.int_weight(self._channel, i), signed(s.mac_weight_width)), False
        return x << amount, s.sign[self._channel][i] < 0  # a shift is wiring; a sign, add or subtract
