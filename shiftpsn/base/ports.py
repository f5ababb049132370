"""The core's stream payload layouts, defined once for the generator (hdl) and the testbenches (sim).

Verilog ports of a generated core (Amaranth names; ``x__y`` is member ``y`` of interface ``x``)::

    clk, rst                         clock; synchronous active-high reset
    i__valid, i__ready               input stream handshake
    i__payload  [INPUT_FIELDS]       ``lanes`` neurons of one time step and the ``first`` flag
    o__valid, o__ready               output stream handshake
    o__payload  [OUTPUT_FIELDS]      their spikes, ``first``, and (emit_acc) accumulators
    cfg__addr, cfg__data, cfg__we    configuration port (runtime weights only), see CoreSpec.config_words

Fields are packed LSB first in the order listed; lane j of a vector field sits at
``offset + j * width_per_lane``.

A beat carries ``spec.lanes`` consecutive neurons of one time step: beat g of a step (g in
``[0, beats_per_step)``) carries neurons ``n = g*lanes + j`` in lane j, where neuron ``n = p*C + c``
(channel fastest) is position p of channel c. For the parallel core (lanes = P*C) a beat is a whole
time step; with P = 1 lane j is channel j, the layout of a core without ``positions`` / ``lanes``.
``first`` is set on every beat of a sequence's first time step (each neuron then sees an empty
history) and clear on all other beats; the output beat copies it from its input beat.
"""

from __future__ import annotations

from .spec import CoreSpec


def input_fields(spec: CoreSpec) -> list[tuple[str, int, int]]:
    """[(name, total width, width per lane)] of the input payload, LSB first."""
    return [("x", spec.lanes * spec.input_width, spec.input_width), ("first", 1, 1)]


def output_fields(spec: CoreSpec) -> list[tuple[str, int, int]]:
    """[(name, total width, width per lane)] of the output payload, LSB first."""
    fields = [("spikes", spec.lanes, 1), ("first", 1, 1)]
    if spec.emit_acc:
        fields.append(("acc", spec.lanes * spec.acc_width, spec.acc_width))
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


def core_ports(spec: CoreSpec) -> list[tuple[str, str, int]]:
    """[(name, direction, width)] of every Verilog port of a generated core, in declaration order.
    The generator's Amaranth signature is checked against this list (tests/test_hdl_verilog.py)."""
    ports = [("clk", "input", 1), ("rst", "input", 1),
             ("i__valid", "input", 1), ("i__ready", "output", 1),
             ("i__payload", "input", payload_width(input_fields(spec))),
             ("o__valid", "output", 1), ("o__ready", "input", 1),
             ("o__payload", "output", payload_width(output_fields(spec)))]
    if spec.weights == "runtime":
        ports += [("cfg__addr", "input", spec.cfg_addr_width), ("cfg__data", "input", spec.cfg_data_width),
                  ("cfg__we", "input", 1)]
    return ports
