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
