"""A network file as a NIR graph (``shiftpsn nir export``; docs/CONTRACT.md section 5.2). numpy and nir only.

Node per layer (dt = 1 throughout, the time step of the integer model), named by layer index L:

* dense -> ``dense{L}``: ``Affine(weight, bias)`` (the integers as floats).
* lif with leak_shift s -> ``lif{L}``: ``LIF(tau = 2^s, r = 2^s, v_leak = 0, v_threshold = threshold - 1/2,
  v_reset = 0)``: Euler with dt = 1 gives v += (dt/tau) (v_leak - v) + (dt r / tau) I = v - 2^-s v + I,
  the integer model's update (its floor shift is the integer form of 2^-s v).
* lif without leak (IF) -> ``lif{L}``: ``IF(r = 1, v_threshold = threshold - 1/2, v_reset = 0)``: v += r I.
* psn -> a subgraph: for every tap i that some channel uses, ``psn{L}_tap{i}_delay`` =
  ``Delay(delay = (k-1-i) d)`` then ``psn{L}_tap{i}_scale`` = ``Scale(sign * 2^(shift - exp_min))`` (0 for a
  zero tap), all summed into ``psn{L}`` = ``Threshold(threshold - 1/2)``: the accumulator of
  docs/CONTRACT.md section 2.

Thresholds: NIR's LIF, IF and Threshold fire on v > v_threshold; on integers u >= T is u > T - 1/2, so
the graph says exactly what the integer model does (and ``nir import`` turns v > t on a membrane grid of
unit q back into u >= floor(t / q) + 1). NIR resets to v_reset (0: the "zero" reset); the "subtract"
reset has no NIR parameter. So the graph's metadata carries the network file itself
(``shiftpsn_network``, its JSON text, with every integer exact, also those beyond 2^53 that floats
round) and ``shiftpsn_semantics``; ``nir import`` of an unchanged export returns that file exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shiftpsn.base.errors import UsageError
from shiftpsn.base.network import NetworkSpec

__all__ = ["to_nir", "write_nir", "METADATA_KEY", "SEMANTICS"]

#: Graph metadata key holding the network file's JSON text.
METADATA_KEY = "shiftpsn_network"
SEMANTICS = ("shiftpsn integer network (docs/CONTRACT.md section 5.2): dt = 1; lif fires on u >= threshold "
             "and resets by its 'reset'; psn Threshold fires on acc >= threshold; the exact network is "
             f"the JSON text in metadata '{METADATA_KEY}'")


def _floats(values) -> np.ndarray:
    return np.asarray([float(v) for v in np.asarray(values).ravel().tolist()], dtype=np.float64).reshape(np.shape(values))


def _dense(layer) -> dict:
    import nir

    return {"": nir.Affine(weight=_floats(layer.weight), bias=_floats(layer.bias))}


def _lif(layer) -> dict:
    import nir

    C, th = layer.channels, _floats(layer.threshold) - 0.5
    if layer.leak_shift is None:
        return {"": nir.IF(r=np.ones(C), v_threshold=th, v_reset=np.zeros(C))}
    tau = np.full(C, float(1 << layer.leak_shift))
    return {"": nir.LIF(tau=tau, r=tau.copy(), v_leak=np.zeros(C), v_threshold=th, v_reset=np.zeros(C))}


def _psn(layer) -> dict:
    """Branch nodes (suffix -> node) of a psn layer; the key "" is the Threshold they sum into."""
    import nir

    C, k, d = layer.channels, layer.order, layer.dilation
    nodes = {}
    for i in range(k):
        if all(layer.shift[c][i] is None for c in range(C)):
            continue
        scale = [0.0 if layer.shift[c][i] is None else float(layer.sign[c][i] * 2.0 ** (layer.shift[c][i] - layer.exp_min))
                 for c in range(C)]
        nodes[f"_tap{i}_delay"] = nir.Delay(delay=np.full(C, float((k - 1 - i) * d)))
        nodes[f"_tap{i}_scale"] = nir.Scale(scale=np.asarray(scale))
    nodes[""] = nir.Threshold(threshold=_floats(layer.threshold) - 0.5)
    return nodes


#: layer type -> its NIR nodes (suffix of the layer's node name -> node; "" is where the layer's output leaves)
NODE_BUILDERS = {"dense": _dense, "lif": _lif, "psn": _psn}


def to_nir(net: NetworkSpec):
    """The NIR graph of ``net`` (module docstring)."""
    import nir

    nodes = {"input": nir.Input(input_type={"input": np.array([net.in_features])})}
    edges, prev = [], ["input"]
    for L, layer in enumerate(net.layers):
        builder = NODE_BUILDERS.get(layer.type_name)
        if builder is None:
            raise UsageError(f"nir export: layers[{L}] is a {layer.type_name} layer, which has no NIR form "
                             f"(known: {', '.join(NODE_BUILDERS)})")
        base = f"{'dense' if layer.role == 'synapse' else layer.type_name}{L}"
        parts = {base + suffix: node for suffix, node in builder(layer).items()}
        delays = [n for n in parts if n.endswith("_delay")]
        for name in delays:  # psn: input -> delay -> scale -> threshold
            edges += [(p, name) for p in prev] + [(name, name.replace("_delay", "_scale")),
                                                   (name.replace("_delay", "_scale"), base)]
        if not delays:
            edges += [(p, base) for p in prev]
        nodes.update(parts)
        prev = [base]
    nodes["output"] = nir.Output(output_type={"output": np.array([net.out_features])})
    edges += [(p, "output") for p in prev]
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={METADATA_KEY: net.to_json(), "shiftpsn_semantics": SEMANTICS})


def write_nir(net: NetworkSpec, path: str | Path) -> None:
    """Write ``net``'s NIR graph to ``path`` (HDF5), atomically: a temporary file beside it, renamed."""
    import os
    import tempfile

    import nir

    from shiftpsn.base.paths import ensure_parent

    path = ensure_parent(Path(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        nir.write(tmp, to_nir(net))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
