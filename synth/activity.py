"""Switching activity of the core's input ports on a stimulus, for OpenSTA's power analysis.

The core takes one beat (one time step of all C channels) per clock cycle while it streams
(docs/ARCHITECTURE.md), so the stimulus (B, T, C) becomes B*T consecutive beats: payload bits packed
as :mod:`shiftpsn.base.ports` says (channel c at bits ``[c*W, c*W+W)``, two's complement, ``first`` = 1 on
each sequence's first beat). For every payload bit this module counts its toggles between
consecutive beats (toggles per cycle, OpenSTA's ``-activity``) and the fraction of beats it is 1
(``-duty``). Handshake and configuration inputs are static while streaming: ``i__valid`` and
``o__ready`` held at 1, ``rst``, ``cfg__we``, ``cfg__addr`` and ``cfg__data`` at 0.
"""

from __future__ import annotations

import numpy as np

from shiftpsn.base import ports
from shiftpsn.base.spec import CoreSpec
from shiftpsn.base.stimulus import to_beats

from .harness import core_ports


def payload_bits(spec: CoreSpec, x: np.ndarray) -> np.ndarray:
    """The input payload of every beat, (B*T*beats_per_step, payload width) of 0/1, for a checked
    (B, T, C) (or (B, T, P, C)) stimulus; beat g of a step carries neurons g*lanes .. (ports)."""
    xb = to_beats(spec, x)  # (B, T, G, L)
    B, T, G, L = xb.shape
    off = ports.offsets(ports.input_fields(spec))
    W = spec.input_width
    bits = np.zeros((B, T, G, ports.payload_width(ports.input_fields(spec))), dtype=np.uint8)
    xo = off["x"][0]
    # two's complement: the low W bits of the value
    u = xb.astype(np.int64) & ((1 << W) - 1)
    for b in range(W):
        bits[..., xo + b: xo + L * W: W] = (u >> b) & 1
    bits[:, 0, :, off["first"][0]] = 1
    return bits.reshape(B * T * G, -1)


def toggle_rates(bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(toggles per cycle, duty) of each column of a (cycles, bits) 0/1 array."""
    bits = np.asarray(bits, dtype=np.int8)
    n = bits.shape[0]
    toggles = np.abs(np.diff(bits, axis=0)).sum(axis=0) if n > 1 else np.zeros(bits.shape[1])
    return toggles / n, bits.mean(axis=0)


def port_activities(spec: CoreSpec, x: np.ndarray) -> dict[str, tuple[float, float]]:
    """Input port bit (``name[i]`` or ``name``) -> (toggles per cycle, duty) for OpenSTA."""
    rate, duty = toggle_rates(payload_bits(spec, x))
    held_high = {"i__valid", "o__ready"}
    out = {}
    for name, direction, width in core_ports(spec):
        if direction != "input":
            continue
        if name == "i__payload":
            for j in range(width):
                out[f"i__payload[{j}]"] = (float(rate[j]), float(duty[j]))
            continue
        level = 1.0 if name in held_high else 0.0
        for j in range(width):
            out[name if width == 1 else f"{name}[{j}]"] = (0.0, level)
    return out


def summary(spec: CoreSpec, x: np.ndarray) -> dict:
    """Mean toggle rate of the ``x`` payload bits and the number of beats, for the report."""
    rate, _ = toggle_rates(payload_bits(spec, x))
    off = ports.offsets(ports.input_fields(spec))["x"]
    return {"beats": int(x.shape[0] * x.shape[1] * spec.beats_per_step), "sequences": int(x.shape[0]),
            "steps": int(x.shape[1]), "mean_x_toggle_rate": float(rate[off[0]:off[0] + off[1]].mean())}
