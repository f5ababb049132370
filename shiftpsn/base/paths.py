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
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot create output directory {path.parent}: {e.strerror}") from None
    return path


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
        directory.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".shiftpsn-probe-", dir=directory)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise UsageError(f"cannot write into {directory}: {e.strerror or e}") from None
    return directory


def prepare_output(path: str | Path, inputs=(), what: str = "output") -> Path:
    """Check before any work that output file ``path`` can be written: its directory is created and
    probed, it is not a directory, and it is none of the command's ``inputs`` (UsageError naming both
    paths otherwise)."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{what} {path} is a directory; give a file name")
    check_not_input(path, inputs, what)
    for parent in (path.parent, *path.parent.parents):
        if parent.exists() and not parent.is_dir():
            raise UsageError(f"cannot write {path}: {parent} is not a directory")
    check_writable_dir(path.parent)
    return path


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
