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
from .spec import OPTIONAL_KEYS as CORE_OPTIONAL_KEYS
from .spec import CoreSpec, is_verilog_name

#: Keys every network file has.
NETWORK_KEYS = ("input_width", "layers")
#: Optional top-level keys with their defaults.
NETWORK_OPTIONAL_KEYS = {"name": "shiftpsn_net"}
#: Keys every dense layer has, and its optional keys with their defaults (None: see the docstring).
DENSE_KEYS = ("type", "weight", "bias")
DENSE_OPTIONAL_KEYS = {"name": None, "lanes": None}
LAYER_TYPES = ("dense", "psn")
INT64_MAX = (1 << 63) - 1
#: Widest network input: inputs are carried in int64.
MAX_INPUT_WIDTH = 64


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def signed_width(lo: int, hi: int) -> int:
    """Fewest bits (>= 2) of a signed two's-complement number that holds every value of [lo, hi]."""
    w = 2
    while lo < -(1 << (w - 1)) or hi > (1 << (w - 1)) - 1:
        w += 1
    return w


def _int_array(value: Any, shape: tuple[int, ...] | None, where: str, key: str, what: str) -> np.ndarray:
    """``value`` (a list of ints, or a list of lists of ints) as a read-only int64 array; SpecError naming
    ``where`` and the first offending entry otherwise. Values must lie in [-(2^63 - 1), 2^63 - 1]."""
    two_d = shape is None or len(shape) == 2
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, (list, tuple)) or not value:
        raise SpecError(f"{where}: {key!r} must be {what}")
    rows = value if two_d else [value]
    if two_d and not all(isinstance(r, (list, tuple)) for r in rows):
        raise SpecError(f"{where}: {key!r} must be {what}")
    width = len(rows[0])
    for r, row in enumerate(rows):
        name = f"{key!r}[{r}]" if two_d else repr(key)
        if len(row) != width or (shape is not None and len(row) != shape[-1]):
            expected = shape[-1] if shape is not None else width
            raise SpecError(f"{where}: {name} has {len(row)} entries, expected {expected}")
        if width == 0:
            raise SpecError(f"{where}: {name} is empty")
        for i, v in enumerate(row):
            if type(v) is not int and not (isinstance(v, np.integer)):
                at = f"{key!r}[{r}][{i}]" if two_d else f"{key!r}[{i}]"
                raise SpecError(f"{where}: {at} must be an integer, got {v!r}")
            if not -INT64_MAX <= v <= INT64_MAX:
                at = f"{key!r}[{r}][{i}]" if two_d else f"{key!r}[{i}]"
                raise SpecError(f"{where}: {at} = {v} does not fit int64 (|value| <= 2^63 - 1)")
    arr = np.array(rows, dtype=np.int64)
    if not two_d:
        arr = arr[0]
    if shape is not None and len(shape) == 2 and arr.shape[0] != shape[0]:
        raise SpecError(f"{where}: {key!r} has {arr.shape[0]} rows, expected {shape[0]}")
    arr.setflags(write=False)
    return arr


def _abs_row_sums(a: np.ndarray) -> list[int]:
    """Exact Python-int row sums of a non-negative int64 matrix with entries < 2^63 (no overflow:
    each entry is split into 32-bit halves whose row sums fit int64 for rows up to 2^31 long)."""
    hi = (a >> 32).sum(axis=1)
    lo = (a & 0xFFFFFFFF).sum(axis=1)
    return [(int(h) << 32) + int(l) for h, l in zip(hi.tolist(), lo.tolist())]


