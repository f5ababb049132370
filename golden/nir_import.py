"""A NIR graph as a network file (``shiftpsn nir import``; docs/CONTRACT.md section 5.2). numpy and nir only.

The graph must be a chain Input -> (Affine | Linear) -> neuron -> (Affine | Linear) -> ... -> Output, each
neuron a ``LIF``, an ``IF``, a ``CubaLIF`` whose ``tau_syn`` is dt = 1 (its synaptic current is then the
input of the step: one pole, the membrane's), or the psn subgraph that ``nir export`` writes (Delay ->
Scale branches summed into a Threshold). Anything else is refused with one line naming the node and its
type. A graph written by ``nir export`` and unchanged (its nodes equal the export of the network in its
metadata) gives back that network exactly.

Quantization of a foreign graph (dt = 1, v_leak = 0 and v_reset = 0 required; rounding: nearest, ties to
even), layer by layer:

* the input gain of the neuron after a dense layer (LIF: r / tau; IF: r; CubaLIF: w_in r / tau_mem)
  multiplies that layer's rows, then weight and bias share one power-of-two scale 2^e per layer, the
  smallest with every |round(w / 2^e)| <= 2^(B-1) - 1 (B = ``--weight-bits``);
* the neuron's membrane is then an integer in units of 2^e (the inputs are spikes, or the network's
  integer inputs for the first layer), and NIR's v > v_threshold is exactly u >= floor(v_threshold / 2^e) + 1
  on that grid (no rounding; a psn Threshold likewise in units of 2^e times its smallest tap scale);
* a leak becomes leak_shift = round(log2(tau)) (one value per layer, in [1, 32]); the reset is "zero"
  (NIR resets to v_reset); the psn subgraph's scales must be signed powers of two.

The report lists, per layer, the scale and the largest relative error |q - w| / |w| over nonzero
values of each rounded quantity (weights and bias as q = integer * 2^e; tau as 2^leak_shift), with
where it occurs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from shiftpsn.base.errors import SpecError, UsageError
from shiftpsn.base.ints import signed_width
from shiftpsn.base.layers import DenseLayer, LifLayer
from shiftpsn.base.network import NetworkSpec
from shiftpsn.base.spec import CoreSpec

from .nir_export import METADATA_KEY, to_nir

__all__ = ["read_graph", "from_nir", "import_nir"]

_SUPPORTED = "Input, Output, Affine, Linear, LIF, IF, CubaLIF (tau_syn = 1), the psn subgraph (Delay -> Scale -> Threshold)"


def read_graph(path: str | Path):
    """The NIR graph of file ``path``; UsageError (one line) when it is missing or not a NIR file."""
    import nir

    path = Path(path)
    if not path.is_file():
        raise UsageError(f"NIR file not found: {path}")
    try:
        return nir.read(str(path))
    except Exception as e:  # h5py and nir raise many kinds on a foreign or damaged file
        first = (str(e).splitlines() or [type(e).__name__])[0][:160]
        raise UsageError(f"{path}: not a readable NIR graph ({first})") from None


def import_nir(path, *, weight_bits: int = 8, input_width: int = 8, name: str | None = None) -> tuple[NetworkSpec, dict]:
    """(network, report) of the NIR file ``path`` (module docstring)."""
    return from_nir(read_graph(path), weight_bits=weight_bits, input_width=input_width, name=name)


def from_nir(graph, *, weight_bits: int = 8, input_width: int = 8, name: str | None = None) -> tuple[NetworkSpec, dict]:
    exact = _own_export(graph)
    if exact is not None:
        return exact, {"exact": True, "layers": []}
    chain = _chain(graph)
    layers, report, in_range = [], [], (-(1 << (input_width - 1)), (1 << (input_width - 1)) - 1)
    for pos, (dense_name, neuron) in enumerate(chain):
        L = len(layers)
        dnode = graph.nodes[dense_name]
        gain = _gain(neuron, graph) if neuron is not None else None
        dense, entry = _quantize_dense(dense_name, dnode, gain, weight_bits, L)
        layers.append(dense)
        report.append(entry)
        if neuron is None:
            break
        lo, hi, _ = dense.output_range(*in_range)
        width = signed_width(min(lo), max(hi))
        layer, entry = _neuron(neuron, graph, entry["scale"], width, L + 1)
        layers.append(layer)
        report.append(entry)
        in_range = (0, 1)
    try:
        net = NetworkSpec(input_width=input_width, layers=tuple(layers), name=name or "shiftpsn_net")
    except SpecError as e:
        raise UsageError(f"the imported network is not valid: {e}") from None
    return net, {"exact": False, "weight_bits": weight_bits, "input_width": input_width, "layers": report}


# ---------------------------------------------------------------------------------- our own export
def _own_export(graph) -> NetworkSpec | None:
    """The network in the metadata when the graph is exactly its export (nodes, edges, values)."""
    text = (graph.metadata or {}).get(METADATA_KEY)
    if not isinstance(text, str):
        return None
    try:
        net = NetworkSpec.from_dict(json.loads(text))
    except (ValueError, SpecError):
        return None
    ref = to_nir(net)
    if set(ref.nodes) != set(graph.nodes) or sorted(ref.edges) != sorted(map(tuple, graph.edges)):
        return None
    for key, node in ref.nodes.items():
        other = graph.nodes[key]
        if type(other) is not type(node):
            return None
        for field, value in vars(node).items():
            if field == "metadata" or not isinstance(value, np.ndarray):
                continue
            got = getattr(other, field, None)
            if not isinstance(got, np.ndarray) or got.shape != value.shape or not np.array_equal(got, value):
                return None
    return net


# ---------------------------------------------------------------------------------- the chain
def _refuse(node_name: str, node, why: str = "") -> UsageError:
    what = why or f"not supported (supported: {_SUPPORTED})"
    return UsageError(f"node {node_name!r} ({type(node).__name__}): {what}")


def _chain(graph) -> list[tuple[str, str | None]]:
    """[(dense node, neuron node or None for the last)] following the edges from Input to Output."""
    import nir

    succ: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for a, b in graph.edges:
        if a not in graph.nodes or b not in graph.nodes:
            raise UsageError(f"edge {a!r} -> {b!r} names a node the graph does not have")
        succ[a].append(b)
    for n, node in graph.nodes.items():  # refuse the first unsupported node, whatever its place
        if not isinstance(node, (nir.Input, nir.Output, nir.Affine, nir.Linear, nir.LIF, nir.IF, nir.CubaLIF,
                                 nir.Delay, nir.Scale, nir.Threshold)):
            raise _refuse(n, node)
    inputs = [n for n, node in graph.nodes.items() if isinstance(node, nir.Input)]
    if len(inputs) != 1:
        raise UsageError(f"the graph has {len(inputs)} Input nodes; a network has one")
    chain, cur, seen = [], inputs[0], set()
    while True:
        nxt = succ[cur]
        if len(nxt) != 1:
            raise _refuse(cur, graph.nodes[cur], f"has {len(nxt)} successors; a network is a chain")
        dense = nxt[0]
        if dense in seen:
            raise UsageError(f"node {dense!r} closes a cycle; a network is a chain")
        seen.add(dense)
        if not isinstance(graph.nodes[dense], (nir.Affine, nir.Linear)):
            raise _refuse(dense, graph.nodes[dense], "expected an Affine or Linear node here (layers alternate "
                                                     "synapses and neurons, starting and ending with a synapse)")
        after = succ[dense]
        if len(after) == 1 and isinstance(graph.nodes[after[0]], nir.Output):
            chain.append((dense, None))
            return chain
        if after and all(isinstance(graph.nodes[a], nir.Delay) for a in after):
            neuron = _psn_threshold(graph, succ, dense, after)
        elif len(after) == 1 and isinstance(graph.nodes[after[0]], (nir.LIF, nir.IF, nir.CubaLIF)):
            neuron = after[0]
        else:
            bad = after[0] if after else dense
            raise _refuse(bad, graph.nodes[bad], "expected a neuron (LIF, IF, CubaLIF, the psn subgraph) or "
                                                 "Output after an Affine or Linear node")
        chain.append((dense, neuron))
        cur = neuron


def _psn_threshold(graph, succ, dense: str, delays: list[str]) -> str:
    import nir

    ends = set()
    for d in delays:
        scale = succ[d]
        if len(scale) != 1 or not isinstance(graph.nodes[scale[0]], nir.Scale):
            raise _refuse(d, graph.nodes[d], "a psn tap is Delay -> Scale -> Threshold")
        th = succ[scale[0]]
        if len(th) != 1 or not isinstance(graph.nodes[th[0]], nir.Threshold):
            raise _refuse(scale[0], graph.nodes[scale[0]], "a psn tap is Delay -> Scale -> Threshold")
        ends.add(th[0])
    if len(ends) != 1:
        raise UsageError(f"the taps after node {dense!r} end in {len(ends)} Threshold nodes; a psn layer has one")
    return ends.pop()


# ---------------------------------------------------------------------------------- quantization
def _vec(node, field: str, n: int | None = None) -> np.ndarray:
    v = np.asarray(getattr(node, field), dtype=np.float64).ravel()
    return np.broadcast_to(v, (n,)).copy() if n is not None and v.size == 1 else v


def _worst(q: np.ndarray, w: np.ndarray) -> tuple[float, int | None]:
    """(largest |q - w| / |w| over nonzero w, its flat index)."""
    nz = w != 0
    if not nz.any():
        return 0.0, None
    err = np.zeros(w.shape)
    err[nz] = np.abs(q[nz] - w[nz]) / np.abs(w[nz])
    i = int(np.argmax(err))
    return float(err.ravel()[i]), i


def _gain(neuron: str, graph) -> np.ndarray | float:
    """The factor from a dense output to the neuron's per-step membrane input (module docstring)."""
    import nir

    node = graph.nodes[neuron]
    if isinstance(node, nir.IF):
        return _vec(node, "r")
    if isinstance(node, nir.LIF):
        return _vec(node, "r") / _vec(node, "tau")
    if isinstance(node, nir.CubaLIF):
        return _vec(node, "w_in", _vec(node, "r").size) * _vec(node, "r") / _vec(node, "tau_mem")
    return 1.0  # psn: the Scale branches are the weights


