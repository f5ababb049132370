"""What a co-simulation needs to know about a kind of design, once per kind: a core (a CoreSpec, the
one-layer design: the parallel core or the engine) and a network (a NetworkSpec).

The testbench, traffic plan, scoreboard and fault mechanism are one each and description-driven; a
:class:`Kind` supplies only what the description cannot: the golden model (per time step and per
sequence, by the names of the output fields it checks), the results arrays of ``rtl-run``, the
generator, the ports a given Verilog must have, and the shape of random traffic. :data:`KINDS` maps a
kind's name to it, :func:`kind_of` a design object (by its type) or a design dict to its kind.
"""

from __future__ import annotations

import numpy as np

from shiftpsn.base.description import CONFIG_PORT, description_path, streams
from shiftpsn.base.errors import CheckFailed, UsageError
from shiftpsn.base.network import NetworkSpec, check_network_input
from shiftpsn.base.ports import core_ports
from shiftpsn.base.spec import CoreSpec, uniform_spec
from shiftpsn.base.stimulus import check_stimulus, random_stimulus
from shiftpsn.base.testing import random_network_input


class Kind:
    """The per-kind part of a co-simulation (see the module docstring)."""

    name: str
    #: after a reset mid-stream, the next beat carries ``first`` (False: ``rst`` alone must clear the history)
    first_after_reset: bool

    def load(self, d: dict):
        raise NotImplementedError

    def golden(self, design, x: np.ndarray) -> tuple[dict, dict]:
        """Golden values of a batch ``x`` (B, T, ...): (per time step: name -> (B, T, ...) arrays, per
        sequence: name -> (B, ...)), named as the output fields that carry them."""
        raise NotImplementedError

    def monitor_lanes(self, design, layer) -> int | None:
        """Lanes of the stream leaving neuron layer ``layer`` (None: no such layer)."""
        return None

    def config_words(self, design) -> list[tuple[int, int]] | None:
        return None

    def history(self, design) -> int:
        """The longest neuron history (k-1)*d, in time steps."""
        raise NotImplementedError

    def output_beats_per_step(self, design) -> int:
        """Beats of the ``o`` stream per time step."""
        raise NotImplementedError


