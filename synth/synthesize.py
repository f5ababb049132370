"""One core through its targets: generate, synthesize, place and route or time it, and price it.

:func:`synthesize` returns one report entry (the keys of docs/CONTRACT.md section 4 and more, see
:mod:`shiftpsn.synth.report`) and leaves every tool's script and log in its work directory::

    WORK/core.v, core.json          the generated core (shiftpsn.hdl.generate.write_verilog)
    WORK/<target>/                  the target's Yosys script, yosys.log, stat.json (+ nextpnr.log,
                                    nextpnr_report.json, harness.v for ice40 / ecp5)
    WORK/asic/                      standard-cell flow (area, OpenSTA timing and power): asic.ys,
                                    yosys.log, stat.json, netlist_raw.v, netlist.v, sta.tcl, sta.log
                                    (+ runtime weights: netlist_power.v, sta_power.tcl, sta_power.log,
                                    the power with the configuration registers held, see
                                    shiftpsn.synth.config_state)

The standard-cell flow runs for every target, because the activity-based energy needs a liberty
netlist; its area is reported as ``area_um2`` only for ``target = asic`` (an FPGA target's area is
its LUTs), but always under ``energy.activity``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shiftpsn.base.errors import UsageError
from shiftpsn.base.limits import MAX_VERILOG_BYTES, read_text
from shiftpsn.base.paths import atomic_write
from shiftpsn.base.spec import CoreSpec, is_verilog_name

from . import (activity, config_state, energy, harness, liberty, netlist, nextpnr, report, sta,
               switching, yosys)
from .tools import Progress


@dataclass(frozen=True)
class Options:
    """Settings of a synthesis run (the ``shiftpsn synth`` options).

    Parameters
    ----------
    targets : tuple of str
        Targets of :data:`shiftpsn.synth.yosys.TARGETS`; the core is generated and run through the
        standard-cell flow once for all of them.
    liberty : Path
        Liberty for the standard-cell flow (checked by :func:`shiftpsn.synth.tools.check_liberty`).
    clock_mhz : float
        Clock for OpenSTA (power, slack), ABC's delay target and nextpnr's ``--freq``.
    steps : int
        T of the op-count energy model.
    stimulus : numpy.ndarray
        (B, T, C) int64 inputs whose toggles drive the activity-based energy.
    activity : bool
        Run the standard-cell flow for the activity-based energy (always for ``asic``).
    seed : int
        nextpnr's placement seed.
    stimulus_desc : str
        Where the stimulus came from, for the report.
    switching : bool
        Simulate the ``asic`` netlist on the stimulus for ``energy_pj_per_step_switching``
        (:mod:`shiftpsn.synth.switching`; only with the asic target).
    switching_beats : int
        At most this many beats of the stimulus are simulated (whole sequences, the first ones).
    switching_glitches : bool
        Also simulate with the cell models' delays (glitches counted; ``energy.switching.with_glitches``).
    """
    targets: tuple
    liberty: Path
    clock_mhz: float = 100.0
    steps: int = 8
    stimulus: np.ndarray | None = None
    activity: bool = True
    seed: int = 1
    stimulus_desc: str = "none"
    switching: bool = True
    switching_beats: int = 2048
    switching_glitches: bool = True


def stage_verilog(spec: CoreSpec, workdir: Path, verilog: Path | None = None,
               top: str | None = None) -> tuple[Path, str, dict | None]:
    """The core's Verilog in ``workdir/core.v``: generated from ``spec``, or a copy of ``verilog``.
    Returns (path, top module, CORE.json dict or None for a given file)."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "core.v"
    if verilog is not None:
        top = top or spec.name
        if not is_verilog_name(top):
            raise UsageError(f"--top {top!r} is not a Verilog module name")
        text = read_text(verilog, "Verilog", limit=MAX_VERILOG_BYTES)
        if not re.search(rf"^\s*module\s+\\?{re.escape(top)}(?=[\s(;#])", text, flags=re.M):
            found = re.findall(r"^\s*module\s+\\?([\w$.]+)", text, flags=re.M)
            raise UsageError(f"{verilog} has no module {top!r} (modules: {', '.join(found[:5]) or 'none'}); "
                             f"give --top")
        atomic_write(path, text)
        return path, top, None
    from shiftpsn.hdl.generate import write_verilog  # amaranth only when generating

    info = write_verilog(spec, path, top)
    return path, info["top"], info


