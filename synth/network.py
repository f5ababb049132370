"""A whole network's Verilog (``shiftpsn.hdl.network``) through Yosys, nextpnr and OpenSTA.

:func:`synthesize_network` takes the network's Verilog and its NETWORK.json description and returns
one entry per target, leaving every tool's script and log in its work directory::

    WORK/ice40/     harness.v (synth/harness.py around the network's ports), ice40.ys, yosys.log,
                    stat.json, pnr.json, nextpnr.log, nextpnr_report.json: LUTs, flip-flops, block RAM,
                    DSPs of the network module alone; the smallest iCE40 it is placed on (the UP5K
                    first, synth/nextpnr.py) and its Fmax
    WORK/ecp5/      the same for ECP5
    WORK/asic/      asic.ys, yosys.log, stat.json, netlist.v, sta.tcl, sta.log: area, cells and the
                    OpenSTA critical path on the liberty; with ``activities`` or a stimulus, OpenSTA's power
    WORK/switching/ with a stimulus: the gate-level simulation of the asic netlist (gates.v, tb.v,
                    beats.hex, iverilog.log, vvp.log; :func:`network_switching`)

Entry keys: ``target``, ``top``, ``cells``, ``luts``, ``ffs``, ``carry``, ``bram``, ``dsp``,
``cell_types``, ``device``, ``fmax_mhz``, ``fmax_source``, ``area_um2``, ``power_w`` (asic with
activities: OpenSTA's total), ``pnr`` and ``error`` (a tool's failure, the other targets stand); asic with
a stimulus: ``energy_pj_per_step_{model,activity,switching}`` (per PSN neuron-time-step),
``energy_pj_per_synop_*`` (per synaptic operation, :func:`shiftpsn.synth.energy.synops_per_step`),
``energy_pj_per_sample_*`` (per sequence of T steps) and ``energy`` (their details).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shiftpsn.base import payload
from shiftpsn.base.errors import UsageError

from . import energy, gatesim, harness, liberty, netlist, nextpnr, sta, switching, yosys
from .tools import Progress


def network_ports(desc: dict) -> list[tuple[str, str, int]]:
    """(name, direction, width) of the network's ports from its NETWORK.json, clock excluded."""
    return [(p["name"], p["direction"], int(p["width"])) for p in desc["ports"] if p["name"] != "clk"]


def input_activities(desc: dict, x: np.ndarray, cycles_per_step: float) -> dict[str, tuple[float, float]]:
    """OpenSTA input activities of a network streaming the inputs ``x`` (B, T, I) back to back: the
    input payload holds one time step for ``cycles_per_step`` cycles on average, so a payload bit
    toggles (its toggles between consecutive steps) / cycles_per_step times per cycle; ``i__valid``
    and ``o__ready`` are held at 1, ``rst`` at 0."""
    pay = desc["input_payload"]
    B, T, n_in = x.shape
    f = pay["x"]
    W = f["per_element"]
    width = next(p["width"] for p in desc["ports"] if p["name"] == "i__payload")
    bits = np.zeros((B, T, width), dtype=np.int8)
    u = np.asarray(x, dtype=np.int64) & ((1 << W) - 1)
    for i in range(n_in):
        for b in range(W):
            bits[:, :, f["offset"] + i * W + b] = (u[:, :, i] >> b) & 1
    bits[:, 0, pay["first"]["offset"]] = 1
    bits[:, -1, pay["last"]["offset"]] = 1
    bits = bits.reshape(B * T, width)
    toggles = np.abs(np.diff(bits, axis=0)).sum(axis=0) / max(1, len(bits)) / max(1.0, cycles_per_step)
    duty = bits.mean(axis=0)
    out = {f"i__payload[{j}]": (float(toggles[j]), float(duty[j])) for j in range(width)}
    for name, direction, w in network_ports(desc):
        if direction == "input" and name != "i__payload":
            level = 1.0 if name in ("i__valid", "o__ready") else 0.0
            for j in range(w):
                out[name if w == 1 else f"{name}[{j}]"] = (0.0, level)
    return out


