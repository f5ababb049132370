"""Scoreboard: the ordered stream of output beats against ``shiftpsn.golden.integer.run``.

The comparison does not depend on the core's latency: the hardware must produce, in order, one
output beat per input beat, with the ``first`` flag, the spikes and (when emitted) the accumulators
of the golden model. Between two resets (an *epoch*) the received beats must equal the expected
ones exactly; an epoch ended by a reset with beats in flight must be a prefix of them (in-flight
beats may be dropped by the reset, never corrupted or invented).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from shiftpsn.golden.integer import run as golden_run
from shiftpsn.base.spec import CoreSpec

from .traffic import Plan


@dataclass
class Mismatch:
    """The first difference. ``channel`` is None for a whole-beat problem (``first`` flag, a
    missing or an extra beat); ``expected`` / ``got`` are None where there is no value."""

    sequence: int
    t: int
    channel: int | None
    field: str
    expected: int | None
    got: int | None
    beat: int  # index among the received beats
    position: int | None = None  # the neuron's position p (cores with positions > 1)

    def __str__(self) -> str:
        where = f"sequence {self.sequence}, t {self.t}"
        if self.position is not None:
            where += f", position {self.position}"
        if self.channel is not None:
            where += f", channel {self.channel}"
        if self.field == "missing":
            return f"{where}: expected an output beat, got none ({self.expected} beat(s) missing)"
        if self.field == "extra":
            return f"{where}: got {self.got} output beat(s) more than the {self.expected} expected"
        return f"first mismatch at {where}: {self.field} expected {self.expected}, got {self.got}"

    def as_tuple(self) -> tuple:
        """(sequence, t, channel, expected, got), as the command line reports it."""
        return (self.sequence, self.t, self.channel, self.expected, self.got)

    def report(self) -> str:
        """The one line the command line prints: the message and the (sequence, t, c, expected, got)."""
        return f"{self} (sequence, t, c, expected, got) = ({', '.join(map(str, self.as_tuple()))})"

    def to_dict(self) -> dict:
        """JSON-ready fields (the simulator process writes its verdict as JSON)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Mismatch":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


class Expected:
    """Golden outputs of every driven beat of a plan, in stream order, grouped by epoch.

    A time step is ``beats_per_step`` beats of ``lanes`` neurons (shiftpsn.base.ports); the arrays
    hold one row per beat: ``spikes`` / ``acc`` (beats, lanes), ``first``, ``sequence``, ``t`` and
    ``step_beat`` (the beat's index g within its time step)."""

    def __init__(self, spec: CoreSpec, plan: Plan, x: np.ndarray):
        self.spec = spec
        starts = plan.starts
        n = int(starts[-1])
        G, L, N = spec.beats_per_step, spec.lanes, spec.neurons
        spikes_steps = np.zeros((n, N), np.uint8)
        acc_steps = np.zeros((n, N), np.int64)
        step_sequence = np.repeat(np.arange(len(plan.lengths)), plan.lengths)
        self.sequence = np.repeat(step_sequence, G)
        self.t = np.repeat(np.arange(n) - starts[step_sequence], G)
        self.step_beat = np.tile(np.arange(G), n)
        # one golden call per distinct length, the sequences of that length as a batch
        by_len: dict[int, list[int]] = {}
        for b, length in enumerate(plan.lengths):
            by_len.setdefault(length, []).append(b)
        for length, seqs in by_len.items():
            batch = np.stack([x[starts[b]:starts[b] + length] for b in seqs])
            spikes, acc = golden_run(spec, batch)
            for j, b in enumerate(seqs):
                spikes_steps[starts[b]:starts[b] + length] = spikes[j].reshape(length, N)
                acc_steps[starts[b]:starts[b] + length] = acc[j].reshape(length, N)
        self.spikes = spikes_steps.reshape(n * G, L)
        self.acc = acc_steps.reshape(n * G, L)
        self.first = np.repeat(driven_first_flags(plan), G)
        # epochs: (beat indices driven in it, exact?) -- a reset ends an epoch
        self.epochs: list[tuple[np.ndarray, bool]] = []
        current: list[np.ndarray] = []
        for ph in plan.phases:
            current.append(np.arange(*plan.hw_beats(ph)))
            if ph.reset:
                self.epochs.append((np.concatenate(current), False))
                current = []
        self.epochs.append((np.concatenate(current) if current else np.zeros(0, int), True))


