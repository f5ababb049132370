"""What the neuron layer components share: the check of their spec (a ``psn`` layer of the layer
protocol), and for the parallel core and the engine their streams and configuration port."""

from __future__ import annotations

from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from shiftpsn.base.spec import CoreSpec

from .config import config_signature
from .layouts import input_layout, output_layout
from .names import merge, under

__all__ = ["refuse", "require_psn", "NeuronLayerComponent"]


def refuse(component, exc: Exception):
    """Raise ``exc`` from a component's constructor; the half-built component does not warn as unused."""
    component._MustUse__silence = True
    raise exc


def require_psn(component, spec) -> None:
    """TypeError unless ``spec`` is a neuron layer spec (the layer protocol's ``psn`` type, a CoreSpec)."""
    if getattr(spec, "type_name", None) != "psn":
        refuse(component, TypeError(f"spec must be a CoreSpec, not {type(spec).__name__}"))


class NeuronLayerComponent(wiring.Component):
    """Base of the parallel core and the engine: ``i`` and ``o`` streams of the core payloads
    (:func:`~shiftpsn.hdl.layouts.input_layout`, :func:`~shiftpsn.hdl.layouts.output_layout`), and
    for runtime weights the configuration port ``cfg`` (:func:`~shiftpsn.hdl.config.config_signature`)."""

    def __init__(self, spec: CoreSpec):
        self._spec = spec
        members = {"i": In(stream.Signature(input_layout(spec))), "o": Out(stream.Signature(output_layout(spec)))}
        if spec.weights == "runtime":
            members["cfg"] = In(config_signature(spec))
        super().__init__(members)

    @property
    def spec(self) -> CoreSpec:
        return self._spec

    @staticmethod
    def _names_with_weights(own: dict, weights: dict | None) -> dict:
        """A name map ``own`` with the weights' (registers or memories of the ``weights`` instance)."""
        return merge(own, under(weights, "weights")) if weights else own
