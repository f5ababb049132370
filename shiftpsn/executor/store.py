"""Task results on disk, addressed by their inputs: ``DIR/tasks/<sha256>.json``.

A task's address is the SHA-256 of its function's name, its inputs (canonical JSON) and the project
version, so the same question asked again finds its answer, and a different one (another spec, seed,
option or release) never does. An entry is written atomically once the task has finished, so an
interrupted run (Ctrl-C, a lost worker, a killed client) leaves finished entries or none, never half
of one; an unreadable entry counts as missing and is computed again.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

from shiftpsn import __version__
from shiftpsn.base.paths import atomic_write, json_text

#: Folder under an output directory that holds the task entries.
TASKS_DIR = "tasks"


def canonical(value) -> str:
    """One JSON text per value (sorted keys, no spaces): what a task's address is computed over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def task_address(fn_name: str, inputs: dict) -> str:
    """The hex SHA-256 naming a task: its function, its inputs and the project version."""
    text = canonical({"fn": fn_name, "inputs": inputs, "version": __version__})
    return hashlib.sha256(text.encode()).hexdigest()


def plain(result):
    """``result`` as JSON gives it back (tuples -> lists, NaN -> None), so that a result computed now
    and one read back from the store are the same object."""
    return json.loads(json_text(result, indent=None))


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes: an input file enters a task's inputs by content, not by name."""
    from shiftpsn.base.ledger import sha256

    return sha256(path)


def array_digest(a) -> dict:
    """A numpy array as task input: dtype, shape and the SHA-256 of its bytes (C order)."""
    import numpy as np

    a = np.ascontiguousarray(a)
    return {"dtype": str(a.dtype), "shape": list(a.shape), "sha256": hashlib.sha256(a.tobytes()).hexdigest()}


class TaskStore:
    """Finished tasks under ``root/tasks``; ``root=None`` keeps nothing (every task computed)."""

    def __init__(self, root: str | Path | None):
        self.dir = None if root is None else Path(root) / TASKS_DIR

    def path(self, address: str) -> Path:
        return self.dir / f"{address}.json"

    def get(self, address: str):
        """The stored result, or None when the task has not finished (or its entry is unreadable)."""
        if self.dir is None:
            return None
        try:
            entry = json.loads(self.path(address).read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("address") != address or "result" not in entry:
            return None
        return entry["result"]

    def put(self, address: str, fn_name: str, inputs: dict, result, seconds: float) -> None:
        """Record a finished task (its inputs kept beside the result, so an entry explains itself)."""
        if self.dir is None:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        entry = {"address": address, "fn": fn_name, "version": __version__, "inputs": inputs,
                 "seconds": round(seconds, 3) if math.isfinite(seconds) else None, "result": result}
        atomic_write(self.path(address), json_text(entry))
