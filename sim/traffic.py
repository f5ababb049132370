"""The traffic plan of one co-simulation: what goes into the core, when, and with which handshakes.

A plan is a flat list of sequences (their time steps concatenated, each starting with ``first = 1``)
cut into *phases*. Each phase has its own probability of an idle input cycle (``gap_p``: ``i__valid``
low before a beat) and of a stalled output cycle (``stall_p``: ``o__ready`` low); a phase can stop
early (``cut`` beats) and end in a reset, which is how a reset lands in the middle of a stream with
beats still in flight. Plans travel to the cocotb process as JSON.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from shiftpsn.base.spec import CoreSpec
from shiftpsn.base.stimulus import random_stimulus


@dataclass
class Phase:
    """Sequences ``[start, stop)`` of the plan, driven with the given handshake probabilities.

    ``cut``: drive only this many beats of the phase (``None``: all). ``reset``: assert ``rst``
    right after the phase's last beat is accepted, without waiting for its outputs. ``first_after_reset``
    (only with ``reset``): whether the next beat carries ``first``; ``False`` checks that ``rst``
    itself clears the history (docs/ARCHITECTURE.md).
    """

    start: int
    stop: int
    gap_p: float = 0.0
    stall_p: float = 0.0
    cut: int | None = None
    reset: bool = False
    first_after_reset: bool = True


@dataclass
class Plan:
    """Everything the cocotb test needs besides the core: written to ``job.json``."""

    spec: dict
    stimulus: str                  # .npy of shape (N, C): all sequences' steps, concatenated
    lengths: list[int]             # steps per sequence, summing to N
    results: str                   # .npz the test writes (received beats and the verdict)
    phases: list[Phase] = field(default_factory=list)
    seed: int = 0
    load_weights: bool = True      # write the spec's weights through cfg (runtime cores)
    check: bool = True             # compare with shiftpsn.golden.integer in the test
    fail_fast: bool = True         # with check: stop at the first mismatch (looks every 512 beats)
    idle_timeout: int = 4000       # cycles without progress before the test gives up

    @property
    def starts(self) -> np.ndarray:
        """Beat index where each sequence starts, and the total beat count last (len(lengths) + 1)."""
        return np.concatenate([[0], np.cumsum(self.lengths)]).astype(int)

    def beats(self, phase: Phase) -> tuple[int, int]:
        """[lo, hi) time-step indices the phase drives (its ``cut`` applied). A time step is one
        beat of a parallel core; see :meth:`hw_beats` for the engine's beats."""
        starts = self.starts
        lo = int(starts[phase.start])
        return lo, (int(starts[phase.stop]) if phase.cut is None else lo + phase.cut)

    @property
    def beats_per_step(self) -> int:
        """Stream beats per time step of the plan's core (``CoreSpec.beats_per_step``)."""
        return CoreSpec.from_dict(self.spec).beats_per_step

    def hw_beats(self, phase: Phase) -> tuple[int, int]:
        """[lo, hi) indices of the stream beats the phase drives (beats_per_step per time step)."""
        lo, hi = self.beats(phase)
        g = self.beats_per_step
        return lo * g, hi * g

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: Path) -> "Plan":
        d = json.loads(Path(path).read_text())
        d["phases"] = [Phase(**p) for p in d["phases"]]
        return cls(**d)


def sequence_lengths(spec: CoreSpec, rng: np.random.Generator, steps: int) -> list[int]:
    """Random lengths summing to ``steps``: a share of very short sequences (1 .. delay_depth + 1,
    where the empty history matters most) and longer ones up to a few delay lines."""
    horizon = spec.delay_depth + 1
    lengths, left = [], steps
    while left > 0:
        if rng.random() < 0.25:
            n = int(rng.integers(1, horizon + 1))
        else:
            n = int(rng.integers(1, max(16, 4 * horizon) + 1))
        n = min(n, left)
        lengths.append(n)
        left -= n
    return lengths


