"""The design description: one JSON file that ``generate`` writes beside the Verilog of any top (a core,
an engine, a network), and its reader (docs/CONTRACT.md section 3).

Version 2 (``{"format": "shiftpsn-design", "version": 2, ...}``) names the design's ``kind``, its
``ports``, its ``streams`` (``i`` in, ``o`` out: handshake and payload port names and the payload layout
in the one payload schema of :mod:`shiftpsn.base.payload`), its ``config`` port if any, ``latency``,
``cycles_per_step``, ``monitors`` (streams inside a network) and ``names`` (the memories and registers,
by Verilog hierarchical path). shiftpsn.hdl writes it; every reader goes through :func:`load_description`,
which also reads the version-1 files written before it (CORE.json, NETWORK.json up to commit 20e87a7) converted to version 2:
payload entries ``{"offset", "width", "per_channel"}`` become vectors (``x``, ``acc`` signed, ``spikes``
unsigned) or, for ``first``, a scalar; ``kind``, ``streams`` and (for a core) ``monitors`` are added;
``names`` is null (version 1 had no name map; regenerate the Verilog for one).

File names (unchanged since 0.2): ``core.v`` -> ``core.core.json`` for a core or engine, ``net.v`` ->
``net.network.json`` for a network (:func:`description_path`).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from .errors import UsageError

FORMAT = "shiftpsn-design"
VERSION = 2
#: What a description describes.
KINDS = ("core", "engine", "network")
#: Description file suffix per kind (beside ``<stem>.v``).
SUFFIXES = {"core": ".core.json", "engine": ".core.json", "network": ".network.json"}
#: The configuration port of a runtime core, as the description names it.
CONFIG_PORT = {"addr": "cfg__addr", "data": "cfg__data", "we": "cfg__we"}
#: Version-1 payload fields that are scalars (every other field was a vector of ``per_channel`` bits).
_V1_SCALARS = ("first",)
_V1_UNSIGNED = ("spikes",)


def description_path(verilog_path: str | Path, kind: str = "core") -> Path:
    """Where ``generate`` writes the description of ``verilog_path``: same folder and stem, suffix
    ``.core.json`` (a core or engine; a name that a spec ``core.json`` beside it never has) or
    ``.network.json`` (a network)."""
    if kind not in SUFFIXES:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    path = Path(verilog_path)
    return path.with_name(path.stem + SUFFIXES[kind])


def is_description(d: Any) -> bool:
    """True for a design description of either version (a dict with ``top`` and ``ports``; version 2
    also has ``format``), never a spec or a network file."""
    if not isinstance(d, dict) or "top" not in d or "ports" not in d:
        return False
    return d.get("format", FORMAT) == FORMAT


def find_description(verilog_path: str | Path, kind: str = "core") -> Path | None:
    """The description that belongs to ``verilog_path``, if any: :func:`description_path`, else for a
    core (files written before 0.2) ``<stem>.json`` or ``CORE.json`` in its folder when they are
    descriptions, never a spec that happens to sit there."""
    from .limits import load_json

    path = Path(verilog_path)
    new = description_path(path, kind)
    if new.is_file():
        return new
    if kind == "network":
        return None
    for cand in (path.with_suffix(".json"), path.parent / "CORE.json"):
        if cand.is_file() and cand != path:
            try:
                d = load_json(cand, "core description")
            except UsageError:
                continue
            if is_description(d):
                return cand
    return None


def load_description(path: str | Path) -> dict:
    """The description at ``path`` as version 2 (a version-1 CORE.json / NETWORK.json is converted);
    UsageError (one line) when it is no description or of a version this release cannot read."""
    from .limits import load_json

    d = load_json(path, "design description")
    if not is_description(d):
        raise UsageError(f"{path} is not a design description written by shiftpsn generate "
                         f"(no 'top' and 'ports')")
    version = d.get("version", 1)
    if version == VERSION:
        return d
    if version != 1:
        raise UsageError(f"{path}: description version {version!r}; this release reads versions 1 and {VERSION}")
    try:
        return convert_v1(d)
    except (KeyError, TypeError, ValueError) as e:
        raise UsageError(f"{path}: a version-1 description without {e}; regenerate it") from None


def convert_v1(d: dict) -> dict:
    """A version-1 description (CORE.json or NETWORK.json written up to commit 20e87a7) as version 2."""
    out = copy.deepcopy(d)
    if out.get("kind") == "network":
        kind, inp, outp = "network", out["input_payload"], out["output_payload"]
        beats = (out.get("input_beat", ""), out.get("output_beat", ""))
    else:
        kind = "engine" if "engine" in out else "core"
        inp, outp = _v1_layout(out["input_payload"]), _v1_layout(out["output_payload"])
        out["monitors"] = []
        if "cycles_per_step" not in out:  # the parallel core takes a whole time step per beat
            out["cycles_per_step"] = 1
        if out.get("config") is not None:
            out["config"]["port"] = dict(CONFIG_PORT)
        beats = (CORE_BEATS["input"], CORE_BEATS["output"])
    out.update({"format": FORMAT, "version": VERSION, "kind": kind, "input_payload": inp,
                "output_payload": outp, "names": None, "streams": streams(inp, outp, *beats)})
    out.setdefault("config", None)
    return out


def _v1_layout(payload: dict) -> dict:
    layout = {}
    for name, f in payload.items():
        offset, width, per = int(f["offset"]), int(f["width"]), int(f["per_channel"])
        if name in _V1_SCALARS:
            layout[name] = {"offset": offset, "width": width}
        else:
            layout[name] = {"offset": offset, "width": width, "count": width // per, "per_element": per,
                            "signed": name not in _V1_UNSIGNED}
    return layout


#: What one beat of a core's streams carries (docs/CONTRACT.md section 7).
CORE_BEATS = {
    "input": "lanes neurons of one time step (beat g carries neurons g*lanes + j), first on every beat "
             "of a sequence's first step",
    "output": "the spikes (and with emit_acc the accumulators) of one input beat, first copied",
}


def streams(input_layout: dict, output_layout: dict, input_beat: str, output_beat: str) -> dict:
    """The ``streams`` entry of a description: ``i`` (input) and ``o`` (output), each with its
    handshake and payload port names, what a beat carries and the payload layout."""
    def one(name, direction, beat, layout):
        return {"direction": direction, "valid": f"{name}__valid", "ready": f"{name}__ready",
                "payload": f"{name}__payload", "beat": beat, "fields": layout}

    return {"i": one("i", "input", input_beat, input_layout), "o": one("o", "output", output_beat, output_layout)}
