"""The psn neuron layer (type ``"psn"``): the protocol methods of :class:`shiftpsn.base.spec.CoreSpec`.

A psn layer IS a core spec (docs/CONTRACT.md section 2): CoreSpec inherits :class:`PsnLayer`, and a
single core is a one-layer design. Its exact integer model lives here (numpy, int64; the golden
package's ``shiftpsn.golden.integer`` is the front door that validates stimuli and calls it)::

    acc[t][n]   = sum_{i: shift[c][i] != null} sign[c][i] * (X[t-(k-1-i)d][n] << (shift[c][i] - exp_min))
    spike[t][n] = acc[t][n] >= threshold[c]            (neuron n = p*C + c uses channel c's weights)

Every sequence of a batch starts with an empty history (X[j] = 0 for j < 0).
"""

from __future__ import annotations

import numpy as np

from ..errors import SpecError
from ..ints import signed_width
from .registry import Layer

def int_weights(spec) -> np.ndarray:
    """(C, k) int64 weights sign * 2^(shift - exp_min), 0 for zero taps."""
    return np.array([[spec.int_weight(c, i) for i in range(spec.order)] for c in range(spec.channels)],
                    dtype=np.int64).reshape(spec.channels, spec.order)


def accumulate(spec, x: np.ndarray) -> np.ndarray:
    """acc int64 of the shape of an already validated int64 stimulus (B, T, C) or (B, T, P, C): every
    position p of channel c uses channel c's weights (they broadcast over the last axis). The loop runs
    over the k taps only; time, neurons and batch are array axes."""
    w = int_weights(spec)
    T = x.shape[1]
    acc = np.zeros(x.shape, dtype=np.int64)
    for i, delay in enumerate(spec.tap_delays):
        if delay >= T or not w[:, i].any():
            continue
        # X[t - delay] for t >= delay; earlier steps see the empty history (zeros).
        acc[:, delay:] += x[:, : T - delay] * w[:, i]
    return acc


def spike(spec, acc: np.ndarray) -> np.ndarray:
    """Spikes (uint8) of accumulators ``acc`` (int64, channels last): acc >= theta[c], exact for a
    threshold of any size. Each theta is first saturated on the accumulator grid (``threshold_hw``,
    [acc_min, acc_max + 1]: the same spikes) and only then compared in int64; acc_max + 1 ("never")
    is kept as a mask because for a 64-bit accumulator it does not fit int64."""
    th = [spec.threshold_hw(c) for c in range(spec.channels)]
    never = np.array([t > spec.acc_max for t in th], dtype=bool)
    th64 = np.array([min(t, spec.acc_max) for t in th], dtype=np.int64)
    return ((acc >= th64) & ~never).astype(np.uint8)


class PsnLayer(Layer):
    """The layer protocol of a core spec (CoreSpec's fields and widths are used by name)."""

    type_name = "psn"
    role = "neuron"

    @property
    def in_features(self) -> int:
        """P*C: one input per neuron and time step."""
        return self.neurons

    @property
    def out_features(self) -> int:
        """P*C spikes per time step."""
        return self.neurons

    # ----------------------------------------------------------------- JSON
    def layer_dict(self) -> dict:
        from ..spec import OPTIONAL_KEYS

        d = {k: v for k, v in self.to_dict().items() if not (k in OPTIONAL_KEYS and v == OPTIONAL_KEYS[k])}
        return {"type": "psn", **d}

    @classmethod
    def from_layer_dict(cls, d: dict, where: str):
        core = {k: v for k, v in d.items() if k != "type"}
        try:
            return cls.from_dict(core)
        except SpecError as e:
            raise SpecError(f"{where}: {str(e).removeprefix('spec: ')}") from None

    def with_lanes(self, lanes: int):
        return self.replace(lanes=lanes)

    def with_arith(self, arith: str):
        return self.replace(arith=arith)

    # ----------------------------------------------------------------- model
    def forward(self, x: np.ndarray) -> np.ndarray:
        """Spikes uint8 (B, T, P*C) of x int64 (B, T, P*C) within ``input_width`` (not checked here:
        the callers validate, shiftpsn.golden.integer.run for a core, NetworkSpec's ranges for a net)."""
        B, T, N = x.shape
        xs = x.reshape(B, T, self.positions, self.channels) if self.positions > 1 else x
        return spike(self, accumulate(self, xs)).reshape(B, T, N)

    # ----------------------------------------------------------------- ranges
    def output_range(self, lo, hi):
        return [0] * self.neurons, [1] * self.neurons, None

    def check_input_features(self, features: int, where: str, source: str) -> None:
        if self.positions != 1:
            raise SpecError(f"{where}: 'positions' must be 1 in a network, got {self.positions}")
        if self.channels != features:
            raise SpecError(f"{where}: 'channels' is {self.channels}, expected {features} (outputs of {source})")

    def check_input_range(self, lo, hi, where: str, source: str = "the input") -> None:
        """Every input must fit ``input_width`` over its whole range (never clamped)."""
        for o in range(len(lo)):
            bad = lo[o] if lo[o] < self.input_min else hi[o] if hi[o] > self.input_max else None
            if bad is not None:
                need = signed_width(min(lo), max(hi))
                raise SpecError(
                    f"{where}: output {o} of {source} may reach {bad} for a legal network input, beyond "
                    f"input_width = {self.input_width} (range [{self.input_min}, {self.input_max}]); it "
                    f"needs input_width >= {need}")

    # ----------------------------------------------------------------- hardware figures
    def step_cycles(self, in_activity=None, *, input_width=None, arith="shift"):
        """One beat per cycle: ``beats_per_step`` cycles per time step, whatever the data."""
        n = self.beats_per_step
        if in_activity is None:
            return n, n
        cycles = np.full(np.shape(in_activity)[:-1], n, dtype=np.int64)
        return cycles, cycles

    def synops_per_step(self) -> int:
        return self.neurons * self.order

    def memories(self) -> dict[str, tuple[int, int, int]]:
        """The engine's (lanes < P*C; shiftpsn.hdl.engine, shiftpsn.hdl.weight_store): each beat reads and
        writes a lane's history word and reads a taps word and a threshold of a weight memory of
        ceil(C / lanes) rows. The parallel core has none."""
        if self.parallel:
            return {}
        rows = -(-self.channels // min(self.lanes, self.channels))
        mems = {"history": (self.history_depth, self.history_slots * self.input_width, 2),
                "taps": (rows, self.order * self.weight_tap_width, 1),
                "thresholds": (rows, self.threshold_width, 1)}
        return {name: m for name, m in mems.items() if m[1] > 0}

    def stream_fields(self, direction: str, **context) -> dict:
        """A core's beats (docs/CONTRACT.md section 7): in ``x`` (lanes signed inputs), ``first``; out
        ``spikes`` (lanes), ``first``, and with ``emit_acc`` ``acc`` (lanes signed accumulators)."""
        from ..payload import build_layout

        L = self.lanes
        if direction == "input":
            return build_layout([("x", L, self.input_width, True), ("first", None, 1, False)])
        if direction == "output":
            fields = [("spikes", L, 1, False), ("first", None, 1, False)]
            if self.emit_acc:
                fields.append(("acc", L, self.acc_width, True))
            return build_layout(fields)
        raise ValueError(f"direction must be 'input' or 'output', got {direction!r}")
