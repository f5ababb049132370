"""Progress for people: one line per finished step, and bars only on a terminal.

Every long job (synthesis steps, co-simulation, training epochs, the flow's stages) reports through a
:class:`Progress`; a log file gets plain lines, never carriage-return animation.
"""

from __future__ import annotations

import sys
import time


def on_terminal(stream=None) -> bool:
    """True when ``stream`` (default stderr) is an interactive terminal: only then draw bars."""
    stream = sys.stderr if stream is None else stream
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """Prints ``[tag   12.3s] message`` lines, the time counted from construction.

    Parameters
    ----------
    tag : str
        Who is speaking (``synth``, ``flow``, ``regress``, ...).
    stream : file, optional
        Where the lines go (default stderr).
    quiet : bool
        Print nothing.
    """

    def __init__(self, tag: str = "shiftpsn", stream=None, quiet: bool = False):
        self.tag = tag
        self.t0 = time.monotonic()
        self.stream = stream
        self.quiet = quiet

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def say(self, message: str) -> None:
        if self.quiet:
            return
        stream = self.stream if self.stream is not None else sys.stderr
        stream.write(f"[{self.tag} {self.elapsed():7.1f}s] {message}\n")
        stream.flush()

    __call__ = say  # a Progress can be passed wherever a progress callable is expected


#: Seconds between "still running" lines of a long tool run off a terminal.
HEARTBEAT_S = 60.0


def wait_with_heartbeat(proc, step: str, progress: Progress | None = None, every: float = HEARTBEAT_S,
                        timeout: float | None = None) -> int:
    """Wait for subprocess ``proc``, saying that ``step`` is still running: a line with the elapsed
    time every ``every`` seconds into a log (off a terminal), a live line rewritten each second on a
    terminal. A KeyboardInterrupt, or ``timeout`` seconds (then subprocess.TimeoutExpired), kills the
    tool first. Returns its exit code."""
    import subprocess

    progress = progress if progress is not None else Progress("shiftpsn")
    stream = progress.stream if progress.stream is not None else sys.stderr
    live = on_terminal(stream) and not progress.quiet
    t0 = time.monotonic()
    try:
        while True:
            wait = 1.0 if live else every
            if timeout is not None:
                wait = max(0.0, min(wait, timeout - (time.monotonic() - t0)))
            try:
                return proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                dt = time.monotonic() - t0
                if timeout is not None and dt >= timeout:
                    raise
                if live:
                    stream.write(f"\r[{progress.tag} {progress.elapsed():7.1f}s] {step}: running for {dt:.0f} s")
                    stream.flush()
                else:
                    progress.say(f"{step}: still running ({dt:.0f} s)")
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        if live:
            stream.write("\r\033[K")
            stream.flush()


class heartbeat:
    """``with heartbeat("generate", progress):`` says every ``every`` seconds, from a background thread,
    that in-process work (Amaranth's conversion of a large design) is still running."""

    def __init__(self, step: str, progress: Progress | None = None, every: float = HEARTBEAT_S):
        import threading

        self.step, self.every = step, every
        self.progress = progress if progress is not None else Progress("shiftpsn")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        t0 = time.monotonic()
        while not self._stop.wait(self.every):
            self.progress.say(f"{self.step}: still running ({time.monotonic() - t0:.0f} s)")

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        return False
