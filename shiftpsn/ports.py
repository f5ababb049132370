"""The core's stream payload layouts, defined once for the generator (hdl) and the testbenches (sim).

Verilog ports of a generated core (Amaranth names; ``x__y`` is member ``y`` of interface ``x``)::

    clk, rst                         clock; synchronous active-high reset
    i__valid, i__ready               input stream handshake
    i__payload  [INPUT_FIELDS]       one time step of all channels and the ``first`` flag
    o__valid, o__ready               output stream handshake
    o__payload  [OUTPUT_FIELDS]      spikes of all channels, ``first``, and (emit_acc) accumulators
    cfg__addr, cfg__data, cfg__we    configuration port (runtime weights only), see CoreSpec.config_words

Fields are packed LSB first in the order listed; channel c of a vector field sits at
``offset + c * width_per_channel``.
"""

from __future__ import annotations

from .spec import CoreSpec


def input_fields(spec: CoreSpec) -> list[tuple[str, int, int]]:
    """[(name, total width, width per channel)] of the input payload, LSB first."""
    return [("x", spec.channels * spec.input_width, spec.input_width), ("first", 1, 1)]


def output_fields(spec: CoreSpec) -> list[tuple[str, int, int]]:
    """[(name, total width, width per channel)] of the output payload, LSB first."""
    fields = [("spikes", spec.channels, 1), ("first", 1, 1)]
    if spec.emit_acc:
        fields.append(("acc", spec.channels * spec.acc_width, spec.acc_width))
    return fields


def offsets(fields: list[tuple[str, int, int]]) -> dict[str, tuple[int, int, int]]:
    """name -> (bit offset, total width, width per channel)."""
    out, pos = {}, 0
    for name, width, per in fields:
        out[name] = (pos, width, per)
        pos += width
    return out


def payload_width(fields: list[tuple[str, int, int]]) -> int:
    return sum(width for _, width, _ in fields)
