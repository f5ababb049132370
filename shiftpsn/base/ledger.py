"""The outputs ledger: which files in a folder shiftpsn wrote, and what they held when it wrote them.

Every output written through :func:`shiftpsn.base.paths.atomic_write` is listed with its SHA-256 in
``.shiftpsn-outputs.json`` in its folder. :func:`shiftpsn.base.paths.check_replaceable` reads it: a file
that is listed with the SHA-256 it still has was written by shiftpsn and nobody changed it since, so a
command may replace it; any other existing file is a user's (docs/CONTRACT.md section 3). The ledger
works for every format (Verilog, .npy, .npz, checkpoints, pictures) without changing what is in them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

#: The ledger's file name in each folder shiftpsn writes outputs into.
LEDGER = ".shiftpsn-outputs.json"
FORMAT = "shiftpsn-outputs-1"
#: Biggest ledger read (a folder with ~100,000 outputs).
_MAX_LEDGER_BYTES = 16 << 20


def sha256(path: str | os.PathLike) -> str:
    """SHA-256 (hex) of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read(f) -> dict:
    f.seek(0)
    data = f.read(_MAX_LEDGER_BYTES + 1)
    try:
        d = json.loads(data) if data else {}
    except ValueError:  # a damaged ledger lists nothing: every file in the folder is treated as a user's
        return {}
    if not isinstance(d, dict) or d.get("format") != FORMAT or not isinstance(d.get("files"), dict):
        return {}
    return {k: v for k, v in d["files"].items() if isinstance(k, str) and isinstance(v, str)}


@contextlib.contextmanager
def _locked(folder: Path, write: bool):
    """The ledger file of ``folder``, opened and locked (exclusive to write, shared to read)."""
    import fcntl

    path = folder / LEDGER
    if write:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    else:
        fd = os.open(path, os.O_RDONLY)
    with os.fdopen(fd, "r+b" if write else "rb") as f:
        fcntl.flock(f, fcntl.LOCK_EX if write else fcntl.LOCK_SH)
        try:
            yield f
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def record(path: str | os.PathLike) -> None:
    """List regular file ``path`` with its current SHA-256 in its folder's ledger (best effort: a
    folder whose ledger cannot be written only loses the right to replace the file without --force)."""
    path = Path(path)
    if path.name == LEDGER or not path.is_file():
        return
    try:
        digest = sha256(path)
        with _locked(path.parent, write=True) as f:
            files = _read(f)
            files[path.name] = digest
            f.seek(0)
            f.truncate()
            f.write((json.dumps({"format": FORMAT, "files": files}, indent=0, sort_keys=True) + "\n").encode())
    except OSError:
        pass


def written_by_shiftpsn(path: str | os.PathLike) -> bool:
    """True when regular file ``path`` is in its folder's ledger with the SHA-256 it has now."""
    path = Path(path)
    try:
        with _locked(path.parent, write=False) as f:
            listed = _read(f).get(path.name)
        return listed is not None and listed == sha256(path)
    except OSError:
        return False
