"""Hardware stages of a network, one builder per layer type: ``STAGE_BUILDERS[layer.type_name]``.

A builder takes the layer and a :class:`StageContext` (what flows in, what the next layer needs, the
network's arithmetic) and returns the stream components that compute the layer, in order, and what
flows out. :class:`~shiftpsn.hdl.network.NetworkTop` joins them; it never asks which type a layer is.
A new layer type registers its builder here (:func:`register_stage`).

Every stage component offers the same small interface (the describer and the latency bound use only
this): ``kind`` (its entry in NETWORK.json ``layers``: "dense", "psn", "regroup"), ``latency_bound``
(most cycles from its last input beat of a time step to its last output beat, idle, no back-pressure),
``step_cycles`` ((fewest, most) cycles per time step, or None for a stage that sets no pace),
``layer_entry(L)`` (its ``layers`` entry), ``monitored`` (its output stream is a layer's spikes, watched
by the co-simulation) and ``names()`` (its name map, :mod:`shiftpsn.hdl.names`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from amaranth.hdl import signed

from .dense import DenseEngine
from .lif_stage import LifStage
from .neuron_stage import NeuronStage
from .regroup import Regroup

__all__ = ["StageContext", "STAGE_BUILDERS", "register_stage"]


@dataclass(frozen=True)
class StageContext:
    """What a layer's hardware is built for.

    index: the layer's index L; in_width: bits of its signed integer inputs, None for spikes; in_lanes:
    values per input beat; out_width: bits of the values the next stage takes (the next layer's input
    width, or the logits' for the last layer); next_lanes: values per beat the next layer takes (None
    after the last layer); arith: the network's ("shift" or "mac")."""
    index: int
    in_width: int | None
    in_lanes: int
    out_width: int
    next_lanes: int | None
    arith: str


@dataclass(frozen=True)
class BuiltStage:
    """A layer in hardware: its stream ``components`` in order, and what leaves the last one:
    ``out_width`` (None for spikes) and ``out_lanes`` values per beat."""
    components: list
    out_width: int | None
    out_lanes: int


def dense_stage(layer, ctx: StageContext) -> BuiltStage:
    """A dense layer: a :class:`DenseEngine`, then a :class:`Regroup` when the next layer takes
    beats of another number of values."""
    engine = DenseEngine(layer=layer, input_width=ctx.in_width, out_width=ctx.out_width, in_lanes=ctx.in_lanes,
                         lanes=layer.lanes, arith=ctx.arith)
    parts = [engine]
    if ctx.next_lanes is not None and ctx.next_lanes != layer.lanes:
        parts.append(Regroup(shape=signed(ctx.out_width), a=layer.lanes, b=ctx.next_lanes,
                             values=layer.out_features))
    return BuiltStage(parts, ctx.out_width, ctx.next_lanes or layer.lanes)


def psn_stage(layer, ctx: StageContext) -> BuiltStage:
    """A neuron layer: a :class:`NeuronStage` (the parallel core or the engine, weights baked in)."""
    return BuiltStage([NeuronStage(spec=layer)], None, layer.lanes)


def lif_stage(layer, ctx: StageContext) -> BuiltStage:
    """A lif layer: a :class:`LifStage` (membranes in registers, or in block RAM when time-multiplexed)."""
    return BuiltStage([LifStage(layer=layer)], None, layer.lanes)


#: layer type name (``Layer.type_name``) -> builder ``(layer, StageContext) -> BuiltStage``.
STAGE_BUILDERS: dict[str, Callable[[Any, StageContext], BuiltStage]] = {"dense": dense_stage, "psn": psn_stage,
                                                                        "lif": lif_stage}


def register_stage(type_name: str, builder: Callable[[Any, StageContext], BuiltStage]) -> None:
    """Register the hardware of a layer type."""
    STAGE_BUILDERS[type_name] = builder
