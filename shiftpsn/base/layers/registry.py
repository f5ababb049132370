"""The layer protocol: one class per layer type, and the registry from a network file's ``"type"`` to it.

A design is a list of layers (docs/CONTRACT.md section 5); a single core spec is a one-layer design.
Every layer type is one class registered here with :func:`register`; the network spec, the integer
model, the flow and the hardware generators reach a layer only through the methods below, never by
testing its class, so a new layer type is one new module (plus its hardware stage in shiftpsn.hdl).
numpy only: this package imports neither torch nor amaranth (pyproject.toml, light-reference contract).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from ..errors import SpecError

#: What a layer's outputs are: integers that feed a neuron layer or the logits ("synapse"), or spikes
#: 0/1, recorded in a network's results as ``spikes_L`` ("neuron").
ROLES = ("synapse", "neuron")


class Layer(ABC):
    """One layer of a design.

    Class attributes ``type_name`` (the JSON ``"type"``) and ``role`` (:data:`ROLES`). Every layer also
    has ``in_features`` (I, values per time step in), ``out_features`` (O, values out), ``lanes``
    (values per stream beat in hardware) and ``name`` (a Verilog identifier or None).
    """

    type_name: ClassVar[str]
    role: ClassVar[str]

    # ----------------------------------------------------------------- JSON
    @abstractmethod
    def layer_dict(self) -> dict:
        """The layer's entry of a network file: ``"type"`` first, optional keys at their defaults left out."""

    @classmethod
    @abstractmethod
    def from_layer_dict(cls, d: dict, where: str) -> "Layer":
        """The layer of a network file's entry ``d`` (with ``"type"``); SpecError messages start with ``where``."""

    @abstractmethod
    def with_lanes(self, lanes: int) -> "Layer":
        """The same layer computing ``lanes`` values per cycle in hardware (never changes results)."""

    def with_arith(self, arith: str) -> "Layer":
        """The same layer with arithmetic ``arith`` ("shift" or "mac"): a layer with its own ``arith``
        key overrides this; others take the network's and return themselves."""
        return self

    # ----------------------------------------------------------------- exact integer model
    @abstractmethod
    def forward(self, x: np.ndarray) -> np.ndarray:
        """The exact integer model: x int64 (B, T, I) -> (B, T, O); every sequence starts afresh."""

    # ----------------------------------------------------------------- ranges
    @abstractmethod
    def output_range(self, lo: list[int], hi: list[int]) -> tuple[list[int], list[int], list[int] | None]:
        """Exact ``(lo, hi, partial)`` of each output when input i lies in [lo[i], hi[i]]: the least and
        greatest value reached by a legal input, and a bound on |any partial sum| (None: no sums)."""

    @abstractmethod
    def check_input_features(self, features: int, where: str, source: str) -> None:
        """SpecError (starting with ``where``) when ``features`` values per step from ``source`` (a
        layer's outputs) cannot feed this layer, or the layer cannot sit inside a network."""

    @abstractmethod
    def check_input_range(self, lo: list[int], hi: list[int], where: str, source: str = "the input") -> None:
        """SpecError (starting with ``where``, naming ``source``) when inputs in [lo, hi] do not fit."""

    # ----------------------------------------------------------------- hardware figures
    @abstractmethod
    def step_cycles(self, in_activity: np.ndarray | None = None, *, input_width: int | None = None,
                    arith: str = "shift") -> tuple[Any, Any]:
        """(fewest, most) clock cycles one time step takes in the pipelined hardware, without
        back-pressure. ``input_width``: None when the inputs are spikes (0/1), else the bits of the
        signed integer inputs; ``arith``: the network's. With ``in_activity`` (int array (..., I) of
        the inputs the layer sees) both are the exact int64 counts per time step, shape (...)."""

    def memories(self) -> dict[str, tuple[int, int, int]]:
        """The block memories of the layer's hardware, each priced per neuron and time step as a lane's
        own memory: name -> (words, bits per word, accesses per neuron-time-step). {} (the default):
        everything in registers."""
        return {}

    @abstractmethod
    def synops_per_step(self) -> int:
        """Synaptic operations per time step (docs/CONTRACT.md section 6)."""

    @abstractmethod
    def stream_fields(self, direction: str, **context) -> dict:
        """The payload layout of the layer's beats as a stand-alone top, ``direction`` "input" or
        "output", in the one payload schema (:mod:`shiftpsn.base.payload`)."""


#: JSON ``"type"`` -> layer class, in registration order.
LAYER_TYPES: dict[str, type[Layer]] = {}


def register(cls: type[Layer]) -> type[Layer]:
    """Class decorator: add ``cls`` to :data:`LAYER_TYPES` under ``cls.type_name``."""
    name = getattr(cls, "type_name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"{cls.__name__}: a layer type needs a type_name")
    if getattr(cls, "role", None) not in ROLES:
        raise TypeError(f"{cls.__name__}: role must be one of {ROLES}")
    if name in LAYER_TYPES and LAYER_TYPES[name] is not cls:
        raise TypeError(f"layer type {name!r} is registered twice ({LAYER_TYPES[name].__name__}, {cls.__name__})")
    LAYER_TYPES[name] = cls
    return cls


def layer_class(d: Any, where: str) -> type[Layer]:
    """The registered class of a network file's entry ``d`` (a JSON object with a known ``"type"``)."""
    if not isinstance(d, dict):
        raise SpecError(f"{where} must be a JSON object, got {type(d).__name__}")
    kind = d.get("type")
    if not isinstance(kind, str) or kind not in LAYER_TYPES:
        raise SpecError(f"{where}: 'type' must be one of {list(LAYER_TYPES)}, got {kind!r}")
    return LAYER_TYPES[kind]


def layer_from_dict(d: Any, where: str) -> Layer:
    """The layer of a network file's entry ``d``, by its ``"type"``; SpecError starting with ``where``."""
    cls = layer_class(d, where)
    return cls.from_layer_dict(d, f"{where} ({cls.type_name})")


def types_of_role(role: str) -> str:
    """The registered type names of a role, for messages: "dense", or "psn/lif"."""
    return "/".join(name for name, cls in LAYER_TYPES.items() if cls.role == role)


def check_keys(d: dict, required, optional, where: str) -> None:
    """SpecError for the first unknown key of ``d`` (sorted) or the first missing required key."""
    known = tuple(required) + tuple(optional)
    unknown = sorted(str(k) for k in set(d) - set(known))
    if unknown:
        raise SpecError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(known)})")
    missing = [k for k in required if k not in d]
    if missing:
        raise SpecError(f"{where}: missing key {missing[0]!r}")
