"""A whole network in hardware: dense engines and neuron layers joined by valid/ready streams, then a readout.

    >>> top = NetworkTop(net=NetworkSpec.load("net.json"))      # an Amaranth component
    >>> gen = generate_network(net)                              # .verilog, .info (NETWORK.json)

Structure (docs/ARCHITECTURE.md, "The network")::

    i -> DenseEngine(layers[0]) -> [Regroup] -> NeuronStage(layers[1]) -> DenseEngine(layers[2]) -> ...
      -> DenseEngine(layers[-1]) -> Readout -> o

Every link is a ``lib.stream`` of :func:`~shiftpsn.hdl.dense.step_layout` beats (``x``, ``first``,
``last``) with full back-pressure; beats travel in order and each holds ``lanes`` values of one time step.

* The network input beat is one time step: ``x`` (I signed ``input_width``-bit inputs), ``first``
  (the step starts a sequence: every neuron history reads empty) and ``last`` (the step ends it: the
  readout then emits the class). Every time step of a sequence is one beat; a one-step sequence
  has both flags.
* A neuron layer is built by :func:`neuron_layer` from its core spec (the parallel
  :class:`~shiftpsn.hdl.core.ShiftPSNCore` when ``lanes`` = channels, the time-multiplexed
  :class:`~shiftpsn.hdl.engine.ShiftPSNEngine` otherwise) with its weights baked in
  (``weights = "constant"``) and without accumulator outputs; :class:`NeuronStage` carries the ``last``
  flag around it (the cores' streams carry only ``first``) in a small FIFO.
* Dense engines compute ``lanes`` outputs at a time (the dense layer's ``lanes``); when that differs
  from the next neuron layer's ``lanes``, a :class:`Regroup` re-cuts the beats.
* The ``arith`` of the network: ``"mac"`` (the baseline: a multiplier in the first dense layer, the
  neuron layers' own ``arith``) when every neuron layer has ``arith = "mac"``, else ``"shift"``
  (multiplication-free: a bit-serial first layer). :func:`with_arith` makes the baseline of a network.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from math import gcd
from pathlib import Path

from amaranth.back import verilog
from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

from shiftpsn.base.errors import UsageError
from shiftpsn.base.network import DenseLayer, NetworkSpec, signed_width
from shiftpsn.base.paths import atomic_write, prepare_output
from shiftpsn.base.spec import CoreSpec, is_verilog_name

from .core import ShiftPSNCore
from .dense import DenseEngine, spike_shape, step_layout
from .engine import ShiftPSNEngine
from .readout import Readout, readout_layout

__all__ = ["neuron_layer", "NeuronStage", "Regroup", "NetworkTop", "network_arith", "with_arith",
           "generate_network", "write_network_verilog", "network_description_path", "DEFAULT_MAX_STEPS"]

#: Time steps per sequence the readout's sums hold exactly by default.
DEFAULT_MAX_STEPS = 1 << 16


def neuron_layer(spec: CoreSpec) -> ShiftPSNCore | ShiftPSNEngine:
    """The hardware of one neuron layer: the parallel core for ``lanes`` = P*C, else the engine.
    Both take beats of ``lanes`` neurons of one time step and ``first``, and return their spikes."""
    return ShiftPSNCore(spec=spec) if spec.parallel else ShiftPSNEngine(spec=spec)


def network_arith(net: NetworkSpec) -> str:
    """``"mac"`` when the network has neuron layers and all have ``arith = "mac"``, else ``"shift"``."""
    psn = [layer for layer in net.layers if isinstance(layer, CoreSpec)]
    return "mac" if psn and all(s.arith == "mac" for s in psn) else "shift"


def with_arith(net: NetworkSpec, arith: str) -> NetworkSpec:
    """The same network with every neuron layer's ``arith`` set (``"mac"``: the multiplier baseline)."""
    layers = [layer.replace(arith=arith) if isinstance(layer, CoreSpec) else layer for layer in net.layers]
    return NetworkSpec(input_width=net.input_width, layers=tuple(layers), name=net.name)


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
        if not isinstance(spec, CoreSpec):
            self._MustUse__silence = True
            raise TypeError(f"spec must be a CoreSpec, not {type(spec).__name__}")
        self._spec = spec.replace(weights="constant", emit_acc=False)
        self._core = neuron_layer(self._spec)
        self._core._MustUse__silence = True  # elaborated with this stage
        super().__init__({
            "i": In(stream.Signature(step_layout(signed(spec.input_width), spec.lanes))),
            "o": Out(stream.Signature(step_layout(spike_shape, spec.lanes))),
        })

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


