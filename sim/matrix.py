"""The regression matrix: core parameters crossed by a pairwise covering design; random networks.

The full cartesian product of the factors below is 4*4*3*3*2*2*2*2 = 2304 cores, each a separate
Verilog build; a covering design in which every pair of factor values appears in at least one row
catches every fault that needs two parameters to line up, with a few dozen rows.
:func:`pairwise` builds such a design greedily and deterministically (AETG-style: each new row
starts from an uncovered pair and picks, factor by factor, the value covering most new pairs).
"""

from __future__ import annotations

import itertools

import numpy as np

from shiftpsn.base.network import NetworkSpec
from shiftpsn.base.spec import CoreSpec, max_pipeline
from shiftpsn.base.testing import random_network, random_spec

#: factor -> levels (docs: the issue's matrix; "exp" narrow = one exponent, wide = 13 exponents)
FACTORS: dict[str, list] = {
    "channels": [1, 3, 8, 64],
    "order": [1, 2, 4, 16],
    "dilation": [1, 2, 3],
    "input_width": [2, 8, 16],
    "exp": ["narrow", "wide"],
    "weights": ["runtime", "constant"],
    "arith": ["shift", "mac"],
    "pipeline": ["none", "max"],
}
EXP_RANGES = {"narrow": (-1, 0), "wide": (-6, 12)}  # (exp_min, exp_max - exp_min)


def pairwise(factors: dict[str, list]) -> list[dict]:
    """Rows (factor -> level) such that every pair of levels of every two factors occurs."""
    names = list(factors)
    uncovered = {((a, x), (b, y)) for a, b in itertools.combinations(names, 2)
                 for x in factors[a] for y in factors[b]}

    def gain(row: dict, name: str, value) -> int:
        return sum((((n, row[n]), (name, value)) if names.index(n) < names.index(name)
                    else ((name, value), (n, row[n]))) in uncovered for n in row)

    rows = []
    while uncovered:
        (a, x), (b, y) = min(uncovered, key=lambda p: (names.index(p[0][0]), names.index(p[1][0]),
                                                         factors[p[0][0]].index(p[0][1]),
                                                         factors[p[1][0]].index(p[1][1])))
        row = {a: x, b: y}
        for name in names:
            if name not in row:
                row[name] = max(factors[name], key=lambda v: (gain(row, name, v), -factors[name].index(v)))
        uncovered -= {((n, row[n]), (m, row[m])) for n, m in itertools.combinations(names, 2)}
        rows.append({n: row[n] for n in names})
    return rows


def row_spec(row: dict, seed: int) -> CoreSpec:
    """The core of a matrix row: its sizes, seeded random weights (zero taps, signs, thresholds
    beyond the accumulator included; ``shiftpsn.base.testing.random_spec``)."""
    exp_min, span = EXP_RANGES[row["exp"]]
    k = row["order"]
    pipeline = 0 if row["pipeline"] == "none" else max_pipeline(k)
    return random_spec(np.random.default_rng(seed), channels=row["channels"], order=k,
                       dilation=row["dilation"], input_width=row["input_width"], exp_lo=exp_min,
                       exp_span=span, weights=row["weights"], arith=row["arith"], pipeline=pipeline,
                       name=row_name(row))


def row_name(row: dict) -> str:
    return (f"c{row['channels']}_k{row['order']}_d{row['dilation']}_w{row['input_width']}_{row['exp']}"
            f"_{row['weights']}_{row['arith']}_p{row['pipeline']}")


MATRIX: list[dict] = pairwise(FACTORS)

#: The engine's matrix (lanes < positions * channels): (channels, positions, lanes) shapes covering the
#: three weight organisations ("wide": lanes divide C, "fixed": C divides lanes, "ports": neither),
#: one lane, many beats per step and the fewest (2), crossed pairwise with the other factors.
ENGINE_FACTORS: dict[str, list] = {
    "shape": [(16, 1, 1), (8, 8, 2), (6, 2, 4), (3, 4, 6), (5, 3, 3), (1, 8, 4)],
    "order": [1, 3, 8],
    "dilation": [1, 3],
    "input_width": [2, 8, 12],
    **{k: FACTORS[k] for k in ("exp", "weights", "arith", "pipeline")},
}


def engine_row_spec(row: dict, seed: int) -> CoreSpec:
    """The engine of an :data:`ENGINE_MATRIX` row (seeded random weights, like :func:`row_spec`)."""
    C, P, lanes = row["shape"]
    exp_min, span = EXP_RANGES[row["exp"]]
    k = row["order"]
    pipeline = 0 if row["pipeline"] == "none" else max_pipeline(k)
    return random_spec(np.random.default_rng(seed), channels=C, order=k, dilation=row["dilation"],
                       input_width=row["input_width"], exp_lo=exp_min, exp_span=span, weights=row["weights"],
                       arith=row["arith"], pipeline=pipeline, positions=P, lanes=lanes,
                       name=engine_row_name(row))


def engine_row_name(row: dict) -> str:
    C, P, lanes = row["shape"]
    return (f"e_c{C}_p{P}_l{lanes}_k{row['order']}_d{row['dilation']}_w{row['input_width']}_{row['exp']}"
            f"_{row['weights']}_{row['arith']}_p{row['pipeline']}")


ENGINE_MATRIX: list[dict] = pairwise(ENGINE_FACTORS)


# ----------------------------------------------------------------------------------- random networks
def random_hw_network(rng: np.random.Generator, *, hidden=(1, 3), width=(1, 12), inputs=(1, 8), outputs=(1, 6),
                      input_width=(2, 8), weight_bits=(2, 10), order=(1, 6), arith: str | None = None,
                      name: str = "regress_net") -> NetworkSpec:
    """A random network (``shiftpsn.base.testing.random_network``) small enough to co-simulate quickly,
    with a random ``lanes`` for every layer (parallel cores and engines, Regroups between layers whose
    lanes differ), a random adder-tree ``pipeline`` per neuron layer and (``arith`` None) a random
    ``arith``: "mac" for every neuron layer (the multiplier baseline) or "shift"."""
    net = random_network(rng, hidden=hidden, width=width, inputs=inputs, outputs=outputs, input_width=input_width,
                         weight_bits=weight_bits, order=order)
    arith = arith or ("mac" if rng.random() < 0.3 else "shift")
    layers = []
    for layer in net.layers:
        layer = layer.with_lanes(int(rng.choice(_divisors(layer.out_features))))
        if layer.role == "neuron":  # a psn layer: the network's arithmetic, a random adder-tree pipeline
            layer = layer.with_arith(arith)
            layer = layer.replace(pipeline=int(rng.integers(0, layer.max_pipeline + 1)))
        layers.append(layer)
    return NetworkSpec(input_width=net.input_width, layers=tuple(layers), name=name)


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]
