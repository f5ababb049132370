"""A whole network in hardware: dense engines and neuron layers joined by valid/ready streams, then a readout.

    >>> top = NetworkTop(net=NetworkSpec.load("net.json"))      # an Amaranth component
    >>> gen = generate_network(net)   # shiftpsn.hdl.generate: .verilog, .info (NETWORK.json)

Structure (docs/ARCHITECTURE.md, "The network")::

    i -> DenseEngine(layers[0]) -> [Regroup] -> NeuronStage(layers[1]) -> DenseEngine(layers[2]) -> ...
      -> DenseEngine(layers[-1]) -> Readout -> o

Every link is a ``lib.stream`` of :func:`~shiftpsn.hdl.dense.step_layout` beats (``x``, ``first``,
``last``) with full back-pressure; beats travel in order and each holds ``lanes`` values of one time step.

* The network input beat is one time step: ``x`` (I signed ``input_width``-bit inputs), ``first``
  (the step starts a sequence: every neuron history reads empty) and ``last`` (the step ends it: the
  readout then emits the class). Every time step of a sequence is one beat; a one-step sequence
  has both flags.
* Each layer is built by its type's stage builder (``shiftpsn.hdl.stages.STAGE_BUILDERS``). A neuron
  layer is built by :func:`~shiftpsn.hdl.neuron_stage.neuron_layer` from its core spec (the parallel
  :class:`~shiftpsn.hdl.core.ShiftPSNCore` when ``lanes`` = channels, the time-multiplexed
  :class:`~shiftpsn.hdl.engine.ShiftPSNEngine` otherwise) with its weights baked in
  (``weights = "constant"``) and without accumulator outputs; :class:`~shiftpsn.hdl.neuron_stage.NeuronStage` carries the ``last``
  flag around it (the cores' streams carry only ``first``) in a small FIFO.
* Dense engines compute ``lanes`` outputs at a time (the dense layer's ``lanes``); when that differs
  from the next neuron layer's ``lanes``, a :class:`~shiftpsn.hdl.regroup.Regroup` re-cuts the beats.
* The ``arith`` of the network: ``"mac"`` (the baseline: a multiplier in the first dense layer, the
  neuron layers' own ``arith``) when every neuron layer has ``arith = "mac"``, else ``"shift"``
  (multiplication-free: a bit-serial first layer). :func:`with_arith` makes the baseline of a network.
"""


from __future__ import annotations

from amaranth.hdl import Module, signed
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from shiftpsn.base.network import NetworkSpec, signed_width

from .dense import step_layout
from .names import merge, under
from .readout import Readout, readout_layout
from .stages import STAGE_BUILDERS, StageContext

__all__ = ["NetworkTop", "network_arith", "with_arith", "DEFAULT_MAX_STEPS"]

#: Time steps per sequence the readout's sums hold exactly by default.
DEFAULT_MAX_STEPS = 1 << 16


def network_arith(net: NetworkSpec) -> str:
    """``"mac"`` when the network has neuron layers and all have ``arith = "mac"``, else ``"shift"``."""
    neurons = [layer for layer in net.layers if layer.role == "neuron"]
    return "mac" if neurons and all(layer.arith == "mac" for layer in neurons) else "shift"


def with_arith(net: NetworkSpec, arith: str) -> NetworkSpec:
    """The same network with every neuron layer's ``arith`` set (``"mac"``: the multiplier baseline)."""
    return NetworkSpec(input_width=net.input_width, layers=tuple(layer.with_arith(arith) for layer in net.layers),
                       name=net.name)


