"""What the neuron layer components share: the check of their spec (a ``psn`` layer of the layer
protocol), and for the parallel core and the engine their streams and configuration port."""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from shiftpsn.base.spec import CoreSpec

from .config import config_signature
from .layouts import input_layout, output_layout
from .names import merge, under
from .registers import RegisterRoles

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

    def _finish(self, m: Module, reg: RegisterRoles, advance, valid, first, spikes: list, accs: list, *,
                stage: str) -> None:
        """The end of the pipeline: ``valid`` and ``first`` delayed beside the datapaths'
        ``spec.pipeline`` register stages (``valid_<stage><q>``, ``first_<stage><q>``), then the output
        register (loaded only with a valid beat: it holds still between beats, less switching) and
        ``o.valid``, all moving on ``advance``."""
        for q in range(self._spec.pipeline):
            valid_q = reg("pipeline", Signal(name=f"valid_{stage}{q}"))
            first_q = reg("pipeline", Signal(name=f"first_{stage}{q}"))
            with m.If(advance):
                m.d.sync += [valid_q.eq(valid), first_q.eq(first)]
            valid, first = valid_q, first_q
        reg("handshake", self.o.valid)
        reg("output", self.o.payload)
        with m.If(advance):
            m.d.sync += self.o.valid.eq(valid)
            with m.If(valid):
                m.d.sync += [self.o.payload.spikes.eq(Cat(spikes)), self.o.payload.first.eq(first)]
                if self._spec.emit_acc:
                    m.d.sync += self.o.payload.acc.eq(Cat(accs))

    @staticmethod
    def _names_with_weights(own: dict, weights: dict | None) -> dict:
        """A name map ``own`` with the weights' (registers or memories of the ``weights`` instance)."""
        return merge(own, under(weights, "weights")) if weights else own
