"""Verilog and CORE.json export of :class:`ShiftPSNCore` (the contract in docs/ARCHITECTURE.md).

    >>> core = generate(spec)            # GeneratedVerilog: .verilog (str), .info (CORE.json dict)
    >>> info = write_verilog(spec, "out/CORE.v")   # writes out/CORE.v and out/CORE.core.json
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from amaranth.back import verilog
from amaranth.lib import wiring

from shiftpsn.base import ports as payload_ports
from shiftpsn.base.errors import UsageError
from shiftpsn.base.limits import check_generate, load_json
from shiftpsn.base.paths import atomic_write, description_path, prepare_output
from shiftpsn.base.spec import CoreSpec, is_verilog_name

from .core import ShiftPSNCore
from .engine import ShiftPSNEngine, weight_mode

__all__ = ["GeneratedVerilog", "generate", "write_verilog", "check_top_name", "check_output_path"]



@dataclass(frozen=True)
class GeneratedVerilog:
    """A generated core: its Verilog text and its CORE.json description."""
    verilog: str
    info: dict


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
    if not isinstance(spec, CoreSpec):
        raise TypeError(f"spec must be a CoreSpec, not {type(spec).__name__}")
    top = check_top_name(spec.name if top is None else top)
    check_generate(spec)
    say = progress or (lambda msg: None)
    say(f"elaborating {spec.channels} channel(s) ({spec.storage_bits} delay-line bits) ...")
    texts = []
    if not spec.parallel:
        # lanes < positions * channels: the time-multiplexed engine (histories in block RAM)
        core = ShiftPSNEngine(spec=spec)
    elif spec.weights == "runtime":
        # Every runtime channel is the same circuit: one lane module, instantiated C times.
        lane_module = f"{top}_lane"
        core = ShiftPSNCore(spec=spec, lane_module=lane_module)
        say(f"converting the lane module {lane_module} to Verilog (Yosys) ...")
        texts.append(_convert(core.shared_lane, lane_module))
    else:
        core = ShiftPSNCore(spec=spec)
    say(f"converting {top} to Verilog (Yosys) ...")
    texts.append(_convert(core, top))
    return GeneratedVerilog(verilog="\n".join(texts), info=_describe(core, top))


def _convert(component: wiring.Component, name: str) -> str:
    return verilog.convert(component, name=name, emit_src=False, strip_internal_attrs=True)


def write_verilog(spec: CoreSpec, verilog_path: str | os.PathLike, top: str | None = None,
                  inputs=(), progress=None) -> dict:
    """Write the core's Verilog to ``verilog_path`` and its CORE.json description beside it
    (``core.v`` -> ``core.core.json``, :func:`shiftpsn.base.paths.description_path`); return the
    CORE.json dict. Both writes are atomic. Raises UsageError for an unusable output path, one that
    is one of ``inputs`` (the spec, ...), or a description path holding a file that is no description."""
    path = check_output_path(verilog_path, inputs)
    json_path = description_path(path)
    core = generate(spec, top, progress=progress)
    atomic_write(path, core.verilog)
    atomic_write(json_path, json.dumps(core.info, indent=1) + "\n")
    return core.info


def check_output_path(verilog_path: str | os.PathLike, inputs=()) -> Path:
    """Return the Verilog output path if it and its description (``<stem>.core.json``) can be
    written, creating its directory if needed, else raise UsageError: neither may be one of
    ``inputs``, and an existing description path must hold a description (never a user's file)."""
    path = Path(verilog_path)
    if path.suffix == ".json":
        raise UsageError(f"output {path}: the Verilog file must not end in .json (its description "
                         f"{description_path(path).name} goes beside it)")
    prepare_output(path, inputs)
    desc = description_path(path)
    prepare_output(desc, inputs, what="core description")
    if desc.exists() and not _is_description(desc):
        raise UsageError(f"{desc} exists and is not a core description written by shiftpsn generate; "
                         f"move it or choose another --output than {path}")
    return path


def _is_description(path: Path) -> bool:
    try:
        d = load_json(path, "core description")
    except UsageError:
        return False
    return isinstance(d, dict) and "top" in d and "ports" in d and "spec" in d


def _describe(core: ShiftPSNCore | ShiftPSNEngine, top: str) -> dict:
    spec = core.spec
    ports = [{"name": n, "direction": d, "width": w} for n, d, w in payload_ports.core_ports(spec)]
    if isinstance(core, ShiftPSNEngine):
        return _describe_engine(core, top, ports)
    return {
        "top": top,
        "spec": spec.to_dict(),
        "clock": {"port": "clk", "edge": "rising"},
        "reset": {"port": "rst", "kind": "synchronous", "active": "high",
                  "clears": ["delay_lines", "pipeline", "output", "handshake"],
                  "keeps": ["config"]},
        "latency": core.latency,
        "throughput": "one beat per cycle while o__ready is high",
        "ports": ports,
        "input_payload": _payload(payload_ports.input_fields(spec)),
        "output_payload": _payload(payload_ports.output_fields(spec)),
        "config": _config(spec),
        "storage_bits": core.storage_bits,
        "delay_depths": list(core.depths),
        "registers": core.registers,
    }


def _describe_engine(core: ShiftPSNEngine, top: str, ports: list) -> dict:
    spec = core.spec
    return {
        "top": top,
        "spec": spec.to_dict(),
        "clock": {"port": "clk", "edge": "rising"},
        "reset": {"port": "rst", "kind": "synchronous", "active": "high",
                  "clears": ["counters", "pipeline", "output", "handshake"],
                  "keeps": ["config", "history memory (the first time step after rst reads empty histories)"]},
        "latency": core.latency,
        "throughput": f"one beat ({spec.lanes} neurons) per cycle while o__ready is high",
        "cycles_per_step": core.cycles_per_step,
        "ports": ports,
        "input_payload": _payload(payload_ports.input_fields(spec)),
        "output_payload": _payload(payload_ports.output_fields(spec)),
        "config": _config(spec),
        "storage_bits": core.storage_bits,
        "engine": {
            "neurons": spec.neurons,
            "lanes": spec.lanes,
            "beats_per_step": spec.beats_per_step,
            "beat_order": "beat g of a time step carries neurons n = g*lanes + j in lane j; n = p*C + c",
            "history": {"organisation": "one word per beat: the histories of its lanes, read and written "
                                        "once per time step",
                        "words": spec.history_depth, "word_width": spec.history_word_width,
                        "slots": spec.history_slots, "bits": spec.history_bits},
            "weights": {"organisation": weight_mode(spec),
                        "memory": "registers" if weight_mode(spec) == "fixed" and spec.weights == "runtime"
                        else ("constants" if weight_mode(spec) == "fixed" else
                              ("ram" if spec.weights == "runtime" else "rom")),
                        "bits": spec.weight_bits},
        },
        "registers": core.registers,
    }


def _payload(fields) -> dict:
    return {name: {"offset": offset, "width": width, "per_channel": per}
            for name, (offset, width, per) in payload_ports.offsets(fields).items()}


def _config(spec: CoreSpec) -> dict | None:
    if spec.weights != "runtime":
        return None
    scw = spec.shift_code_width
    return {
        "addr_width": spec.cfg_addr_width,
        "data_width": spec.cfg_data_width,
        "words": spec.cfg_words,
        "tap_word": {"address": "c*k + i", "width": spec.tap_word_width,
                     "fields": {"amount": {"offset": 0, "width": scw, "meaning": "shift - exp_min"},
                                "neg": {"offset": scw, "width": 1, "meaning": "1 = negative weight"},
                                "zero": {"offset": scw + 1, "width": 1, "meaning": "1 = zero tap"}}},
        "threshold_word": {"address": "C*k + c", "width": spec.threshold_width,
                           "meaning": "threshold_hw(c), two's complement"},
        "power_up": [[addr, data] for addr, data in spec.config_words()],
    }
