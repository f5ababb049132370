"""Stream payloads packed into and out of Python integers, whole arrays at a time (numpy).

The one home of payload packing: a core's beats (layouts from :mod:`shiftpsn.base.ports`) and a
network's (NETWORK.json ``input_payload`` / ``output_payload``), for the co-simulation testbenches
(shiftpsn.sim) and the gate-level simulations of the energy reports (shiftpsn.synth). A testbench that
set 64 channels one at a time would spend its time in Python; here every input beat is packed into
one integer before a simulation starts, and received payloads are unpacked in bulk afterwards.
Received payloads come as the simulator's binary strings (MSB first, may hold X / Z);
:func:`int_strings` turns integers into that form.
"""

from __future__ import annotations

import numpy as np

from shiftpsn.base.ports import input_fields, offsets, output_fields, payload_width
from shiftpsn.base.spec import CoreSpec


def _bits_to_ints(bits: np.ndarray) -> list[int]:
    """Rows of a (N, width) 0/1 array, LSB first, as Python integers."""
    n, width = bits.shape
    pad = (-width) % 8
    if pad:
        bits = np.concatenate([bits, np.zeros((n, pad), dtype=np.uint8)], axis=1)
    packed = np.packbits(bits.astype(np.uint8), axis=1, bitorder="little")
    return [int.from_bytes(row.tobytes(), "little") for row in packed]


def _binstrs_to_bits(values: list[str], width: int) -> tuple[np.ndarray, np.ndarray]:
    """Binary strings as the simulator returns them (MSB first, may hold X / Z) as a (N, width)
    0/1 array, LSB first, and a (N,) bool array marking strings with a bit that is not 0 / 1."""
    raw = np.frombuffer("".join(values).encode("ascii"), dtype=np.uint8).reshape(len(values), width)
    known = (raw == ord("0")) | (raw == ord("1"))
    bits = (raw == ord("1")).astype(np.uint8)[:, ::-1]
    return np.ascontiguousarray(bits), ~known.all(axis=1)


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


def pack_inputs(spec: CoreSpec, x: np.ndarray, first: np.ndarray) -> list[int]:
    """Input payloads of the beats of N time steps (``beats_per_step`` beats each).

    Parameters
    ----------
    x : (N, C), or (N, P, C) with positions > 1, integer array within ``input_width``
    first : (N,) 0/1 array, the ``first`` flag of each time step (sent with each of its beats)

    Returns
    -------
    list of N * beats_per_step ints, laid out as ``shiftpsn.base.ports.input_fields``: beat g of
    step t carries neurons g*lanes .. g*lanes + lanes - 1.
    """
    fields = offsets(input_fields(spec))
    x_off, _, width = fields["x"]
    f_off = fields["first"][0]
    G, L = spec.beats_per_step, spec.lanes
    x = np.asarray(x, dtype=np.int64).reshape(-1, L)  # (N*G, L): beats
    n = x.shape[0]
    bits = np.zeros((n, payload_width(input_fields(spec))), dtype=np.uint8)
    twos = x & ((1 << width) - 1)  # two's complement in `width` bits
    xbits = (twos[:, :, None] >> np.arange(width)) & 1  # (N*G, L, W)
    bits[:, x_off:x_off + L * width] = xbits.reshape(n, -1)
    bits[:, f_off] = np.repeat(np.asarray(first, dtype=np.uint8), G)
    return _bits_to_ints(bits)


def unpack_outputs(spec: CoreSpec, payloads: list[str]) -> dict[str, np.ndarray]:
    """Fields of N received output payloads, given as the simulator's binary strings (MSB first).

    Returns
    -------
    dict with ``spikes`` (N, L) uint8, ``first`` (N,) uint8, ``unknown`` (N,) bool (the payload
    held an X or Z bit; its fields read those bits as 0) and, when the core emits them, ``acc``
    (N, L) int64; L = ``lanes`` (C for a core without positions / lanes), N counts beats.
    """
    fields = offsets(output_fields(spec))
    C = spec.lanes
    width = payload_width(output_fields(spec))
    if payloads:
        bits, unknown = _binstrs_to_bits(list(payloads), width)
    else:
        bits, unknown = np.zeros((0, width), np.uint8), np.zeros(0, bool)
    s_off = fields["spikes"][0]
    out = {"spikes": bits[:, s_off:s_off + C].copy(), "first": bits[:, fields["first"][0]].copy(),
           "unknown": unknown}
    if "acc" in fields:
        a_off, total, per = fields["acc"]
        out["acc"] = _signed_from_bits(bits[:, a_off:a_off + total].reshape(-1, C, per))
    return out


def int_strings(values: list[int], width: int) -> list[str]:
    """Payload integers as ``width``-bit binary strings, MSB first (the form the unpackers take)."""
    return [format(v & ((1 << width) - 1), f"0{width}b") for v in values]


# ------------------------------------------------------------------------------------ networks
def pack_network_inputs(layout: dict, x: np.ndarray, first: np.ndarray, last: np.ndarray) -> list[int]:
    """Input payload integers of N time steps (NETWORK.json ``input_payload``: ``x`` with ``count``
    signed ``per_element``-bit values, ``first``, ``last``)."""
    x = np.asarray(x, dtype=np.int64)
    fx = layout["x"]
    n, width = x.shape[0], _payload_width(layout)
    per, count = fx["per_element"], fx["count"]
    if x.shape[1] != count:
        raise ValueError(f"{x.shape[1]} inputs per step, the input payload holds {count}")
    bits = np.zeros((n, width), dtype=np.uint8)
    twos = x & ((1 << per) - 1) if per < 64 else x.view(np.uint64)
    xbits = (twos[:, :, None] >> np.arange(per)) & 1
    bits[:, fx["offset"]:fx["offset"] + count * per] = xbits.reshape(n, -1)
    bits[:, layout["first"]["offset"]] = first
    bits[:, layout["last"]["offset"]] = last
    return _bits_to_ints(bits)


def _payload_width(layout: dict) -> int:
    return max(f["offset"] + f["width"] for f in layout.values())


def unpack_stream(layout: dict, payloads: list[str]) -> dict[str, np.ndarray]:
    """Fields of received payloads (the simulator's binary strings, MSB first; a string longer than
    the layout, such as a whole port, is cut to it). Array fields are (N, count) int64 (or object
    arrays of Python ints when wider than 64 bits), scalar fields (N,) int64; ``unknown_F`` (N,) bool
    marks a field F with an X or Z bit (read as 0)."""
    width = _payload_width(layout)
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
