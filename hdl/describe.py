"""The design description that ``generate`` writes beside the Verilog of any top: a core, an engine or a
network (version 2 of docs/CONTRACT.md section 3; read by :func:`shiftpsn.base.description.load_description`).

One writer, :func:`describe`, for every top component. What every description has: ``format``,
``version``, ``top``, ``kind``, ``clock``, ``reset``, ``ports``, ``streams`` (``i`` and ``o`` in the one
payload schema of :mod:`shiftpsn.base.payload`, also as ``input_payload`` / ``output_payload``),
``config`` (null, or the register map and port of runtime weights), ``latency``, ``cycles_per_step``,
``monitors`` (streams inside the top a co-simulation watches) and ``names`` (the memories, registers and
lanes with their Verilog paths, :mod:`shiftpsn.hdl.names`). Each kind adds the keys CORE.json and
NETWORK.json have always had (:data:`_KIND_KEYS`).

A top component offers ``design_kind`` ("core", "engine", "network"), ``names()`` and ``latency``; a core
or engine also ``spec``, ``storage_bits`` and ``registers``; a network its stages (the stage interface of
:mod:`shiftpsn.hdl.stages`).
"""

from __future__ import annotations

from amaranth.hdl import Signal
from amaranth.lib import data

from shiftpsn.base import ports as payload_ports
from shiftpsn.base.description import CONFIG_PORT, CORE_BEATS, FORMAT, VERSION, streams
from shiftpsn.base.payload import payload_width
from shiftpsn.base.spec import CoreSpec

from .weight_store import weight_mode

__all__ = ["describe", "layout_of"]

_CLOCK = {"port": "clk", "edge": "rising"}


def describe(top_component, top: str) -> dict:
    """The version-2 description of an elaborated (converted) ``top_component`` named ``top``."""
    kind = top_component.design_kind
    head, body = _KIND_KEYS[kind](top_component)
    inp, out = body.pop("input_payload"), body.pop("output_payload")
    beats = body.pop("beats")
    return {"format": FORMAT, "version": VERSION, "top": top, "kind": kind, **head,
            "streams": streams(inp, out, *beats), "input_payload": inp, "output_payload": out,
            **body, "names": top_component.names()}


def layout_of(shape: data.StructLayout) -> dict:
    """The payload schema layout of an Amaranth stream payload layout: an ArrayLayout field is a vector
    (``count``, ``per_element``, ``signed``), any other field a scalar."""
    out = {}
    for name, f in shape:
        entry = {"offset": f.offset, "width": f.width}
        if isinstance(f.shape, data.ArrayLayout):
            es = f.shape.elem_shape
            entry.update(count=f.shape.length, per_element=len(Signal(es)), signed=bool(getattr(es, "signed", False)))
        out[name] = entry
    return out


def _stream_layouts(component, spec: CoreSpec) -> tuple[dict, dict]:
    """The core's payload layouts (the layer's ``stream_fields``), checked bit for bit against the
    component's Amaranth layouts."""
    layouts = spec.stream_fields("input"), spec.stream_fields("output")
    for name, layout in zip(("i", "o"), layouts):
        shape = getattr(component, name).signature.members["payload"].shape
        got = {f: (e["offset"], e["width"]) for f, e in layout.items()}
        assert got == {f: (s.offset, s.width) for f, s in shape}, (name, got, shape)
    return layouts


def _core_common(core, clears: list[str], keeps: list[str]) -> tuple[dict, dict]:
    spec = core.spec
    inp, out = _stream_layouts(core, spec)
    head = {"spec": spec.to_dict(), "clock": dict(_CLOCK),
            "reset": {"port": "rst", "kind": "synchronous", "active": "high", "clears": clears, "keeps": keeps},
            "latency": core.latency}
    body = {"ports": [{"name": n, "direction": d, "width": w} for n, d, w in payload_ports.core_ports(spec)],
            "input_payload": inp, "output_payload": out, "beats": (CORE_BEATS["input"], CORE_BEATS["output"]),
            "config": _config(spec), "monitors": [], "storage_bits": core.storage_bits}
    return head, body


def _core(core) -> tuple[dict, dict]:
    head, body = _core_common(core, ["delay_lines", "pipeline", "output", "handshake"], ["config"])
    head.update(throughput="one beat per cycle while o__ready is high", cycles_per_step=core.spec.beats_per_step)
    body.update(delay_depths=list(core.depths), registers=core.registers)
    return head, body


