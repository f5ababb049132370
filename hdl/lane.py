"""One channel of the parallel core: its delay line feeding the neuron datapath."""

from __future__ import annotations

from amaranth.hdl import Module, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from shiftpsn.base.spec import CoreSpec

from .datapath import NeuronDatapath, weights_and_outputs
from .delay_line import DelayLine

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

    A :class:`~shiftpsn.hdl.delay_line.DelayLine` (``delay_line``) holding the history the taps read,
    in front of a :class:`~shiftpsn.hdl.datapath.NeuronDatapath` (``datapath``, ``per_beat=False``).
    ``acc`` and ``spike`` are combinational after the datapath's ``spec.pipeline`` register stages
    (loading on ``advance``); the core registers them at its output.

    With ``channel=None`` the weights are runtime inputs (one lane module serves every channel); with
    ``channel=c`` the weights of ``spec`` channel c are baked in and the delay line ends at the oldest
    nonzero tap (:func:`lane_depth`).

    Parameters ``spec`` and ``channel`` (None: runtime weights) as :class:`NeuronDatapath`'s.

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
    tap, weight, threshold, acc, spike
        As :class:`NeuronDatapath`'s (the weights only for runtime weights).
    """

    def __init__(self, *, spec: CoreSpec, channel: int | None):
        self._spec, self._channel = spec, channel
        self._depth = lane_depth(spec, channel)
        self._datapath = NeuronDatapath(spec=spec, channel=channel, per_beat=False)
        members = {"x": In(signed(spec.input_width)), "first": In(1), "shift": In(1), "advance": In(1)}
        super().__init__({**members, **weights_and_outputs(spec, channel)})

    @property
    def depth(self) -> int:
        """History slots of the delay line."""
        return self._depth

    @property
    def register_bits(self) -> int | None:
        """The datapath's pipeline flip-flops (None until elaborated); the delay line is
        :attr:`storage_bits`."""
        return self._datapath.register_bits

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
        m.submodules.datapath = dp = self._datapath
        m.d.comb += [line.x.eq(self.x), line.first.eq(self.first), line.shift.eq(self.shift),
                     dp.taps.eq(line.taps), dp.advance.eq(self.advance), self.acc.eq(dp.acc),
                     self.spike.eq(dp.spike)]
        if self._channel is None:
            weights = "weight" if s.arith == "mac" else "tap"
            m.d.comb += [getattr(dp, weights).eq(getattr(self, weights)), dp.threshold.eq(self.threshold)]
        return m
