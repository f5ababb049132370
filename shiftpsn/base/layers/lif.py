"""The lif neuron layer (type ``"lif"``): a leaky integrate-and-fire neuron whose leak is a shift.

Keys (docs/CONTRACT.md section 5.1): ``channels`` C, ``input_width`` W (bits of the signed inputs),
``leak_shift`` s (an int in [1, 32], or null: IF, no leak), ``threshold`` (C ints >= 1), ``reset``
("subtract" or "zero"); optional ``name`` (a Verilog identifier) and ``lanes`` (int >= 1 dividing C,
default C: neurons computed per clock cycle in hardware; never changes results).

Exact integer semantics per channel c, every sequence starting from v = 0 (``>>`` is the arithmetic
shift, rounding towards minus infinity; no leak term when s is null)::

    u[t]     = v[t-1] - (v[t-1] >> s) + x[t]
    spike[t] = u[t] >= threshold[c]
    v[t]     = u[t] - threshold[c] * spike[t]     (reset "subtract")
             = u[t] * (1 - spike[t])              (reset "zero")

Membrane range (the proof behind every width). Write f(v) = v - (v >> s) = ceil(v (1 - 2^-s)); f is
non-decreasing. A reset only moves v towards zero or below u: after a spike (u >= threshold >= 1),
v lies in [0, u), else v = u; so v[t] always lies between min(0, u[t]) and u[t]. With x in
[a, b] = [-2^(W-1), 2^(W-1) - 1]:

* leaky (s set): the interval [a 2^s, b 2^s] holds v[0] = 0 and is invariant: for v inside it,
  u = f(v) + x lies in [f(a 2^s) + a, f(b 2^s) + b] = [a 2^s, b 2^s] (f(m 2^s) = m 2^s - m), and so
  does v. Every u and v of any sequence lies in it, however long.
* IF (s null): f(v) = v, so after t steps u[t], v[t] lie in [t a, t b]. The layer holds sequences of
  up to :data:`IF_MAX_STEPS` steps (the readout's default sequence bound); the integer model refuses
  longer ones, so hardware and model agree on every sequence either accepts.

:attr:`LifLayer.membrane_range` is that interval [lo, hi]; the hardware carries u and v in
``membrane_width`` = signed_width(lo, hi + 1) bits (hi + 1 so that a threshold above hi, which never
fires, is stored as hi + 1: ``threshold_hw``). Every value the model computes (u, v, v >> s,
u - threshold where it fires) lies in [lo, hi]; a layer whose membrane needs more than 64 bits is
refused, so the int64 model is exact. Cycles: G = C / lanes beats per time step, one per cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import SpecError, StimulusError
from ..ints import INT64_MAX, SignedInputRange, is_int, signed_width
from ..names import is_verilog_name
from .psn import PsnLayer
from .registry import Layer, check_keys, register

__all__ = ["LifLayer", "LIF_KEYS", "LIF_OPTIONAL_KEYS", "RESETS", "LEAK_SHIFT_MAX", "IF_MAX_STEPS",
           "MAX_MEMBRANE_WIDTH"]

#: Keys every lif layer has, and its optional keys with their defaults (None: see the docstring).
LIF_KEYS = ("type", "channels", "input_width", "leak_shift", "threshold", "reset")
LIF_OPTIONAL_KEYS = {"name": None, "lanes": None}
RESETS = ("subtract", "zero")
#: Largest leak shift: beta = 1 - 2^-32 is as close to an IF neuron as anyone trains.
LEAK_SHIFT_MAX = 32
#: Longest sequence an IF layer (no leak) holds exactly: its membrane grows by at most one input per step.
IF_MAX_STEPS = 1 << 16
#: Widest membrane: the integer model computes in int64.
MAX_MEMBRANE_WIDTH = 64


@register
@dataclass(frozen=True, eq=False, kw_only=True)
class LifLayer(Layer, SignedInputRange):
    """A lif neuron layer (module docstring). ``threshold`` becomes a tuple of Python ints; ``lanes``
    None resolves to C. Keyword-only; every argument is validated."""

    type_name = "lif"
    role = "neuron"
    #: A lif layer has no multiplier variant: its leak is a shift in every network (NetworkSpec.arith).
    arith = "shift"

    channels: int
    input_width: int
    leak_shift: int | None
    threshold: Any
    reset: str
    name: str | None = None
    lanes: int | None = None
    where: str = field(default="lif layer", repr=False)

    def __post_init__(self):
        self._validate()

    def _validate(self) -> None:
        where, C, W, s = self.where, self.channels, self.input_width, self.leak_shift
        if not is_int(C) or C < 1:
            raise SpecError(f"{where}: 'channels' must be an integer >= 1, got {C!r}")
        if not is_int(W) or not 2 <= W <= MAX_MEMBRANE_WIDTH - 1:
            raise SpecError(f"{where}: 'input_width' must be an integer in [2, {MAX_MEMBRANE_WIDTH - 1}], got {W!r}")
        if s is not None and (not is_int(s) or not 1 <= s <= LEAK_SHIFT_MAX):
            raise SpecError(f"{where}: 'leak_shift' must be an integer in [1, {LEAK_SHIFT_MAX}] or null (no leak), "
                            f"got {s!r}")
        if self.reset not in RESETS:
            raise SpecError(f"{where}: 'reset' must be one of {list(RESETS)}, got {self.reset!r}")
        th = self.threshold
        if isinstance(th, np.ndarray):
            th = th.tolist()
        if not isinstance(th, (list, tuple)) or len(th) != C:
            raise SpecError(f"{where}: 'threshold' must be a list of C = {C} integers")
        for c, t in enumerate(th):
            if not (is_int(t) or isinstance(t, np.integer)):
                raise SpecError(f"{where}: 'threshold'[{c}] must be an integer, got {t!r}")
            if not 1 <= t <= INT64_MAX:
                raise SpecError(f"{where}: 'threshold'[{c}] = {t} must lie in [1, 2^63 - 1]")
        object.__setattr__(self, "threshold", tuple(int(t) for t in th))
        if self.name is not None and not is_verilog_name(self.name):
            raise SpecError(f"{where}: 'name' must be a Verilog identifier, got {self.name!r}")
        if self.lanes is None:
            object.__setattr__(self, "lanes", C)
        if not is_int(self.lanes) or self.lanes < 1 or C % self.lanes:
            raise SpecError(f"{where}: 'lanes' must be an integer >= 1 dividing C = {C}, got {self.lanes!r}")
        if self.membrane_width > MAX_MEMBRANE_WIDTH:
            lo, hi = self.membrane_range
            fix = "a smaller leak_shift or input_width" if s is not None else "a narrower input_width"
            raise SpecError(f"{where}: the membrane may reach [{lo}, {hi}], {self.membrane_width} bits, beyond "
                            f"int64 ({MAX_MEMBRANE_WIDTH} bits); use {fix}")

    # ----------------------------------------------------------------- derived (the proof is in the docstring)
    @property
    def in_features(self) -> int:
        return self.channels

    @property
    def out_features(self) -> int:
        return self.channels

    @property
    def membrane_range(self) -> tuple[int, int]:
        """[lo, hi] holding every u[t] and v[t] of every accepted sequence (module docstring)."""
        scale = IF_MAX_STEPS if self.leak_shift is None else 1 << self.leak_shift
        return self.input_min * scale, self.input_max * scale

    @property
    def membrane_width(self) -> int:
        """Bits of the signed membrane (u and v) and of the stored thresholds in hardware."""
        lo, hi = self.membrane_range
        return signed_width(lo, hi + 1)

    def threshold_hw(self, c: int) -> int:
        """Channel c's threshold as stored: min(threshold, hi + 1); the same spikes, since u <= hi."""
        return min(self.threshold[c], self.membrane_range[1] + 1)

    @property
    def beats_per_step(self) -> int:
        """G = C / lanes beats per time step."""
        return self.channels // self.lanes

    @property
    def parallel(self) -> bool:
        """Whether every neuron has its own datapath (lanes = C: membranes in registers), else the
        lanes are time-multiplexed over G beats with the membranes in block RAM."""
        return self.lanes == self.channels

    @property
    def delay_depth(self) -> int:
        """Time steps of input the layer keeps besides its membrane: none (the co-simulation's traffic
        plan sizes sequence lengths by this)."""
        return 0

    # ----------------------------------------------------------------- JSON
    def layer_dict(self) -> dict:
        d = {"type": "lif", "channels": self.channels, "input_width": self.input_width,
             "leak_shift": self.leak_shift, "threshold": list(self.threshold), "reset": self.reset}
        if self.name is not None:
            d["name"] = self.name
        if self.lanes != self.channels:
            d["lanes"] = self.lanes
        return d

    to_dict = layer_dict

    @classmethod
    def from_layer_dict(cls, d: dict, where: str) -> "LifLayer":
        check_keys(d, LIF_KEYS, LIF_OPTIONAL_KEYS, where)
        return cls(channels=d["channels"], input_width=d["input_width"], leak_shift=d["leak_shift"],
                   threshold=d["threshold"], reset=d["reset"], name=d.get("name"), lanes=d.get("lanes"),
                   where=where)

    def replace(self, **changes) -> "LifLayer":
        keys = ("channels", "input_width", "leak_shift", "threshold", "reset", "name", "lanes", "where")
        return LifLayer(**{k: changes.get(k, getattr(self, k)) for k in keys})

    def with_lanes(self, lanes: int) -> "LifLayer":
        return self.replace(lanes=lanes)

    # ----------------------------------------------------------------- model
    def forward(self, x: np.ndarray) -> np.ndarray:
        """Spikes uint8 (B, T, C) of x int64 (B, T, C) within ``input_width`` (the callers validate the
        range): the recurrence of the module docstring, one time step at a time over every sequence and
        channel at once. StimulusError for an IF layer on sequences longer than :data:`IF_MAX_STEPS`."""
        B, T, C = x.shape
        if self.leak_shift is None and T > IF_MAX_STEPS:
            raise StimulusError(f"{self.where}: {T} time steps, but an IF layer (leak_shift null) holds sequences "
                                f"of at most {IF_MAX_STEPS} steps exactly; give shorter sequences")
        th = np.array([self.threshold_hw(c) for c in range(C)], dtype=np.int64)
        s = self.leak_shift
        v = np.zeros((B, C), dtype=np.int64)
        spikes = np.zeros((B, T, C), dtype=np.uint8)
        for t in range(T):
            u = (v if s is None else v - (v >> s)) + x[:, t]
            fired = u >= th
            # where it fires u >= threshold, so u - threshold stays in [0, u): no int64 overflow
            v = u - np.where(fired, th, 0) if self.reset == "subtract" else np.where(fired, 0, u)
            spikes[:, t] = fired
        return spikes

    # ----------------------------------------------------------------- ranges
    def output_range(self, lo, hi):
        return [0] * self.channels, [1] * self.channels, None

    def check_input_features(self, features: int, where: str, source: str) -> None:
        if self.channels != features:
            raise SpecError(f"{where}: 'channels' is {self.channels}, expected {features} (outputs of {source})")

    #: The rule of every neuron layer with an ``input_width``: each input fits it over its whole range.
    check_input_range = PsnLayer.check_input_range

    # ----------------------------------------------------------------- hardware figures
    #: One beat per cycle, ``beats_per_step`` = C / lanes cycles per time step, whatever the data.
    step_cycles = PsnLayer.step_cycles

    def synops_per_step(self) -> int:
        """One membrane update per neuron and time step (its synapses are the dense layer's)."""
        return self.channels

    def memories(self) -> dict[str, tuple[int, int, int]]:
        """Time-multiplexed (lanes < C): per neuron and time step its membrane is read and written and
        its threshold read, G words of ``membrane_width`` bits per lane (shiftpsn.hdl.lif_stage)."""
        if self.parallel:
            return {}
        G, w = self.beats_per_step, self.membrane_width
        return {"membrane": (G, w, 2), "thresholds": (G, w, 1)}

    def stream_fields(self, direction: str, **context) -> dict:
        """The layer's beats: in ``x`` (lanes signed ``input_width``-bit inputs), ``first``, ``last``;
        out ``x`` (lanes spikes), ``first``, ``last`` (a network stage's beats)."""
        from ..payload import build_layout

        if direction not in ("input", "output"):
            raise ValueError(f"direction must be 'input' or 'output', got {direction!r}")
        per, signed = (self.input_width, True) if direction == "input" else (1, False)
        return build_layout([("x", self.lanes, per, signed), ("first", None, 1, False), ("last", None, 1, False)])