class Regroup(wiring.Component):
    """Re-cut a stream of ``values`` per time step from beats of ``a`` values into beats of ``b``.

    Through beats of ``gcd(a, b)``: each input beat is split into ``a / gcd`` pieces, and ``b / gcd``
    pieces are collected into an output beat. Beats never straddle time steps (a and b divide
    ``values``), so ``first`` and ``last`` are carried along. Order is kept; full back-pressure.

    Parameters
    ----------
    shape : shape-castable
        Shape of one value.
    a, b : int
        Values per input and per output beat (both dividing ``values``).
    values : int
        Values per time step.

    Members
    -------
    i : In(stream.Signature(step_layout(shape, a)))
    o : Out(stream.Signature(step_layout(shape, b)))
    """

    def __init__(self, *, shape, a: int, b: int, values: int):
        if values % a or values % b:
            self._MustUse__silence = True
            raise ValueError(f"beats of {a} and {b} values must both divide {values}")
        self._shape, self._a, self._b = shape, a, b
        super().__init__({"i": In(stream.Signature(step_layout(shape, a))),
                          "o": Out(stream.Signature(step_layout(shape, b)))})

    def elaborate(self, platform):
        m = Module()
        a, b = self._a, self._b
        c = gcd(a, b)
        ew = len(Signal(self._shape))
        # ---- split: hold one input beat, hand out a/c pieces
        if a > c:
            n = a // c
            held = Signal(a * ew, name="held")
            hf, hl = Signal(name="held_first"), Signal(name="held_last")
            hv = Signal(name="held_valid")
            k = Signal(range(n), name="piece")
            piece_v, piece_r = Signal(), Signal()
            piece = Signal(c * ew)
            with m.Switch(k):
                for q in range(n):
                    with m.Case(q):
                        m.d.comb += piece.eq(held[q * c * ew:(q + 1) * c * ew])
            m.d.comb += [piece_v.eq(hv), self.i.ready.eq(~hv | (piece_r & (k == n - 1)))]
            with m.If(piece_v & piece_r):
                m.d.sync += k.eq(Mux(k == n - 1, 0, k + 1))
                with m.If(k == n - 1):
                    m.d.sync += hv.eq(0)
            with m.If(self.i.valid & self.i.ready):
                m.d.sync += [held.eq(self.i.payload.x), hf.eq(self.i.payload.first),
                             hl.eq(self.i.payload.last), hv.eq(1)]
            src = (piece_v, piece_r, piece, hf, hl)
        else:
            piece_r = Signal()
            m.d.comb += self.i.ready.eq(piece_r)
            src = (self.i.valid, piece_r, self.i.payload.x.as_value(), self.i.payload.first, self.i.payload.last)
        sv, sr, sx, sf, sl = src
        # ---- collect: b/c pieces into an output beat
        n = b // c
        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        if n > 1:
            coll = Signal((b - c) * ew, name="collected")
            k = Signal(range(n), name="slot")
            at_end = Signal()
            m.d.comb += [at_end.eq(k == n - 1), sr.eq(~at_end | ~self.o.valid | self.o.ready)]
            with m.If(sv & sr):
                m.d.sync += k.eq(Mux(at_end, 0, k + 1))
                with m.Switch(k):
                    for q in range(n - 1):
                        with m.Case(q):
                            m.d.sync += coll[q * c * ew:(q + 1) * c * ew].eq(sx)
                with m.If(at_end):
                    m.d.sync += [self.o.valid.eq(1), self.o.payload.x.eq(Cat(coll, sx)),
                                 self.o.payload.first.eq(sf), self.o.payload.last.eq(sl)]
        else:
            m.d.comb += sr.eq(~self.o.valid | self.o.ready)
            with m.If(sv & sr):
                m.d.sync += [self.o.valid.eq(1), self.o.payload.x.eq(sx),
                             self.o.payload.first.eq(sf), self.o.payload.last.eq(sl)]
        return m


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

    @property
    def net(self) -> NetworkSpec:
        return self._net

    @property
    def arith(self) -> str:
        return self._arith

    def _build(self) -> list:
        net = self._net
        stages = []
        in_width, in_lanes = net.input_width, net.in_features
        for L, layer in enumerate(net.layers):
            if isinstance(layer, DenseLayer):
                nxt = net.layers[L + 1] if L + 1 < len(net.layers) else None
                out_width = nxt.input_width if nxt is not None else net.required_width(L)
                engine = DenseEngine(layer=layer, input_width=in_width, out_width=out_width, in_lanes=in_lanes,
                                     lanes=layer.lanes, arith=self._arith)
                stages.append((L, engine))
                if nxt is not None and nxt.lanes != layer.lanes:
                    stages.append((L, Regroup(shape=signed(out_width), a=layer.lanes, b=nxt.lanes,
                                              values=layer.out_features)))
            else:
                stages.append((L, NeuronStage(spec=layer)))
                in_width, in_lanes = None, layer.lanes
        return stages

    def neuron_stage(self, L: int) -> NeuronStage:
        """The stage of the neuron layer at index L of ``layers`` (its ``o`` carries the layer's spikes)."""
        for index, stage in self.stages:
            if index == L and isinstance(stage, NeuronStage):
                return stage
        raise KeyError(f"layers[{L}] is not a neuron layer")

    def dense_engines(self) -> list[DenseEngine]:
        return [stage for _, stage in self.stages if isinstance(stage, DenseEngine)]

    @property
    def cycles_per_step(self) -> dict:
        """Per layer and for the network: fewest and most clock cycles per time step (no back-pressure).
        A network's throughput is set by its slowest stage: the network figure is the largest stage's."""
        per_layer = []
        for L, stage in self.stages:
            if isinstance(stage, DenseEngine):
                lo, hi = stage.cycles_per_step
                per_layer.append({"layer": L, "kind": "dense", "min": lo, "max": hi})
            elif isinstance(stage, NeuronStage):
                n = stage.spec.beats_per_step
                per_layer.append({"layer": L, "kind": "psn", "min": n, "max": n})
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