def synthesize_network(verilog: Path, desc: dict, targets, workdir: Path, progress: Progress, *,
                       liberty_path: Path | None = None, clock_mhz: float = 100.0, seed: int = 1,
                       activities: dict | None = None, label: str = "network", net=None,
                       stimulus: np.ndarray | None = None, stimulus_desc: str = "",
                       cycles_per_step: float | None = None) -> dict[str, dict]:
    """Target -> entry (module docstring) for the network in ``verilog`` (top ``desc["top"]``).

    ``net`` (the NetworkSpec) and ``stimulus`` (B, T, I) ints: asic also gets the three energies
    (:func:`network_energies`; ``activities`` are then derived from the stimulus when not given, with
    ``cycles_per_step`` or else the simulated cycles per step)."""
    top = desc["top"]
    out = {}
    for target in targets:
        entry = {"target": target, "top": top}
        try:
            if target == "asic":
                if liberty_path is None:
                    raise UsageError("the asic target needs a liberty")
                entry.update(_asic(verilog, top, workdir / "asic", progress, label, liberty_path, clock_mhz,
                                   activities, net, desc, stimulus, stimulus_desc, cycles_per_step))
            elif target in yosys.PNR_TARGETS:
                entry.update(_fpga(target, verilog, top, desc, workdir / target, progress, label, clock_mhz, seed))
            else:
                raise UsageError(f"network synthesis supports ice40, ecp5 and asic, not {target!r}")
        except UsageError as e:
            entry["error"] = str(e)
            progress.say(f"{label}: {target} FAILED: {e}")
        out[target] = entry
    return out


def _fpga(target, src, top, desc, wd: Path, progress, label, clock_mhz, seed) -> dict:
    wd.mkdir(parents=True, exist_ok=True)
    (wd / "harness.v").write_text(harness.ports_harness_verilog(network_ports(desc), top))
    yosys.run_script(target, wd, progress, step=f"{label}: yosys {target}",
                     read=yosys.read_commands([Path(src), wd / "harness.v"], wd), top=harness.HARNESS_TOP, core=top)
    counts = yosys.summarize(target, yosys.load_stat(wd / "stat.json", top))
    keys = {k: v for k, v in counts.items() if k != "by_type"}
    keys["cell_types"] = counts["by_type"]
    pnr = nextpnr.place_and_route(target, wd, counts, clock_mhz, seed, progress, step=f"{label}: nextpnr {target}")
    keys.update(fmax_mhz=pnr["fmax_mhz"], device=pnr["device"], pnr=pnr,
                fmax_source=nextpnr.fmax_source(pnr))
    if pnr["note"]:
        progress.say(f"{label}: nextpnr {target}: {pnr['note']}")
    return keys


def _asic(src, top, wd: Path, progress, label, liberty_path, clock_mhz, activities, net=None, desc=None,
          stimulus=None, stimulus_desc="", cycles_per_step=None) -> dict:
    wd.mkdir(parents=True, exist_ok=True)
    lib = liberty.read(liberty_path)
    period_ns = 1e3 / clock_mhz
    yosys.run_script("asic", wd, progress, step=f"{label}: yosys asic", read=yosys.read_commands([Path(src)], wd),
                     top=top, liberty=yosys.yosys_path(liberty_path, wd), period_ps=f"{period_ns * 1e3:.0f}")
    stat = yosys.load_stat(wd / "stat.json")
    counts = yosys.summarize("asic", stat, lib.sequential)
    area, seq_area = yosys.area(stat)
    (wd / "netlist.v").write_text(netlist.clean((wd / "netlist_raw.v").read_text()))
    sw = None
    if stimulus is not None and net is not None:
        try:
            sw = network_switching(net, desc, wd / "netlist.v", liberty_path, stimulus, clock_mhz,
                                   wd.parent / "switching", progress, step=f"{label}: gate-level sim")
            sw["stimulus"] = {"sequences": int(stimulus.shape[0]), "steps": int(stimulus.shape[1]),
                              "source": stimulus_desc}
            progress.say(f"{label}: switching energy {sw['pj_per_step']:.4g} pJ / neuron-step, "
                         f"{sw['pj_per_sample'] / 1e3:.4g} nJ / sample ({sw['cycles']} cycles simulated)")
        except UsageError as e:
            progress.say(f"{label}: switching energy FAILED: {e}")
            sw = {"pj_per_step": None, "error": str(e)}
        if cycles_per_step is None:
            cycles_per_step = sw.get("cycles_per_time_step") or float(desc["cycles_per_step"]["max"])
        if activities is None:
            activities = input_activities(desc, stimulus, cycles_per_step)
    res = sta.run(liberty_path, wd / "netlist.v", top, period_ns, lib.time_unit_ns, activities, wd, progress,
                  step=f"{label}: opensta")
    power = res["power"]
    out = {"cells": counts["cells"], "ffs": counts["ffs"], "cell_types": counts["by_type"], "area_um2": area,
           "sequential_area_um2": seq_area, "fmax_mhz": res["timing"]["fmax_mhz"],
           "fmax_source": f"OpenSTA critical path, {Path(liberty_path).name}", "timing": res["timing"],
           "power_w": None if power is None else power["total"]["total"], "power": power,
           "clock_mhz": clock_mhz}
    if stimulus is not None and net is not None:
        out.update(network_energies(net, desc, stimulus, out["power_w"], clock_mhz, cycles_per_step, sw))
    return out