def _quantize_dense(name: str, node, gain, bits: int, L: int) -> tuple[DenseLayer, dict]:
    import nir

    w = np.asarray(node.weight, dtype=np.float64)
    if w.ndim != 2:
        raise _refuse(name, node, f"weight of shape {w.shape}; a dense layer is a matrix")
    b = np.asarray(node.bias, dtype=np.float64).ravel() if isinstance(node, nir.Affine) else np.zeros(w.shape[0])
    g = np.broadcast_to(np.asarray(gain, dtype=np.float64), (w.shape[0],)) if gain is not None else np.ones(w.shape[0])
    w, b = w * g[:, None], b * g
    if not (np.isfinite(w).all() and np.isfinite(b).all()):
        raise _refuse(name, node, "weights or bias not finite")
    top = (1 << (bits - 1)) - 1
    big = float(max(np.abs(w).max(initial=0.0), np.abs(b).max(initial=0.0)))
    e = math.ceil(math.log2(big / top)) if big > 0 else 0
    while big > 0 and np.rint(big / 2.0 ** e) > top:  # log2 rounding at the edge
        e += 1
    wq, bq = np.rint(w / 2.0 ** e), np.rint(b / 2.0 ** e)
    werr, wi = _worst(wq * 2.0 ** e, w)
    berr, bi = _worst(bq * 2.0 ** e, b)
    entry = {"layer": L, "node": name, "type": type(node).__name__, "to": "dense", "scale": e,
             "weight": {"largest_relative_error": werr, "at": None if wi is None else [int(v) for v in np.unravel_index(wi, w.shape)]},
             "bias": {"largest_relative_error": berr, "at": bi}}
    return DenseLayer(wq.astype(np.int64), bq.astype(np.int64)), entry


