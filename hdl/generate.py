"""Verilog and the design description of any top: a core (:class:`~shiftpsn.hdl.core.ShiftPSNCore`), an
engine (:class:`~shiftpsn.hdl.engine.ShiftPSNEngine`) or a whole network (:class:`NetworkTop`); the description is written by
:func:`shiftpsn.hdl.describe.describe` (docs/CONTRACT.md section 3).

    >>> core = generate(spec)            # GeneratedVerilog: .verilog (str), .info (CORE.json dict)
    >>> info = write_verilog(spec, "out/CORE.v")   # writes out/CORE.v and out/CORE.core.json
    >>> gen = generate_network(net)      # .verilog, .info (NETWORK.json dict)
    >>> info = write_network_verilog(net, "out/net.v")   # out/net.v and out/net.network.json
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from amaranth.back import verilog
from amaranth.lib import wiring

from shiftpsn.base.description import description_path, is_description
from shiftpsn.base.errors import UsageError
from shiftpsn.base.limits import check_generate, load_json
from shiftpsn.base.network import NetworkSpec
from shiftpsn.base.paths import atomic_write, prepare_output
from shiftpsn.base.spec import CoreSpec, is_verilog_name

from .describe import describe
from .network import DEFAULT_MAX_STEPS, NetworkTop
from .neuron_stage import neuron_layer

__all__ = ["GeneratedVerilog", "GeneratedNetwork", "generate", "write_verilog", "check_top_name",
           "check_output_path", "core_names", "generate_network", "write_network_verilog", "network_description_path"]


@dataclass(frozen=True)
class GeneratedVerilog:
    """A generated design: its Verilog text and its description (CORE.json or NETWORK.json dict)."""
    verilog: str
    info: dict


#: A generated network (the same pair).
GeneratedNetwork = GeneratedVerilog


def check_top_name(top: str) -> str:
    """Return ``top`` if it can name a Verilog module, else raise UsageError."""
    if not is_verilog_name(top):
        raise UsageError(f"top module name {top!r} is not a Verilog identifier")
    return top


def generate(spec: CoreSpec, top: str | None = None, progress=None) -> GeneratedVerilog:
    """Generate the Verilog-2001 of a core and its description (the CORE.json dict).

    Parameters
    ----------
    spec : CoreSpec
        The core to build; one beyond the size limits of :func:`shiftpsn.base.limits.check_generate`
        is refused (UsageError naming the limit and the value) before any work.
    top : str, optional
        Name of the top-level Verilog module; default ``spec.name``.
    progress : callable, optional
        Called with one line before each step (elaboration, each conversion by Yosys).
    """
    if getattr(spec, "type_name", None) != "psn":  # the layer protocol's neuron layer, a CoreSpec
        raise TypeError(f"spec must be a CoreSpec, not {type(spec).__name__}")
    top = check_top_name(spec.name if top is None else top)
    check_generate(spec)
    say = progress or (lambda msg: None)
    say(f"elaborating {spec.channels} channel(s) ({spec.storage_bits} delay-line bits) ...")
    texts = []
    # Every runtime channel of the parallel core is the same circuit: one lane module, instantiated C times.
    lane_module = f"{top}_lane" if spec.parallel and spec.weights == "runtime" else None
    core = neuron_layer(spec, lane_module)  # lanes < P*C: the time-multiplexed engine
    if lane_module:
        say(f"converting the lane module {lane_module} to Verilog (Yosys) ...")
        texts.append(_convert(core.shared_lane, lane_module))
    say(f"converting {top} to Verilog (Yosys) ...")
    texts.append(_convert(core, top))
    return GeneratedVerilog(verilog="\n".join(texts), info=describe(core, top))


def core_names(spec: CoreSpec) -> dict:
    """The name map (``names`` of the description) of the core :func:`generate` makes for ``spec``,
    without converting it."""
    core = neuron_layer(spec)
    core._MustUse__silence = True  # built only for its names
    return core.names()


def generate_network(net: NetworkSpec, top: str | None = None, *, arith: str | None = None,
                     max_steps: int = DEFAULT_MAX_STEPS, progress=None) -> GeneratedVerilog:
    """Verilog-2001 of a whole network (:class:`NetworkTop`) and its description (NETWORK.json dict):
    ``top``, ``kind`` ("network"), ``arith``, ``clock``, ``reset``, ``ports`` (name, direction, width),
    ``streams`` and ``input_payload`` / ``output_payload`` (field -> offset, width, count, per_element,
    signed), ``end_of_sequence``, ``cycles_per_step`` (per layer and network, min and max), ``latency``,
    ``layers`` (per layer: kind, sizes, lanes, widths, ROM bits or neuron organisation), ``monitors``
    (per neuron layer L: the Verilog ``instance`` inside the top whose ``ports`` valid / ready / payload
    carry the layer's spikes, and that ``payload``'s layout: ``x`` the spikes, ``first``, ``last``) and
    ``names``."""
    if not isinstance(net, NetworkSpec):
        raise TypeError(f"net must be a NetworkSpec, not {type(net).__name__}")
    top = check_top_name(net.name if top is None else top)
    say = progress or (lambda msg: None)
    say(f"elaborating the network ({len(net.layers)} layers) ...")
    design = NetworkTop(net=net, arith=arith, max_steps=max_steps)
    say(f"converting {top} to Verilog (Yosys) ...")
    return GeneratedVerilog(verilog=_convert(design, top), info=describe(design, top))


def _convert(component: wiring.Component, name: str) -> str:
    return verilog.convert(component, name=name, emit_src=False, strip_internal_attrs=True)


def write_verilog(spec: CoreSpec, verilog_path: str | os.PathLike, top: str | None = None,
                  inputs=(), progress=None) -> dict:
    """Write the core's Verilog to ``verilog_path`` and its CORE.json description beside it
    (``core.v`` -> ``core.core.json``, :func:`shiftpsn.base.description.description_path`); return the
    CORE.json dict. Both writes are atomic. Raises UsageError for an unusable output path, one that
    is one of ``inputs`` (the spec, ...), or a description path holding a file that is no description."""
    path = check_output_path(verilog_path, inputs)
    return _write(path, generate(spec, top, progress=progress), "core")


def write_network_verilog(net: NetworkSpec, verilog_path: str | os.PathLike, top: str | None = None, *,
                          arith: str | None = None, inputs=(), progress=None) -> dict:
    """Write the network's Verilog and its NETWORK.json description beside it (``net.v`` ->
    ``net.network.json``), atomically; return the description dict."""
    path = check_output_path(verilog_path, inputs, kind="network")
    return _write(path, generate_network(net, top, arith=arith, progress=progress), "network")


def network_description_path(verilog_path: str | os.PathLike) -> Path:
    """``net.v`` -> ``net.network.json``."""
    return description_path(verilog_path, "network")


def _write(path: Path, gen: GeneratedVerilog, kind: str) -> dict:
    atomic_write(path, gen.verilog)
    atomic_write(description_path(path, kind), json.dumps(gen.info, indent=1) + "\n")
    return gen.info


def check_output_path(verilog_path: str | os.PathLike, inputs=(), kind: str = "core") -> Path:
    """Return the Verilog output path if it and its description (``<stem>.core.json``, for a network
    ``<stem>.network.json``) can be written, creating its directory if needed, else raise UsageError:
    neither may be one of ``inputs``, and an existing description path must hold a description (never
    a user's file)."""
    path = Path(verilog_path)
    desc = description_path(path, kind)
    if path.suffix == ".json":
        raise UsageError(f"output {path}: the Verilog file must not end in .json (its description "
                         f"{desc.name} goes beside it)")
    prepare_output(path, inputs)
    what = "network description" if kind == "network" else "core description"
    prepare_output(desc, inputs, what=what)
    if desc.exists() and not _holds_description(desc, what):
        raise UsageError(f"{desc} exists and is not a {what} written by shiftpsn generate; "
                         f"move it or choose another --output than {path}")
    return path


def _holds_description(path: Path, what: str) -> bool:
    try:
        return is_description(load_json(path, what))
    except UsageError:
        return False
