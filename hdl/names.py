"""The name map of a design: the memories, registers and lanes that synthesis reports, switching energy
and formal proofs look at, each with its hierarchical Verilog path under the top (as the generated
Verilog names it, ``inst.sub.name``) and its role. The design description carries it as ``names``.

Each component lists its own (:meth:`names`, paths relative to itself); a parent puts a child's under
the child's instance name (:func:`under`). Consumers select entries by role (:func:`select`) and match
netlist names by path (:func:`net_matches`), never by patterns on instance names.

Roles: memories ``history`` (a lane's history words), ``taps`` / ``thresholds`` (the engine's weight
memories), ``weights`` / ``biases`` (a dense layer's ROMs); registers ``delay_line`` (a parallel lane's
history), ``config`` (runtime weight registers), ``stage_valid`` / ``stage_first`` (the valid and first
flags beside pipeline stage ``index``); lanes ``lane`` (a neuron datapath instance with its ``acc`` and
``spike`` outputs).
"""

from __future__ import annotations

__all__ = ["memory_entry", "register_entry", "lane_entry", "empty_names", "under", "merge", "select",
           "net_matches"]

_KINDS = ("memories", "registers", "lanes")


def _entry(path: str, role: str, index, layer, **sizes) -> dict:
    return {"name": path.rsplit(".", 1)[-1], "path": path, "role": role, "layer": layer, "index": index, **sizes}


def memory_entry(path: str, role: str, *, depth: int, width: int, index: int | None = None,
                 layer: int | None = None) -> dict:
    return _entry(path, role, index, layer, depth=depth, width=width)


def register_entry(path: str, role: str, *, width: int, index: int | None = None, layer: int | None = None) -> dict:
    return _entry(path, role, index, layer, width=width)


def lane_entry(path: str, *, index: int, layer: int | None = None) -> dict:
    """A neuron datapath instance; its outputs are ``<path>.acc`` and ``<path>.spike``."""
    return _entry(path, "lane", index, layer, ports={"acc": f"{path}.acc", "spike": f"{path}.spike"})


def empty_names() -> dict:
    return {kind: [] for kind in _KINDS}


def under(names: dict, instance: str, layer: int | None = None) -> dict:
    """``names`` of a child component as seen from its parent (paths under ``instance``; ``layer`` set)."""
    out = empty_names()
    for kind in _KINDS:
        for e in names.get(kind, []):
            e = dict(e, path=f"{instance}.{e['path']}")
            if "ports" in e:
                e["ports"] = {k: f"{instance}.{v}" for k, v in e["ports"].items()}
            if layer is not None:
                e["layer"] = layer
            out[kind].append(e)
    return out


def merge(*maps: dict) -> dict:
    out = empty_names()
    for names in maps:
        for kind in _KINDS:
            out[kind] += names.get(kind, [])
    return out


def select(names: dict, kind: str, *roles: str) -> list[dict]:
    """The entries of ``kind`` ("memories", "registers", "lanes") with one of ``roles``, in order."""
    return [e for e in names.get(kind, []) if e["role"] in roles]


def net_matches(net: str, path: str) -> bool:
    """Whether a netlist name (Yosys escapes a hierarchical name: ``\\lane0.delay_line.line [3]``) is the
    object at ``path`` or a bit or part of it: ``path`` followed by nothing, a bit index, a space or a
    Yosys suffix (``$``), never by more of an identifier (``weights1`` is not ``weights10``)."""
    name = net[1:] if net.startswith("\\") else net
    if not name.startswith(path):
        return False
    rest = name[len(path):]
    return rest == "" or rest[0] in " [$."
