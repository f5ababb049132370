"""Verilog and CORE.json export of :class:`ShiftPSNCore` (the contract in docs/ARCHITECTURE.md).

    >>> core = generate(spec)            # GeneratedCore: .verilog (str), .info (CORE.json dict)
    >>> info = write_core(spec, "out/CORE.v")   # writes out/CORE.v and out/CORE.json
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from amaranth.back import verilog
from amaranth.lib import wiring

from shiftpsn import ports as payload_ports
from shiftpsn.errors import UsageError
from shiftpsn.paths import ensure_parent
from shiftpsn.spec import CoreSpec

from .core import ShiftPSNCore

__all__ = ["GeneratedCore", "generate", "write_core", "check_top_name", "check_output_path"]

#: Verilog-2005 keywords most likely to be tried as a module name; they cannot name the top.
_VERILOG_KEYWORDS = frozenset("""
    always and assign automatic begin buf case casex casez cell config deassign default defparam
    design disable edge else end endcase endconfig endfunction endgenerate endmodule endprimitive
    endspecify endtable endtask event for force forever fork function generate genvar if ifnone
    initial inout input instance integer join large liblist library localparam macromodule medium
    module nand negedge nmos nor not or output parameter posedge primitive pull0 pull1 pulldown
    pullup real realtime reg release repeat scalared signed small specify specparam strong0 strong1
    supply0 supply1 table task time tran tri tri0 tri1 triand trior trireg unsigned use vectored
    wait wand weak0 weak1 while wire wor xnor xor""".split())


@dataclass(frozen=True)
class GeneratedCore:
    """A generated core: its Verilog text and its CORE.json description."""
    verilog: str
    info: dict


def check_top_name(top: str) -> str:
    """Return ``top`` if it can name a Verilog module, else raise UsageError."""
    if not isinstance(top, str) or not top.isascii() or not top.isidentifier() or top in _VERILOG_KEYWORDS:
        raise UsageError(f"top module name {top!r} is not a Verilog identifier")
    return top


def generate(spec: CoreSpec, top: str | None = None) -> GeneratedCore:
    """Generate the Verilog-2001 of a core and its description (the CORE.json dict).

    Parameters
    ----------
    spec : CoreSpec
        The core to build.
    top : str, optional
        Name of the top-level Verilog module; default ``spec.name``.
    """
    if not isinstance(spec, CoreSpec):
        raise TypeError(f"spec must be a CoreSpec, not {type(spec).__name__}")
    top = check_top_name(spec.name if top is None else top)
    texts = []
    if spec.weights == "runtime":
        # Every runtime channel is the same circuit: one lane module, instantiated C times.
        lane_module = f"{top}_lane"
        core = ShiftPSNCore(spec=spec, lane_module=lane_module)
        texts.append(_convert(core.shared_lane, lane_module))
    else:
        core = ShiftPSNCore(spec=spec)
    texts.append(_convert(core, top))
    return GeneratedCore(verilog="\n".join(texts), info=_describe(core, top))


def _convert(component: wiring.Component, name: str) -> str:
    return verilog.convert(component, name=name, emit_src=False, strip_internal_attrs=True)


def write_core(spec: CoreSpec, verilog_path: str | os.PathLike, top: str | None = None) -> dict:
    """Write the core's Verilog to ``verilog_path`` and its CORE.json beside it (same stem,
    ``.json``); return the CORE.json dict. Raises UsageError for an unusable output path."""
    path = check_output_path(verilog_path)
    json_path = path.with_suffix(".json")
    core = generate(spec, top)
    try:
        path.write_text(core.verilog)
        json_path.write_text(json.dumps(core.info, indent=1) + "\n")
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror}") from None
    return core.info


def check_output_path(verilog_path: str | os.PathLike) -> Path:
    """Return the Verilog output path if it (and CORE.json beside it) can be written, creating its
    directory if needed, else raise UsageError."""
    path = Path(verilog_path)
    if path.suffix == ".json":
        raise UsageError(f"output {path}: the Verilog file must not end in .json (CORE.json goes beside it)")
    ensure_parent(path)
    if path.is_dir():
        raise UsageError(f"output {path} is a directory")
    if not os.access(path.parent, os.W_OK):
        raise UsageError(f"output directory is not writable: {path.parent}")
    return path


def _describe(core: ShiftPSNCore, top: str) -> dict:
    spec = core.spec
    ports = [{"name": "clk", "direction": "input", "width": 1},
             {"name": "rst", "direction": "input", "width": 1}]
    for path, member, value in core.signature.flatten(core):
        direction = "input" if member.flow == wiring.In else "output"
        ports.append({"name": "__".join(map(str, path)), "direction": direction,
                      "width": len(value.as_value() if hasattr(value, "as_value") else value)})
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
