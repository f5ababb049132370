"""Scoreboard: every stream the testbench watches against the golden model, in order, independent of
latency, for a core and a network alike.

Streams (named as in :attr:`shiftpsn.sim.design.RTLDesign.streams`, layouts from the description):

* ``o``, the design's output: G beats per time step (beat g carries values g*lanes .. g*lanes + lanes - 1
  of the step), each with the step's flags. A core's beat has ``spikes``, ``first`` and (emit_acc)
  ``acc``; a network's ``logits``, ``first``, ``last``, and ``done`` on the final beat of a sequence's
  ``last`` step, which also carries ``cls`` (argmax of the sums, lowest index on ties) and ``sums``
  (sum over the sequence of each logit).
* ``spikes_L``, the stream leaving neuron layer L inside a network: its ``x`` are the layer's spikes.

The expected value of an output field comes from the golden model by the field's name
(``Kind.golden``: per time step ``spikes`` / ``acc`` / ``logits`` / ``spikes_L``, per sequence ``cls`` /
``sums``; a monitor's ``x`` is its stream's name); ``first``, ``last`` and ``done`` from the plan. Between
two resets (an *epoch*) every stream must equal the expected one exactly; an epoch ended by a reset
with beats in flight must be a prefix of it (beats in flight may be dropped by the reset, never
corrupted or invented). The first difference is one :class:`Mismatch`: the earliest time step among
all streams, the layer closest to the input first (the first wrong layer is where a fault lives).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .kinds import kind_of
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


#: Fields compared, in the order a difference within one beat is reported (flags first: a lost beat
#: shows as one; a core's accumulator before its spikes: a wrong spike follows from a wrong acc).
REPORT_ORDER = ("first", "last", "acc", "logits", "spikes", "x", "done", "cls", "sums")
#: Flags of the plan, by time step; ``done`` marks the final beat of a sequence's last step.
FLAGS = ("first", "last", "done")


class Expected:
    """Golden values of every driven time step of a plan.

    Per time step: ``sequence``, ``t``, ``first``, ``last`` and the golden model's arrays (a core:
    ``spikes``, ``acc`` (N, C) or (N, P, C); a network: ``logits`` (N, O), ``spikes_L`` (N, C)); per
    sequence (a network) ``cls`` and ``sums``; all readable as attributes. ``epochs``: (time steps
    driven, exact?) per epoch. ``layouts``: the payload layout of every stream to check."""

    def __init__(self, design, plan: Plan, x: np.ndarray):
        self.design = design
        kind = kind_of(design)
        starts = plan.starts
        n, S = int(starts[-1]), len(plan.lengths)
        self.sequence = np.repeat(np.arange(S), plan.lengths)
        self.t = np.arange(n) - starts[self.sequence]
        self.first, self.last = plan.flags()
        self.per_step: dict[str, np.ndarray] = {}
        self.per_sequence: dict[str, np.ndarray] = {}
        # one golden call per distinct length, the sequences of that length as a batch
        by_len: dict[int, list[int]] = {}
        for b, length in enumerate(plan.lengths):
            by_len.setdefault(length, []).append(b)
        for length, seqs in by_len.items():
            steps, seqs_of = kind.golden(design, np.stack([x[starts[b]:starts[b] + length] for b in seqs]))
            for name, v in steps.items():
                out = self.per_step.setdefault(name, np.zeros((n, *v.shape[2:]), v.dtype))
                for j, b in enumerate(seqs):
                    out[starts[b]:starts[b] + length] = v[j]
            for name, v in seqs_of.items():
                self.per_sequence.setdefault(name, np.zeros((S, *v.shape[1:]), v.dtype))[seqs] = v
        self.epochs: list[tuple[np.ndarray, bool]] = []
        current: list[np.ndarray] = []
        for ph in plan.phases:
            current.append(np.arange(*plan.steps(ph)))
            if ph.reset:
                self.epochs.append((np.concatenate(current), False))
                current = []
        self.epochs.append((np.concatenate(current) if current else np.zeros(0, int), True))
        self.layouts = {name: s["fields"] for name, s in plan.streams.items() if name != "i"} \
            or {"o": design.stream_fields("output")}

    def __getattr__(self, name: str) -> np.ndarray:
        values = self.__dict__.get("per_step", {}) | self.__dict__.get("per_sequence", {})
        if name in values:
            return values[name]
        raise AttributeError(name)

    def key(self, stream: str, field: str) -> str:
        """The golden array of a data field: by its name in ``o``, the stream's name for a monitor."""
        return field if stream == "o" or field in self.per_sequence else stream

    def beats_per_step(self, stream: str) -> int:
        layout = self.layouts[stream]
        f = next(f for f in layout if "count" in layout[f] and self.key(stream, f) in self.per_step)
        return int(np.prod(self.per_step[self.key(stream, f)].shape[1:])) // layout[f]["count"]

    def values(self, stream: str, field: str, rows: np.ndarray) -> np.ndarray:
        """Expected values of ``field`` on the given beats (rows) of ``stream``."""
        G = self.beats_per_step(stream)
        step, g = rows // G, rows % G
        if field == "done":
            return ((self.last[step] == 1) & (g == G - 1)).astype(np.int64)
        if field in FLAGS:
            return getattr(self, field)[step]
        if field in self.per_sequence:
            return self.per_sequence[field][self.sequence[step]]
        key = self.key(stream, field)
        if key not in self.per_step:
            raise ValueError(f"stream {stream}: no golden value for its field {field!r}")
        flat = self.per_step[key].reshape(len(self.first) * G, -1)
        return flat[rows]

    def channel(self, stream: str, field: str, g: int, lane: int) -> tuple[int, int | None]:
        """(channel, position or None) of a value: lane j of beat g is value g*lanes + j of its step."""
        if field in self.per_sequence:
            return lane, None
        shape = self.per_step[self.key(stream, field)].shape
        n = g * self.layouts[stream][field]["count"] + lane
        return n % shape[-1], (n // shape[-1] if len(shape) == 3 else None)


def driven_first_flags(plan: Plan) -> np.ndarray:
    """The ``first`` flag the driver sends with each time step of the plan (0/1 per step; every
    beat of a step carries it)."""
    return plan.flags()[0]


def _label(stream: str) -> str:
    return "" if stream == "o" else f" of layers[{stream.split('_', 1)[1]}]"


def _stream_mismatch(exp: Expected, stream: str, got: dict, epoch: np.ndarray,
                     complete: bool) -> tuple[tuple, Mismatch] | None:
    """The first difference of one stream, with its sort key (time step, beat within it)."""
    G = exp.beats_per_step(stream)
    layout = exp.layouts[stream]
    fields = sorted(layout, key=lambda f: REPORT_ORDER.index(f) if f in REPORT_ORDER else len(REPORT_ORDER))
    label = _label(stream)
    base = 0
    for e, (steps, exact) in enumerate(exp.epochs):
        index = (np.asarray(steps, dtype=np.int64)[:, None] * G + np.arange(G)).ravel()
        mine = np.flatnonzero(epoch == e)
        n = min(len(mine), len(index))
        rows_got, rows_exp = mine[:n], index[:n]
        done = exp.values(stream, "done", rows_exp) == 1
        bad_at = {}
        for f in fields:
            w = exp.values(stream, f, rows_exp)
            g = got[f][rows_got]
            mask = done if f in exp.per_sequence else np.ones(n, bool)  # only on a sequence's final beat
            unknown = got.get(f"unknown_{f}", got.get("unknown", np.zeros(len(epoch), bool)))[rows_got] & mask
            if g.dtype == object or w.dtype == object:  # wider than 64 bits: Python ints
                diff = np.array([[a != b for a, b in zip(np.atleast_1d(r1), np.atleast_1d(r2))]
                                 for r1, r2 in zip(g.tolist(), w.tolist())], bool)
            else:
                diff = g != w
            diff = (diff.reshape(n, -1) if n else diff.reshape(0, 1)) & mask[:, None]
            rows_bad = diff.any(axis=1) | unknown
            if rows_bad.any():
                bad_at[f] = (int(np.argmax(rows_bad)), diff, unknown)
        if bad_at:
            j = min(r for r, _, _ in bad_at.values())
            f = next(f for f in fields if f in bad_at and bad_at[f][0] == j)  # first wrong field of the row
            _, diff, unknown = bad_at[f]
            r = int(rows_exp[j])
            step, g = r // G, r % G
            seq, t = int(exp.sequence[step]), int(exp.t[step])
            vector = "count" in layout[f]
            name = exp.key(stream, f) if vector else f"{f}{label}"
            key = (int(step), g)
            if unknown[j]:
                return key, Mismatch(seq, t, None, f"{name} (X or Z bits)", None, None, int(rows_got[j]))
            if not vector:
                return key, Mismatch(seq, t, None, name, int(exp.values(stream, f, rows_exp[j:j + 1])[0]),
                                     int(got[f][rows_got[j]]), int(rows_got[j]))
            lane = int(np.argmax(diff[j]))
            channel, position = exp.channel(stream, f, g, lane)
            want = exp.values(stream, f, rows_exp[j:j + 1]).reshape(-1)[lane]
            return key, Mismatch(seq, t, channel, name, int(want), int(np.asarray(got[f][rows_got[j]]).reshape(-1)[lane]),
                                 int(rows_got[j]), position)
        if len(mine) > len(index):
            last = int(steps[-1]) if len(steps) else 0
            return (last, G), Mismatch(int(exp.sequence[last]) if len(steps) else -1,
                                       int(exp.t[last]) if len(steps) else -1, None, f"extra{label}",
                                       len(index), len(mine) - len(index), int(mine[len(index)]))
        if exact and complete and len(mine) < len(index):
            r = int(index[len(mine)])
            step = r // G
            return (step, r % G), Mismatch(int(exp.sequence[step]), int(exp.t[step]), None, f"missing{label}",
                                           len(index) - len(mine), None, base + len(mine))
        base += len(mine)
    extra = np.flatnonzero(epoch >= len(exp.epochs))
    if len(extra):
        return (1 << 62, 0), Mismatch(-1, -1, None, f"extra{label}", 0, len(extra), int(extra[0]))
    return None


def compare(expected: Expected, streams: dict[str, tuple[dict, np.ndarray]],
            complete: bool = True) -> Mismatch | None:
    """The first difference between the received streams (name -> (fields from
    :func:`shiftpsn.base.payload.unpack_stream`, the epoch of each beat)) and the expected ones; None
    when all are equal. At the same time step a monitor ``spikes_L`` (by L) is reported before ``o``.
    ``complete=False`` checks a run in progress (beats not yet arrived are not missing)."""
    order = sorted(streams, key=lambda s: (s == "o", int(s.split("_", 1)[1]) if s != "o" else 0))
    found = []
    for rank, s in enumerate(order):
        got, epoch = streams[s]
        r = _stream_mismatch(expected, s, got, epoch, complete)
        if r is not None:
            (step, _), m = r
            found.append(((step, rank), m))
    return min(found, key=lambda kv: kv[0])[1] if found else None