# ----------------------------------------------------------------------------- energy
def network_beats(desc: dict, x: np.ndarray) -> list[int]:
    """Input payload ints of a (B, T, I) stimulus, one beat per time step (NETWORK.json
    ``input_payload``: ``x``, ``first`` on t = 0, ``last`` on t = T - 1;
    :func:`shiftpsn.base.payload.pack_network_inputs`)."""
    x = np.asarray(x, dtype=np.int64)
    B, T, _ = x.shape
    t = np.tile(np.arange(T), B)
    return payload.pack_network_inputs(desc["input_payload"], x.reshape(B * T, -1), t == 0, t == T - 1)


def decode_logits(desc: dict, outs: list[int]) -> np.ndarray:
    """The logits (beats * lanes,) of output payload ints (NETWORK.json ``output_payload.logits``;
    :func:`shiftpsn.base.payload.unpack_stream`)."""
    layout = {"logits": desc["output_payload"]["logits"]}
    width = layout["logits"]["offset"] + layout["logits"]["width"]
    return payload.unpack_stream(layout, payload.int_strings(outs, width))["logits"].reshape(-1)


def network_switching(net, desc: dict, netlist_path: Path, liberty_path: Path, x: np.ndarray, clock_mhz: float,
                      workdir: Path, progress: Progress | None = None, step: str = "switching") -> dict:
    """Gate-level switching energy of a network's mapped netlist on ``x`` (B, T, I) (the method of
    :mod:`shiftpsn.synth.switching`: reset, then one time step per beat as fast as ``i__ready`` takes
    them, until every logit beat has left). Returns ``pj_per_step`` (per PSN neuron-time-step),
    ``pj_per_synop``, ``pj_per_sample``, ``breakdown_pj_per_step`` (flip_flops_and_clock, combinational,
    inputs, memories: the neuron layers' history memories, mapped to flip-flops), ``by_kind_pj_per_step``,
    ``clock_pj_per_step``, ``cycles``, ``cycles_per_time_step``, ``outputs_match_golden`` (every logit
    against :func:`shiftpsn.golden.network.run_network`) and counts. Raises UsageError."""
    from shiftpsn.golden.network import run_network

    x = np.asarray(x, dtype=np.int64)
    B, T, _ = x.shape
    lanes = desc["output_payload"]["logits"]["count"]
    n_out = B * T * net.out_features // lanes
    bound = int(desc["latency"]["max"]) + 2 * int(desc["cycles_per_step"]["max"])
    out_width = next(p["width"] for p in desc["ports"] if p["name"] == "o__payload")
    drive = gatesim.Drive(top=desc["top"], ports=network_ports(desc), beats=network_beats(desc, x), config=[],
                          out_width=out_width, period_ns=1e3 / clock_mhz, drain_cap=max(1000, bound),
                          out_count=n_out)
    nl, sim, e = switching.netlist_energy(netlist_path, liberty_path, drive, workdir, progress, step,
                                          names=desc.get("names"))
    want = run_network(net, x).logits.reshape(-1)
    got = decode_logits(desc, sim.out_beats)
    mismatch = None
    if got.shape != want.shape:
        mismatch = f"{len(sim.out_beats)} output beats, expected {n_out}"
    elif (got != want).any():
        i = int(np.argmax(got != want))
        mismatch = f"logit {i}: {got[i]}, expected {want[i]}"
    ops = energy.synops_per_step(net)
    steps = B * T * ops["neurons"]
    per = lambda v: float(v) / steps  # noqa: E731
    mem = e["tags"].get("memory", 0.0) + e["tag_clock_net"].get("memory", 0.0)
    breakdown = {k: per(v) for k, v in e["groups"].items()}
    breakdown["flip_flops_and_clock"] -= per(mem)
    breakdown["memories"] = per(mem)
    return {"pj_per_step": per(e["total"]), "pj_per_synop": float(e["total"]) / (B * T * ops["total"]),
            "pj_per_sample": float(e["total"]) / B, "breakdown_pj_per_step": breakdown,
            "by_kind_pj_per_step": {k: per(v) for k, v in e["by_kind"].items()},
            "clock_pj_per_step": {k: per(v) for k, v in e["clock"].items()},
            "memories": {"flip_flop_mapped_pj_per_step": per(mem), "sram_model": _sram_model(net),
                         "note": "the neuron layers' history memories, mapped to flip-flops and multiplexers by "
                                 "the standard-cell flow (their flip-flops and clock share; read multiplexers in "
                                 "'combinational'); the dense weights are constants (logic, no memory). "
                                 "sram_model: the same accesses in SRAM macros (synth/switching.py sram_model "
                                 "of each engine layer), per PSN neuron-time-step"},
            "window_pj": e["total"], "neuron_steps": steps, "synops": B * T * ops["total"],
            "synops_per_step": ops, "cycles": sim.cycles, "cycles_per_time_step": sim.cycles / (B * T),
            "beats": len(drive.beats), "clock_mhz": clock_mhz, "nets": e["nets"], "cells": e["cells"],
            "transitions": e["transitions"], "outputs_match_golden": mismatch is None, "output_mismatch": mismatch,
            "method": "synth/switching.py on the network's netlist: one time step per input beat, as fast as "
                      "the network takes them; the window runs from the first beat until the last logit beat "
                      "has left (the pipeline's fill and drain included)"}


