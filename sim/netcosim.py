"""Co-simulation of a whole network (docs/CONTRACT.md section 5) against the golden integer network model.

    >>> rtl = generated_network(net)                    # or file_network("NET.v", net)
    >>> result = rtl_run_network(rtl, x)                # logits (B, T, O), classes (B,), spikes {L: (B, T, C)}
    >>> outcome = regress_network(rtl, steps=600, seed=1)   # random traffic; outcome.mismatch or None

The testbench (:mod:`shiftpsn.sim.nettb`) reads the ports and payload layouts from the NETWORK.json
description (``shiftpsn.hdl.network.generate_network``), drives one input beat per time step, takes
the output beats (every time step's logits; ``done``, ``cls`` and ``sums`` at a sequence's end) and
watches the stream leaving every neuron layer that the Verilog exposes as an instance
``s<n>_neuronstage_l<L>`` of the top module (its ``o__valid`` / ``o__ready`` / ``o__payload``), so
each neuron layer's spikes are checked too. Builds are cached (:mod:`shiftpsn.sim.runner`).
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shiftpsn.base.errors import CheckFailed, UsageError
from shiftpsn.base.limits import MAX_VERILOG_BYTES, load_json, read_text
from shiftpsn.base.network import DenseLayer, NetworkSpec, check_network_input

from . import runner
from .cosim import verilog_ports
from .netscoreboard import spike_stream_layout
from .nettraffic import NetPlan, net_phases, net_regress_stimulus, net_sequence_lengths
from .scoreboard import Mismatch
from .traffic import Phase


@dataclass
class RTLNetwork:
    """Verilog of a network, its top module, the network it implements and its NETWORK.json description."""

    verilog: str
    top: str
    net: NetworkSpec
    desc: dict
    source: str = "generated"

    def monitors(self) -> list[dict]:
        """The neuron layers whose output stream the Verilog exposes: ``{"layer", "instance", "ports",
        "payload"}``. From NETWORK.json's ``monitors`` when it has them, else found in the Verilog (an
        instance ``s<n>_neuronstage_l<L>`` of the top); each is checked against the Verilog: the
        instance exists and its valid / ready / payload ports have the widths the layer needs."""
        body = _module_body(self.verilog, self.top) or ""
        listed = {m.get("layer"): m for m in self.desc.get("monitors", []) if isinstance(m, dict)}
        out = []
        for L in self.net.neuron_indices:
            lanes = self.net.layers[L].lanes
            entry = listed.get(L)
            if entry is not None:
                inst, ports, payload = entry.get("instance"), entry.get("ports"), entry.get("payload")
            else:
                m = re.search(rf"^\s*\\?\S+\s+(s\d+_neuronstage_l{L})\s*\(", body, flags=re.M)
                inst, ports, payload = (m.group(1) if m else None), None, spike_stream_layout(lanes)
            ports = ports or {"valid": "o__valid", "ready": "o__ready", "payload": "o__payload"}
            if not isinstance(inst, str) or not re.match(r"^\w+$", inst) or not isinstance(payload, dict):
                continue
            decl = re.search(rf"^\s*\\?(\S+)\s+{re.escape(inst)}\s*\(", body, flags=re.M)
            have = verilog_ports(self.verilog, decl.group(1)) if decl else None
            want = {ports.get("valid"): ("output", 1), ports.get("ready"): ("input", 1),
                    ports.get("payload"): ("output", lanes + 2)}
            if have and all(have.get(k) == v for k, v in want.items()) and payload.get("x", {}).get("count") == lanes:
                out.append({"layer": L, "instance": inst, "ports": ports, "payload": payload})
        return out


def _module_body(text: str, name: str) -> str | None:
    m = re.search(rf"^\s*module\s+\\?{re.escape(name)}(?=\s*[(;#])(.*?)\bendmodule\b", text, flags=re.M | re.S)
    return m.group(1) if m else None


def generated_network(net: NetworkSpec, top: str | None = None, progress=None) -> RTLNetwork:
    """A freshly generated network (``shiftpsn.hdl.network.generate_network``)."""
    from shiftpsn.hdl.network import generate_network

    gen = generate_network(net, top, progress=progress)
    return RTLNetwork(gen.verilog, gen.info["top"], net, gen.info)


def file_network(verilog_path: str | Path, net: NetworkSpec) -> RTLNetwork:
    """A network from a Verilog file and the NETWORK.json description beside it (``net.v`` ->
    ``net.network.json``, as ``shiftpsn generate --net`` writes them). UsageError when the description
    is missing, is not a network description, or does not match the Verilog's ports or ``net``."""
    from shiftpsn.hdl.network import network_description_path

    path = Path(verilog_path)
    text = read_text(path, "Verilog", limit=MAX_VERILOG_BYTES)
    dpath = network_description_path(path)
    if not dpath.is_file():
        raise UsageError(f"{path}: its network description {dpath} is missing (shiftpsn generate --net writes both)")
    desc = load_json(dpath, "network description")
    if not isinstance(desc, dict) or desc.get("kind") != "network" or not isinstance(desc.get("top"), str):
        raise UsageError(f"{dpath}: not a network description (expected a JSON object with kind 'network' and top)")
    for key in ("ports", "input_payload", "output_payload"):
        if not isinstance(desc.get(key), (list, dict)):
            raise UsageError(f"{dpath}: missing {key!r}")
    top = desc["top"]
    ports = verilog_ports(text, top)
    if ports is None:
        raise UsageError(f"{path}: no module {top!r} found")
    for p in desc["ports"]:
        have = ports.get(p.get("name"))
        if have != (p.get("direction"), p.get("width")):
            raise UsageError(f"{path}: port {p.get('name')} is {have or 'missing'}, its description {dpath} says "
                             f"{p.get('direction')} [{p.get('width')}]")
    _check_matches(desc, net, dpath)
    return RTLNetwork(text, top, net, desc, source=str(path))


