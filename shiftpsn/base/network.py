"""The network spec: a whole trained SNN in integers (docs/CONTRACT.md section 5). numpy only.

A network file is a JSON object with ``input_width`` (bits of the signed network input) and ``layers``,
a list that alternates synapse and neuron layers, starting and ending with a synapse layer::

    {"type": "dense", "weight": O lists of I ints, "bias": O ints}   Y[t][o] = bias[o] + sum_i weight[o][i] * X[t][i]
    {"type": "psn", <a core spec, docs/CONTRACT.md section 2>}      X'[t][c] = spike[t][c] on input Y[t][c]

Optional keys (this project's; unknown keys are errors):

* top level: ``name`` (Verilog identifier, default ``shiftpsn_net``), the network's top-level module;
* dense: ``name`` (Verilog identifier; absent: the generator names it) and ``lanes`` (int >= 1 dividing
  O, default O: dense outputs computed per clock cycle in hardware; results never depend on it);
* psn: every optional key of a core spec (``lanes``, ``name``, ``arith``, ...); ``positions`` must be 1.

Ranges (exact, from the weights): a dense layer's inputs lie in [xmin, xmax] = [-2^(W-1), 2^(W-1) - 1]
(W = the network's ``input_width``) for the first dense layer and in [0, 1] (spikes) after a neuron
layer, so with P[o] = sum of the positive weights of row o and N[o] = sum of |negative weights|::

    max Y[t][o] = bias[o] + P[o] * xmax - N[o] * xmin        min Y[t][o] = bias[o] + P[o] * xmin - N[o] * xmax

Both bounds are reached by a legal input (x_i = xmax or xmin by the sign of weight[o][i]), so they are
the exact range. A dense layer that feeds a neuron layer must fit that layer's ``input_width`` over this
whole range, else the network is rejected (never clamped). Width check: every partial sum of a dense
output, in any order, is at most |bias| + (P + N) * max(|xmin|, |xmax|) in magnitude; that must fit
int64 (so numpy's int64 matmul is exact), and so must each neuron layer's accumulator (CoreSpec).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import SpecError, StimulusError, UsageError
from .ints import INT64_MAX, SignedInputRange, is_int, signed_width
from .layers import DenseLayer, Layer, layer_class, types_of_role
from .layers.dense import DENSE_KEYS, DENSE_OPTIONAL_KEYS
from .layers.registry import check_keys
from .names import is_verilog_name
from .spec import CoreSpec

__all__ = ["NetworkSpec", "DenseLayer", "CoreSpec", "signed_width", "INT64_MAX", "check_network_input",
           "load_network_input", "save_network_results", "load_network_results", "NETWORK_KEYS",
           "NETWORK_OPTIONAL_KEYS", "DENSE_KEYS", "DENSE_OPTIONAL_KEYS", "MAX_INPUT_WIDTH"]

#: Keys every network file has.
NETWORK_KEYS = ("input_width", "layers")
#: Optional top-level keys with their defaults.
NETWORK_OPTIONAL_KEYS = {"name": "shiftpsn_net"}
#: Widest network input: inputs are carried in int64.
MAX_INPUT_WIDTH = 64


@dataclass(frozen=True, eq=False)
class NetworkSpec(SignedInputRange):
    """A validated network (module docstring). Build one with :meth:`from_dict`, :meth:`load` or the
    constructor (``layers``: layer objects of registered types, synapse and neuron roles alternating,
    a synapse layer first and last).

    After construction ``ranges[L]`` holds ``(lo, hi)``, the exact range of each output of synapse layer
    L (lists of Python ints), and ``partial_bounds[L]`` the bound on its partial sums."""

    input_width: int
    layers: tuple
    name: str = NETWORK_OPTIONAL_KEYS["name"]
    ranges: dict = field(init=False, repr=False)
    partial_bounds: dict = field(init=False, repr=False)

    def __post_init__(self):
        if isinstance(self.layers, list):
            object.__setattr__(self, "layers", tuple(self.layers))
        self._validate()

    # ----------------------------------------------------------------- validation
    def _validate(self) -> None:
        w = self.input_width
        if not is_int(w):
            raise SpecError(f"network: 'input_width' must be an integer, got {w!r}")
        if not 2 <= w <= MAX_INPUT_WIDTH:
            raise SpecError(f"network: 'input_width' must be in [2, {MAX_INPUT_WIDTH}], got {w}")
        if not is_verilog_name(self.name):
            raise SpecError(f"network: 'name' must be a Verilog identifier, got {self.name!r}")
        layers = self.layers
        if not isinstance(layers, tuple) or not layers:
            raise SpecError("network: 'layers' must be a non-empty list of layers")
        for L, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise SpecError(f"network: layers[{L}] must be a {' or '.join(_all_types())} layer, "
                                f"got {type(layer).__name__}")
            _check_role(L, type(layer), layers[L - 1].role if L else None)
        if layers[-1].role != "synapse":
            raise SpecError(f"network: the last layer, layers[{len(layers) - 1}], is a {layers[-1].type_name} "
                            f"layer; the network must end with a {types_of_role('synapse')} layer (its outputs "
                            f"are the logits)")
        ranges, partial = {}, {}
        lo, hi = [self.input_min] * layers[0].in_features, [self.input_max] * layers[0].in_features
        for L, layer in enumerate(layers):
            where = f"network: layers[{L}] ({layer.type_name})"
            if L:
                prev = layers[L - 1]
                layer.check_input_features(prev.out_features, where, f"layers[{L - 1}]")
                layer.check_input_range(lo, hi, where, f"layers[{L - 1}] ({prev.type_name})")
            else:
                layer.check_input_range(lo, hi, where, "the network input")
            lo, hi, part = layer.output_range(lo, hi)
            if layer.role == "synapse":
                ranges[L], partial[L] = (lo, hi), part
        object.__setattr__(self, "ranges", ranges)
        object.__setattr__(self, "partial_bounds", partial)

    # ----------------------------------------------------------------- derived
    @property
    def in_features(self) -> int:
        """I, inputs per time step of the network."""
        return self.layers[0].in_features

    @property
    def out_features(self) -> int:
        """O, logits per time step."""
        return self.layers[-1].out_features

    @property
    def neuron_indices(self) -> tuple[int, ...]:
        """Indices L of the neuron layers in ``layers`` (the results' ``spikes_L``)."""
        return tuple(L for L, layer in enumerate(self.layers) if layer.role == "neuron")

    @property
    def arith(self) -> str:
        """The network's arithmetic: "mac" when every neuron layer is "mac" (the multiplier baseline),
        else "shift" (the first dense layer then takes its inputs bit-serially)."""
        ariths = [getattr(self.layers[L], "arith", "shift") for L in self.neuron_indices]
        return "mac" if ariths and all(a == "mac" for a in ariths) else "shift"

    def required_width(self, L: int) -> int:
        """Fewest input_width bits that hold every output of synapse layer L for every legal input."""
        lo, hi = self.ranges[L]
        return signed_width(min(lo), max(hi))

    @property
    def logit_bound(self) -> int:
        """Largest |Y[t][o]| of the last dense layer (the class sums over T steps are T times this)."""
        lo, hi = self.ranges[len(self.layers) - 1]
        return max(max(abs(v) for v in lo), max(abs(v) for v in hi))

    def with_arith(self, arith: str) -> "NetworkSpec":
        """The same network with every layer's arithmetic ``arith`` (``"mac"``: the multiplier baseline)."""
        return NetworkSpec(input_width=self.input_width, layers=tuple(l.with_arith(arith) for l in self.layers),
                           name=self.name)

    # ----------------------------------------------------------------- model and cycles
    def forward(self, x: np.ndarray) -> list[np.ndarray]:
        """Every layer's output on a validated int64 input (B, T, I) (:func:`check_network_input`), in
        order: the exact integer model (``shiftpsn.golden.network.run_network`` is the front door)."""
        outputs = []
        for layer in self.layers:
            x = layer.forward(x)
            outputs.append(x)
        return outputs

    def layer_input_width(self, L: int) -> int | None:
        """Bits of the signed integer inputs of layer L, or None when they are spikes (0/1)."""
        if L == 0:
            return self.input_width
        return None if self.layers[L - 1].role == "neuron" else self.required_width(L - 1)

    @property
    def readout_cycles(self) -> int:
        """Cycles per time step of the readout: one per beat of logits (O / lanes of the last layer)."""
        return self.layers[-1].out_features // self.layers[-1].lanes

    def cycles_per_step(self, arith: str | None = None) -> dict:
        """Fewest and most clock cycles per time step of each layer and of the readout in hardware, and
        the network's: its slowest stage's (``arith`` default :attr:`arith`; NETWORK.json's figure)."""
        arith = self.arith if arith is None else arith
        per_layer = []
        for L, layer in enumerate(self.layers):
            lo, hi = layer.step_cycles(input_width=self.layer_input_width(L), arith=arith)
            per_layer.append({"layer": L, "kind": layer.type_name, "min": lo, "max": hi})
        G = self.readout_cycles
        per_layer.append({"layer": None, "kind": "readout", "min": G, "max": G})
        return {"min": max(x["min"] for x in per_layer), "max": max(x["max"] for x in per_layer),
                "layers": per_layer}

    def step_cycles(self, x: np.ndarray, arith: str | None = None) -> np.ndarray:
        """Clock cycles of each time step of input ``x`` (B, T, I), int64 (B, T): the slowest stage's
        documented count for the data it sees (back to back, no back-pressure)."""
        arith = self.arith if arith is None else arith
        h = check_network_input(x, self)
        per_stage = [np.full(h.shape[:2], self.readout_cycles, dtype=np.int64)]
        for L, (layer, out) in enumerate(zip(self.layers, self.forward(h))):
            per_stage.append(layer.step_cycles(h, input_width=self.layer_input_width(L), arith=arith)[0])
            h = out
        return np.max(per_stage, axis=0)

    # ----------------------------------------------------------------- I/O
    def to_dict(self) -> dict:
        d = {"input_width": self.input_width, "layers": [layer.layer_dict() for layer in self.layers]}
        if self.name != NETWORK_OPTIONAL_KEYS["name"]:
            d["name"] = self.name
        return d

    @classmethod
    def from_dict(cls, d: Any) -> "NetworkSpec":
        if not isinstance(d, dict):
            raise SpecError(f"network: expected a JSON object, got {type(d).__name__}")
        check_keys(d, NETWORK_KEYS, NETWORK_OPTIONAL_KEYS, "network")
        raw = d["layers"]
        if not isinstance(raw, list) or not raw:
            raise SpecError("network: 'layers' must be a non-empty list of layers")
        layers = []
        for L, item in enumerate(raw):
            where = f"network: layers[{L}]"
            kind = layer_class(item, where)
            _check_role(L, kind, layers[-1].role if layers else None)
            layers.append(kind.from_layer_dict(item, f"{where} ({kind.type_name})"))
        return cls(input_width=d["input_width"], layers=tuple(layers),
                   name=d.get("name", NETWORK_OPTIONAL_KEYS["name"]))

    @classmethod
    def load(cls, path: str | Path) -> "NetworkSpec":
        from .limits import load_checked  # bounded read, JSON limits (docs/CONTRACT.md section 4)

        return load_checked(Path(path), "network", cls.from_dict)

    def to_json(self) -> str:
        """JSON text: one layer key per line, one weight row (or shift / sign row) per line."""
        def value(key, v, indent):
            if isinstance(v, list) and v and isinstance(v[0], list):
                rows = f",\n{indent}  ".join(json.dumps(r) for r in v)
                return f"[\n{indent}  {rows}\n{indent}]"
            return json.dumps(v)

        layers = []
        for layer in self.to_dict()["layers"]:
            items = [f'      {json.dumps(k)}: {value(k, v, "      ")}' for k, v in layer.items()]
            layers.append("    {\n" + ",\n".join(items) + "\n    }")
        head = [f'  "input_width": {self.input_width}']
        if self.name != NETWORK_OPTIONAL_KEYS["name"]:
            head.append(f'  "name": {json.dumps(self.name)}')
        return "{\n" + ",\n".join(head) + ',\n  "layers": [\n' + ",\n".join(layers) + "\n  ]\n}\n"

    def save(self, path: str | Path) -> None:
        """Write the network (atomically: the old file or the new one, never half)."""
        from .paths import atomic_write

        atomic_write(path, self.to_json())


def _all_types() -> list[str]:
    from .layers import LAYER_TYPES

    return list(LAYER_TYPES)


def _check_role(L: int, kind: type, before: str | None) -> None:
    """Synapse and neuron layers alternate, starting with a synapse layer (``before``: the role of
    layers[L-1], None for the first)."""
    want = "neuron" if before == "synapse" else "synapse"
    if kind.role != want:
        s, n = types_of_role("synapse"), types_of_role("neuron")
        raise SpecError(f"network: layers[{L}] is a {kind.type_name} layer, expected {types_of_role(want)}: "
                        f"layers alternate {s}, {n}, {s}, ... starting and ending with {s}")


# ----------------------------------------------------------------------------- inputs and results
def check_network_input(x, net: NetworkSpec, what: str = "input") -> np.ndarray:
    """Validate a network input and return it as int64 (B, T, I): integer dtype, shape (T, I) or
    (B, T, I), every value within the network's ``input_width``. Raises StimulusError."""
    x = np.asarray(x)
    if x.dtype.kind not in "iu":
        raise StimulusError(f"{what}: dtype must be an integer type, got {x.dtype}")
    if x.ndim not in (2, 3):
        raise StimulusError(f"{what}: shape must be (T, I) or (B, T, I), got {x.shape}")
    if x.shape[-1] != net.in_features:
        raise StimulusError(f"{what}: last dimension is {x.shape[-1]}, expected the network's inputs "
                            f"I = {net.in_features}")
    from .stimulus import fit_input_width

    x = fit_input_width(x, net.input_width, what)
    return x[None] if x.ndim == 2 else x


def load_network_input(path: str | Path, net: NetworkSpec) -> np.ndarray:
    """Load and validate a network input file (.npy) as int64 (B, T, I)."""
    from .limits import load_npy  # header checked against MAX_STIMULUS_VALUES before allocating

    path = Path(path)
    x = load_npy(path, "input")
    if not isinstance(x, np.ndarray):
        raise StimulusError(f"input {path}: expected a .npy array, got an archive")
    return check_network_input(x, net, what=f"input {path}")


def save_network_results(path: str | Path, logits: np.ndarray, classes: np.ndarray,
                         spikes: dict[int, np.ndarray]) -> None:
    """Write ``logits`` (int64 (B, T, O)), ``classes`` (int64 (B,)) and ``spikes_L`` (uint8 (B, T, C))
    per neuron layer L to an ``.npz`` file (creating its parent directory, atomically)."""
    from .paths import atomic_write, ensure_parent

    path = Path(path)
    if path.is_dir():
        raise UsageError(f"output {path} is a directory; give a file name ending in .npz")
    if path.suffix != ".npz":
        raise UsageError(f"output {path}: results are written as .npz (docs/CONTRACT.md section 5)")
    ensure_parent(path)
    arrays = {"logits": np.asarray(logits, dtype=np.int64), "classes": np.asarray(classes, dtype=np.int64)}
    arrays.update({f"spikes_{L}": np.asarray(s, dtype=np.uint8) for L, s in spikes.items()})
    atomic_write(path, lambda f: np.savez(f, **arrays))


def load_network_results(path: str | Path, net: NetworkSpec | None = None) -> dict[str, np.ndarray]:
    """The arrays of a network results file (``logits``, ``classes``, ``spikes_L``); with ``net``, checks
    that every neuron layer's ``spikes_L`` is there. UsageError (one line) otherwise."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"results file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (ValueError, OSError, EOFError) as e:
        raise UsageError(f"results {path}: not a readable .npz archive ({str(e).splitlines()[0][:120]})") from None
    expected = ["logits", "classes"] + ([f"spikes_{L}" for L in net.neuron_indices] if net is not None else [])
    missing = [k for k in expected if k not in arrays]
    if missing:
        raise UsageError(f"results {path}: missing array {missing[0]!r} (docs/CONTRACT.md section 5)")
    return arrays