class CoreKind(Kind):
    name = "core"
    first_after_reset = False

    def load(self, d: dict) -> CoreSpec:
        return CoreSpec.from_dict(d)

    def generate(self, spec: CoreSpec, *, power_up=None, top=None, progress=None) -> tuple[str, dict]:
        from shiftpsn.hdl.generate import generate

        gen = generate(power_up if power_up is not None else spec, top=top or spec.name)
        return gen.verilog, dict(gen.info, spec=spec.to_dict())

    def describe(self, spec: CoreSpec, top: str) -> dict:
        """The description of a core of ``spec`` named ``top``, from the spec alone (a Verilog given
        without its description)."""
        return {"top": top, "kind": "core" if spec.parallel else "engine", "spec": spec.to_dict(),
                "ports": [{"name": n, "direction": d, "width": w} for n, d, w in core_ports(spec)],
                "streams": streams(spec.stream_fields("input"), spec.stream_fields("output"), "", ""),
                "config": {"port": dict(CONFIG_PORT)} if spec.weights == "runtime" else None,
                "monitors": [], "cycles_per_step": spec.beats_per_step, "latency": spec.pipeline + 2}

    def from_description(self, spec, desc, path, dpath) -> tuple[CoreSpec, dict]:
        """The spec (given, else the description's, else the default) and the description (empty
        without one: the core is then described from its spec). UsageError when the description's
        stream layouts are not the spec's (a Verilog made for another spec)."""
        if desc is not None and not isinstance(desc.get("spec", {}), dict):
            raise UsageError(f"core description {dpath}: expected a JSON object with 'top' and 'spec'")
        if spec is None:
            spec = CoreSpec.from_dict(desc["spec"]) if desc and "spec" in desc else uniform_spec()
        if desc:
            for name, direction in (("i", "input"), ("o", "output")):
                if desc["streams"][name]["fields"] != spec.stream_fields(direction):
                    raise UsageError(f"{dpath}: its {direction} payload does not match the spec (C={spec.channels}, "
                                     f"lanes={spec.lanes}, W={spec.input_width}, emit_acc={spec.emit_acc})")
        return spec, desc or {}

    def default_top(self, spec: CoreSpec) -> str:
        return spec.name

    def ports(self, spec: CoreSpec, desc: dict) -> list[tuple[str, str, int]]:
        return core_ports(spec)

    def needs(self, dpath) -> str:
        return "the spec needs"

    def config_words(self, spec: CoreSpec):
        return spec.config_words() if spec.weights == "runtime" else None

    def golden(self, spec: CoreSpec, x):
        from shiftpsn.golden.integer import run

        spikes, acc = run(spec, x)
        return {"spikes": spikes, "acc": acc}, {}

    def history(self, spec: CoreSpec) -> int:
        return spec.delay_depth

    def output_beats_per_step(self, spec: CoreSpec) -> int:
        return spec.beats_per_step

    def check_run(self, rtl, x) -> np.ndarray:
        if not rtl.design.emit_acc:
            raise UsageError("the core does not emit accumulators (spec emit_acc = false); rtl-run "
                             "writes spikes and acc")
        return check_stimulus(x, rtl.design)

    def results(self, out, spec: CoreSpec, B: int, T: int, shape: tuple) -> dict[str, np.ndarray]:
        """``spikes`` uint8 and ``acc`` int64 in the stimulus' ``shape``; CheckFailed when the core did not
        return one output beat per input beat."""
        got = out.got
        n, beats = len(got["spikes"]), B * T * spec.beats_per_step
        if n != beats or out.verdict["stalled"]:
            raise CheckFailed(f"the core returned {n} output beats for {beats} input beats"
                              + (f" ({out.verdict['stalled']})" if out.verdict["stalled"] else ""))
        return {"spikes": got["spikes"].reshape(shape).astype(np.uint8), "acc": got["acc"].reshape(shape)}

    # traffic
    def length_bands(self, spec: CoreSpec) -> list[tuple[float, int, int | None]]:
        h = spec.delay_depth + 1
        return [(0.25, 1, h), (1.0, 1, max(16, 4 * h))]

    def random_input(self, spec, rng, n, extreme_fraction=None):
        return random_stimulus(spec, rng, 1, n, **({} if extreme_fraction is None else
                                                   {"extreme_fraction": extreme_fraction}))[0]

    def constants(self, spec) -> tuple:
        return spec.input_min, spec.input_max

    def step_shape(self, spec) -> tuple:
        return (spec.channels,) if spec.positions == 1 else (spec.positions, spec.channels)

    def aim(self, spec, x, rng, p):
        from .traffic import aim_at_thresholds

        if spec.positions > 1:  # each position is a neuron of its channel: aim each one
            return np.stack([aim_at_thresholds(spec, x[:, q], rng, p) for q in range(spec.positions)], axis=1)
        return aim_at_thresholds(spec, x, rng, p)