def synthesize(spec: CoreSpec, opts: Options, workdir: Path, progress: Progress, label: str = "core",
               verilog: Path | None = None, top: str | None = None) -> dict[str, dict]:
    """Synthesize ``spec`` for each of ``opts.targets`` in ``workdir``; return target -> report entry."""
    tag = f"{label} ({spec.arith}, C={spec.channels} k={spec.order} d={spec.dilation} " \
          f"W={spec.input_width}, {spec.weights})"
    src, top, info = stage_verilog(spec, workdir, verilog, top)
    progress.say(f"{tag}: Verilog ready ({src.stat().st_size // 1024} KB)")
    lib = liberty.read(opts.liberty)
    asic = None
    if "asic" in opts.targets or opts.activity:
        config_bits = None if info is None else (info.get("registers") or {}).get("config")
        asic = _asic(spec, opts, lib, workdir / "asic", src, top, progress, tag, config_bits)
    sw = None
    if "asic" in opts.targets and opts.switching and opts.stimulus is not None and asic is not None:
        sw = _switching(spec, opts, workdir, top, progress, tag)
    model = energy.model(spec.arith, opts.steps, spec.order)
    entries = {}
    for target in opts.targets:
        entry = {"target": target, "top": top, "spec": spec.to_dict(), "storage_bits": spec.storage_bits,
                 "registers": None if info is None else info.get("registers"),
                 "latency": None if info is None else info.get("latency")}
        try:
            entry.update(_target(target, spec, opts, workdir, src, top, progress, tag))
        except UsageError as e:
            # one target's tool failure (e.g. a Yosys assertion) must not lose the other targets
            entry.update({k: None for k in ("cells", "luts", "ffs", "area_um2", "fmax_mhz", "fmax_source")})
            entry["error"] = str(e)
            progress.say(f"{tag}: {target} FAILED: {e}")
        entry.update(_layer_keys(spec, entry))
        if target == "asic" and "error" not in entry:
            entry.update(cells=asic["counts"]["cells"], ffs=asic["counts"]["ffs"],
                         cell_types=asic["counts"]["by_type"], fmax_mhz=asic["timing"]["fmax_mhz"],
                         fmax_source=f"OpenSTA critical path, {Path(opts.liberty).name}",
                         timing=asic["timing"])
            entry.update(_area_keys(asic, spec))
        entry["energy_pj_per_step_model"] = model["pj_per_step"]
        entry["energy_pj_per_step_activity"] = None
        entry["energy"] = {"model": model, "activity": None}
        if asic is not None and asic["power"] is not None:
            entry["energy_pj_per_step_activity"] = asic["pj_per_step"]
            entry["energy"]["activity"] = _activity_details(asic, spec, opts)
        entry["energy_pj_per_step_switching"] = None
        entry["energy"]["switching"] = None
        if target == "asic" and sw is not None:
            entry["energy_pj_per_step_switching"] = sw.get("pj_per_step")
            entry["energy"]["switching"] = sw
        entry.update(_per_synop_and_sample(spec, opts, entry))
        entries[target] = entry
    return entries