def _check_matches(desc: dict, net: NetworkSpec, dpath: Path) -> None:
    try:
        x = desc["input_payload"]["x"]
        logits = desc["output_payload"]["logits"]
        sums = desc["output_payload"]["sums"]
        ok = (x["count"] == net.in_features and x["per_element"] == net.input_width
              and logits["count"] == net.layers[-1].lanes and sums["count"] == net.out_features
              and all(k in desc["output_payload"] for k in ("first", "last", "done", "cls"))
              and all(k in desc["input_payload"] for k in ("first", "last")))
    except (KeyError, TypeError):
        ok = False
    if not ok:
        raise UsageError(f"{dpath}: its payloads do not match the network (inputs I = {net.in_features} of "
                         f"{net.input_width} bits, O = {net.out_features} logits, {net.layers[-1].lanes} per beat)")


# ----------------------------------------------------------------------------------- simulation
@dataclass
class NetOutcome:
    """What one network simulation produced: every watched stream (name -> (fields, epochs); ``out``
    and ``spikes_L``), the test's verdict, and a kept waveform and log."""

    streams: dict
    verdict: dict
    waves: Path | None = None
    log: Path | None = None

    @property
    def mismatch(self) -> Mismatch | None:
        m = self.verdict["mismatch"]
        return None if m is None else Mismatch.from_dict(m)


def idle_timeout(rtl: RTLNetwork) -> int:
    """Cycles without progress before the testbench gives up: generous against the slowest step."""
    cps = rtl.desc.get("cycles_per_step", {}).get("max", 64)
    lat = rtl.desc.get("latency", {}).get("max", 64)
    return int(4000 + 40 * (cps + lat))


def cosimulate_network(rtl: RTLNetwork, x: np.ndarray, lengths: list[int], phases: list[Phase], *,
                       sim: str = "icarus", seed: int = 0, check: bool = True, waves: bool | Path = False,
                       waves_on_failure: bool = True, fail_fast: bool = True, progress=None) -> NetOutcome:
    """Run one plan: ``x`` (N, I) holds the sequences of ``lengths`` back to back. ``waves``: True
    keeps a waveform under the build cache, a Path names a folder for it; a failing check is re-run
    with one (same seed, same traffic) when ``waves_on_failure``."""
    runner.check_simulator(sim)
    with tempfile.TemporaryDirectory(prefix="shiftpsn-netsim-") as tmp:
        tmp = Path(tmp)
        np.save(tmp / "x.npy", np.asarray(x, dtype=np.int64))
        plan = NetPlan(net=rtl.net.to_dict(), input_payload=rtl.desc["input_payload"],
                       output_payload=rtl.desc["output_payload"], stimulus=str(tmp / "x.npy"),
                       lengths=[int(n) for n in lengths], results=str(tmp / "results.npz"),
                       monitors=rtl.monitors(), phases=phases, seed=seed, check=check, fail_fast=fail_fast,
                       idle_timeout=idle_timeout(rtl))
        plan.save(tmp / "plan.json")
        outcome = _run_plan(rtl, plan, tmp, sim, bool(waves), progress)
        failed = outcome.mismatch is not None
        if failed and not waves and waves_on_failure:
            if progress:
                progress("check failed; re-running the same traffic with a waveform dump ...")
            outcome = _run_plan(rtl, plan, tmp, sim, True, progress)
        runner.keep_waves(outcome, Path(waves) if isinstance(waves, Path) else None, rtl.top, sim, seed,
                          rtl.verilog)
        return outcome