@dataclass(frozen=True, eq=False)
class DenseLayer:
    """A synapse layer: Y[t][o] = bias[o] + sum_i weight[o][i] * X[t][i], exact in integers.

    ``weight`` (O, I) and ``bias`` (O,) are read-only int64 arrays after construction (lists are
    converted and validated); ``lanes`` None resolves to O."""

    weight: Any
    bias: Any
    name: str | None = None
    lanes: int | None = None
    where: str = field(default="dense layer", repr=False)

    def __post_init__(self):
        where = self.where
        w = _int_array(self.weight, None, where, "weight", "a non-empty list of O non-empty lists of I integers")
        b = _int_array(self.bias, (w.shape[0],), where, "bias", f"a list of O = {w.shape[0]} integers")
        if b.shape != (w.shape[0],):
            raise SpecError(f"{where}: 'bias' has {b.shape[0]} entries, expected O = {w.shape[0]} "
                            f"(rows of 'weight')")
        object.__setattr__(self, "weight", w)
        object.__setattr__(self, "bias", b)
        if self.name is not None and not is_verilog_name(self.name):
            raise SpecError(f"{where}: 'name' must be a Verilog identifier, got {self.name!r}")
        if self.lanes is None:
            object.__setattr__(self, "lanes", self.out_features)
        if not _is_int(self.lanes) or self.lanes < 1:
            raise SpecError(f"{where}: 'lanes' must be an integer >= 1, got {self.lanes!r}")
        if self.out_features % self.lanes:
            raise SpecError(f"{where}: 'lanes' ({self.lanes}) must divide the outputs O = {self.out_features}")

    @property
    def out_features(self) -> int:
        return int(self.weight.shape[0])

    @property
    def in_features(self) -> int:
        return int(self.weight.shape[1])

    def output_range(self, xmin: int, xmax: int) -> tuple[list[int], list[int], list[int]]:
        """Exact ``(lo, hi, partial)`` per output over inputs in [xmin, xmax] (xmin <= 0 <= xmax):
        the least and greatest Y[o], and the bound on |any partial sum| (module docstring)."""
        w = self.weight
        p = _abs_row_sums(np.where(w > 0, w, 0))
        n = _abs_row_sums(np.where(w < 0, -w, 0))
        big = max(-xmin, xmax)
        lo, hi, part = [], [], []
        for o, b in enumerate(self.bias.tolist()):
            lo.append(b + p[o] * xmin - n[o] * xmax)
            hi.append(b + p[o] * xmax - n[o] * xmin)
            part.append(abs(b) + (p[o] + n[o]) * big)
        return lo, hi, part

    def to_dict(self) -> dict:
        d = {"type": "dense", "weight": self.weight.tolist(), "bias": self.bias.tolist()}
        if self.name is not None:
            d["name"] = self.name
        if self.lanes != self.out_features:
            d["lanes"] = self.lanes
        return d