def _sram_model(net) -> dict | None:
    """The engine layers' SRAM per-access estimate (:func:`shiftpsn.synth.switching.sram_model`), per
    PSN neuron-time-step of the whole network; None when every neuron layer is a parallel core."""
    neuron = [(L, net.layers[L]) for L in net.neuron_indices]
    per_layer = {f"layer{L}": switching.sram_model(layer) for L, layer in neuron if not layer.parallel}
    if not per_layer:
        return None
    neurons = sum(layer.out_features for _, layer in neuron)
    total = sum(m["pj_per_step"] * net.layers[int(k[5:])].out_features for k, m in per_layer.items())
    return {"pj_per_step": total / neurons, "layers": per_layer, "source": next(iter(per_layer.values()))["source"]}


def network_energies(net, desc: dict, x: np.ndarray, power_w: float | None, clock_mhz: float,
                     cycles_per_step: float | None, sw: dict | None) -> dict:
    """The report keys of a network's three energies (module docstring): the op-count model
    (:func:`shiftpsn.synth.energy.network_model` over the stimulus' T), OpenSTA's power x
    ``cycles_per_step`` / f per time step, and the gate-level switching figure ``sw``."""
    T = int(x.shape[1])
    ops = energy.synops_per_step(net)
    model = energy.network_model(net, network_arith_of(desc), T)
    act = None
    if power_w is not None and cycles_per_step:
        e_step = power_w * cycles_per_step / (clock_mhz * 1e6) * 1e12  # pJ per time step
        act = {"pj_per_step": e_step / ops["neurons"], "pj_per_synop": e_step / ops["total"],
               "pj_per_sample": e_step * T, "cycles_per_time_step": cycles_per_step, "power_w": power_w}
    sw = sw or {}
    out = {}
    for name, d in (("model", model), ("activity", act), ("switching", sw)):
        d = d or {}
        out[f"energy_pj_per_step_{name}"] = d.get("pj_per_step")
        out[f"energy_pj_per_synop_{name}"] = d.get("pj_per_synop")
        out[f"energy_pj_per_sample_{name}"] = d.get("pj_per_sample")
    out["energy"] = {"model": model, "activity": act, "switching": sw or None, "synops_per_step": ops}
    return out


def network_arith_of(desc: dict) -> str:
    """``shift`` or ``mac`` from NETWORK.json (its ``arith``)."""
    return desc.get("arith", "shift")