def _run_plan(rtl: RTLNetwork, plan: NetPlan, tmp: Path, sim: str, waves: bool, progress) -> NetOutcome:
    log, wf = runner.run_plan(rtl.verilog, rtl.top, rtl.source, tmp / "plan.json", Path(plan.results),
                              plan.seed, tmp, sim, waves, progress, test_module="shiftpsn.sim.nettb")
    results = plan.results
    streams: dict = {}
    with np.load(results, allow_pickle=False) as z:
        verdict = json.loads(str(z["verdict"]))
        for key in z.files:
            if "__" not in key:
                continue
            name, field = key.split("__", 1)
            fields, _ = streams.setdefault(name, ({}, None))
            if field == "epoch":
                streams[name] = (fields, z[key])
            else:
                fields[field] = z[key]
    return NetOutcome(streams, verdict, wf, log)


def rtl_run_network(rtl: RTLNetwork, x, sim: str = "icarus", progress=None) -> dict[str, np.ndarray]:
    """What the hardware computes for network input ``x`` ((T, I) or (B, T, I)): the results arrays of
    docs/CONTRACT.md section 5, ``logits`` int64 (B, T, O), ``classes`` int64 (B,) and ``spikes_L``
    uint8 (B, T, C) per neuron layer L. UsageError when a neuron layer's spikes are not visible in the
    Verilog; CheckFailed when the hardware does not return every beat."""
    net = rtl.net
    xs = check_network_input(x, net)
    B, T = xs.shape[:2]
    monitors = {m["layer"] for m in rtl.monitors()}
    hidden = [L for L in net.neuron_indices if L not in monitors]
    if hidden:
        raise UsageError(f"{rtl.source}: the spikes of layers[{hidden[0]}] are not visible in the Verilog "
                         f"(no instance s<n>_neuronstage_l{hidden[0]} with o__valid/o__ready/o__payload)")
    out = cosimulate_network(rtl, xs.reshape(B * T, -1), [T] * B, [Phase(0, B)], sim=sim, check=False,
                             waves_on_failure=False, progress=progress)
    return network_results(out, net, B, T)


def network_results(out: NetOutcome, net: NetworkSpec, B: int, T: int) -> dict[str, np.ndarray]:
    """The results arrays (as :func:`rtl_run_network`) of a run of B back-to-back sequences of T steps;
    CheckFailed when the network stalled or did not return every beat."""
    if out.verdict["stalled"]:
        raise CheckFailed(f"the network stalled: {out.verdict['stalled']}")
    last = net.layers[-1]
    G = last.out_features // last.lanes
    got, _ = out.streams["out"]
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


def regress_network(rtl: RTLNetwork, *, sim: str = "icarus", steps: int = 600, seed: int = 1,
                    waves: bool | Path = False, progress=None) -> NetOutcome:
    """Co-simulate ``rtl`` against the golden network model with random traffic
    (:mod:`shiftpsn.sim.nettraffic`: sequences of many lengths including one-step ones, extreme and
    constant inputs, gaps and stalls up to 0.9, a reset in the middle of a sequence). Its
    ``mismatch`` is None when every output beat and every watched spike beat matched."""
    if steps < 1:
        raise UsageError(f"--steps must be >= 1, got {steps}")
    rng = np.random.default_rng(seed)
    lengths = net_sequence_lengths(rtl.net, rng, steps)
    x = net_regress_stimulus(rtl.net, rng, lengths)
    return cosimulate_network(rtl, x, lengths, net_phases(len(lengths), lengths), sim=sim, seed=seed,
                              waves=waves, progress=progress)


# ----------------------------------------------------------------------------------- random networks
def random_hw_network(rng: np.random.Generator, *, hidden=(1, 3), width=(1, 12), inputs=(1, 8), outputs=(1, 6),
                      input_width=(2, 8), weight_bits=(2, 10), order=(1, 6), arith: str | None = None,
                      name: str = "regress_net") -> NetworkSpec:
    """A random network (``shiftpsn.base.testing.random_network``) small enough to co-simulate quickly,
    with a random ``lanes`` for every layer (parallel cores and engines, Regroups between layers whose
    lanes differ), a random adder-tree ``pipeline`` per neuron layer and (``arith`` None) a random
    ``arith``: "mac" for every neuron layer (the multiplier baseline) or "shift"."""
    from shiftpsn.base.testing import random_network

    net = random_network(rng, hidden=hidden, width=width, inputs=inputs, outputs=outputs, input_width=input_width,
                         weight_bits=weight_bits, order=order)
    arith = arith or ("mac" if rng.random() < 0.3 else "shift")
    layers = []
    for layer in net.layers:
        if isinstance(layer, DenseLayer):
            layers.append(DenseLayer(layer.weight.tolist(), layer.bias.tolist(),
                                     lanes=int(rng.choice(_divisors(layer.out_features)))))
        else:
            spec = layer.replace(lanes=int(rng.choice(_divisors(layer.channels))), arith=arith)
            layers.append(spec.replace(pipeline=int(rng.integers(0, spec.max_pipeline + 1))))
    return NetworkSpec(input_width=net.input_width, layers=tuple(layers), name=name)


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]
