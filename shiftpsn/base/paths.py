"""Output paths and caches: create the parent directory of a file the user asked for (or say in one
line why not), write outputs atomically, never over an input, and find writable cache folders (the
description's name beside Verilog is shiftpsn.base.description's)."""

import contextlib
import json
import os
import stat
import tempfile
from pathlib import Path

from .errors import UsageError


def ensure_parent(path: str | Path) -> Path:
    """Create ``path``'s parent directory if needed; UsageError when that is impossible."""
    path = Path(path)
    for parent in (path.parent, *path.parent.parents):
        if parent.exists() and not parent.is_dir():
            raise UsageError(f"cannot write {path}: {parent} is not a directory")
    try:
        _mkdirs(path.parent)
    except OSError as e:
        raise UsageError(f"cannot create output directory {path.parent}: {e.strerror}") from None
    return path


#: Folders this process created for outputs, in creation order (removed again when they are still
#: empty after a failed command: :func:`remove_created_empty_dirs`).
_CREATED: list[Path] = []


def _mkdirs(directory: Path) -> None:
    """``mkdir -p``, remembering each folder it creates."""
    missing = [d for d in (directory, *directory.parents) if not d.exists()]
    directory.mkdir(parents=True, exist_ok=True)
    _CREATED.extend(reversed(missing))


def forget_created_dirs() -> None:
    """A command succeeded: the folders it created stay (even empty ones it was asked for)."""
    _CREATED.clear()


def remove_created_empty_dirs() -> None:
    """Remove the output folders this process created that are still empty, deepest first (a failed
    command leaves no empty folder behind)."""
    while _CREATED:
        d = _CREATED.pop()
        with contextlib.suppress(OSError):
            d.rmdir()  # only an empty folder goes


# ----------------------------------------------------------------------------- writing outputs
def atomic_write(path: str | Path, data) -> Path:
    """Write ``path`` atomically: into a temporary file beside it, then renamed over it, so an
    interrupted run leaves the old file or the new one, never half of one. ``data`` is bytes, str
    (UTF-8) or a callable that writes into the binary file object it is given (``np.save``, ...).
    Every writer of a command's output goes through here."""
    path = Path(path)
    if path.is_symlink():
        path = Path(os.path.realpath(path))  # update the file the link points to, keep the link
    if path.exists() and not path.is_file():  # a device or FIFO (/dev/null): write into it as it is
        with open(path, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data.encode() if isinstance(data, str) else data)
        return path
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
        if path.exists():
            try:
                os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
            except OSError:
                pass
        else:
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    record_output(path)
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_writable_dir(directory: str | Path) -> Path:
    """Create ``directory`` (and its parents) and prove it can be written by creating and removing
    a file in it; UsageError (one line) otherwise. Every command checks its outputs this way before
    it starts working."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory} exists and is not a directory")
    for parent in directory.parents:
        if parent.exists() and not parent.is_dir():
            raise UsageError(f"cannot write into {directory}: {parent} is not a directory")
    try:
        _mkdirs(directory)
        fd, probe = tempfile.mkstemp(prefix=".shiftpsn-probe-", dir=directory)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise UsageError(f"cannot write into {directory}: {e.strerror or e}") from None
    return directory


def prepare_output(path: str | Path, inputs=(), what: str = "output") -> Path:
    """Check before any work that output file ``path`` can be written: its directory is created and
    probed, it is not a directory, it is none of the command's ``inputs`` (UsageError naming both
    paths otherwise), and it may be replaced (:func:`check_replaceable`)."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{what} {path} is a directory; give a file name")
    check_not_input(path, inputs, what)
    check_replaceable(path, what=what)
    for parent in (path.parent, *path.parent.parents):
        if parent.exists() and not parent.is_dir():
            raise UsageError(f"cannot write {path}: {parent} is not a directory")
    check_writable_dir(path.parent)
    return path


# ----------------------------------------------------------------------------- the overwrite policy
#: ``--force`` of the running command (set once by the command line): replace users' files too.
_FORCE = False


def allow_replacing(force: bool) -> None:
    """The command line's ``--force``: when True, :func:`check_replaceable` lets every file be replaced."""
    global _FORCE
    _FORCE = bool(force)