def _engine(core) -> tuple[dict, dict]:
    spec = core.spec
    head, body = _core_common(core, ["counters", "pipeline", "output", "handshake"],
                              ["config", "history memory (the first time step after rst reads empty histories)"])
    head.update(throughput=f"one beat ({spec.lanes} neurons) per cycle while o__ready is high",
                cycles_per_step=core.cycles_per_step)
    mode = weight_mode(spec)
    memory = ("registers" if spec.weights == "runtime" else "constants") if mode == "fixed" else \
        ("ram" if spec.weights == "runtime" else "rom")
    body["engine"] = {
        "neurons": spec.neurons, "lanes": spec.lanes, "beats_per_step": spec.beats_per_step,
        "beat_order": "beat g of a time step carries neurons n = g*lanes + j in lane j; n = p*C + c",
        "history": {"organisation": "one word per beat: the histories of its lanes, read and written "
                                    "once per time step",
                    "words": spec.history_depth, "word_width": spec.history_word_width,
                    "slots": spec.history_slots, "bits": spec.history_bits},
        "weights": {"organisation": mode, "memory": memory, "bits": spec.weight_bits},
    }
    body["registers"] = core.registers
    return head, body


def _network(top) -> tuple[dict, dict]:
    net = top.net
    inp = layout_of(top.i.signature.members["payload"].shape)
    out = layout_of(top.o.signature.members["payload"].shape)
    ports = [("clk", "input", 1), ("rst", "input", 1), ("i__valid", "input", 1), ("i__ready", "output", 1),
             ("i__payload", "input", payload_width(inp)), ("o__valid", "output", 1), ("o__ready", "input", 1),
             ("o__payload", "output", payload_width(out))]
    in_beat = "one time step: x[i] = X[t][i]; first = the step starts a sequence; last = the step ends it"
    out_beat = (f"{net.layers[-1].lanes} logits of one time step (beat g of a step: logits g*lanes + j); "
                "done = 1 on the sequence's final beat, which also carries cls and sums")
    head = {"arith": top.arith,
            "network": {"input_width": net.input_width, "inputs": net.in_features, "outputs": net.out_features,
                        "layers": len(net.layers)},
            "clock": dict(_CLOCK),
            "reset": {"port": "rst", "kind": "synchronous", "active": "high",
                      "clears": ["every stream's valid flags and counters", "the readout's sums"]},
            "ports": [{"name": n, "direction": d, "width": w} for n, d, w in ports]}
    body = {"input_payload": inp, "output_payload": out, "beats": (in_beat, out_beat),
            "input_beat": in_beat, "output_beat": out_beat, "config": None,
            "end_of_sequence": "the input's last flag (it travels with the time step through every layer)",
            "max_steps": top.max_steps, "sum_width": top.sum_width, "logit_width": top.logit_width,
            "cycles_per_step": top.cycles_per_step,
            "latency": {"meaning": "cycles from a time step's input handshake to its last output beat "
                                   "(with last: the class) through an idle network without back-pressure, at most",
                        "max": top.latency_bound},
            "layers": [stage.layer_entry(L) for L, stage in top.stages],
            "monitors": [{"layer": L, "instance": top.instance_name(stage),
                          "ports": {"valid": "o__valid", "ready": "o__ready", "payload": "o__payload"},
                          "payload": layout_of(stage.o.signature.members["payload"].shape)}
                         for L, stage in top.stages if stage.monitored]}
    return head, body


#: design kind -> (keys before ``streams``, keys after), the keys CORE.json / NETWORK.json have always had.
_KIND_KEYS = {"core": _core, "engine": _engine, "network": _network}


def _config(spec: CoreSpec) -> dict | None:
    if spec.weights != "runtime":
        return None
    scw = spec.shift_code_width
    return {
        "addr_width": spec.cfg_addr_width,
        "data_width": spec.cfg_data_width,
        "words": spec.cfg_words,
        "tap_word": {"address": "c*k + i", "width": spec.tap_word_width,
                     "fields": {"amount": {"offset": 0, "width": scw, "meaning": "shift - exp_min"},
                                "neg": {"offset": scw, "width": 1, "meaning": "1 = negative weight"},
                                "zero": {"offset": scw + 1, "width": 1, "meaning": "1 = zero tap"}}},
        "threshold_word": {"address": "C*k + c", "width": spec.threshold_width,
                           "meaning": "threshold_hw(c), two's complement"},
        "power_up": [[addr, data] for addr, data in spec.config_words()],
        "port": dict(CONFIG_PORT),
    }
