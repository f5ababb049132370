"""Stream payloads: the one payload schema, and payloads packed into and out of Python integers (numpy).

The one payload schema (docs/CONTRACT.md section 3) describes every stream of every design, core or
network: a layout is a dict ``field name -> {"offset": int, "width": int, ...}``, fields LSB first; a
vector field adds ``"count"`` n, ``"per_element"`` w and ``"signed"`` (width = n * w, element j at bits
``[offset + j*w, offset + (j+1)*w)``); a scalar field (a flag, a class index) has no ``count`` and is
unsigned. Layer classes give their layouts (``Layer.stream_fields``), the design description carries
them (``streams``), and the testbenches (shiftpsn.sim) and gate-level simulations (shiftpsn.synth)
pack and unpack through :func:`pack_stream` / :func:`unpack_stream`. A testbench that set 64 channels
one at a time would spend its time in Python; here every beat is packed into one integer before a
simulation starts, and received payloads are unpacked in bulk afterwards. Received payloads come as
the simulator's binary strings (MSB first, may hold X / Z); :func:`int_strings` turns integers into
that form.
"""

from __future__ import annotations

import numpy as np


# ------------------------------------------------------------------------------------ the schema
def build_layout(fields: list[tuple[str, int | None, int, bool]]) -> dict:
    """A layout from ``(name, count, per_element, signed)`` entries, LSB first; ``count`` None makes a
    scalar field of ``per_element`` bits (unsigned)."""
    layout, offset = {}, 0
    for name, count, per, signed in fields:
        if count is None:
            layout[name] = {"offset": offset, "width": per}
            offset += per
        else:
            layout[name] = {"offset": offset, "width": count * per, "count": count, "per_element": per,
                            "signed": bool(signed)}
            offset += count * per
    return layout


def payload_width(layout: dict) -> int:
    """Bits of a payload of this layout (0 for an empty one)."""
    return max((f["offset"] + f["width"] for f in layout.values()), default=0)


def pack_stream(layout: dict, values: dict) -> list[int]:
    """Payload integers of N beats: ``values[name]`` is an (N, count) integer array for a vector field,
    (N,) for a scalar one (bools are 0 / 1); every field of the layout must be given. A value that does not fit its field
    (signed or unsigned, ``per_element`` bits) is a ValueError, never cut to fit."""
    missing = [name for name in layout if name not in values]
    if missing:
        raise ValueError(f"no values for payload field {missing[0]!r}")
    arrays = {name: np.asarray(values[name]) for name in layout}
    arrays = {name: v.astype(np.int64) if v.dtype.kind == "b" else v for name, v in arrays.items()}  # flags
    n = len(next(iter(arrays.values()))) if arrays else 0
    word = [0] * n
    bits = np.zeros((n, payload_width(layout)), dtype=np.uint8)
    for name, f in layout.items():
        v = arrays[name]
        count = f.get("count")
        per = f["per_element"] if count is not None else f["width"]
        shape = (n, count) if count is not None else (n,)
        if v.shape != shape:
            raise ValueError(f"payload field {name!r}: values of shape {v.shape}, expected {shape}")
        signed = bool(f.get("signed", False)) and count is not None
        lo, hi = (-(1 << (per - 1)), (1 << (per - 1)) - 1) if signed else (0, (1 << per) - 1)
        if v.size and (v.dtype.kind not in "iuO" or v.min() < lo or v.max() > hi):
            raise ValueError(f"payload field {name!r}: values must be integers in [{lo}, {hi}]")
        el = v.reshape(n, -1)
        if per <= 64 and v.dtype != object:
            twos = el.astype(np.int64).view(np.uint64) if per == 64 else \
                (el.astype(np.int64) & ((1 << per) - 1)).astype(np.uint64)
            fb = ((twos[:, :, None] >> np.arange(per, dtype=np.uint64)) & np.uint64(1)).astype(np.uint8)
            bits[:, f["offset"]:f["offset"] + f["width"]] = fb.reshape(n, -1)
        else:  # wider than 64 bits: Python ints, added after the bit array
            for r in range(n):
                for j, x in enumerate(el[r].tolist()):
                    word[r] |= (int(x) & ((1 << per) - 1)) << (f["offset"] + j * per)
    return [w | b for w, b in zip(word, _bits_to_ints(bits))] if n else []


# ------------------------------------------------------------------------------------ cores
def pack_inputs(spec, x: np.ndarray, first: np.ndarray) -> list[int]:
    """Input payloads of the beats of N time steps of a core (``beats_per_step`` beats each), laid out as
    ``spec.stream_fields("input")``: beat g of step t carries neurons g*lanes .. g*lanes + lanes - 1.

    ``x``: (N, C), or (N, P, C) with positions > 1, integers within ``input_width``; ``first``: (N,) 0/1,
    the ``first`` flag of each time step (sent with each of its beats)."""
    G, L = spec.beats_per_step, spec.lanes
    x = np.asarray(x, dtype=np.int64).reshape(-1, L)  # (N*G, L): beats
    first = np.repeat(np.asarray(first, dtype=np.int64), G)
    return pack_stream(spec.stream_fields("input"), {"x": x, "first": first})


