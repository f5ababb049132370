"""The layer protocol and its registry (numpy only; docs/ARCHITECTURE.md "Layers").

    >>> from shiftpsn.base.layers import LAYER_TYPES, layer_from_dict
    >>> sorted(LAYER_TYPES)
    ['dense', 'lif', 'psn']

:mod:`.registry` holds the protocol (:class:`Layer`) and the registry; one module per layer type:
:mod:`.dense` (DenseLayer), :mod:`.lif` (LifLayer) and :mod:`.psn` (the protocol of CoreSpec, the psn neuron layer, whose
fields and widths live in :mod:`shiftpsn.base.spec`).
"""

from .dense import DenseLayer
from .lif import LifLayer
from .psn import PsnLayer
from .registry import LAYER_TYPES, ROLES, Layer, layer_class, layer_from_dict, register, types_of_role

from .. import spec as _spec  # noqa: E402,F401  registers CoreSpec as "psn"

__all__ = ["Layer", "LAYER_TYPES", "ROLES", "register", "layer_from_dict", "layer_class", "types_of_role", "DenseLayer", "PsnLayer", "LifLayer"]
