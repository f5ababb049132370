"""Scoreboard of a network co-simulation: every stream the testbench watches against
``shiftpsn.golden.network.run_network``, in order, independent of latency.

Streams (layouts from NETWORK.json, :mod:`shiftpsn.sim.nettraffic`):

* ``out``, the network's output: G = O / lanes beats per time step (beat g: logits g*lanes + j), each
  with the step's ``first`` and ``last``; ``done`` on the final beat of a sequence's ``last`` step,
  which also carries ``cls`` (argmax of the sums, lowest index on ties) and ``sums`` (sum over the
  sequence of each logit).
* ``spikes_L``, the stream leaving neuron layer L inside the hardware (where the Verilog exposes it):
  C / lanes beats per time step of ``lanes`` spikes, ``first`` and ``last``.

As for a core (:mod:`shiftpsn.sim.scoreboard`), between two resets (an *epoch*) every stream must
equal the expected one exactly; an epoch ended by a reset with beats in flight must be a prefix of it
(beats in flight may be dropped, never corrupted or invented). The first difference is reported as a
:class:`~shiftpsn.sim.scoreboard.Mismatch`: the earliest time step among all streams, the layer
closest to the input first (the first wrong layer is where a fault lives).
"""

from __future__ import annotations

import numpy as np

from shiftpsn.base.network import NetworkSpec
from shiftpsn.golden.network import run_network

from .scoreboard import Mismatch
from .nettraffic import NetPlan


# ------------------------------------------------------------------------------------ payloads
def spike_stream_layout(lanes: int) -> dict:
    """The layout of the stream leaving a neuron layer (``shiftpsn.hdl.dense.step_layout`` of 1-bit
    values), in NETWORK.json's form."""
    from amaranth.hdl import unsigned

    from shiftpsn.hdl.dense import step_layout

    out = {}
    for name, f in step_layout(unsigned(1), lanes):
        entry = {"offset": f.offset, "width": f.width}
        if name == "x":
            entry.update(count=lanes, per_element=1, signed=False)
        out[name] = entry
    return out


# ------------------------------------------------------------------------------------ expected
class NetExpected:
    """Golden values of every driven time step of a plan, per watched stream.

    ``logits`` (N, O), ``spikes[L]`` (N, C) per step; per sequence ``cls`` and ``sums`` (O,); per
    step ``sequence``, ``t``, ``first``, ``last``; ``epochs``: (step indices driven, exact?) per epoch."""

    def __init__(self, net: NetworkSpec, plan: NetPlan, x: np.ndarray):
        self.net = net
        starts = plan.starts
        n = int(starts[-1])
        self.lengths = list(plan.lengths)
        self.sequence = np.repeat(np.arange(len(plan.lengths)), plan.lengths)
        self.t = np.arange(n) - starts[self.sequence]
        self.first, self.last = plan.flags()
        self.logits = np.zeros((n, net.out_features), np.int64)
        self.spikes = {L: np.zeros((n, net.layers[L].channels), np.uint8) for L in net.neuron_indices}
        self.cls = np.zeros(len(plan.lengths), np.int64)
        self.sums = np.zeros((len(plan.lengths), net.out_features), np.int64)
        by_len: dict[int, list[int]] = {}
        for b, length in enumerate(plan.lengths):
            by_len.setdefault(length, []).append(b)
        for length, seqs in by_len.items():
            r = run_network(net, np.stack([x[starts[b]:starts[b] + length] for b in seqs]))
            for j, b in enumerate(seqs):
                sl = slice(starts[b], starts[b] + length)
                self.logits[sl] = r.logits[j]
                for L in self.spikes:
                    self.spikes[L][sl] = r.spikes[L][j]
                self.cls[b] = r.classes[j]
                self.sums[b] = r.logits[j].sum(axis=0)
        self.epochs: list[tuple[np.ndarray, bool]] = []
        current: list[np.ndarray] = []
        for ph in plan.phases:
            current.append(np.arange(*plan.steps(ph)))
            if ph.reset:
                self.epochs.append((np.concatenate(current), False))
                current = []
        self.epochs.append((np.concatenate(current) if current else np.zeros(0, int), True))

    def beats_per_step(self, stream: str) -> int:
        if stream == "out":
            last = self.net.layers[-1]
            return last.out_features // last.lanes
        spec = self.net.layers[int(stream.split("_")[1])]
        return spec.channels // spec.lanes

    def rows(self, stream: str, steps: np.ndarray) -> np.ndarray:
        """Row (beat) indices of ``stream`` for the given time steps, in stream order."""
        G = self.beats_per_step(stream)
        return (np.asarray(steps, dtype=np.int64)[:, None] * G + np.arange(G)).ravel()

    def expected_rows(self, stream: str) -> int:
        """Beats of ``stream`` in the last (exact) epoch."""
        return len(self.epochs[-1][0]) * self.beats_per_step(stream)


