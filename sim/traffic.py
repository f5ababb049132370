"""The traffic plan of one co-simulation, core or network: what goes in, when, with which handshakes.

A plan is a flat list of sequences (their time steps concatenated, each starting with ``first = 1``)
cut into *phases*. Each phase has its own probability of an idle input cycle (``gap_p``: ``i__valid``
low before a beat) and of a stalled output cycle (``stall_p``: ``o__ready`` low); a phase can stop
early (``cut`` time steps) and end in a reset, which is how a reset lands in the middle of a stream
with beats still in flight. A time step is one or more input beats (an engine's ``beats_per_step``;
one for a network). Plans travel to the cocotb process (:mod:`shiftpsn.sim.tb`) as JSON.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .kinds import kind_of


@dataclass
class Phase:
    """Sequences ``[start, stop)`` of the plan, driven with the given handshake probabilities.

    ``cut``: drive only this many time steps of the phase (``None``: all). ``reset``: assert ``rst``
    right after the phase's last beat is accepted, without waiting for its outputs. ``first_after_reset``
    (only with ``reset``): whether the next beat carries ``first``; ``False`` checks that ``rst``
    itself clears the history (docs/ARCHITECTURE.md).
    """

    start: int
    stop: int
    gap_p: float = 0.0    # probability of an idle input cycle (i__valid low) before a beat
    stall_p: float = 0.0  # probability of a stalled output cycle (o__ready low)
    cut: int | None = None
    reset: bool = False
    first_after_reset: bool = True


@dataclass
class Plan:
    """Everything the cocotb test needs besides the Verilog: written to ``plan.json``.

    ``design``: the core spec's or the network's dict (its golden model); ``streams``: name -> the
    stream's ports, payload layout (``fields``) and ``instance`` (None for the top's own ``i`` and
    ``o``; a monitored stream inside the design otherwise), as :attr:`shiftpsn.sim.design.RTLDesign.streams`
    gives them; ``config``: (address, data) words written through ``config_port`` after the first reset."""

    design: dict
    stimulus: str                  # .npy of shape (N, ...): all sequences' time steps, concatenated
    lengths: list[int]             # steps per sequence, summing to N
    results: str                   # .npz the test writes (received beats and the verdict)
    phases: list[Phase] = field(default_factory=list)
    streams: dict = field(default_factory=dict)
    config: list | None = None
    config_port: dict | None = None
    seed: int = 0
    check: bool = True             # compare with the golden model in the test
    fail_fast: bool = True         # with check: stop at the first mismatch (looks after 128, 256, ... steps)
    idle_timeout: int = 4000       # cycles without progress before the test gives up
    clock: str = "clk"
    reset: str = "rst"

    @property
    def starts(self) -> np.ndarray:
        """Step index where each sequence starts, and the total step count last (len(lengths) + 1)."""
        return np.concatenate([[0], np.cumsum(self.lengths)]).astype(int)

    def steps(self, phase: Phase) -> tuple[int, int]:
        """[lo, hi) time-step indices the phase drives (its ``cut`` applied)."""
        starts = self.starts
        lo = int(starts[phase.start])
        return lo, (int(starts[phase.stop]) if phase.cut is None else lo + phase.cut)

    def flags(self) -> tuple[np.ndarray, np.ndarray]:
        """The ``first`` and ``last`` flags (0/1) the driver sends with each time step: ``first`` on a
        sequence's first step except right after a reset whose phase says ``first_after_reset=False``."""
        starts = self.starts
        n = int(starts[-1])
        first, last = np.zeros(n, np.uint8), np.zeros(n, np.uint8)
        first[starts[:-1]] = 1
        last[starts[1:] - 1] = 1
        after_reset = False
        for ph in self.phases:
            if after_reset and ph.start < len(self.lengths):
                first[starts[ph.start]] = 0
            after_reset = ph.reset and not ph.first_after_reset
        return first, last

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: Path) -> "Plan":
        d = json.loads(Path(path).read_text())
        d["phases"] = [Phase(**p) for p in d["phases"]]
        return cls(**d)


def sequence_lengths(design, rng: np.random.Generator, steps: int) -> list[int]:
    """Random lengths summing to ``steps``, in the design's bands (``Kind.length_bands``): a share of
    very short sequences (one step, or up to the longest history, where the empty history and the
    flags of one beat matter most) and longer ones up to a few histories."""
    bands = kind_of(design).length_bands(design)
    lengths, left = [], steps
    while left > 0:
        u = rng.random()
        _, lo, hi = next(b for b in bands if u < b[0])
        n = lo if hi is None else int(rng.integers(lo, hi + 1))
        n = min(n, left)
        lengths.append(n)
        left -= n
    return lengths


def regress_stimulus(design, rng: np.random.Generator, lengths: list[int], aim_p: float = 0.15) -> np.ndarray:
    """(sum(lengths), ...) inputs, one time step a row. Of every ten sequences, one is all extremes, one
    a constant run (a core: input_min or input_max, the largest accumulators, e.g. for a lost carry; a
    network: input_min, input_max or 0, the largest dense outputs and the fewest bit-serial cycles);
    the others are random with a share of extremes, and in a core a share ``aim_p`` of their steps is
    aimed at the thresholds (:func:`aim_at_thresholds`)."""
    k = kind_of(design)
    parts = []
    for b, n in enumerate(lengths):
        if b % 10 == 3:
            x = k.random_input(design, rng, n, extreme_fraction=1.0)
        elif b % 10 == 8:
            values = k.constants(design)
            x = np.full((n, *k.step_shape(design)), values[(b // 10) % len(values)], dtype=np.int64)
        else:
            x = k.aim(design, k.random_input(design, rng, n), rng, aim_p)
        parts.append(x)
    return np.concatenate(parts, axis=0)


def aim_at_thresholds(spec, x: np.ndarray, rng: np.random.Generator, p: float) -> np.ndarray:
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


def default_phases(n_sequences: int, lengths: list[int], first_after_reset: bool = False) -> list[Phase]:
    """The regression's traffic: free flow, mixed gaps and stalls, heavy input gaps (0.9), heavy
    output stalls (0.9), a reset in the middle of a sequence with beats in flight, then mixed
    traffic again after the reset, whose first beat carries ``first`` only with ``first_after_reset``
    (a core: it does not, the reset alone must have cleared the history; a network's sequences are
    defined by first / last). Short plans get fewer phases (never an empty one)."""
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
            phase.first_after_reset = first_after_reset
        phases.append(phase)
        start = stop
    return phases
