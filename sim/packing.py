"""Whole-beat packing of stream payloads with numpy (layouts from :mod:`shiftpsn.base.ports`).

A testbench that sets 64 channels one at a time spends its time in Python; here every input beat is
packed into one Python integer before the simulation starts, and every received output payload is
kept as one integer and unpacked in bulk afterwards.
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
