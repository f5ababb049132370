"""``report.json`` and ``report.md`` of ``shiftpsn synth``.

report.json (docs/CONTRACT.md section 4; null where a target has no such figure):

=============================== ==================================================================
key                             meaning
=============================== ==================================================================
``target``                      generic, ice40, ecp5, xilinx or asic
``spec``                        the core spec (CoreSpec.to_dict)
``top``                         the Verilog top module
``cells``                       cells after synthesis (target primitives; asic: liberty cells)
``luts``                        LUTs (ice40/ecp5: LUT4, xilinx: LUT1-6); null for generic / asic
``ffs``                         flip-flops (one bit each)
``carry``, ``dsp``, ``bram``    carry cells, DSP blocks, block RAMs (FPGA targets)
``srl``, ``lutram``, ``muxf``   Xilinx shift-register LUTs, LUT RAM, wide muxes (when counted)
``transistors``                 generic: ``stat -tech cmos`` transistor estimate
``cell_types``                  cell type -> count
``area_um2``                    asic: liberty cell area (no wiring); null for other targets
``sequential_area_um2``         asic: area of flip-flops; ``ff_area_share`` = it / area_um2
``storage_bits``                delay-line bits C*(k-1)*d*input_width
``storage_area_um2``            asic: storage_bits * flip-flop cell area; ``storage_area_share``
``fmax_mhz``                    ice40/ecp5: nextpnr after routing; asic: OpenSTA 1/(period - slack)
``fmax_source``                 where fmax_mhz comes from
``energy_pj_per_step_model``    op-count model, pJ per neuron-time-step (synth/energy.py)
``energy_pj_per_step_activity`` OpenSTA power / f_clk / C, pJ per neuron-time-step
``energy``                      both energies' details (Table 1/9 rows, power breakdown, stimulus)
``pnr``, ``timing``             nextpnr / OpenSTA details
``registers``, ``latency``      from the core's CORE.json
``baseline``                    (--baseline mac) the same keys for the multiplier core
``ratio``                       (--baseline mac) baseline / this core for each of RATIO_KEYS
``options``, ``logs``           clock, T, liberty, stimulus; the tool logs kept in the directory
``error``                       only when this target's tools failed (its figures are then null)
=============================== ==================================================================
"""

from __future__ import annotations

import json
import math
from pathlib import Path

#: Figures compared between the core and its baseline (ratio = baseline / core).
RATIO_KEYS = ("cells", "luts", "ffs", "carry", "dsp", "transistors", "area_um2", "fmax_mhz",
              "energy_pj_per_step_model", "energy_pj_per_step_activity")

#: Rows of report.md: (key, label, format).
_ROWS = [("cells", "cells", "{:,.0f}"), ("luts", "LUTs", "{:,.0f}"), ("ffs", "flip-flops", "{:,.0f}"),
         ("carry", "carry cells", "{:,.0f}"), ("dsp", "DSP blocks", "{:,.0f}"),
         ("bram", "block RAMs", "{:,.0f}"), ("srl", "SRLs", "{:,.0f}"),
         ("transistors", "transistors (cmos estimate)", "{:,.0f}"),
         ("area_um2", "area (um^2)", "{:,.0f}"), ("ff_area_share", "flip-flop share of area", "{:.1%}"),
         ("storage_area_share", "delay-line storage share of area", "{:.1%}"),
         ("storage_bits", "delay-line storage bits", "{:,.0f}"),
         ("fmax_mhz", "Fmax (MHz)", "{:.1f}"),
         ("energy_pj_per_step_model", "energy model (pJ / neuron-step)", "{:.4g}"),
         ("energy_pj_per_step_activity", "energy activity (pJ / neuron-step)", "{:.4g}")]


def ratios(core: dict, baseline: dict) -> dict:
    """baseline / core for each of :data:`RATIO_KEYS`; None where either is missing or core is 0."""
    out = {}
    for key in RATIO_KEYS:
        a, b = core.get(key), baseline.get(key)
        out[key] = (b / a) if (a not in (None, 0) and b is not None) else None
    return out


