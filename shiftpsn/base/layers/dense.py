"""The dense synapse layer (type ``"dense"``): Y[t][o] = bias[o] + sum_i weight[o][i] * X[t][i], exact.

Keys (docs/CONTRACT.md section 5): ``weight`` (O lists of I ints), ``bias`` (O ints), each within
+-(2^63 - 1); optional ``name`` (a Verilog identifier; absent: the generator names it) and ``lanes``
(int >= 1 dividing O, default O: outputs computed per clock cycle in hardware; never changes results).

Ranges (exact): with input i in [lo_i, hi_i] (lo_i <= 0 <= hi_i), output o lies in
[bias[o] + sum_i min(w*lo_i, w*hi_i), bias[o] + sum_i max(w*lo_i, w*hi_i)] (w = weight[o][i]); both
ends are reached by a legal input (each x_i at the end its weight's sign picks). Every partial sum, in
any order, is at most |bias[o]| + sum_i |w| * max(|lo_i|, |hi_i|) in magnitude.

Cycles (the hardware's dense engine, docs/ARCHITECTURE.md): G = O / lanes groups, each a pass over the
inputs per bit plane skipping inputs that add nothing, plus one bias cycle:
G * (1 + sum over the P planes of max(1, inputs with the plane's bit set)); P = input_width when the
first layer's integer inputs go bit-serially (``arith`` "shift"), else 1 (spikes, or the multiplier of
``arith`` "mac", which visits the nonzero inputs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import SpecError
from ..ints import INT64_MAX, is_int, signed_width
from ..names import is_verilog_name
from .registry import Layer, check_keys, register

#: Keys every dense layer has, and its optional keys with their defaults (None: see the docstring).
DENSE_KEYS = ("type", "weight", "bias")
DENSE_OPTIONAL_KEYS = {"name": None, "lanes": None}


def int_array(value: Any, shape: tuple[int, ...] | None, where: str, key: str, what: str) -> np.ndarray:
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
            at = f"{key!r}[{r}][{i}]" if two_d else f"{key!r}[{i}]"
            if type(v) is not int and not (isinstance(v, np.integer)):
                raise SpecError(f"{where}: {at} must be an integer, got {v!r}")
            if not -INT64_MAX <= v <= INT64_MAX:
                raise SpecError(f"{where}: {at} = {v} does not fit int64 (|value| <= 2^63 - 1)")
    arr = np.array(rows, dtype=np.int64)
    if not two_d:
        arr = arr[0]
    if shape is not None and len(shape) == 2 and arr.shape[0] != shape[0]:
        raise SpecError(f"{where}: {key!r} has {arr.shape[0]} rows, expected {shape[0]}")
    arr.setflags(write=False)
    return arr


def abs_row_sums(a: np.ndarray) -> list[int]:
    """Exact Python-int row sums of a non-negative int64 matrix with entries < 2^63 (no overflow:
    each entry is split into 32-bit halves whose row sums fit int64 for rows up to 2^31 long)."""
    hi = (a >> 32).sum(axis=1)
    lo = (a & 0xFFFFFFFF).sum(axis=1)
    return [(int(h) << 32) + int(l) for h, l in zip(hi.tolist(), lo.tolist())]


@register
@dataclass(frozen=True, eq=False)
class DenseLayer(Layer):
    """A synapse layer (module docstring). ``weight`` (O, I) and ``bias`` (O,) are read-only int64 arrays
    after construction (lists are converted and validated); ``lanes`` None resolves to O."""

    type_name = "dense"
    role = "synapse"

    weight: Any
    bias: Any
    name: str | None = None
    lanes: int | None = None
    where: str = field(default="dense layer", repr=False)

    def __post_init__(self):
        where = self.where
        w = int_array(self.weight, None, where, "weight", "a non-empty list of O non-empty lists of I integers")
        b = int_array(self.bias, (w.shape[0],), where, "bias", f"a list of O = {w.shape[0]} integers")
        object.__setattr__(self, "weight", w)
        object.__setattr__(self, "bias", b)
        if self.name is not None and not is_verilog_name(self.name):
            raise SpecError(f"{where}: 'name' must be a Verilog identifier, got {self.name!r}")
        if self.lanes is None:
            object.__setattr__(self, "lanes", self.out_features)
        if not is_int(self.lanes) or self.lanes < 1:
            raise SpecError(f"{where}: 'lanes' must be an integer >= 1, got {self.lanes!r}")
        if self.out_features % self.lanes:
            raise SpecError(f"{where}: 'lanes' ({self.lanes}) must divide the outputs O = {self.out_features}")

    @property
    def out_features(self) -> int:
        return int(self.weight.shape[0])

    @property
    def in_features(self) -> int:
        return int(self.weight.shape[1])

    # ----------------------------------------------------------------- JSON
    def layer_dict(self) -> dict:
        d = {"type": "dense", "weight": self.weight.tolist(), "bias": self.bias.tolist()}
        if self.name is not None:
            d["name"] = self.name
        if self.lanes != self.out_features:
            d["lanes"] = self.lanes
        return d

    to_dict = layer_dict

    @classmethod
    def from_layer_dict(cls, d: dict, where: str) -> "DenseLayer":
        check_keys(d, DENSE_KEYS, DENSE_OPTIONAL_KEYS, where)
        return cls(d["weight"], d["bias"], name=d.get("name"), lanes=d.get("lanes"), where=where)

    def with_lanes(self, lanes: int) -> "DenseLayer":
        return DenseLayer(self.weight, self.bias, name=self.name, lanes=lanes, where=self.where)

    # ----------------------------------------------------------------- model
    def forward(self, x: np.ndarray) -> np.ndarray:
        """Y (B, T, O) int64 on x (B, T, I) int64 (or 0/1 uint8): one exact int64 matrix product (the
        network's validation bounds every partial sum within int64)."""
        B, T, I = x.shape
        y = x.reshape(B * T, I).astype(np.int64, copy=False) @ self.weight.T
        y += self.bias
        return y.reshape(B, T, self.out_features)

    # ----------------------------------------------------------------- ranges
    def output_range(self, lo: list[int], hi: list[int]) -> tuple[list[int], list[int], list[int]]:
        """Exact ``(lo, hi, partial)`` per output (module docstring); inputs sharing a range are summed
        together in int64 halves, so this is fast for the usual uniform ranges and exact for any."""
        lo, hi = _as_lists(lo, hi, self.in_features)
        w = self.weight
        out_lo = [int(b) for b in self.bias.tolist()]
        out_hi, part = list(out_lo), [abs(b) for b in out_lo]
        groups: dict[tuple[int, int], list[int]] = {}
        for i, pair in enumerate(zip(lo, hi)):
            groups.setdefault((int(pair[0]), int(pair[1])), []).append(i)
        for (xmin, xmax), cols in groups.items():
            sub = w[:, cols] if len(cols) < w.shape[1] else w
            p = abs_row_sums(np.where(sub > 0, sub, 0))
            n = abs_row_sums(np.where(sub < 0, -sub, 0))
            big = max(-xmin, xmax, xmin, -xmax)
            for o in range(len(out_lo)):
                out_lo[o] += p[o] * xmin - n[o] * xmax
                out_hi[o] += p[o] * xmax - n[o] * xmin
                part[o] += (p[o] + n[o]) * big
        return out_lo, out_hi, part

    def check_input_features(self, features: int, where: str, source: str) -> None:
        if self.in_features != features:
            raise SpecError(f"{where}: 'weight' rows have {self.in_features} entries, expected {features} "
                            f"(channels of {source})")

    def check_input_range(self, lo: list[int], hi: list[int], where: str, source: str = "the input") -> None:
        """Every partial sum must fit int64 (so numpy's int64 matrix product is exact)."""
        for o, bound in enumerate(self.output_range(lo, hi)[2]):
            if bound > INT64_MAX:
                raise SpecError(f"{where}: output {o} has partial sums up to {bound} in magnitude, beyond "
                                f"int64 (2^63 - 1); use smaller weights or a narrower input")

    # ----------------------------------------------------------------- hardware figures
    @property
    def groups(self) -> int:
        """G = O / lanes output groups, computed one after another."""
        return self.out_features // self.lanes

    def planes(self, input_width: int | None, arith: str = "shift") -> int:
        """Passes over the inputs per group: the bit planes of bit-serial integer inputs, else 1."""
        return input_width if input_width is not None and arith == "shift" else 1

    def step_cycles(self, in_activity=None, *, input_width: int | None = None, arith: str = "shift"):
        G, P, I = self.groups, self.planes(input_width, arith), self.in_features
        if in_activity is None:
            return G * (P + 1), G * (P * I + 1)
        x = np.asarray(in_activity, dtype=np.int64)
        if P > 1:  # bit-serial: the set bits of each plane (two's complement, sign plane included)
            counts = [((x >> p) & 1).sum(-1) for p in range(P)]
        else:
            counts = [(x != 0).sum(-1)]
        cycles = G * (1 + sum(np.maximum(1, c) for c in counts))
        cycles = np.asarray(cycles, dtype=np.int64)
        return cycles, cycles

    def synops_per_step(self) -> int:
        return self.in_features * self.out_features

    def stream_fields(self, direction: str, *, input_width: int | None = None, in_lanes: int | None = None,
                      out_width: int | None = None) -> dict:
        """A dense engine's beats: ``x`` (``in_lanes`` inputs, default I: signed ``input_width``-bit
        integers, or spikes when None; out: ``lanes`` signed ``out_width``-bit outputs, default the
        fewest bits of the exact range), then ``first`` and ``last``."""
        from ..payload import build_layout

        if direction == "input":
            per, signed, count = (1, False, in_lanes or self.in_features) if input_width is None else \
                (input_width, True, in_lanes or self.in_features)
        elif direction == "output":
            if out_width is None:
                lo, hi = _input_range(self.in_features, input_width)
                out_lo, out_hi, _ = self.output_range(lo, hi)
                out_width = signed_width(min(out_lo), max(out_hi))
            per, signed, count = out_width, True, self.lanes
        else:
            raise ValueError(f"direction must be 'input' or 'output', got {direction!r}")
        return build_layout([("x", count, per, signed), ("first", None, 1, False), ("last", None, 1, False)])


def _as_lists(lo, hi, n: int) -> tuple[list[int], list[int]]:
    """Per-input bounds; a scalar pair (xmin, xmax) applies to all n inputs."""
    if isinstance(lo, (list, tuple, np.ndarray)):
        return list(lo), list(hi)
    return [lo] * n, [hi] * n


def _input_range(n: int, input_width: int | None) -> tuple[list[int], list[int]]:
    """[lo], [hi] of n inputs: signed ``input_width``-bit integers, or spikes [0, 1] when None."""
    if input_width is None:
        return [0] * n, [1] * n
    return [-(1 << (input_width - 1))] * n, [(1 << (input_width - 1)) - 1] * n