# ----------------------------------------------------------------------------- Verilog and NETWORK.json
@dataclass(frozen=True)
class GeneratedNetwork:
    """A generated network: its Verilog text and its NETWORK.json description."""
    verilog: str
    info: dict


def _payload(layout: data.StructLayout) -> dict:
    out = {}
    for name, f in layout:
        shape = f.shape
        entry = {"offset": f.offset, "width": f.width}
        if isinstance(shape, data.ArrayLayout):
            es = shape.elem_shape
            entry.update(count=shape.length, per_element=len(Signal(es)),
                         signed=bool(getattr(es, "signed", False)))
        out[name] = entry
    return out


def generate_network(net: NetworkSpec, top: str | None = None, *, arith: str | None = None,
                     max_steps: int = DEFAULT_MAX_STEPS, progress=None) -> GeneratedNetwork:
    """Verilog-2001 of a whole network (:class:`NetworkTop`) and its description (NETWORK.json dict):
    ``top``, ``kind`` ("network"), ``arith``, ``clock``, ``reset``, ``ports`` (name, direction, width),
    ``input_payload`` / ``output_payload`` (field -> offset, width, count, per_element, signed),
    ``end_of_sequence``, ``cycles_per_step`` (per layer and network, min and max), ``latency``,
    ``layers`` (per layer: kind, sizes, lanes, widths, ROM bits or neuron organisation), ``monitors``
    (per neuron layer L: the Verilog ``instance`` inside the top whose ``ports`` valid / ready / payload
    carry the layer's spikes, and that ``payload``'s layout: ``x`` the spikes, ``first``, ``last``)."""
    if not isinstance(net, NetworkSpec):
        raise TypeError(f"net must be a NetworkSpec, not {type(net).__name__}")
    top = net.name if top is None else top
    if not is_verilog_name(top):
        raise UsageError(f"top module name {top!r} is not a Verilog identifier")
    say = progress or (lambda msg: None)
    say(f"elaborating the network ({len(net.layers)} layers) ...")
    core = NetworkTop(net=net, arith=arith, max_steps=max_steps)
    say(f"converting {top} to Verilog (Yosys) ...")
    text = verilog.convert(core, name=top, emit_src=False, strip_internal_attrs=True)
    return GeneratedNetwork(verilog=text, info=_describe(core, top))