def _row_values(exp: NetExpected, stream: str, rows: np.ndarray) -> dict[str, np.ndarray]:
    """Expected field values of the given stream rows."""
    G = exp.beats_per_step(stream)
    step, g = rows // G, rows % G
    if stream == "out":
        lanes = exp.net.layers[-1].lanes
        cols = g[:, None] * lanes + np.arange(lanes)
        seq = exp.sequence[step]
        done = (exp.last[step] == 1) & (g == G - 1)
        return {"logits": np.take_along_axis(exp.logits[step], cols, axis=1), "first": exp.first[step],
                "last": exp.last[step], "done": done.astype(np.int64), "cls": exp.cls[seq], "sums": exp.sums[seq]}
    L = int(stream.split("_")[1])
    lanes = exp.net.layers[L].lanes
    cols = g[:, None] * lanes + np.arange(lanes)
    return {"x": np.take_along_axis(exp.spikes[L][step], cols, axis=1), "first": exp.first[step],
            "last": exp.last[step]}


#: Fields compared, in the order a difference is reported (flags first: a lost beat shows as one).
_OUT_FIELDS = ("first", "last", "logits", "done", "cls", "sums")
_SPIKE_FIELDS = ("first", "last", "x")


def _stream_mismatch(exp: NetExpected, stream: str, got: dict, epoch: np.ndarray,
                     complete: bool) -> tuple[tuple, Mismatch] | None:
    """The first difference of one stream, with its sort key (time step, then stream order)."""
    G = exp.beats_per_step(stream)
    fields = _OUT_FIELDS if stream == "out" else _SPIKE_FIELDS
    label = "" if stream == "out" else f" of layers[{stream.split('_')[1]}]"
    lanes = exp.net.layers[-1].lanes if stream == "out" else exp.net.layers[int(stream.split("_")[1])].lanes
    base = 0
    for e, (steps, exact) in enumerate(exp.epochs):
        index = exp.rows(stream, steps)
        mine = np.flatnonzero(epoch == e)
        n = min(len(mine), len(index))
        rows_got, rows_exp = mine[:n], index[:n]
        want = _row_values(exp, stream, rows_exp)
        bad_at = {}
        for f in fields:
            g = got[f][rows_got]
            w = want[f]
            if f in ("cls", "sums"):  # only on a sequence's final beat
                mask = want["done"] == 1
            else:
                mask = np.ones(n, bool)
            unknown = got[f"unknown_{f}"][rows_got] & mask
            if g.dtype == object:  # wider than 64 bits: Python ints
                diff = np.array([[a != b for a, b in zip(r1, r2)] for r1, r2 in zip(g.tolist(), w.tolist())], bool)
            else:
                diff = g != w
            diff = diff.reshape(n, -1) if n else diff.reshape(0, 1)
            diff &= mask[:, None]
            rows_bad = diff.any(axis=1) | unknown
            if rows_bad.any():
                bad_at[f] = (int(np.argmax(rows_bad)), diff, unknown)
        if bad_at:
            j = min(r for r, _, _ in bad_at.values())
            for f in fields:  # the first field that is wrong in the first wrong row
                if f in bad_at and bad_at[f][0] == j:
                    _, diff, unknown = bad_at[f]
                    break
            r = int(rows_exp[j])
            step, g = r // G, r % G
            seq, t = int(exp.sequence[step]), int(exp.t[step])
            key = (int(step), g)
            name = f"{f}{label}" if f in ("first", "last", "done", "cls") else (
                "logits" if f == "logits" else "sums" if f == "sums" else f"spikes_{stream.split('_')[1]}")
            if unknown[j]:
                return key, Mismatch(seq, t, None, f"{name} (X or Z bits)", None, None, int(rows_got[j]))
            if f in ("first", "last", "done", "cls"):
                return key, Mismatch(seq, t, None, name, int(want[f][j]), int(got[f][rows_got[j]]),
                                     int(rows_got[j]))
            lane = int(np.argmax(diff[j]))
            channel = lane if f == "sums" else g * lanes + lane
            return key, Mismatch(seq, t, channel, name, int(want[f][j][lane]), int(got[f][rows_got[j]][lane]),
                                 int(rows_got[j]))
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


def compare_network(exp: NetExpected, streams: dict[str, tuple[dict, np.ndarray]],
                    complete: bool = True) -> Mismatch | None:
    """The first difference between the received streams (name -> (fields from :func:`shiftpsn.base.payload.unpack_stream`,
    epoch of each beat)) and the expected ones; None when all are equal. Streams are ordered
    ``spikes_L`` by L, then ``out``: at the same time step the layer nearest the input is reported.
    ``complete=False`` checks a run in progress (beats not yet arrived are not missing)."""
    order = sorted((s for s in streams if s != "out"), key=lambda s: int(s.split("_")[1])) + \
        (["out"] if "out" in streams else [])
    found = []
    for rank, s in enumerate(order):
        got, epoch = streams[s]
        r = _stream_mismatch(exp, s, got, epoch, complete)
        if r is not None:
            (step, _), m = r
            found.append(((step, rank), m))
    if not found:
        return None
    return min(found, key=lambda kv: kv[0])[1]
