"""The one place where input files are read within documented limits (docs/CONTRACT.md section 4).

Every reader of a user's file goes through here: reads are bounded, JSON is parsed with limits on size,
nesting and integer length, and an ``.npy`` header is checked against a size limit before anything is
allocated. Whatever goes wrong is a :class:`UsageError` (exit 2) with one line that names the file and,
for a limit, the limit and the value. Work that cannot finish in memory is refused up front by the
``check_*`` functions, which name the limit and the value.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from .errors import UsageError

#: Largest JSON file read (a spec with thousands of channels is a few MB).
MAX_JSON_BYTES = 16 << 20
#: Largest Verilog file read (``synth --verilog``, ``rtl-run --verilog``).
MAX_VERILOG_BYTES = 256 << 20
#: Deepest nesting of arrays/objects in a JSON file (a spec nests 3 deep, CORE.json 6).
MAX_JSON_DEPTH = 64
#: Most digits of one JSON integer (any threshold is legal, but not an unbounded one).
MAX_INT_DIGITS = 4000
#: Most values in a stimulus .npy (2^26 int64 values: 512 MiB).
MAX_STIMULUS_VALUES = 1 << 26
#: Most beats (time steps of all channels) one simulation drives: ``rtl-run``'s B*T, ``regress --steps``.
MAX_SIM_BEATS = 1_000_000
#: Most channels ``generate`` builds (generation time grows faster than C: ~30 s at C = 1024).
MAX_CHANNELS = 4096
#: Most bits of one neuron's history, (k-1)*d*input_width: Amaranth's widest signal (the parallel
#: core's delay line, the engine's history word of a lane).
MAX_DELAY_LINE_BITS = (1 << 16) - 1
#: Most neurons positions*channels of one core or layer (the engine's memories and counters), and most
#: lanes (parallel datapaths, each as big as a channel of the parallel core).
MAX_NEURONS = 1 << 16
MAX_LANES = MAX_CHANNELS
#: Most delay-line bits of a whole core, C*(k-1)*d*input_width (4 Mbit).
MAX_STORAGE_BITS = 1 << 22
#: Largest seed (numpy, torch and nextpnr all take 32-bit seeds).
MAX_SEED = 2 ** 32 - 1
#: ``train``: most channels per layer, layers, neuron order and batch size (a network beyond them
#: does not fit this project's digits tasks in memory or time).
MAX_TRAIN_WIDTH = 4096
MAX_TRAIN_LAYERS = 64
MAX_TRAIN_ORDER = 1024
MAX_TRAIN_BATCH = 65536
#: ``autoselect``: most values of the timed input (2^26: with gradients about 1 GiB in float32) and the
#: longest kernel span (k-1)*d.
MAX_AUTOSELECT_VALUES = 1 << 26
MAX_AUTOSELECT_SPAN = 1 << 20


# ----------------------------------------------------------------------------- bounded reads
def _regular_file(path: Path, what: str) -> os.stat_result:
    """The stat of regular file ``path``; one-line UsageError for a missing file, a folder or a device."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise UsageError(f"{what} file not found: {path}") from None
    except OSError as e:
        raise UsageError(f"cannot read {what} file {path}: {e.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise UsageError(f"{what} {path} is a directory, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{what} {path} is not a regular file")
    return st


def read_bytes(path: str | os.PathLike, what: str, limit: int = MAX_JSON_BYTES) -> bytes:
    """The bytes of regular file ``path`` (at most ``limit``); UsageError naming ``what`` otherwise.
    Device files, FIFOs and directories are refused before anything is read."""
    path = Path(path)
    st = _regular_file(path, what)
    if st.st_size > limit:
        raise UsageError(f"{what} {path} has {st.st_size} bytes, more than the limit of {limit} bytes")
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise UsageError(f"cannot read {what} file {path}: {e.strerror}") from None
    if len(data) > limit:
        raise UsageError(f"{what} {path} has more than the limit of {limit} bytes")
    return data


def read_head(path: str | os.PathLike, what: str, size: int) -> bytes:
    """The first ``size`` bytes of regular file ``path`` (to tell its format); the same one-line
    UsageError as :func:`read_bytes` for a missing file, a folder or a device."""
    path = Path(path)
    _regular_file(path, what)
    try:
        with open(path, "rb") as f:
            return f.read(size)
    except OSError as e:
        raise UsageError(f"cannot read {what} file {path}: {e.strerror}") from None


def read_text(path: str | os.PathLike, what: str, limit: int = MAX_JSON_BYTES) -> str:
    data = read_bytes(path, what, limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UsageError(f"{what} {path}: not UTF-8 text (byte {e.start})") from None


# ----------------------------------------------------------------------------- JSON with limits
class _TooLong(Exception):
    pass


def _parse_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise _TooLong(digits)
    return int(text)


def parse_json(text: str, what: str) -> Any:
    """``json.loads`` with the limits above; UsageError (one line naming ``what``) for anything wrong."""
    try:
        value = json.loads(text, parse_int=_parse_int)
    except _TooLong as e:
        raise UsageError(f"{what}: an integer with {e.args[0]} digits, more than the limit of "
                         f"{MAX_INT_DIGITS} digits") from None
    except RecursionError:
        raise UsageError(f"{what}: JSON nested deeper than the limit of {MAX_JSON_DEPTH} levels") from None
    except json.JSONDecodeError as e:
        raise UsageError(f"{what}: invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    except (ValueError, TypeError) as e:
        raise UsageError(f"{what}: invalid JSON ({str(e).splitlines()[0][:120]})") from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise UsageError(f"{what}: JSON nested deeper than the limit of {MAX_JSON_DEPTH} levels")
    return value


def _depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value (iterative: no recursion on deep input)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (list, dict)):
            deepest = max(deepest, d)
            if d > MAX_JSON_DEPTH:
                return d
            stack.extend((x, d + 1) for x in (v.values() if isinstance(v, dict) else v))
    return deepest


def load_json(path: str | os.PathLike, what: str, limit: int = MAX_JSON_BYTES) -> Any:
    """Read and parse a JSON file within the limits; ``what`` names it in messages ("spec", ...)."""
    return parse_json(read_text(path, what, limit), f"{what} {path}")


def load_checked(path: str | os.PathLike, what: str, from_dict):
    """``from_dict`` of the JSON file at ``path`` (a spec or a network); its SpecError gets the path."""
    from .errors import SpecError

    d = load_json(path, what)
    try:
        return from_dict(d)
    except SpecError as e:
        raise SpecError(f"{path}: {e}") from None


# ----------------------------------------------------------------------------- .npy within limits
def load_npy(path: str | os.PathLike, what: str, max_values: int = MAX_STIMULUS_VALUES):
    """An array from an ``.npy`` file whose header was checked first: a shape of at most
    ``max_values`` values, a plain (non-object) dtype, and a file long enough for the data."""
    import numpy as np
    from numpy.lib import format as npformat

    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise UsageError(f"{what} file not found: {path}") from None
    except OSError as e:
        raise UsageError(f"cannot read {what} file {path}: {e.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{what} {path} is not a regular file")
    try:
        with open(path, "rb") as f:
            version = npformat.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = npformat.read_array_header_1_0(f)
            elif version in ((2, 0), (3, 0)):
                shape, fortran, dtype = npformat.read_array_header_2_0(f)
            else:
                raise ValueError(f"unsupported .npy version {version}")
            offset = f.tell()
    except Exception as e:  # numpy's header parser raises many kinds (tokenize, syntax, value) on junk
        raise UsageError(f"{what} {path}: not a readable .npy array ({_first_line(e)})") from None
    if dtype.hasobject:
        raise UsageError(f"{what} {path}: not a readable .npy array (dtype {dtype} holds pickled Python "
                         f"objects; give an integer array)")
    if not all(isinstance(n, int) and n >= 0 for n in shape):
        raise UsageError(f"{what} {path}: invalid shape {shape}")
    count = 1
    for n in shape:
        count *= n
    if count > max_values:
        raise UsageError(f"{what} {path}: shape {tuple(shape)} holds {count} values, more than the limit "
                         f"of {max_values}")
    if offset + count * dtype.itemsize > st.st_size:
        raise UsageError(f"{what} {path}: the file is shorter than its header's shape {tuple(shape)} "
                         f"needs (truncated?)")
    try:
        x = np.load(path, allow_pickle=False)
    except Exception as e:  # a file whose checked header still does not load
        raise UsageError(f"{what} {path}: not a readable .npy array ({_first_line(e)})") from None
    return x


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return (text.splitlines()[0] if text else e.__class__.__name__)[:160]


# ----------------------------------------------------------------------------- work limits
def check_at_most(value: int, limit: int, what: str) -> None:
    """UsageError ``"{what} = value exceeds the limit of limit"`` when ``value > limit``."""
    if value > limit:
        raise UsageError(f"{what} = {value} exceeds the limit of {limit}")


def check_neuron_history(spec) -> None:
    """SpecError (one line) when one neuron's history (k-1)*d*input_width is wider than the hardware's
    widest signal: part of every core spec's and network neuron layer's validation."""
    from .errors import SpecError

    bits = spec.delay_depth * spec.input_width
    if bits > MAX_DELAY_LINE_BITS:
        raise SpecError(f"spec: delay-line storage of one neuron (k-1)*d*input_width = {bits} bits exceeds the "
                        f"limit of {MAX_DELAY_LINE_BITS} bits (the widest hardware signal)")


def check_generate(spec) -> None:
    """Refuse (exit 2, naming the limit and the value) a core too big to generate in reasonable
    time and memory: channels, neurons positions*channels, lanes and the whole core's delay-line bits
    (one neuron's history is part of the spec's validation, :func:`check_neuron_history`)."""
    check_at_most(spec.channels, MAX_CHANNELS, "channels")
    check_at_most(spec.neurons, MAX_NEURONS, "neurons positions*channels")
    check_at_most(spec.lanes, MAX_LANES, "lanes")
    check_neuron_history(spec)
    check_at_most(spec.storage_bits, MAX_STORAGE_BITS, "delay-line storage C*(k-1)*d*input_width in bits")
