"""Just enough of a Liberty (.lib) reader for the reports: each cell's area and whether it is sequential.

Liberty is a nested ``group (args) { attribute : value; ... }`` format. Only the top-level ``cell``
groups are looked at: their ``area`` attribute and whether they contain an ``ff`` or ``latch`` group.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from shiftpsn.base.errors import UsageError

_CELL = re.compile(r"\bcell\s*\(\s*\"?([A-Za-z0-9_$.\[\]]+)\"?\s*\)\s*\{")
_AREA = re.compile(r"(?<![\w.])area\s*:\s*([0-9.eE+-]+)\s*;")
_SEQ = re.compile(r"(?<![\w.\"])(ff|latch|ff_bank|latch_bank)\s*\(")


@dataclass(frozen=True)
class LibCell:
    name: str
    area: float
    sequential: bool


@dataclass(frozen=True)
class Library:
    """A liberty's cells and its time unit in ns (OpenSTA reports and takes times in it)."""
    cells: dict
    time_unit_ns: float

    @property
    def sequential(self) -> set[str]:
        return {name for name, c in self.cells.items() if c.sequential}


_TIME_UNIT = re.compile(r'(?<![\w.])time_unit\s*:\s*"?\s*([0-9.]+)\s*(ps|ns|us)\s*"?\s*;')
_UNIT_NS = {"ps": 1e-3, "ns": 1.0, "us": 1e3}


def time_unit_ns(text: str) -> float:
    """The library's ``time_unit`` in ns (Liberty's default is 1ns)."""
    m = _TIME_UNIT.search(text)
    return 1.0 if m is None else float(m.group(1)) * _UNIT_NS[m.group(2)]


def parse(text: str) -> dict[str, LibCell]:
    """Cells of a liberty text, name -> :class:`LibCell`. Raises UsageError if it has none."""
    cells = {}
    starts = [m for m in _CELL.finditer(text)]
    ends = _group_ends(text, [m.end() for m in starts])
    for m, end in zip(starts, ends):
        body = text[m.end():end]
        area = _AREA.search(body)
        cells[m.group(1)] = LibCell(m.group(1), float(area.group(1)) if area else 0.0,
                                    bool(_SEQ.search(body)))
    if not cells:
        raise UsageError("liberty file has no cell groups")
    return cells


def read_text(path: Path) -> str:
    """The text of a liberty file; UsageError (one line) when it cannot be read."""
    try:
        return path.read_text(errors="replace")
    except OSError as e:
        raise UsageError(f"cannot read liberty file {path}: {e.strerror}") from None


def read(path: str | Path) -> Library:
    """Read a liberty file. Raises UsageError when it cannot be read or has no cells."""
    path = Path(path)
    text = read_text(path)
    try:
        return Library(parse(text), time_unit_ns(text))
    except UsageError as e:
        raise UsageError(f"{path}: {e}") from None


def _group_ends(text: str, starts: list[int]) -> list[int]:
    """For each group body start (just past its ``{``), the index just past its closing ``}``.

    One pass over the braces: a body that starts at depth n ends where the depth first falls below n.
    """
    open_ = []  # (depth at which the body opened, index into starts)
    pending = sorted(range(len(starts)), key=lambda j: starts[j])
    out = [len(text)] * len(starts)
    depth, p = 0, 0
    for m in re.finditer(r"[{}]", text):
        if m.group() == "{":
            depth += 1
            while p < len(pending) and starts[pending[p]] == m.end():
                open_.append((depth, pending[p]))
                p += 1
        else:
            while open_ and open_[-1][0] == depth:
                out[open_.pop()[1]] = m.end()
            depth -= 1
    return out