def _describe(core: NetworkTop, top: str) -> dict:
    net = core.net
    in_layout = core.i.signature.members["payload"].shape
    out_layout = core.o.signature.members["payload"].shape
    ports = [("clk", "input", 1), ("rst", "input", 1), ("i__valid", "input", 1), ("i__ready", "output", 1),
             ("i__payload", "input", in_layout.size), ("o__valid", "output", 1), ("o__ready", "input", 1),
             ("o__payload", "output", out_layout.size)]
    layers = []
    for L, stage in core.stages:
        if isinstance(stage, DenseEngine):
            layers.append({"index": L, "kind": "dense", "inputs": stage.layer.in_features,
                           "outputs": stage.layer.out_features, "lanes": stage.lanes, "in_lanes": stage.in_lanes,
                           "first_layer": ("bit-serial" if stage.bit_serial else "multiplier")
                           if L == 0 else None,
                           "weight_width": stage.weight_width, "bias_width": stage.bias_width,
                           "acc_width": stage.acc_width, "out_width": stage.out_width,
                           "rom_bits": stage.rom_bits, "cycles_per_step": list(stage.cycles_per_step)})
        elif isinstance(stage, NeuronStage):
            s = stage.spec
            layers.append({"index": L, "kind": "psn", "channels": s.channels, "lanes": s.lanes,
                           "order": s.order, "dilation": s.dilation, "input_width": s.input_width,
                           "arith": s.arith, "hardware": "core" if s.parallel else "engine",
                           "cycles_per_step": [s.beats_per_step, s.beats_per_step]})
        else:
            layers.append({"index": L, "kind": "regroup", "from_lanes": stage._a, "to_lanes": stage._b})
    cps = core.cycles_per_step
    return {
        "top": top,
        "kind": "network",
        "arith": core.arith,
        "network": {"input_width": net.input_width, "inputs": net.in_features, "outputs": net.out_features,
                    "layers": len(net.layers)},
        "clock": {"port": "clk", "edge": "rising"},
        "reset": {"port": "rst", "kind": "synchronous", "active": "high",
                  "clears": ["every stream's valid flags and counters", "the readout's sums"]},
        "ports": [{"name": n, "direction": d, "width": w} for n, d, w in ports],
        "input_payload": _payload(in_layout),
        "output_payload": _payload(out_layout),
        "input_beat": "one time step: x[i] = X[t][i]; first = the step starts a sequence; "
                      "last = the step ends it",
        "output_beat": f"{net.layers[-1].lanes} logits of one time step (beat g of a step: logits g*lanes + j); "
                       "done = 1 on the sequence's final beat, which also carries cls and sums",
        "end_of_sequence": "the input's last flag (it travels with the time step through every layer)",
        "max_steps": core._max_steps,
        "sum_width": core.sum_width,
        "logit_width": core.logit_width,
        "cycles_per_step": cps,
        "latency": {"meaning": "cycles from a time step's input handshake to its last output beat "
                               "(with last: the class) through an idle network without back-pressure, at most",
                    "max": _latency_bound(core)},
        "layers": layers,
        "monitors": [{"layer": L, "instance": core.instance_name(stage),
                      "ports": {"valid": "o__valid", "ready": "o__ready", "payload": "o__payload"},
                      "payload": _payload(stage.o.signature.members["payload"].shape)}
                     for L, stage in core.stages if isinstance(stage, NeuronStage)],
    }


def _latency_bound(core: NetworkTop) -> int:
    """Most cycles from a time step's input handshake to its last output beat through an idle network
    without back-pressure: each stage's last output follows its last input by at most a dense
    engine's whole step (``G*(P*I + 1)`` operations, then stage 1 and the output register), a neuron
    layer's latency, or a Regroup's two registers; then the readout's register."""
    total = 0
    for _, stage in core.stages:
        if isinstance(stage, DenseEngine):
            total += stage.cycles_per_step[1] + 2
        elif isinstance(stage, NeuronStage):
            total += stage.latency
        else:
            total += 2
    return total + 1


def network_description_path(verilog_path: str | os.PathLike) -> Path:
    """``net.v`` -> ``net.network.json``."""
    p = Path(verilog_path)
    return p.with_name(p.stem + ".network.json")


def write_network_verilog(net: NetworkSpec, verilog_path: str | os.PathLike, top: str | None = None, *,
                          arith: str | None = None, inputs=(), progress=None) -> dict:
    """Write the network's Verilog and its NETWORK.json description beside it (``net.v`` ->
    ``net.network.json``), atomically; return the description dict."""
    path = Path(verilog_path)
    if path.suffix == ".json":
        raise UsageError(f"output {path}: the Verilog file must not end in .json")
    prepare_output(path, inputs)
    desc = network_description_path(path)
    prepare_output(desc, inputs, what="network description")
    gen = generate_network(net, top, arith=arith, progress=progress)
    atomic_write(path, gen.verilog)
    atomic_write(desc, json.dumps(gen.info, indent=1) + "\n")
    return gen.info