def _neuron(name: str, graph, e: int, width: int, L: int):
    import nir

    node = graph.nodes[name]
    unit = 2.0 ** e
    if isinstance(node, nir.Threshold):
        return _psn_layer(name, graph, unit, width, L)
    th = _vec(node, "v_threshold")
    C = th.size
    for field in ("v_leak", "v_reset"):
        if hasattr(node, field) and getattr(node, field) is not None and np.any(_vec(node, field, C) != 0):
            raise _refuse(name, node, f"{field} is not 0; the lif layer has v_leak = v_reset = 0")
    if isinstance(node, nir.CubaLIF) and not np.allclose(_vec(node, "tau_syn", C), 1.0):
        raise _refuse(name, node, f"tau_syn = {_vec(node, 'tau_syn', C).tolist()[:3]} is a second pole; only "
                                  f"tau_syn = dt = 1 maps to a lif layer")
    if np.any(th < 0) or not np.isfinite(th).all():
        raise _refuse(name, node, "v_threshold must be finite and >= 0 (a lif threshold is at least 1)")
    entry = {"layer": L, "node": name, "type": type(node).__name__, "to": "lif", "unit": e}
    shift = None
    if not isinstance(node, nir.IF):
        tau = _vec(node, "tau_mem" if isinstance(node, nir.CubaLIF) else "tau", C)
        if np.any(tau <= 0) or not np.isfinite(tau).all():
            raise _refuse(name, node, "tau must be positive and finite")
        shifts = sorted(set(np.rint(np.log2(tau)).astype(np.int64).tolist()))
        if len(shifts) != 1 or not 1 <= shifts[0] <= 32:
            raise _refuse(name, node, f"tau rounds to 2^{shifts}; a lif layer has one leak_shift in [1, 32]")
        shift = shifts[0]
        err, at = _worst(np.full(C, 2.0 ** shift), tau)
        entry["tau"] = {"leak_shift": shift, "largest_relative_error": err, "at": at}
    probe = LifLayer(channels=C, input_width=width, leak_shift=shift, threshold=[1] * C, reset="zero",
                     where=f"node {name!r}")
    never = probe.membrane_range[1] + 1  # a threshold beyond the membrane's reach: the same spikes (none)
    tq = _fires_above(th, unit)
    entry["thresholds_beyond_reach"] = sum(t > never for t in tq)
    return probe.replace(threshold=[min(t, never) for t in tq]), entry