def check_replaceable(path: str | Path, *, force: bool | None = None, what: str = "output") -> None:
    """The overwrite policy, the one place it is decided (docs/CONTRACT.md section 3): an existing file
    may be replaced only when shiftpsn wrote it and nobody changed it since (it is listed with its
    current SHA-256 in the folder's ledger, :mod:`shiftpsn.base.ledger`, or it is a JSON object whose
    ``format`` names shiftpsn), or with ``--force``. Anything else (a hand-written Verilog file, a
    user's npz, report or checkpoint) is a UsageError naming the file. Devices and FIFOs (/dev/null)
    are written into, never replaced; a directory is never replaced. ``force`` None: the command's."""
    from . import ledger

    path = Path(path)
    if not os.path.lexists(path):
        return
    if path.is_dir():
        raise UsageError(f"{what} {path} is a directory; give a file name")
    if not path.is_file() or (_FORCE if force is None else force):
        return
    if ledger.written_by_shiftpsn(path) or _json_format_of_shiftpsn(path):
        return
    raise UsageError(f"{what} {path} exists and was not written by shiftpsn (or was changed since); "
                     f"give another name, remove it, or add --force to replace it")


def _json_format_of_shiftpsn(path: Path) -> bool:
    """A JSON file whose top-level ``format`` names shiftpsn (an autoselect cache, a counterexample)."""
    if path.suffix != ".json":
        return False
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 20)
        d = json.loads(head)
    except (OSError, ValueError):
        return False
    return isinstance(d, dict) and str(d.get("format", "")).startswith("shiftpsn")


def record_output(path: str | Path) -> None:
    """List ``path`` in its folder's ledger as written by shiftpsn (every output goes through here,
    by :func:`atomic_write`; a tool's file that a command publishes as its output too)."""
    from . import ledger

    ledger.record(path)


def check_not_input(path: str | Path, inputs=(), what: str = "output") -> None:
    """UsageError when output ``path`` is the same file as one of ``inputs`` (None entries skipped)."""
    path = Path(path)
    for inp in inputs:
        if inp is None:
            continue
        inp = Path(inp)
        if _same_file(path, inp):
            raise UsageError(f"{what} {path} would overwrite the input {inp}; give another output name")


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.abspath(a) == os.path.abspath(b)


# ----------------------------------------------------------------------------- descriptions beside Verilog
# One home: shiftpsn.base.description (the names stay importable from here).
from .description import description_path, find_description  # noqa: E402,F401

#: Suffix of a core's description (``core.v`` -> ``core.core.json``).
DESCRIPTION_SUFFIX = ".core.json"


# ----------------------------------------------------------------------------- caches
#: Environment variables the WebAssembly tools (YoWASP, Amaranth's Yosys via wasmtime) read for
#: their compiled-module caches.
_TOOL_CACHE_ENV = ("XDG_CACHE_HOME", "YOWASP_CACHE_DIR")


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME`` or ``~/.cache`` when it can be written, else a folder under the system's
    temporary directory (``shiftpsn-cache-<uid>``)."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    home = Path(xdg) if xdg else Path.home() / ".cache"
    if _writable(home):
        return home
    return _temp_cache()


def _temp_cache() -> Path:
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    d = Path(tempfile.gettempdir()) / f"shiftpsn-cache-{uid}"
    d.mkdir(mode=0o700, exist_ok=True)
    return d


def _writable(d: Path) -> bool:
    try:
        d.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".shiftpsn-probe-", dir=d)
        os.close(fd)
        os.unlink(probe)
        return True
    except OSError:
        return False


def ensure_tool_caches(say=None) -> None:
    """Point the WebAssembly tools' caches at a writable place when HOME's cache cannot be written
    (a read-only or missing HOME): sets XDG_CACHE_HOME and YOWASP_CACHE_DIR for this process and the
    tools it starts; ``say`` gets one line when it does."""
    if os.environ.get("YOWASP_CACHE_DIR") and os.environ.get("XDG_CACHE_HOME"):
        return
    xdg = os.environ.get("XDG_CACHE_HOME")
    home = Path(xdg) if xdg else Path.home() / ".cache"
    if _writable(home):
        return
    fallback = _temp_cache()
    os.environ["XDG_CACHE_HOME"] = str(fallback)
    os.environ.setdefault("YOWASP_CACHE_DIR", str(fallback / "YoWASP"))
    if say is not None:
        say(f"note: {home} cannot be written; tool caches go to {fallback}")


def json_text(value, indent: int | None = 1) -> str:
    """JSON text of ``value`` with every NaN or infinite float written as ``null`` (JSON has no NaN;
    a bare NaN breaks strict readers), ending in a newline when indented."""
    import math

    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v

    text = json.dumps(clean(value), indent=indent, allow_nan=False, default=str)
    return text + "\n" if indent is not None else text