def synthesize_with_baseline(spec: CoreSpec, opts: Options, out: Path, baseline: str | None,
                             progress: Progress, verilog: Path | None = None,
                             top: str | None = None) -> dict[str, dict]:
    """Target -> report object for ``spec`` (work in out/core) and, with ``baseline``, its mac
    variant (work in out/baseline)."""
    core = synthesize(spec, opts, out / "core", progress, "core", verilog, top)
    base = None
    if baseline == "mac":
        base = synthesize(spec.replace(arith="mac"), opts, out / "baseline", progress, "baseline")
    options = {"clock_mhz": opts.clock_mhz, "steps": opts.steps, "liberty": str(opts.liberty),
               "stimulus": opts.stimulus_desc, "seed": opts.seed, "activity": opts.activity}
    reports = {}
    for target in opts.targets:
        used = {target, "asic"} | ({"switching"} if target == "asic" else set())  # this target's work dirs
        logs = sorted(str(p.relative_to(out)) for sub in ("core", "baseline")
                      for p in (out / sub).glob("*/*.log") if p.parent.name in used)
        reports[target] = report.build(core[target], None if base is None else base[target], options, logs)
    return reports


#: Bits of one block RAM by cell type (iCE40 EBR and SPRAM, ECP5 DP16KD, Xilinx RAMB18 / RAMB36).
BRAM_BITS = {"SB_RAM40_4K": 4096, "SB_SPRAM256KA": 262144, "DP16KD": 18432, "RAMB18E1": 18432,
             "RAMB36E1": 36864, "RAMB18E2": 18432, "RAMB36E2": 36864}


def _layer_keys(spec: CoreSpec, entry: dict) -> dict:
    """Neurons, block RAM and throughput figures of a report entry (null where unknown):
    ``neurons`` (P*C), ``lanes``, ``cycles_per_step``, ``history_bits`` (the engine's history
    memory, 0 for the parallel core), ``bram_bits`` (capacity of the block RAMs used),
    ``luts_per_neuron``, ``device`` (the part nextpnr placed on), ``neuron_steps_per_s`` = lanes x Fmax and
    ``step_rate_hz`` = Fmax / cycles_per_step."""
    types = entry.get("cell_types") or {}
    fmax = entry.get("fmax_mhz")
    luts = entry.get("luts")
    return {
        "neurons": spec.neurons, "lanes": spec.lanes, "cycles_per_step": spec.cycles_per_step,
        "history_bits": 0 if spec.parallel else spec.history_bits,
        "bram_bits": sum(n * BRAM_BITS[t] for t, n in types.items() if t in BRAM_BITS) if types else None,
        "luts_per_neuron": None if luts is None else luts / spec.neurons,
        "device": (entry.get("pnr") or {}).get("device"),
        "neuron_steps_per_s": None if fmax is None else spec.lanes * fmax * 1e6,
        "step_rate_hz": None if fmax is None else fmax * 1e6 / spec.cycles_per_step,
    }


def _per_synop_and_sample(spec: CoreSpec, opts: Options, entry: dict) -> dict:
    """``energy_pj_per_synop_<kind>`` (a synaptic operation is one tap term of one neuron-time-step:
    ``order`` per neuron-time-step, docs/CONTRACT.md) and ``energy_pj_per_sample_<kind>`` (one
    sequence of T steps of all P*C neurons: the switching figure's own T, the model's ``opts.steps``,
    OpenSTA's the stimulus' T) for kind = model, activity, switching."""
    sw = (entry["energy"].get("switching") or {})
    T = {"model": opts.steps, "activity": None if opts.stimulus is None else opts.stimulus.shape[1],
         "switching": (sw.get("stimulus") or {}).get("steps")}
    out = {}
    for kind in ("model", "activity", "switching"):
        v = entry.get(f"energy_pj_per_step_{kind}")
        out[f"energy_pj_per_synop_{kind}"] = None if v is None else v / spec.order
        out[f"energy_pj_per_sample_{kind}"] = None if v is None or not T[kind] else v * spec.neurons * T[kind]
    return out


