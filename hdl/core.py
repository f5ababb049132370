"""The shift-add channel-wise PSN core (MF-PSN, Eq. 10 and 17-18) as an Amaranth component."""

from __future__ import annotations

from amaranth.hdl import ClockSignal, Instance, Module, ResetSignal, Signal, signed
from amaranth.lib import wiring

from shiftpsn.base.spec import CoreSpec

from .config import RuntimeWeights
from .lane import ChannelLane, lane_depth
from .names import lane_entry, register_entry
from .neuron_base import NeuronLayerComponent, refuse, require_psn
from .registers import RegisterRoles

__all__ = ["ShiftPSNCore"]


class ShiftPSNCore(NeuronLayerComponent):
    """Channel-wise parallel spiking neuron with power-of-two weights, one time step per beat.

    For every channel c and time step t (docs/CONTRACT.md section 2, Eq. 17-18 of MF-PSN)::

        acc[t][c]   = sum_i sign[c][i] * (X[t - (k-1-i)*d][c] << (shift[c][i] - exp_min))
        spike[t][c] = acc[t][c] >= threshold[c]

    A beat carries one time step of all C channels (with ``positions`` P > 1, of all P*C neurons
    ``n = p*C + c``, each a lane with channel c's weights; ``lanes`` = P*C). Each lane is a :class:`ChannelLane`
    (delay line, one term per tap, adder tree, comparator; ``spec.pipeline`` register stages);
    runtime weights come from a :class:`RuntimeWeights` register file. The output register holds
    one beat. The whole pipeline advances when that register is empty or being read
    (``i.ready = ~o.valid | o.ready``), so no beat is lost or duplicated under back-pressure and
    one beat per cycle flows while ``o.ready`` is high. Latency: ``spec.pipeline + 1`` cycles.
    ``rst`` (synchronous) clears the delay lines, pipeline and valid flags, not the weights.

    Parameters
    ----------
    spec : CoreSpec
        Sizes, weight mode, arithmetic, pipeline depth, and the weights (baked in for
        ``weights = "constant"``; the power-up values of the configuration registers otherwise).
    lane_module : str, optional
        Runtime weights only: instantiate every channel as this Verilog module (``Instance``) rather
        than elaborating C copies of the lane, which keeps the Verilog of wide cores small and its
        generation fast. The module must be :attr:`shared_lane` converted under that name (as
        :func:`shiftpsn.hdl.generate.generate` does). Such a core can not run in Amaranth's simulator.

    Members
    -------
    i : In(stream.Signature(input_layout(spec)))
        Input beats. ``payload.x``: ArrayLayout(signed(input_width), C), the time step's inputs;
        ``payload.first``: 1 bit, the beat starts a new sequence (its history reads as zero).
    o : Out(stream.Signature(output_layout(spec)))
        Output beats, in input order. ``payload.spikes``: unsigned(C), bit c = channel c;
        ``payload.first``: 1 bit, copied from the input beat; ``payload.acc`` (only when
        ``spec.emit_acc``): ArrayLayout(signed(acc_width), C).
    cfg : In(config_signature(spec))
        Only for ``weights = "runtime"``: ``addr`` (cfg_addr_width), ``data`` (cfg_data_width),
        ``we`` (1); register map in :class:`RuntimeWeights`.
    """

    def __init__(self, *, spec: CoreSpec, lane_module: str | None = None):
        require_psn(self, spec)
        runtime = spec.weights == "runtime"
        if lane_module is not None and not runtime:
            refuse(self, ValueError("lane_module needs runtime weights (constant lanes differ per channel)"))
        if not spec.parallel:
            refuse(self, ValueError(f"lanes = {spec.lanes} < positions * channels = {spec.neurons}: "
                                    "that is the time-multiplexed engine (shiftpsn.hdl.engine.ShiftPSNEngine)"))
        self._lane_module = lane_module
        # one lane per neuron n = p*C + c (channel fastest), with channel c's weights
        self._lane_channels = [None if runtime else spec.neuron_channel(n) for n in range(spec.neurons)]
        self._shared_lane = ChannelLane(spec=spec, channel=None) if lane_module else None
        self._lanes = None  # the ChannelLanes of the last elaboration
        self._own = None  # the core's own flip-flops by role, counted when elaborated
        super().__init__(spec)

    design_kind = "core"

    @property
    def shared_lane(self) -> ChannelLane | None:
        """The lane to convert under ``lane_module`` (None without ``lane_module``)."""
        return self._shared_lane

    @property
    def latency(self) -> int:
        """Cycles from an input handshake to its output beat being valid (o.ready held high)."""
        return self._spec.pipeline + 1

    @property
    def depths(self) -> tuple[int, ...]:
        """History slots per channel (all ``(k-1)*d`` unless constant zero taps shorten a line)."""
        return tuple(lane_depth(self._spec, channel) for channel in self._lane_channels)

    @property
    def storage_bits(self) -> int:
        """Delay-line flip-flops: ``sum(depths) * input_width`` (<= CoreSpec.storage_bits)."""
        return sum(self.depths) * self._spec.input_width

    @property
    def registers(self) -> dict[str, int]:
        """Flip-flops by role: delay_lines, config (the bits the lanes read), pipeline (the lanes'
        datapaths and the valid/first stages), output (payload register), handshake (o.valid), total;
        the core's own registers as its elaboration built them (:mod:`shiftpsn.hdl.registers`), the
        lanes' counted when they are elaborated (e.g. converted)."""
        s = self._spec
        lanes = [self._shared_lane] * s.neurons if self._shared_lane is not None else self._lanes
        if self._own is None or any(lane.register_bits is None for lane in lanes):
            raise RuntimeError("registers are counted during elaboration; elaborate the core first")
        regs = {
            "delay_lines": sum(lane.storage_bits for lane in lanes),
            "config": RuntimeWeights.register_bits_of(s) if s.weights == "runtime" else 0,
            "pipeline": sum(lane.register_bits for lane in lanes) + self._own["pipeline"],
            "output": self._own["output"],
            "handshake": self._own["handshake"],
        }
        regs["total"] = sum(regs.values())
        return regs

    def names(self) -> dict:
        """The name map (:mod:`shiftpsn.hdl.names`): each lane with its delay line, the valid / first
        flags beside the pipeline stages, and the runtime weight registers."""
        s = self._spec
        W = s.input_width
        lines = [register_entry(f"lane{n}.delay_line.line", "delay_line", width=depth * W, index=n)
                 for n, depth in enumerate(self.depths) if depth]
        stages = [register_entry(f"{flag}_s{q}", f"stage_{flag}", width=1, index=q)
                  for q in range(s.pipeline) for flag in ("valid", "first")]
        own = {"memories": [], "registers": lines + stages,
               "lanes": [lane_entry(f"lane{n}", index=n) for n in range(s.neurons)]}
        return self._names_with_weights(own, RuntimeWeights.names_of(s) if s.weights == "runtime" else None)

    def elaborate(self, platform):
        m = Module()
        s = self._spec

        # Everything moves only when the output register is free or being emptied.
        advance = Signal()
        accepted = Signal()
        m.d.comb += [advance.eq(~self.o.valid | self.o.ready), self.i.ready.eq(advance),
                     accepted.eq(self.i.valid & advance)]
        first = self.i.payload.first

        weights = None
        if s.weights == "runtime":
            m.submodules.weights = weights = RuntimeWeights(spec=s)
            wiring.connect(m, wiring.flipped(self.cfg), weights.cfg)

        if self._shared_lane is None:
            self._lanes = [ChannelLane(spec=s, channel=channel) for channel in self._lane_channels]
        accs, spikes = [], []
        for n in range(s.neurons):
            c = s.neuron_channel(n)
            ports = {"x": self.i.payload.x[n], "first": first, "shift": accepted, "advance": advance}
            if weights is not None:
                ports["weight" if s.arith == "mac" else "tap"] = (weights.weight if s.arith == "mac"
                                                                  else weights.tap)[c]
                ports["threshold"] = weights.threshold[c]
            acc, spike = self._lane(m, n, ports)
            accs.append(acc)
            spikes.append(spike)

        # valid and first travel beside the lanes' pipeline stages, then the output register
        reg = RegisterRoles()
        self._finish(m, reg, advance, self.i.valid, first, spikes, accs, stage="s")
        self._own = reg.count(m, ("pipeline", "output", "handshake"))
        return m

    def _lane(self, m: Module, c: int, ports: dict):
        """Add neuron c's lane (channel c when positions = 1); return its (acc, spike)."""
        if self._shared_lane is None:
            lane = m.submodules[f"lane{c}"] = self._lanes[c]
            m.d.comb += [getattr(lane, name).eq(value) for name, value in ports.items()]
            return lane.acc, lane.spike
        acc = Signal(signed(self._spec.acc_width), name=f"acc{c}")
        spike = Signal(name=f"spike{c}")
        inputs = {f"i_{name}": value.as_value() if hasattr(value, "as_value") else value
                  for name, value in ports.items()}
        if self._shared_lane.clocked:  # a lane without flip-flops has no clock or reset port
            inputs.update(i_clk=ClockSignal(), i_rst=ResetSignal())
        m.submodules[f"lane{c}"] = Instance(self._lane_module, **inputs, o_acc=acc, o_spike=spike)
        return acc, spike