class NetworkKind(Kind):
    name = "network"
    first_after_reset = True  # a network's sequences are defined by first / last, not by rst

    def load(self, d: dict) -> NetworkSpec:
        return NetworkSpec.from_dict(d)

    def generate(self, net: NetworkSpec, *, power_up=None, top=None, progress=None) -> tuple[str, dict]:
        from shiftpsn.hdl.generate import generate_network

        gen = generate_network(net, top, progress=progress)
        return gen.verilog, gen.info

    def from_description(self, net, desc, path, dpath) -> tuple[NetworkSpec, dict]:
        dpath = dpath or description_path(path, "network")
        if desc is None:
            raise UsageError(f"{path}: its network description {dpath} is missing (shiftpsn generate --net "
                             f"writes both)")
        if desc.get("kind") != "network" or not isinstance(desc.get("top"), str):
            raise UsageError(f"{dpath}: not a network description (expected a JSON object with kind 'network' "
                             f"and top)")
        for key in ("ports", "input_payload", "output_payload"):
            if not isinstance(desc.get(key), (list, dict)):
                raise UsageError(f"{dpath}: missing {key!r}")
        try:
            x, o = desc["input_payload"]["x"], desc["output_payload"]
            ok = (x["count"] == net.in_features and x["per_element"] == net.input_width
                  and o["logits"]["count"] == net.layers[-1].lanes and o["sums"]["count"] == net.out_features
                  and all(k in o for k in ("first", "last", "done", "cls"))
                  and all(k in desc["input_payload"] for k in ("first", "last")))
        except (KeyError, TypeError):
            ok = False
        if not ok:
            raise UsageError(f"{dpath}: its payloads do not match the network (inputs I = {net.in_features} of "
                             f"{net.input_width} bits, O = {net.out_features} logits, {net.layers[-1].lanes} "
                             f"per beat)")
        return net, desc

    def default_top(self, net: NetworkSpec) -> str:
        return net.name

    def ports(self, net, desc: dict) -> list[tuple[str, str, int]]:
        return [(p.get("name"), p.get("direction"), p.get("width")) for p in desc["ports"]]

    def needs(self, dpath) -> str:
        return f"its description {dpath} says"

    def monitor_lanes(self, net: NetworkSpec, layer) -> int | None:
        return net.layers[layer].lanes if layer in net.neuron_indices else None

    def golden(self, net: NetworkSpec, x):
        from shiftpsn.golden.network import run_network

        r = run_network(net, x)
        per_step = {"logits": r.logits} | {f"spikes_{L}": s for L, s in r.spikes.items()}
        return per_step, {"cls": r.classes, "sums": r.logits.sum(axis=1)}

    def history(self, net: NetworkSpec) -> int:
        return max([net.layers[L].delay_depth for L in net.neuron_indices] or [0])

    def output_beats_per_step(self, net: NetworkSpec) -> int:
        return net.layers[-1].out_features // net.layers[-1].lanes

    def check_run(self, rtl, x) -> np.ndarray:
        watched = {m["layer"] for m in rtl.monitors()}
        hidden = [L for L in rtl.design.neuron_indices if L not in watched]
        xs = check_network_input(x, rtl.design)
        if hidden:
            raise UsageError(f"{rtl.source}: the spikes of layers[{hidden[0]}] are not visible in the Verilog "
                             f"(its description lists no monitor of that layer whose ports the Verilog has)")
        return xs

    def results(self, out, net: NetworkSpec, B: int, T: int, shape: tuple) -> dict[str, np.ndarray]:
        """``logits`` int64 (B, T, O), ``classes`` int64 (B,), ``spikes_L`` uint8 (B, T, C); CheckFailed
        when the network stalled or did not return every beat."""
        if out.verdict["stalled"]:
            raise CheckFailed(f"the network stalled: {out.verdict['stalled']}")
        last = net.layers[-1]
        G = last.out_features // last.lanes
        got, _ = out.streams["o"]
        n = len(got["logits"])
        if n != B * T * G or int(got["done"].sum()) != B:
            raise CheckFailed(f"the network returned {n} output beats ({int(got['done'].sum())} with done) for "
                              f"{B * T} time steps of {B} sequence(s); expected {B * T * G} ({B} with done)")
        res = {"logits": got["logits"].reshape(B, T, net.out_features).astype(np.int64),
               "classes": got["cls"][got["done"] == 1].astype(np.int64)}
        for L in net.neuron_indices:
            s, _ = out.streams[f"spikes_{L}"]
            C = net.layers[L].channels
            if len(s["x"]) * net.layers[L].lanes != B * T * C:
                raise CheckFailed(f"layers[{L}] passed {len(s['x'])} spike beats for {B * T} time steps")
            res[f"spikes_{L}"] = s["x"].reshape(B, T, C).astype(np.uint8)
        return res

    # traffic
    def length_bands(self, net: NetworkSpec) -> list[tuple[float, int, int | None]]:
        h = self.history(net) + 1
        return [(0.1, 1, None), (0.35, 1, h + 1), (1.0, 2, max(12, 3 * h))]

    def random_input(self, net, rng, n, extreme_fraction=None):
        return random_network_input(net, rng, 1, n, extreme_fraction=0.15 if extreme_fraction is None
                                    else extreme_fraction)[0]

    def constants(self, net) -> tuple:
        return net.input_min, net.input_max, 0

    def step_shape(self, net) -> tuple:
        return (net.in_features,)

    def aim(self, net, x, rng, p):
        return x


KINDS: dict[str, Kind] = {"core": CoreKind(), "network": NetworkKind()}
_BY_TYPE = {CoreSpec: KINDS["core"], NetworkSpec: KINDS["network"]}


def kind_of(design) -> Kind:
    """The kind of a design object (CoreSpec, NetworkSpec) or of its dict (a network's has ``layers``)."""
    if isinstance(design, dict):
        return KINDS["network" if "layers" in design else "core"]
    try:
        return _BY_TYPE[type(design)]
    except KeyError:
        raise TypeError(f"not a design: {type(design).__name__}") from None
