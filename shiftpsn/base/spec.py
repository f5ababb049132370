"""The core spec: the one definition of a shift-add PSN core's parameters (docs/CONTRACT.md section 2).

Every package reads a core through :class:`CoreSpec`: golden (integer model, export), hdl (generator),
sim (testbenches) and synth (reports). Validation and every derived width live here and nowhere else.
This module imports neither torch nor amaranth.

Arithmetic it describes, exact in integers::

    acc[t][c]   = sum_{i: shift[c][i] != null} sign[c][i] * (X[t-(k-1-i)d][c] << (shift[c][i] - exp_min))
    spike[t][c] = acc[t][c] >= threshold[c]
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import SpecError
from .ints import clog2 as _clog2
from .ints import is_int as _is_int
from .ints import SignedInputRange, pack_fields
from .layers.psn import PsnLayer
from .layers.registry import register
from .names import VERILOG_KEYWORDS, is_verilog_name
from .regmap import RegisterMap

__all__ = ["CoreSpec", "REQUIRED_KEYS", "OPTIONAL_KEYS", "WEIGHT_MODES", "ARITH_MODES", "MAX_ACC_WIDTH",
           "max_pipeline", "uniform_spec", "is_verilog_name", "VERILOG_KEYWORDS", "pack_fields"]

#: Keys of docs/CONTRACT.md section 2 that every spec must have.
REQUIRED_KEYS = ("channels", "order", "dilation", "input_width", "exp_min", "exp_max",
                 "shift", "sign", "threshold")
#: Optional keys this project adds, with their defaults (documented in README.md).
OPTIONAL_KEYS = {
    "weights": "runtime",     # "runtime" (configuration port) or "constant" (baked into logic)
    "arith": "shift",         # "shift" (barrel shifters / wiring) or "mac" (multiplier baseline)
    "pipeline": 0,            # register stages of each datapath (0 = combinational; max_pipeline)
    "emit_acc": True,         # output the accumulators on the output stream
    "name": "shiftpsn_core",  # default Verilog top-level module name
    "positions": 1,           # P: neurons per channel, sharing the channel's weights (docs/CONTRACT.md 2.1)
    "lanes": None,            # neurons computed per cycle, dividing P*C; None (default) = P*C, the parallel core
}
WEIGHT_MODES = ("runtime", "constant")
ARITH_MODES = ("shift", "mac")
#: Widest accumulator the int64 golden model and the testbenches carry exactly.
MAX_ACC_WIDTH = 64


def max_pipeline(order: int) -> int:
    """Most pipeline registers of a core of this order: one per adder-tree level, one before the
    comparator, and one between each operand's sign/zero select and its shifter (the operand cut,
    shiftpsn.hdl.adder_tree.split_pipeline)."""
    return _clog2(order) + 2


@register
@dataclass(frozen=True)
class CoreSpec(PsnLayer, RegisterMap, SignedInputRange):
    """A validated core spec. Build one with :meth:`from_dict`, :meth:`load` or the constructor
    (keyword arguments; lists are converted to tuples and validated).

    Parameters
    ----------
    channels, order, dilation : int
        C, k, d of Eq. 10 (MF-PSN).
    input_width : int
        Bits of each signed two's-complement input X[t][c].
    exp_min, exp_max : int
        Allowed weight exponents; shift amounts are ``shift - exp_min`` in ``[0, shift_range]``.
    shift : C x k nested sequence of int or None
        Weight exponents e[c][i]; ``None`` is a zero tap. Tap ``k-1`` weights the newest input.
    sign : C x k nested sequence of +1 / -1
    threshold : C ints
        theta[c] on the accumulator grid; any integer is legal.
    weights, arith, pipeline, emit_acc, name
        Optional keys, see :data:`OPTIONAL_KEYS`.
    positions : int
        P, neurons per channel (default 1). Neuron ``n = p*C + c`` (channel fastest) uses channel
        c's shifts, signs and threshold and has its own history.
    lanes : int or None
        Neurons computed per clock cycle, a divisor of ``P*C``; None (the default) means ``P*C``, the
        fully parallel core. After construction it always holds the resolved number. ``lanes``
        changes how the hardware computes, never what.
    """

    channels: int
    order: int
    dilation: int
    input_width: int
    exp_min: int
    exp_max: int
    shift: tuple
    sign: tuple
    threshold: tuple
    weights: str = OPTIONAL_KEYS["weights"]
    arith: str = OPTIONAL_KEYS["arith"]
    pipeline: int = OPTIONAL_KEYS["pipeline"]
    emit_acc: bool = OPTIONAL_KEYS["emit_acc"]
    name: str = OPTIONAL_KEYS["name"]
    positions: int = OPTIONAL_KEYS["positions"]
    lanes: int | None = OPTIONAL_KEYS["lanes"]

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, "shift", _rows(self.shift, "shift"))
        set_(self, "sign", _rows(self.sign, "sign"))
        if isinstance(self.threshold, (list, tuple)):
            set_(self, "threshold", tuple(self.threshold))
        self._validate()

    # ----------------------------------------------------------------- validation
    def _validate(self) -> None:
        for key in ("channels", "order", "dilation", "positions"):
            _check_int(key, getattr(self, key), lo=1)
        if self.lanes is None:
            object.__setattr__(self, "lanes", self.positions * self.channels)
        _check_int("lanes", self.lanes, lo=1)
        if self.neurons % self.lanes:
            raise SpecError(f"spec: 'lanes' ({self.lanes}) must divide positions * channels = {self.neurons}")
        _check_int("input_width", self.input_width, lo=2)
        _check_int("exp_min", self.exp_min)
        _check_int("exp_max", self.exp_max)
        if self.exp_min > self.exp_max:
            raise SpecError(f"spec: exp_min ({self.exp_min}) must be <= exp_max ({self.exp_max})")
        if self.weights not in WEIGHT_MODES:
            raise SpecError(f"spec: 'weights' must be one of {list(WEIGHT_MODES)}, got {self.weights!r}")
        if self.arith not in ARITH_MODES:
            raise SpecError(f"spec: 'arith' must be one of {list(ARITH_MODES)}, got {self.arith!r}")
        _check_int("pipeline", self.pipeline, lo=0, hi=self.max_pipeline)
        if not isinstance(self.emit_acc, bool):
            raise SpecError(f"spec: 'emit_acc' must be true or false, got {self.emit_acc!r}")
        if not is_verilog_name(self.name):
            raise SpecError(f"spec: 'name' must be a Verilog identifier, got {self.name!r}")
        if self.acc_width > MAX_ACC_WIDTH:
            raise SpecError(
                f"spec: accumulator width {self.acc_width} (input_width + exp_max - exp_min + "
                f"ceil(log2(order)) + 1) exceeds the supported {MAX_ACC_WIDTH} bits")
        from .limits import check_neuron_history

        check_neuron_history(self)  # cores and network layers alike: the widest signal hardware has
        C, k = self.channels, self.order
        _check_matrix("shift", self.shift, C, k)
        _check_matrix("sign", self.sign, C, k)
        for c, row in enumerate(self.shift):
            for i, e in enumerate(row):
                if e is None:
                    continue
                if not _is_int(e):
                    raise SpecError(f"spec: 'shift'[{c}][{i}] must be an integer or null, got {e!r}")
                if not self.exp_min <= e <= self.exp_max:
                    raise SpecError(f"spec: 'shift'[{c}][{i}] = {e} is outside [exp_min, exp_max] = "
                                    f"[{self.exp_min}, {self.exp_max}]")
        for c, row in enumerate(self.sign):
            for i, s in enumerate(row):
                if not _is_int(s) or s not in (1, -1):
                    raise SpecError(f"spec: 'sign'[{c}][{i}] must be 1 or -1, got {s!r}")
        if not isinstance(self.threshold, tuple):
            raise SpecError(f"spec: 'threshold' must be a list of {C} integers, "
                            f"got {type(self.threshold).__name__}")
        if len(self.threshold) != C:
            raise SpecError(f"spec: 'threshold' has {len(self.threshold)} entries, expected channels = {C}")
        for c, th in enumerate(self.threshold):
            if not _is_int(th):
                raise SpecError(f"spec: 'threshold'[{c}] must be an integer, got {th!r}")

    # ----------------------------------------------------------------- derived widths
    @property
    def delay_depth(self) -> int:
        """Inputs each channel's delay line holds: (k-1)*d."""
        return (self.order - 1) * self.dilation

    @property
    def tap_delays(self) -> tuple[int, ...]:
        """Delay in time steps of tap i: (k-1-i)*d (tap k-1 is the newest input, delay 0)."""
        return tuple((self.order - 1 - i) * self.dilation for i in range(self.order))

    @property
    def shift_range(self) -> int:
        """Largest shift amount, exp_max - exp_min (amounts lie in [0, shift_range])."""
        return self.exp_max - self.exp_min

    @property
    def shift_code_width(self) -> int:
        """Bits of a shift-amount code in a configuration word (at least 1)."""
        return max(1, self.shift_range.bit_length())

    @property
    def max_pipeline(self) -> int:
        """Most pipeline registers of this core (:func:`max_pipeline`)."""
        return max_pipeline(self.order)

    @property
    def acc_width(self) -> int:
        """Signed accumulator width: input_width + (exp_max-exp_min) + ceil(log2 k) + 1 (never overflows)."""
        return self.input_width + self.shift_range + _clog2(self.order) + 1

    @property
    def acc_min(self) -> int:
        return -(1 << (self.acc_width - 1))

    @property
    def acc_max(self) -> int:
        return (1 << (self.acc_width - 1)) - 1

    @property
    def threshold_width(self) -> int:
        """Signed width of a hardware threshold: one bit more than acc so acc_max+1 ('never') fits."""
        return self.acc_width + 1

    @property
    def mac_weight_width(self) -> int:
        """Signed width of an integer weight sign*2^(shift-exp_min) for the mac baseline."""
        return self.shift_range + 2

    @property
    def storage_bits(self) -> int:
        """History storage the core needs: P*C*(k-1)*d*input_width bits (P = positions)."""
        return self.neurons * self.delay_depth * self.input_width

    # ----------------------------------------------------------------- neurons, lanes, engine
    # Neuron n = p*C + c (channel fastest) uses channel c's weights. A time step is beats_per_step
    # beats; beat g of a step carries neurons g*lanes .. g*lanes + lanes - 1 (lane j: n = g*lanes + j).
    @property
    def neurons(self) -> int:
        """P*C neurons."""
        return self.positions * self.channels

    @property
    def parallel(self) -> bool:
        """True for the fully parallel core (lanes = P*C); False for the time-multiplexed engine."""
        return self.lanes == self.neurons

    @property
    def beats_per_step(self) -> int:
        """Stream beats (and, at full rate, clock cycles) per time step: P*C / lanes."""
        return self.neurons // self.lanes

    @property
    def cycles_per_step(self) -> int:
        """Clock cycles per time step in steady state without back-pressure (one beat per cycle)."""
        return self.beats_per_step

    def neuron_channel(self, n: int) -> int:
        """The channel whose weights neuron n uses: n mod C."""
        return n % self.channels

    def lane_channel(self, beat: int, lane: int) -> int:
        """The channel of lane ``lane`` in beat ``beat`` of a time step: (beat*lanes + lane) mod C."""
        return (beat * self.lanes + lane) % self.channels

    @property
    def lane_channels_fixed(self) -> bool:
        """True when every lane serves one channel in every beat (C divides lanes, or one beat per step)."""
        return self.lanes % self.channels == 0 or self.beats_per_step == 1

    @property
    def history_slots(self) -> int:
        """Inputs each neuron's history holds in the engine: (k-1)*d for runtime weights; for
        constant weights only as far back as the oldest nonzero tap of any channel."""
        if self.weights == "runtime":
            return self.delay_depth
        return max((self.tap_delays[i] for row in self.shift for i, e in enumerate(row) if e is not None),
                   default=0)

    @property
    def history_word_width(self) -> int:
        """History bits one engine beat reads and writes: lanes*history_slots*input_width. Each lane has
        its own memory of words of S*W bits (S = history_slots; slot s, the input s+1 steps ago, at
        [s*W, (s+1)*W))."""
        return self.lanes * self.history_slots * self.input_width

    @property
    def history_depth(self) -> int:
        """Words of each lane's history memory in the engine: one per beat of a time step (beats_per_step)."""
        return self.beats_per_step

    @property
    def history_bits(self) -> int:
        """Engine history memory bits: history_depth * history_word_width."""
        return self.history_depth * self.history_word_width

    @property
    def beat_addr_width(self) -> int:
        """Bits of the engine's beat counter (history address), at least 1."""
        return max(1, _clog2(self.beats_per_step))

    @property
    def channel_addr_width(self) -> int:
        """Bits of a channel index (weight memory address), at least 1."""
        return max(1, _clog2(self.channels))

    @property
    def weight_tap_width(self) -> int:
        """Bits of one tap in the weight memory: the tap word, or the integer weight for arith = mac."""
        return self.mac_weight_width if self.arith == "mac" else self.tap_word_width

    @property
    def weight_bits(self) -> int:
        """Engine weight memory bits (one copy): C * (k * weight_tap_width + threshold_width)."""
        return self.channels * (self.order * self.weight_tap_width + self.threshold_width)

    def shift_amount(self, c: int, i: int) -> int | None:
        """Left-shift amount of tap (c, i), shift - exp_min, or None for a zero tap."""
        e = self.shift[c][i]
        return None if e is None else e - self.exp_min

    def int_weight(self, c: int, i: int) -> int:
        """Integer weight sign * 2^(shift - exp_min) of tap (c, i); 0 for a zero tap."""
        a = self.shift_amount(c, i)
        return 0 if a is None else self.sign[c][i] << a

    def threshold_hw(self, c: int) -> int:
        """theta[c] saturated to [acc_min, acc_max + 1]: the same spikes, since acc never leaves
        [acc_min, acc_max]; this is the value the hardware holds in threshold_width bits."""
        return min(max(self.threshold[c], self.acc_min), self.acc_max + 1)

    # ----------------------------------------------------------------- I/O
    def to_dict(self) -> dict:
        d = {key: getattr(self, key) for key in REQUIRED_KEYS}
        d["shift"] = [list(r) for r in self.shift]
        d["sign"] = [list(r) for r in self.sign]
        d["threshold"] = list(self.threshold)
        for key in OPTIONAL_KEYS:
            if key == "positions" and self.positions == 1 or key == "lanes" and self.parallel:
                continue  # left out at their defaults: the dict of a spec without them is unchanged
            d[key] = getattr(self, key)
        return d

    def replace(self, **changes) -> "CoreSpec":
        d = self.to_dict()
        d.update(changes)
        return CoreSpec.from_dict(d)

    @classmethod
    def from_dict(cls, d: Any) -> "CoreSpec":
        if not isinstance(d, dict):
            raise SpecError(f"spec: expected a JSON object, got {type(d).__name__}")
        unknown = sorted(set(d) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
        if unknown:
            raise SpecError(f"spec: unknown key {unknown[0]!r} (known: "
                            f"{', '.join(REQUIRED_KEYS + tuple(OPTIONAL_KEYS))})")
        missing = [key for key in REQUIRED_KEYS if key not in d]
        if missing:
            raise SpecError(f"spec: missing key {missing[0]!r}")
        return cls(**d)

    @classmethod
    def load(cls, path: str | Path) -> "CoreSpec":
        from .limits import load_checked  # bounded read, JSON limits (docs/CONTRACT.md section 4)

        return load_checked(Path(path), "spec", cls.from_dict)

    def to_json(self) -> str:
        """JSON text with one key per line and one matrix row (a channel) per line."""
        items = []
        for key, value in self.to_dict().items():
            if key in ("shift", "sign"):
                rows = ",\n    ".join(json.dumps(r) for r in value)
                text = f"[\n    {rows}\n  ]"
            else:
                text = json.dumps(value)
            items.append(f"  {json.dumps(key)}: {text}")
        return "{\n" + ",\n".join(items) + "\n}\n"

    def save(self, path: str | Path) -> None:
        """Write the spec (atomically: the old file or the new one, never half)."""
        from .paths import atomic_write

        atomic_write(path, self.to_json())


def _check_int(key: str, v: Any, lo: int | None = None, hi: int | None = None) -> None:
    if not _is_int(v):
        raise SpecError(f"spec: {key!r} must be an integer, got {v!r}")
    if lo is not None and v < lo:
        raise SpecError(f"spec: {key!r} must be >= {lo}, got {v}")
    if hi is not None and v > hi:
        raise SpecError(f"spec: {key!r} must be <= {hi}, got {v}")


def _rows(v: Any, key: str):
    if isinstance(v, (list, tuple)) and all(isinstance(r, (list, tuple)) for r in v):
        return tuple(tuple(r) for r in v)
    return v


def _check_matrix(key: str, m: Any, C: int, k: int) -> None:
    if not isinstance(m, tuple) or not all(isinstance(r, tuple) for r in m):
        raise SpecError(f"spec: {key!r} must be a list of {C} lists of {k} values")
    if len(m) != C:
        raise SpecError(f"spec: {key!r} has {len(m)} rows, expected channels = {C}")
    for c, r in enumerate(m):
        if len(r) != k:
            raise SpecError(f"spec: {key!r}[{c}] has {len(r)} entries, expected order = {k}")


def uniform_spec(channels: int = 8, order: int = 4, dilation: int = 2, input_width: int = 8,
                 exp_min: int = -2, exp_max: int = 3, **optional) -> CoreSpec:
    """A deterministic, readable spec (the README's default): weights 2^(i - k + 1) clamped to the
    exponent range, alternating signs on the oldest tap, threshold 2^(input_width - 1 - exp_min)."""
    shift = [[min(max(i - order + 1, exp_min), exp_max) for i in range(order)] for _ in range(channels)]
    sign = [[(-1 if (i == 0 and c % 2) else 1) for i in range(order)] for c in range(channels)]
    threshold = [1 << max(0, input_width - 2 - exp_min) for _ in range(channels)]
    return CoreSpec(channels=channels, order=order, dilation=dilation, input_width=input_width,
                    exp_min=exp_min, exp_max=exp_max, shift=shift, sign=sign, threshold=threshold,
                    **optional)
