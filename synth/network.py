"""A whole network's Verilog (``shiftpsn.hdl.network``) through Yosys, nextpnr and OpenSTA.

:func:`synthesize_network` takes the network's Verilog and its NETWORK.json description and returns
one entry per target, leaving every tool's script and log in its work directory::

    WORK/ice40/     harness.v (synth/harness.py around the network's ports), ice40.ys, yosys.log,
                    stat.json, pnr.json, nextpnr.log, nextpnr_report.json: LUTs, flip-flops, block RAM,
                    DSPs of the network module alone; the smallest iCE40 it is placed on (the UP5K
                    first, synth/nextpnr.py) and its Fmax
    WORK/ecp5/      the same for ECP5
    WORK/asic/      asic.ys, yosys.log, stat.json, netlist.v, sta.tcl, sta.log: area, cells and the
                    OpenSTA critical path on the liberty; with ``activities``, OpenSTA's power

Entry keys: ``target``, ``top``, ``cells``, ``luts``, ``ffs``, ``carry``, ``bram``, ``dsp``,
``cell_types``, ``device``, ``fmax_mhz``, ``fmax_source``, ``area_um2``, ``power_w`` (asic with
activities: OpenSTA's total), ``pnr`` and ``error`` (a tool's failure, the other targets stand).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shiftpsn.base.errors import UsageError

from . import harness, liberty, netlist, nextpnr, sta, yosys
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
                       activities: dict | None = None, label: str = "network") -> dict[str, dict]:
    """Target -> entry (module docstring) for the network in ``verilog`` (top ``desc["top"]``)."""
    top = desc["top"]
    out = {}
    for target in targets:
        entry = {"target": target, "top": top}
        try:
            if target == "asic":
                if liberty_path is None:
                    raise UsageError("the asic target needs a liberty")
                entry.update(_asic(verilog, top, workdir / "asic", progress, label, liberty_path, clock_mhz,
                                   activities))
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
                fmax_source=f"nextpnr {pnr['device']}" if pnr["device"] else None)
    if pnr["note"]:
        progress.say(f"{label}: nextpnr {target}: {pnr['note']}")
    return keys


def _asic(src, top, wd: Path, progress, label, liberty_path, clock_mhz, activities) -> dict:
    wd.mkdir(parents=True, exist_ok=True)
    lib = liberty.read(liberty_path)
    period_ns = 1e3 / clock_mhz
    yosys.run_script("asic", wd, progress, step=f"{label}: yosys asic", read=yosys.read_commands([Path(src)], wd),
                     top=top, liberty=yosys.yosys_path(liberty_path, wd), period_ps=f"{period_ns * 1e3:.0f}")
    stat = yosys.load_stat(wd / "stat.json")
    counts = yosys.summarize("asic", stat, lib.sequential)
    area, seq_area = yosys.area(stat)
    (wd / "netlist.v").write_text(netlist.clean((wd / "netlist_raw.v").read_text()))
    res = sta.run(liberty_path, wd / "netlist.v", top, period_ns, lib.time_unit_ns, activities, wd, progress,
                  step=f"{label}: opensta")
    power = res["power"]
    return {"cells": counts["cells"], "ffs": counts["ffs"], "cell_types": counts["by_type"], "area_um2": area,
            "sequential_area_um2": seq_area, "fmax_mhz": res["timing"]["fmax_mhz"],
            "fmax_source": f"OpenSTA critical path, {Path(liberty_path).name}", "timing": res["timing"],
            "power_w": None if power is None else power["total"]["total"], "power": power,
            "clock_mhz": clock_mhz}
