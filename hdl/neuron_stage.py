"""A neuron layer inside a network: the parallel core or the engine, with the network's ``last`` flag
carried around it (docs/ARCHITECTURE.md, "The network in hardware")."""

from __future__ import annotations

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.fifo import SyncFIFO

from shiftpsn.base.spec import CoreSpec

from .core import ShiftPSNCore
from .dense import neuron_stage_members
from .engine import ShiftPSNEngine
from .names import under
from .neuron_base import require_psn

__all__ = ["neuron_layer", "NeuronStage"]


def neuron_layer(spec: CoreSpec, lane_module: str | None = None) -> ShiftPSNCore | ShiftPSNEngine:
    """The hardware of one neuron layer: the parallel core for ``lanes`` = P*C (its lanes instances of
    ``lane_module`` when given), else the engine. Both take beats of ``lanes`` neurons of one time
    step and ``first``, and return their spikes."""
    return ShiftPSNCore(spec=spec, lane_module=lane_module) if spec.parallel else ShiftPSNEngine(spec=spec)



class NeuronStage(wiring.Component):
    """A neuron layer (:func:`neuron_layer`) with the network's ``last`` flag carried around it.

    The core takes and returns one beat per handshake, in order; the ``last`` of each accepted beat
    waits in a FIFO of :attr:`fifo_depth` entries (more than the beats the core can hold) and leaves
    with the beat's spikes. Input is refused while the FIFO is full (never, by that depth).

    Parameters
    ----------
    spec : CoreSpec
        The layer; it is built with ``weights = "constant"`` and ``emit_acc = False``.

    Members
    -------
    i : In(stream.Signature(step_layout(signed(input_width), lanes)))
    o : Out(stream.Signature(step_layout(unsigned(1), lanes)))
        ``x``: the spikes, bit j = lane j.
    """

    def __init__(self, *, spec: CoreSpec):
        require_psn(self, spec)
        self._spec = spec.replace(weights="constant", emit_acc=False)
        self._core = neuron_layer(self._spec)
        self._core._MustUse__silence = True  # elaborated with this stage
        super().__init__(neuron_stage_members(spec.input_width, spec.lanes))

    @property
    def spec(self) -> CoreSpec:
        return self._spec

    @property
    def latency(self) -> int:
        return self._core.latency

    @property
    def fifo_depth(self) -> int:
        """Entries of the ``last`` FIFO: the core's latency + 2, more than the beats it can hold, so
        the FIFO never blocks a beat (a full FIFO would refuse one even while another leaves)."""
        return self._core.latency + 2

    # the stage interface (shiftpsn.hdl.stages)
    kind = "psn"
    monitored = True  # its output stream is the layer's spikes

    @property
    def latency_bound(self) -> int:
        return self._core.latency

    @property
    def step_cycles(self) -> tuple[int, int]:
        return self._spec.beats_per_step, self._spec.beats_per_step

    def layer_entry(self, L: int) -> dict:
        s = self._spec
        return {"index": L, "kind": "psn", "channels": s.channels, "lanes": s.lanes, "order": s.order,
                "dilation": s.dilation, "input_width": s.input_width, "arith": s.arith,
                "hardware": "core" if s.parallel else "engine", "cycles_per_step": list(self.step_cycles)}

    def names(self) -> dict:
        return under(self._core.names(), "core")

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = self._core
        m.submodules.last_fifo = fifo = SyncFIFO(width=1, depth=self.fifo_depth)
        m.d.comb += [
            core.i.valid.eq(self.i.valid & fifo.w_rdy),
            self.i.ready.eq(core.i.ready & fifo.w_rdy),
            core.i.payload.x.eq(self.i.payload.x),
            core.i.payload.first.eq(self.i.payload.first),
            fifo.w_en.eq(self.i.valid & self.i.ready),
            fifo.w_data.eq(self.i.payload.last),
            self.o.valid.eq(core.o.valid),
            core.o.ready.eq(self.o.ready),
            self.o.payload.x.eq(core.o.payload.spikes),
            self.o.payload.first.eq(core.o.payload.first),
            self.o.payload.last.eq(fifo.r_data),
            fifo.r_en.eq(self.o.valid & self.o.ready),
        ]
        return m
