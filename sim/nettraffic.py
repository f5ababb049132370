"""The traffic plan of one network co-simulation (the network counterpart of :mod:`shiftpsn.sim.traffic`).

A network takes one input beat per time step (``x``: the I inputs, ``first``, ``last``; NETWORK.json's
``input_payload``). A plan is a flat list of sequences (their steps concatenated) cut into the same
:class:`~shiftpsn.sim.traffic.Phase` objects as a core's plan: valid gaps, ready stalls, a phase cut
short and ended by a reset with beats in flight. After a reset the next sequence always starts with
``first`` (docs/CONTRACT.md section 5 defines a network's sequences by ``first`` / ``last``, not by
``rst``). Plans travel to the cocotb process (:mod:`shiftpsn.sim.nettb`) as JSON.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from shiftpsn.base.network import NetworkSpec
from shiftpsn.base.testing import random_network_input

from .traffic import Phase, default_phases


@dataclass
class NetPlan:
    """Everything the network testbench needs besides the Verilog.

    ``input_payload`` / ``output_payload``: the layouts of NETWORK.json (field -> offset, width,
    count, per_element, signed); ``monitors``: the neuron layers whose spikes are watched inside the
    hardware, each ``{"layer": L, "instance": name, "payload": layout}`` (the stream leaving that
    neuron layer)."""

    net: dict
    input_payload: dict
    output_payload: dict
    stimulus: str                  # .npy (N, I): all sequences' steps, concatenated
    lengths: list[int]             # steps per sequence, summing to N
    results: str                   # .npz the test writes
    monitors: list[dict] = field(default_factory=list)
    phases: list[Phase] = field(default_factory=list)
    seed: int = 0
    check: bool = True             # compare with shiftpsn.golden.network in the test
    fail_fast: bool = True         # with check: stop at the first mismatch (looks every CHECK_EVERY steps)
    idle_timeout: int = 4000       # cycles without progress before the test gives up

    @property
    def starts(self) -> np.ndarray:
        """Step index where each sequence starts, and the total step count last."""
        return np.concatenate([[0], np.cumsum(self.lengths)]).astype(int)

    def steps(self, phase: Phase) -> tuple[int, int]:
        """[lo, hi) time-step (= input beat) indices the phase drives (its ``cut`` applied)."""
        starts = self.starts
        lo = int(starts[phase.start])
        return lo, (int(starts[phase.stop]) if phase.cut is None else lo + phase.cut)

    def flags(self) -> tuple[np.ndarray, np.ndarray]:
        """The ``first`` and ``last`` flag (0/1) the driver sends with each time step."""
        starts = self.starts
        n = int(starts[-1])
        first, last = np.zeros(n, np.uint8), np.zeros(n, np.uint8)
        first[starts[:-1]] = 1
        last[starts[1:] - 1] = 1
        return first, last

    def network(self) -> NetworkSpec:
        return NetworkSpec.from_dict(self.net)

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: Path) -> "NetPlan":
        d = json.loads(Path(path).read_text())
        d["phases"] = [Phase(**p) for p in d["phases"]]
        return cls(**d)


def history_depth(net: NetworkSpec) -> int:
    """The longest neuron history of the network, (k-1)*d, over its neuron layers (0 without any)."""
    return max([net.layers[L].delay_depth for L in net.neuron_indices] or [0])


def net_sequence_lengths(net: NetworkSpec, rng: np.random.Generator, steps: int) -> list[int]:
    """Random lengths summing to ``steps``: a share of one-step and very short sequences (where the
    empty histories and the ``first``/``last`` flags on one beat matter most) and longer ones up to a
    few neuron histories."""
    horizon = history_depth(net) + 1
    lengths, left = [], steps
    while left > 0:
        u = rng.random()
        if u < 0.1:
            n = 1
        elif u < 0.35:
            n = int(rng.integers(1, horizon + 2))
        else:
            n = int(rng.integers(2, max(12, 3 * horizon) + 1))
        n = min(n, left)
        lengths.append(n)
        left -= n
    return lengths


def net_regress_stimulus(net: NetworkSpec, rng: np.random.Generator, lengths: list[int]) -> np.ndarray:
    """(sum(lengths), I) network inputs. Of every ten sequences one is all extremes, one a constant
    run of input_min, input_max or 0 (the largest dense outputs; the fewest bit-serial cycles), the
    others uniform with a share of extremes."""
    parts = []
    for b, n in enumerate(lengths):
        kind = b % 10
        if kind == 3:
            x = random_network_input(net, rng, 1, n, extreme_fraction=1.0)[0]
        elif kind == 8:
            value = (net.input_min, net.input_max, 0)[(b // 10) % 3]
            x = np.full((n, net.in_features), value, dtype=np.int64)
        else:
            x = random_network_input(net, rng, 1, n, extreme_fraction=0.15)[0]
        parts.append(x)
    return np.concatenate(parts, axis=0)


def net_phases(n_sequences: int, lengths: list[int]) -> list[Phase]:
    """:func:`shiftpsn.sim.traffic.default_phases` (free flow, mixed, heavy gaps, heavy stalls, a reset
    in the middle of a sequence, mixed again), with ``first`` on the sequence after the reset."""
    phases = default_phases(n_sequences, lengths)
    for ph in phases:
        ph.first_after_reset = True
    return phases