@dataclass(frozen=True, eq=False)
class NetworkSpec:
    """A validated network (module docstring). Build one with :meth:`from_dict`, :meth:`load` or the
    constructor (``layers``: DenseLayer and CoreSpec objects, alternating, dense first and last).

    After construction ``ranges[L]`` holds ``(lo, hi)``, the exact range of each output of dense layer
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
        if not _is_int(w):
            raise SpecError(f"network: 'input_width' must be an integer, got {w!r}")
        if not 2 <= w <= MAX_INPUT_WIDTH:
            raise SpecError(f"network: 'input_width' must be in [2, {MAX_INPUT_WIDTH}], got {w}")
        if not is_verilog_name(self.name):
            raise SpecError(f"network: 'name' must be a Verilog identifier, got {self.name!r}")
        layers = self.layers
        if not isinstance(layers, tuple) or not layers:
            raise SpecError("network: 'layers' must be a non-empty list of layers")
        for L, layer in enumerate(layers):
            want = DenseLayer if L % 2 == 0 else CoreSpec
            if not isinstance(layer, (DenseLayer, CoreSpec)):
                raise SpecError(f"network: layers[{L}] must be a dense or psn layer, got {type(layer).__name__}")
            if not isinstance(layer, want):
                raise SpecError(f"network: layers[{L}] is a {_kind(layer)} layer, expected "
                                f"{'dense' if want is DenseLayer else 'psn'}: layers alternate dense, psn, "
                                f"dense, ... starting and ending with dense")
        if len(layers) % 2 == 0:
            raise SpecError(f"network: the last layer, layers[{len(layers) - 1}], is a psn layer; the "
                            f"network must end with a dense layer (its outputs are the logits)")
        ranges, partial = {}, {}
        xmin, xmax = -(1 << (w - 1)), (1 << (w - 1)) - 1
        features, source = None, "the network input"
        for L, layer in enumerate(layers):
            if isinstance(layer, DenseLayer):
                if features is not None and layer.in_features != features:
                    raise SpecError(f"network: layers[{L}] (dense): 'weight' rows have {layer.in_features} "
                                    f"entries, expected {features} (channels of {source})")
                lo, hi, part = layer.output_range(xmin, xmax)
                for o, bound in enumerate(part):
                    if bound > INT64_MAX:
                        raise SpecError(f"network: layers[{L}] (dense): output {o} has partial sums up to "
                                        f"{bound} in magnitude, beyond int64 (2^63 - 1); use smaller weights "
                                        f"or a narrower input")
                ranges[L], partial[L] = (lo, hi), part
                features, source = layer.out_features, f"layers[{L}]"
                xmin, xmax = 0, 1  # the next dense layer sees spikes
            else:
                if layer.positions != 1:
                    raise SpecError(f"network: layers[{L}] (psn): 'positions' must be 1 in a network, "
                                    f"got {layer.positions}")
                if layer.channels != features:
                    raise SpecError(f"network: layers[{L}] (psn): 'channels' is {layer.channels}, expected "
                                    f"{features} (outputs of {source})")
                lo, hi = ranges[L - 1]
                for o in range(features):
                    bad = lo[o] if lo[o] < layer.input_min else hi[o] if hi[o] > layer.input_max else None
                    if bad is not None:
                        need = signed_width(min(lo), max(hi))
                        raise SpecError(
                            f"network: layers[{L}] (psn): output {o} of layers[{L - 1}] (dense) may reach "
                            f"{bad} for a legal network input, beyond input_width = {layer.input_width} "
                            f"(range [{layer.input_min}, {layer.input_max}]); it needs input_width >= {need}")
                source = f"layers[{L}]"
        object.__setattr__(self, "ranges", ranges)
        object.__setattr__(self, "partial_bounds", partial)

    # ----------------------------------------------------------------- derived
    @property
    def input_min(self) -> int:
        return -(1 << (self.input_width - 1))

    @property
    def input_max(self) -> int:
        return (1 << (self.input_width - 1)) - 1

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
        """Indices L of the psn layers in ``layers`` (the results' ``spikes_L``)."""
        return tuple(range(1, len(self.layers), 2))

    def required_width(self, L: int) -> int:
        """Fewest input_width bits that hold every output of dense layer L for every legal input."""
        lo, hi = self.ranges[L]
        return signed_width(min(lo), max(hi))

    @property
    def logit_bound(self) -> int:
        """Largest |Y[t][o]| of the last dense layer (the class sums over T steps are T times this)."""
        lo, hi = self.ranges[len(self.layers) - 1]
        return max(max(abs(v) for v in lo), max(abs(v) for v in hi))

    # ----------------------------------------------------------------- I/O
    def to_dict(self) -> dict:
        layers = []
        for layer in self.layers:
            if isinstance(layer, DenseLayer):
                layers.append(layer.to_dict())
            else:  # optional core keys are left out at their defaults
                d = {k: v for k, v in layer.to_dict().items()
                     if not (k in CORE_OPTIONAL_KEYS and v == CORE_OPTIONAL_KEYS[k])}
                layers.append({"type": "psn", **d})
        d = {"input_width": self.input_width, "layers": layers}
        if self.name != NETWORK_OPTIONAL_KEYS["name"]:
            d["name"] = self.name
        return d

    @classmethod
    def from_dict(cls, d: Any) -> "NetworkSpec":
        if not isinstance(d, dict):
            raise SpecError(f"network: expected a JSON object, got {type(d).__name__}")
        _check_keys(d, NETWORK_KEYS, NETWORK_OPTIONAL_KEYS, "network")
        raw = d["layers"]
        if not isinstance(raw, list) or not raw:
            raise SpecError("network: 'layers' must be a non-empty list of layers")
        layers = []
        for L, item in enumerate(raw):
            where = f"network: layers[{L}]"
            if not isinstance(item, dict):
                raise SpecError(f"{where} must be a JSON object, got {type(item).__name__}")
            kind = item.get("type")
            if kind not in LAYER_TYPES:
                raise SpecError(f"{where}: 'type' must be one of {list(LAYER_TYPES)}, got {kind!r}")
            want = "dense" if L % 2 == 0 else "psn"
            if kind != want:
                raise SpecError(f"{where} is a {kind} layer, expected {want}: layers alternate dense, psn, "
                                f"dense, ... starting and ending with dense")
            where = f"{where} ({kind})"
            if kind == "dense":
                _check_keys(item, DENSE_KEYS, DENSE_OPTIONAL_KEYS, where)
                layers.append(DenseLayer(item["weight"], item["bias"], name=item.get("name"),
                                         lanes=item.get("lanes"), where=where))
            else:
                core = {k: v for k, v in item.items() if k != "type"}
                try:
                    layers.append(CoreSpec.from_dict(core))
                except SpecError as e:
                    raise SpecError(f"{where}: {str(e).removeprefix('spec: ')}") from None
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


def _kind(layer) -> str:
    return "dense" if isinstance(layer, DenseLayer) else "psn"


def _check_keys(d: dict, required, optional, where: str) -> None:
    known = tuple(required) + tuple(optional)
    unknown = sorted(str(k) for k in set(d) - set(known))
    if unknown:
        raise SpecError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(known)})")
    missing = [k for k in required if k not in d]
    if missing:
        raise SpecError(f"{where}: missing key {missing[0]!r}")


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