def _psn_layer(name: str, graph, unit: float, width: int, L: int):
    """The psn layer of a Delay -> Scale -> Threshold subgraph (scales: signed powers of two)."""
    th_node = graph.nodes[name]
    branches = [(a, b) for a, b in graph.edges if b == name]
    taps = []  # (delay, scales) per branch
    for scale_name, _ in branches:
        delay_name = next(a for a, b in graph.edges if b == scale_name)
        delay = _vec(graph.nodes[delay_name], "delay")
        if np.unique(delay).size != 1 or delay[0] < 0 or delay[0] != int(delay[0]):
            raise _refuse(delay_name, graph.nodes[delay_name], "a psn tap delays every channel by one whole number of steps")
        taps.append((int(delay[0]), _vec(graph.nodes[scale_name], "scale"), scale_name))
    C = _vec(th_node, "threshold").size
    exps = []
    for _, s, sname in taps:
        nz = s[s != 0]
        ex = np.log2(np.abs(nz))
        if s.size not in (1, C) or not np.array_equal(ex, np.rint(ex)):
            raise _refuse(sname, graph.nodes[sname], "psn tap scales must be signed powers of two (or 0)")
        exps += np.rint(ex).astype(int).tolist()
    emin, emax = (min(exps), max(exps)) if exps else (0, 0)
    delays = [d for d, _, _ in taps]
    d = math.gcd(*delays) or 1
    k = max(delays) // d + 1
    shift = [[None] * k for _ in range(C)]
    sign = [[1] * k for _ in range(C)]
    for delay, s, _ in taps:
        i = k - 1 - delay // d
        for c, v in enumerate(np.broadcast_to(s, (C,))):
            if v != 0:
                shift[c][i], sign[c][i] = int(np.rint(np.log2(abs(v)))), 1 if v > 0 else -1
    th = _vec(th_node, "threshold")
    acc_unit = unit * 2.0 ** emin
    tq = _fires_above(th, acc_unit)
    spec = CoreSpec(channels=C, order=k, dilation=d, input_width=width, exp_min=emin, exp_max=emax, shift=shift,
                    sign=sign, threshold=tq)
    return spec, {"layer": L, "node": name, "type": "Threshold", "to": "psn", "unit": math.log2(acc_unit)}


def _fires_above(threshold: np.ndarray, unit: float) -> list[int]:
    """Integer thresholds T with u >= T exactly when u * unit > threshold: floor(threshold / unit) + 1."""
    return [int(math.floor(t / unit)) + 1 for t in threshold.tolist()]