def regress_stimulus(spec: CoreSpec, rng: np.random.Generator, lengths: list[int],
                     aim_p: float = 0.15) -> np.ndarray:
    """(sum(lengths), C) stimulus ((sum(lengths), P, C) with positions P > 1). Of every ten sequences, one is all extremes, one a constant
    input_min or input_max run (the largest accumulators, e.g. for a lost carry); the others are
    random with a share of extremes, and a share ``aim_p`` of their steps is aimed at the
    thresholds (:func:`aim_at_thresholds`)."""
    parts = []
    for b, n in enumerate(lengths):
        kind = b % 10
        if kind == 3:
            x = random_stimulus(spec, rng, 1, n, extreme_fraction=1.0)[0]
        elif kind == 8:
            value = spec.input_min if (b // 10) % 2 == 0 else spec.input_max
            x = np.full((n, spec.channels) if spec.positions == 1 else (n, spec.positions, spec.channels),
                        value, dtype=np.int64)
        elif spec.positions > 1:  # each position is a neuron of its channel: aim each one
            x = random_stimulus(spec, rng, 1, n)[0]
            x = np.stack([aim_at_thresholds(spec, x[:, p], rng, aim_p) for p in range(spec.positions)], axis=1)
        else:
            x = aim_at_thresholds(spec, random_stimulus(spec, rng, 1, n)[0], rng, aim_p)
        parts.append(x)
    return np.concatenate(parts, axis=0)


def aim_at_thresholds(spec: CoreSpec, x: np.ndarray, rng: np.random.Generator, p: float) -> np.ndarray:
    """Return a copy of one sequence ``x`` (T, C) in which, at a random share ``p`` of the steps,
    the inputs are re-chosen so that acc equals theta or theta - 1 where that is reachable.

    Random inputs almost never hit a wide accumulator's threshold exactly, so a comparator off by
    one (``>`` for ``>=``) or a lost threshold bit would go unseen without this. With
    acc[t] = sum_i w_i x[t - delay_i] (docs/CONTRACT.md section 2), the free inputs are solved for
    greedily, largest |w_i| first, each rounded and clamped to the input range, so the smallest
    weight absorbs the remainder. Inputs an earlier hit depends on are left alone."""
    x = np.array(x, dtype=np.int64)
    T, C = x.shape
    k = spec.order
    w = [[spec.int_weight(c, i) for i in range(k)] for c in range(C)]
    delays = spec.tap_delays
    lock = [0] * C  # inputs before lock[c] belong to an earlier hit in channel c
    for t in np.flatnonzero(rng.random(T) < p):
        for c in range(C):
            used = [i for i in range(k) if w[c][i] and t - delays[i] >= 0]
            free = sorted((i for i in used if t - delays[i] >= lock[c]), key=lambda i: -abs(w[c][i]))
            if not free:
                continue
            # saturated on the accumulator grid (same spikes; a huge theta is no float overflow)
            target = spec.threshold_hw(c) - int(rng.integers(0, 2))
            target -= sum(w[c][i] * int(x[t - delays[i], c]) for i in used if i not in free)
            for i in free:
                v = min(max(round(target / w[c][i]), spec.input_min), spec.input_max)
                x[t - delays[i], c] = v
                target -= w[c][i] * v
            if target == 0:
                lock[c] = t + 1
    return x


def default_phases(n_sequences: int, lengths: list[int]) -> list[Phase]:
    """The regression's traffic: free flow, mixed gaps and stalls, heavy input gaps (0.9), heavy
    output stalls (0.9), a reset in the middle of a sequence with beats in flight, then mixed
    traffic again after the reset, whose first beat does not carry ``first`` (the reset alone must
    have cleared the history). Short plans get fewer phases (never an empty one)."""
    shares = [("free", 0.25, 0.0, 0.0), ("mixed", 0.25, 0.3, 0.3), ("gaps", 0.1, 0.9, 0.0),
              ("stalls", 0.1, 0.0, 0.9), ("reset", 0.1, 0.2, 0.5), ("after", 0.2, 0.5, 0.5)]
    phases, start = [], 0
    bounds = np.cumsum([s[1] for s in shares])
    for (name, _, gap_p, stall_p), b in zip(shares, bounds):
        stop = n_sequences if name == "after" else max(start, int(round(b * n_sequences)))
        if stop <= start:
            continue
        phase = Phase(start, stop, gap_p, stall_p)
        if name == "reset" and stop < n_sequences:
            beats = sum(lengths[start:stop])
            # stop inside the phase's last sequence when it has more than one step
            phase.cut = beats - max(1, lengths[stop - 1] // 2) if lengths[stop - 1] > 1 else beats
            phase.reset = True
            phase.first_after_reset = False  # rst alone must clear the history
        phases.append(phase)
        start = stop
    return phases