def unpack_outputs(spec, payloads: list[str]) -> dict[str, np.ndarray]:
    """Fields of N received output payloads of a core (the simulator's binary strings, MSB first):
    ``spikes`` (N, L) uint8, ``first`` (N,) uint8, ``unknown`` (N,) bool (the payload held an X or Z
    bit; its fields read those bits as 0) and, when the core emits them, ``acc`` (N, L) int64;
    L = ``lanes``, N counts beats."""
    layout = spec.stream_fields("output")
    f = unpack_stream(layout, list(payloads))
    out = {"spikes": f["spikes"].astype(np.uint8), "first": f["first"].astype(np.uint8),
           "unknown": np.logical_or.reduce([f[f"unknown_{name}"] for name in layout])}
    if "acc" in layout:
        out["acc"] = f["acc"]
    return out


def int_strings(values: list[int], width: int) -> list[str]:
    """Payload integers as ``width``-bit binary strings, MSB first (the form the unpackers take)."""
    return [format(v & ((1 << width) - 1), f"0{width}b") for v in values]


# ------------------------------------------------------------------------------------ networks
def pack_network_inputs(layout: dict, x: np.ndarray, first: np.ndarray, last: np.ndarray) -> list[int]:
    """Input payload integers of N time steps of a network (``x`` (N, I), ``first`` and ``last`` (N,))."""
    return pack_stream(layout, {"x": np.asarray(x, dtype=np.int64), "first": np.asarray(first),
                                "last": np.asarray(last)})


def unpack_stream(layout: dict, payloads: list[str]) -> dict[str, np.ndarray]:
    """Fields of received payloads (the simulator's binary strings, MSB first; a string longer than
    the layout, such as a whole port, is cut to it). Array fields are (N, count) int64 (or object
    arrays of Python ints when wider than 64 bits), scalar fields (N,) int64; ``unknown_F`` (N,) bool
    marks a field F with an X or Z bit (read as 0)."""
    width = payload_width(layout)
    n = len(payloads)
    if n:
        raw = np.frombuffer("".join(p[-width:] for p in payloads).encode("ascii"), dtype=np.uint8)
        raw = raw.reshape(n, width)[:, ::-1]  # LSB first
        bits = (raw == ord("1")).astype(np.uint8)
        unknown = ~((raw == ord("0")) | (raw == ord("1")))
    else:
        bits, unknown = np.zeros((0, width), np.uint8), np.zeros((0, width), bool)
    out = {}
    for name, f in layout.items():
        lo, w = f["offset"], f["width"]
        fb = bits[:, lo:lo + w]
        out[f"unknown_{name}"] = unknown[:, lo:lo + w].any(axis=1)
        if "count" in f:
            per, count, signed = f["per_element"], f["count"], f.get("signed", False)
            el = fb.reshape(n, count, per)
            if per <= 63 or (per == 64 and signed):
                if signed:
                    out[name] = _signed_from_bits(el)
                else:
                    out[name] = (el.astype(np.int64) << np.arange(per, dtype=np.int64)).sum(axis=-1)
            else:
                out[name] = _wide_ints(el, signed)
        else:
            out[name] = (fb.astype(np.int64) << np.arange(w, dtype=np.int64)).sum(axis=-1) if w <= 63 \
                else _wide_ints(fb[:, None, :], False)[:, 0]
    return out


def _wide_ints(el: np.ndarray, signed: bool) -> np.ndarray:
    """(N, count, per) bits, LSB first, as an object array (N, count) of Python ints."""
    n, count, per = el.shape
    out = np.empty((n, count), dtype=object)
    for r in range(n):
        for c in range(count):
            v = int("".join(map(str, el[r, c, ::-1].tolist())) or "0", 2)
            out[r, c] = v - (1 << per) if signed and v >> (per - 1) else v
    return out


def _bits_to_ints(bits: np.ndarray) -> list[int]:
    """Rows of a (N, width) 0/1 array, LSB first, as Python integers."""
    n, width = bits.shape
    pad = (-width) % 8
    if pad:
        bits = np.concatenate([bits, np.zeros((n, pad), dtype=np.uint8)], axis=1)
    packed = np.packbits(bits.astype(np.uint8), axis=1, bitorder="little")
    return [int.from_bytes(row.tobytes(), "little") for row in packed]


def _signed_from_bits(bits: np.ndarray) -> np.ndarray:
    """(..., A) 0/1 array (LSB first, two's complement, A <= 64) -> int64 array of shape (...)."""
    width = bits.shape[-1]
    word = next(w for w in (8, 16, 32, 64) if w >= width)
    padded = np.zeros(bits.shape[:-1] + (word,), dtype=np.uint8)
    padded[..., :width] = bits
    packed = np.packbits(padded, axis=-1, bitorder="little")  # (..., word // 8) bytes
    unsigned = np.ascontiguousarray(packed).view(f"<u{word // 8}")[..., 0]
    if width == 64:
        return unsigned.view(np.int64)
    sign = np.int64(1) << np.int64(width - 1)
    return (unsigned.astype(np.int64) ^ sign) - sign