def _switching(spec: CoreSpec, opts: Options, workdir: Path, top: str, progress: Progress, tag: str) -> dict:
    """Gate-level switching energy of ``workdir/asic/netlist.v`` on the stimulus (at most
    ``opts.switching_beats`` beats, whole sequences), in ``workdir/switching``. A failure (a missing
    simulator or cell models, a testbench that does not finish) is kept as ``{"error": ...}`` and the
    figure is null; the other figures stand."""
    x = opts.stimulus
    per_seq = x.shape[1] * spec.beats_per_step
    keep = max(1, min(x.shape[0], opts.switching_beats // max(1, per_seq)))
    try:
        sw = switching.core_switching(spec, workdir / "asic" / "netlist.v", opts.liberty, x[:keep],
                                      opts.clock_mhz, workdir / "switching", progress,
                                      step=f"{tag}: gate-level sim", top=top,
                                      glitches=opts.switching_glitches)
    except UsageError as e:
        progress.say(f"{tag}: switching energy FAILED: {e}")
        return {"pj_per_step": None, "error": str(e)}
    sw["stimulus"] = {"sequences": int(keep), "of_sequences": int(x.shape[0]), "steps": int(x.shape[1]),
                      "source": opts.stimulus_desc}
    if not sw["outputs_match_golden"]:
        progress.say(f"{tag}: WARNING: gate-level outputs differ from the golden model: "
                     f"{sw['output_mismatch']}")
    progress.say(f"{tag}: switching energy {sw['pj_per_step']:.4g} pJ / neuron-step "
                 f"({sw['cycles']} cycles simulated)")
    return sw


def _activity_details(asic: dict, spec: CoreSpec, opts: Options) -> dict:
    return {"pj_per_step": asic["pj_per_step"], "clock_mhz": opts.clock_mhz, "power_w": asic["power"],
            "liberty": str(opts.liberty), "area_um2": asic["area"],
            "stimulus": activity.summary(spec, opts.stimulus),
            "includes": "OpenSTA report_power of the whole standard-cell netlist (flip-flops incl. "
                        "their clock pins, logic, leakage) at clock_mhz with one beat per cycle; "
                        "no clock tree, wires beyond the liberty's pin capacitances, or I/O pads",
            "config_held": asic["held_config_bits"],
            "caveat": _caveat(spec, asic["held_config_bits"])}


def _caveat(spec: CoreSpec, held: int | None) -> str:
    common = ("OpenSTA propagates toggle rates and duties probabilistically from the input ports "
              "(no VCD reader): no glitches, inputs taken as independent")
    if spec.weights == "constant":
        return common
    if held:
        return (common + f"; the {held} configuration register bits (runtime weights) are held at "
                "this spec's loaded values (steady state after configuration, config writes not "
                "priced): their outputs drive the logic from ports with activity 0 and duty 0/1 "
                "(netlist_power.v, sta_power.tcl), the flip-flops keep their clock power")
    return (common + "; the configuration registers (runtime weights) were not held at loaded "
            "values (Verilog not generated from the spec): OpenSTA prices them as all-zero registers, "
            "not this spec's weights")


# ----------------------------------------------------------------------------- per target
def _target(t, spec, opts, workdir, src, top, progress, tag) -> dict:
    keys = {"cells": None, "luts": None, "ffs": None, "area_um2": None, "fmax_mhz": None,
            "fmax_source": None}
    if t == "asic":
        return keys
    wd = workdir / t
    wd.mkdir(parents=True, exist_ok=True)
    sources = [src]
    module = None
    fields = {"top": top}
    if t in yosys.PNR_TARGETS:
        (wd / "harness.v").write_text(harness.harness_verilog(spec, top))
        sources.append(wd / "harness.v")
        fields = {"top": harness.HARNESS_TOP, "core": top}
        module = top
    yosys.run_script(t, wd, progress, step=f"{tag}: yosys {t}", read=yosys.read_commands(sources, wd),
                     **fields)
    counts = yosys.summarize(t, yosys.load_stat(wd / "stat.json", module))
    keys.update({k: v for k, v in counts.items() if k != "by_type"})
    keys["cell_types"] = counts["by_type"]
    if t == "generic":
        keys["transistors"] = yosys.cmos_transistors(yosys.load_stat(wd / "stat_cmos.json"))
    if t in yosys.PNR_TARGETS:
        pnr = nextpnr.place_and_route(t, wd, counts, opts.clock_mhz, opts.seed, progress,
                                      step=f"{tag}: nextpnr {t}")
        keys["fmax_mhz"] = pnr["fmax_mhz"]
        keys["fmax_source"] = nextpnr.fmax_source(pnr)
        keys["pnr"] = pnr
        if pnr["note"]:
            progress.say(f"{tag}: nextpnr {t}: {pnr['note']}")
    return keys


def _asic(spec, opts, lib, wd, src, top, progress, tag, config_bits=None) -> dict:
    """Standard-cell flow. ``config_bits``: configuration flip-flops of a generated runtime core
    (CORE.json ``registers.config``), held at their loaded values for the power (None: not held)."""
    period_ns = 1e3 / opts.clock_mhz
    yosys.run_script("asic", wd, progress, step=f"{tag}: yosys asic", read=yosys.read_commands([src], wd),
                     top=top, liberty=yosys.yosys_path(opts.liberty, wd), period_ps=f"{period_ns * 1e3:.0f}")
    stat = yosys.load_stat(wd / "stat.json")
    counts = yosys.summarize("asic", stat, lib.sequential)
    area, seq_area = yosys.area(stat)
    (wd / "netlist.v").write_text(netlist.clean((wd / "netlist_raw.v").read_text()))
    acts = activity.port_activities(spec, opts.stimulus) if opts.stimulus is not None else None
    power_netlist, held = _hold_config(spec, wd, config_bits) if acts is not None else (None, None)
    res = sta.run(opts.liberty, wd / "netlist.v", top, period_ns, lib.time_unit_ns, acts, wd, progress,
                  step=f"{tag}: opensta", power_netlist=power_netlist, held=held)
    dff_area = _ff_cell_area(counts["by_type"], lib)
    pj = None if res["power"] is None else energy.activity_pj_per_step(
        res["power"]["total"]["total"], opts.clock_mhz, spec.lanes)  # neuron-steps per cycle
    return {"counts": counts, "area": area, "sequential_area": seq_area, "dff_area": dff_area,
            "timing": res["timing"], "power": res["power"], "pj_per_step": pj,
            "held_config_bits": None if held is None else len(held)}


def _hold_config(spec: CoreSpec, wd: Path, config_bits: int | None) -> tuple[Path | None, dict | None]:
    """``netlist_power.v``: the netlist with the configuration registers' outputs on ports held at
    the loaded weights (:mod:`shiftpsn.synth.config_state`), and port -> value; (None, None) when the core
    has no configuration registers or is not generated from ``spec``."""
    if spec.weights != "runtime" or not config_bits:
        return None, None
    text, held = netlist.hold_flop_outputs((wd / "netlist.v").read_text(),
                                           lambda net: config_state.net_value(spec, net), "cfgq__")
    if len(held) != config_bits:
        raise UsageError(f"found {len(held)} configuration flip-flops in {wd / 'netlist.v'}, the core "
                         f"has {config_bits}: cannot hold them at the loaded weights")
    path = wd / "netlist_power.v"
    path.write_text(text)
    return path, held


def _ff_cell_area(by_type: dict, lib) -> float | None:
    """Area of the flip-flop cell used most (the one the delay lines are built from)."""
    ffs = [(n, t) for t, n in by_type.items() if t in lib.sequential]
    return lib.cells[max(ffs)[1]].area if ffs else None


def _area_keys(asic: dict, spec: CoreSpec) -> dict:
    area, seq = asic["area"], asic["sequential_area"]
    storage = None if asic["dff_area"] is None else spec.storage_bits * asic["dff_area"]
    return {"area_um2": area, "sequential_area_um2": seq,
            "ff_area_share": None if not area or seq is None else seq / area,
            "storage_area_um2": storage,
            "storage_area_share": None if not area or storage is None else storage / area}