def driven_first_flags(plan: Plan) -> np.ndarray:
    """The ``first`` flag the driver sends with each time step of the plan (0/1 per step; every
    beat of a step carries it)."""
    starts = plan.starts
    first = np.zeros(int(starts[-1]), np.uint8)
    first[starts[:-1]] = 1
    after_reset = False
    for ph in plan.phases:
        if after_reset and ph.start < len(plan.lengths):
            first[starts[ph.start]] = 0
        after_reset = ph.reset and not ph.first_after_reset
    return first


def compare(expected: Expected, got: dict[str, np.ndarray], epoch: np.ndarray,
            complete: bool = True) -> Mismatch | None:
    """The first difference between received beats (fields as from ``packing.unpack_outputs``,
    ``epoch`` the reset count when each beat arrived) and the expected stream; None if equal.
    ``complete=False`` checks a run still in progress: beats not yet arrived are not missing."""
    fields = ["first", "spikes"] + (["acc"] if expected.spec.emit_acc else [])
    beat_base = 0
    for e, (index, exact) in enumerate(expected.epochs):
        mine = np.flatnonzero(epoch == e)
        n = min(len(mine), len(index))
        rows_got, rows_exp = mine[:n], index[:n]
        bad = got["unknown"][rows_got].copy() if "unknown" in got else np.zeros(n, bool)
        per_field = {}
        for f in fields:
            g = got[f][rows_got]
            x = getattr(expected, f)[rows_exp]
            diff = g != x
            per_field[f] = diff
            bad |= diff if diff.ndim == 1 else diff.any(axis=1)
        if bad.any():
            j = int(np.argmax(bad))
            b = int(rows_exp[j])
            seq, t = int(expected.sequence[b]), int(expected.t[b])
            if "unknown" in got and got["unknown"][rows_got[j]]:
                return Mismatch(seq, t, None, "payload (X or Z bits)", None, None, int(rows_got[j]))
            # report the accumulator first: a wrong spike follows from a wrong acc
            for f in ("first", "acc", "spikes"):
                if f not in per_field or not per_field[f][j].any():
                    continue
                if f == "first":
                    return Mismatch(seq, t, None, "first", int(expected.first[b]),
                                    int(got["first"][rows_got[j]]), int(rows_got[j]))
                lane = int(np.argmax(per_field[f][j]))
                spec = expected.spec
                neuron = int(expected.step_beat[b]) * spec.lanes + lane
                return Mismatch(seq, t, spec.neuron_channel(neuron), f, int(getattr(expected, f)[b, lane]),
                                int(got[f][rows_got[j], lane]), int(rows_got[j]),
                                neuron // spec.channels if spec.positions > 1 else None)
        if len(mine) > len(index):
            last = int(index[-1]) if len(index) else 0
            return Mismatch(int(expected.sequence[last]), int(expected.t[last]), None, "extra",
                            len(index), len(mine) - len(index), int(mine[len(index)]))
        if exact and complete and len(mine) < len(index):
            b = int(index[len(mine)])
            return Mismatch(int(expected.sequence[b]), int(expected.t[b]), None, "missing",
                            len(index) - len(mine), None, beat_base + len(mine))
        beat_base += len(mine)
    extra = np.flatnonzero(epoch >= len(expected.epochs))
    if len(extra):
        return Mismatch(-1, -1, None, "extra", 0, len(extra), int(extra[0]))
    return None