def __getattr__(name: str):
    """The writer moved to :mod:`shiftpsn.hdl.generate` (beside the core's); its names stay importable here."""
    if name in ("generate_network", "write_network_verilog", "network_description_path", "GeneratedNetwork"):
        from importlib import import_module
        return getattr(import_module("shiftpsn.hdl.generate"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class NetworkTop(wiring.Component):
    """A whole network: every layer of ``net`` in hardware, then the readout (module docstring).

    Parameters
    ----------
    net : NetworkSpec
        The network (weights baked in).
    arith : str, optional
        ``"shift"`` or ``"mac"`` for the first dense layer; default :func:`network_arith`.
    max_steps : int
        Time steps per sequence the readout's sums hold exactly (default 65536); a longer sequence's
        sums and class may wrap.

    Members
    -------
    i : In(stream.Signature(step_layout(signed(input_width), I)))
        One beat per time step: ``x`` the I inputs, ``first``, ``last``.
    o : Out(stream.Signature(readout_layout(...)))
        One beat per ``lanes`` logits of a time step (the last dense layer's ``lanes``): ``logits``,
        ``first``, ``last``, and on the sequence's final beat ``done = 1`` with ``cls`` and ``sums``.
    """

    def __init__(self, *, net: NetworkSpec, arith: str | None = None, max_steps: int = DEFAULT_MAX_STEPS):
        if not isinstance(net, NetworkSpec):
            self._MustUse__silence = True
            raise TypeError(f"net must be a NetworkSpec, not {type(net).__name__}")
        arith = network_arith(net) if arith is None else arith
        if arith not in ("shift", "mac") or not isinstance(max_steps, int) or max_steps < 1:
            self._MustUse__silence = True
            raise ValueError(f"arith must be 'shift' or 'mac' (got {arith!r}) and max_steps an integer >= 1 "
                             f"(got {max_steps!r})")
        self._net, self._arith, self._max_steps = net, arith, max_steps
        self.stages = self._build()  # [(layer index, component)], in stream order
        last = net.layers[-1]
        self.logit_width = net.required_width(len(net.layers) - 1)
        self.sum_width = signed_width(-max_steps * net.logit_bound, max_steps * net.logit_bound)
        self.readout = Readout(outputs=last.out_features, lanes=last.lanes, logit_width=self.logit_width,
                               sum_width=self.sum_width)
        for part in [stage for _, stage in self.stages] + [self.readout]:
            part._MustUse__silence = True  # parts of a top that is never elaborated do not warn
        super().__init__({
            "i": In(stream.Signature(step_layout(signed(net.input_width), net.in_features))),
            "o": Out(stream.Signature(readout_layout(outputs=last.out_features, lanes=last.lanes,
                                                     logit_width=self.logit_width, sum_width=self.sum_width))),
        })

    design_kind = "network"

    @property
    def max_steps(self) -> int:
        return self._max_steps

    @property
    def net(self) -> NetworkSpec:
        return self._net

    @property
    def arith(self) -> str:
        return self._arith

    def _build(self) -> list:
        """Every layer's stages from its type's builder (``STAGE_BUILDERS[layer.type_name]``)."""
        net = self._net
        stages = []
        in_width, in_lanes = net.input_width, net.in_features
        for L, layer in enumerate(net.layers):
            nxt = net.layers[L + 1] if L + 1 < len(net.layers) else None
            # the next layer's integer inputs are as wide as it declares; the logits as the network needs
            out_width = nxt.stream_fields("input")["x"]["per_element"] if nxt is not None else net.required_width(L)
            ctx = StageContext(index=L, in_width=in_width, in_lanes=in_lanes, out_width=out_width,
                               next_lanes=None if nxt is None else nxt.lanes, arith=self._arith)
            built = STAGE_BUILDERS[layer.type_name](layer, ctx)
            stages += [(L, part) for part in built.components]
            in_width, in_lanes = built.out_width, built.out_lanes
        return stages

    def neuron_stage(self, L: int):
        """The stage whose output is layer L's spikes (its ``o``)."""
        for index, stage in self.stages:
            if index == L and stage.monitored:
                return stage
        raise KeyError(f"layers[{L}] is not a neuron layer")

    def names(self) -> dict:
        """The name map (:mod:`shiftpsn.hdl.names`) of every stage, under its instance name."""
        return merge(*[under(stage.names(), self.instance_name(stage), L) for L, stage in self.stages])

    @property
    def latency_bound(self) -> int:
        """Most cycles from a time step's input handshake to its last output beat through an idle network
        without back-pressure: the stages' bounds, then the readout's register."""
        return sum(stage.latency_bound for _, stage in self.stages) + self.readout.latency

    @property
    def cycles_per_step(self) -> dict:
        """Per layer and for the network: fewest and most clock cycles per time step (no back-pressure).
        A network's throughput is set by its slowest stage: the network figure is the largest stage's."""
        per_layer = [{"layer": L, "kind": stage.kind, "min": stage.step_cycles[0], "max": stage.step_cycles[1]}
                     for L, stage in self.stages if stage.step_cycles is not None]
        G = self._net.layers[-1].out_features // self._net.layers[-1].lanes
        per_layer.append({"layer": None, "kind": "readout", "min": G, "max": G})
        return {"min": max(x["min"] for x in per_layer), "max": max(x["max"] for x in per_layer),
                "layers": per_layer}

    def instance_name(self, stage) -> str:
        """The Verilog instance name of a stage inside the top (``s<n>_<kind>_l<L>``)."""
        for n, (L, s) in enumerate(self.stages):
            if s is stage:
                return f"s{n}_{type(s).__name__.lower()}_l{L}"
        raise KeyError("not a stage of this network")

    def elaborate(self, platform):
        m = Module()
        prev = wiring.flipped(self.i)
        for L, stage in self.stages:
            m.submodules[self.instance_name(stage)] = stage
            wiring.connect(m, prev, stage.i)
            prev = stage.o
        m.submodules.readout = self.readout
        wiring.connect(m, prev, self.readout.i)
        wiring.connect(m, self.readout.o, wiring.flipped(self.o))
        return m
