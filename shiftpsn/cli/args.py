"""Argument types shared by every subcommand: numbers are checked (finite, in range) while the command
line is parsed, so a bad number is exit 2 with one line naming the option before any work starts.

    p.add_argument("--seed", type=SEED, default=0)
    p.add_argument("--clock-mhz", type=float_range(0, 1e6, lo_open=True), default=100.0)
    p.add_argument("--output-dir", type=output_dir, ...)

argparse turns the ``ArgumentTypeError`` of a type into ``shiftpsn CMD: error: argument --OPT: ...``.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from shiftpsn.base import limits

#: Longest number text accepted (Python's int parser refuses more than 4300 digits with a traceback).
_MAX_NUMBER_TEXT = 64


def int_range(lo: int | None = None, hi: int | None = None, what: str = "an integer"):
    """An argparse type: an integer in ``[lo, hi]`` (either bound may be None)."""
    def parse(text: str) -> int:
        text = text.strip()
        try:
            if len(text) > _MAX_NUMBER_TEXT:
                raise ValueError
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {_short(text)}") from None
        if lo is not None and value < lo:
            raise argparse.ArgumentTypeError(f"must be >= {lo}, got {value}")
        if hi is not None and value > hi:
            raise argparse.ArgumentTypeError(f"must be <= {hi} (limit), got {value}")
        return value

    parse.__name__ = "integer"
    return parse


def float_range(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False):
    """An argparse type: a finite number in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``)."""
    def parse(text: str) -> float:
        try:
            if len(text) > _MAX_NUMBER_TEXT:
                raise ValueError
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {_short(text)}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text.strip()}")
        if lo is not None and (value < lo or (lo_open and value == lo)):
            raise argparse.ArgumentTypeError(f"must be {'>' if lo_open else '>='} {lo:g}, got {text.strip()}")
        if hi is not None and value > hi:
            raise argparse.ArgumentTypeError(f"must be <= {hi:g} (limit), got {text.strip()}")
        return value

    parse.__name__ = "number"
    return parse


def _short(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


#: A random seed: what numpy, torch and nextpnr all accept.
SEED = int_range(0, limits.MAX_SEED, "a seed (an integer)")
#: An integer >= 1.
POSITIVE = int_range(1)
#: An integer >= 0.
NON_NEGATIVE = int_range(0)
#: A finite number > 0.
POSITIVE_FLOAT = float_range(0, lo_open=True)
#: A finite number >= 0.
NON_NEGATIVE_FLOAT = float_range(0)


def path(text: str) -> Path:
    """A file path (not empty)."""
    if not text:
        raise argparse.ArgumentTypeError("expected a path, got ''")
    return Path(text)


# ------------------------------------------------------------------ options shared by several commands
def add_spec(p, required: bool = True, help: str = "core spec JSON (docs/CONTRACT.md section 2)") -> None:
    """``--spec SPEC.json``."""
    p.add_argument("--spec", required=required, metavar="SPEC.json", help=help)


def add_spec_or_net(p) -> None:
    """``--spec SPEC.json`` or ``--net NET.json``, exactly one (golden, rtl-run)."""
    g = p.add_mutually_exclusive_group(required=True)
    add_spec(g, required=False)
    g.add_argument("--net", metavar="NET.json",
                   help="network JSON (docs/CONTRACT.md section 5) instead of a core spec")


def add_stimulus_io(p) -> None:
    """``--input X.npy --output OUT.npz`` (golden, rtl-run)."""
    p.add_argument("--input", required=True, help="stimulus .npy, integer (T, C) or (B, T, C)")
    p.add_argument("--output", required=True, help="results .npz (spikes uint8, acc int64)")


def add_sim(p) -> None:
    """``--sim icarus|verilator``."""
    from shiftpsn.sim.runner import SIMULATORS

    p.add_argument("--sim", default="icarus", choices=SIMULATORS, help="simulator (default icarus)")


def add_seed(p, default: int = 0, what: str = "random") -> None:
    """``--seed S``, an integer in [0, 2^32 - 1] (what numpy, torch and nextpnr accept)."""
    p.add_argument("--seed", type=SEED, default=default,
                   help=f"{what} seed, 0 .. {limits.MAX_SEED} (default {default})")
