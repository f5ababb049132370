"""Output paths: create the parent directory of a file the user asked for, or say in one line why not."""

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