def build(core: dict, baseline: dict | None, options: dict, logs: list[str]) -> dict:
    """The report.json object: the core's entry, options, logs and (with a baseline) baseline/ratio."""
    report = dict(core)
    report["options"] = options
    report["logs"] = logs
    if baseline is not None:
        report["baseline"] = baseline
        report["ratio"] = ratios(core, baseline)
    return report


def write(report: dict, out_dir: Path) -> tuple[Path, Path]:
    """Write report.json and report.md into ``out_dir``."""
    jpath, mpath = out_dir / "report.json", out_dir / "report.md"
    jpath.write_text(json.dumps(_finite(report), indent=1) + "\n")
    mpath.write_text(markdown(report))
    return jpath, mpath


def markdown(report: dict) -> str:
    """A readable table of a report (core, baseline and ratio columns when there is a baseline)."""
    spec = report["spec"]
    base = report.get("baseline")
    lines = [f"# shiftpsn synth: {report['target']}", "",
             f"Core `{report['top']}`: C={spec['channels']}, k={spec['order']}, d={spec['dilation']}, "
             f"input_width={spec['input_width']}, exponents [{spec['exp_min']}, {spec['exp_max']}], "
             f"weights {spec['weights']}, pipeline {spec['pipeline']}, arith {spec['arith']}.", ""]
    head = f"| figure | {spec['arith']} core |"
    rule = "|---|---:|"
    if base:
        head += f" {base['spec']['arith']} baseline | baseline / core |"
        rule += "---:|---:|"
    lines += [head, rule]
    for key, label, fmt in _ROWS:
        vals = [report.get(key)] + ([base.get(key)] if base else [])
        if all(v is None for v in vals):
            continue
        row = f"| {label} | " + " | ".join(_fmt(v, fmt) for v in vals) + " |"
        if base:
            r = report["ratio"].get(key)
            row += f" {_fmt(r, '{:.2f}x')} |"
        lines.append(row)
    lines.append("")
    opts = report.get("options", {})
    lines.append(f"Fmax: {report.get('fmax_source') or 'not measured for this target'}. "
                 f"Clock {opts.get('clock_mhz')} MHz; energy model at T={opts.get('steps')} "
                 f"(MF-PSN Table 1/9, 45 nm op energies); activity energy from OpenSTA on "
                 f"{Path(str(opts.get('liberty'))).name} with the stimulus' input toggles "
                 f"({opts.get('stimulus')}).")
    for entry, name in ((report, "core"), (base, "baseline")):
        note = (entry or {}).get("pnr", {}) or {}
        if note.get("note"):
            lines.append(f"\nNote ({name}): {note['note']}")
        if (entry or {}).get("error"):
            lines.append(f"\nFAILED ({name}): {entry['error']}")
    m = report.get("energy", {}).get("model")
    if m:
        lines += ["", f"Op-count model, one neuron over T={m['T']} steps, k={m['k']} (pJ):", "",
                  "| neuron | ADD | MUL | SHIFT | pJ (paper: FP32 add/mul, FIX32 shift) | "
                  "pJ / step | pJ / step (INT8) |", "|---|---:|---:|---:|---:|---:|---:|"]
        for neuron, row in m["table"].items():
            ops = row["ops"]
            lines.append(f"| {neuron} | {ops['add']:g} | {ops['mul']:g} | {ops['shift']:g} | "
                         f"{row['pj_paper']:.4g} | {row['pj_per_step_paper']:.4g} | "
                         f"{row['pj_per_step_int8']:.4g} |")
    lines += ["", "Raw tool logs: " + ", ".join(f"`{p}`" for p in report.get("logs", [])), ""]
    return "\n".join(lines)


def _fmt(v, fmt: str) -> str:
    if v is None:
        return "-"
    return fmt.format(v)


def _finite(obj):
    """JSON has no inf/nan: write them as null."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj
