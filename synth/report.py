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
``storage_bits``                history bits P*C*(k-1)*d*input_width (delay lines or memory)
``neurons``, ``lanes``          P*C neurons; neurons computed per cycle
``cycles_per_step``             clock cycles per time step (P*C / lanes)
``history_bits``                the engine's history memory bits (0 for the parallel core)
``bram_bits``                   capacity of the block RAMs used (FPGA targets)
``luts_per_neuron``             luts / neurons
``device``                      ice40/ecp5: the part nextpnr placed on, the smallest that fits (e.g.
                                ``ECP5 LFE5U-25F (CABGA381)``; its nextpnr arguments in ``pnr.device_args``)
``neuron_steps_per_s``          lanes x Fmax
``step_rate_hz``                Fmax / cycles_per_step: time steps per second
``storage_area_um2``            asic: storage_bits * flip-flop cell area; ``storage_area_share``
``fmax_mhz``                    ice40/ecp5: nextpnr after routing; asic: OpenSTA 1/(period - slack)
``fmax_source``                 where fmax_mhz comes from
``energy_pj_per_step_model``    op-count model, pJ per neuron-time-step (synth/energy.py)
``energy_pj_per_step_activity`` OpenSTA power / f_clk / C, pJ per neuron-time-step
``energy_pj_per_step_switching`` asic: gate-level simulation of the mapped netlist on the stimulus, every
                                net's transitions counted: (internal + 1/2 C V^2 + leakage) / neuron-time-steps
                                (synth/switching.py); null for other targets or when it failed
``energy_pj_per_synop_<kind>``  kind = model, activity, switching: the same per synaptic operation (one tap
                                term of one neuron-time-step: energy_pj_per_step_<kind> / order)
``energy_pj_per_sample_<kind>`` the same per sample: one sequence of T steps of all P*C neurons
                                (energy_pj_per_step_<kind> x P*C x T, T of that figure's stimulus / model)
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

from shiftpsn.base.paths import atomic_write
import math
from pathlib import Path

#: Figures compared between the core and its baseline (ratio = baseline / core).
RATIO_KEYS = ("cells", "luts", "ffs", "carry", "dsp", "transistors", "area_um2", "fmax_mhz",
              "energy_pj_per_step_model", "energy_pj_per_step_activity", "energy_pj_per_step_switching")

#: Rows of report.md: (key, label, format).
_ROWS = [("cells", "cells", "{:,.0f}"), ("luts", "LUTs", "{:,.0f}"), ("ffs", "flip-flops", "{:,.0f}"),
         ("carry", "carry cells", "{:,.0f}"), ("dsp", "DSP blocks", "{:,.0f}"),
         ("bram", "block RAMs", "{:,.0f}"), ("srl", "SRLs", "{:,.0f}"),
         ("transistors", "transistors (cmos estimate)", "{:,.0f}"),
         ("area_um2", "area (um^2)", "{:,.0f}"), ("ff_area_share", "flip-flop share of area", "{:.1%}"),
         ("storage_area_share", "delay-line storage share of area", "{:.1%}"),
         ("storage_bits", "delay-line storage bits", "{:,.0f}"),
         ("bram_bits", "block RAM bits", "{:,.0f}"), ("neurons", "neurons", "{:,.0f}"),
         ("luts_per_neuron", "LUTs per neuron", "{:.3g}"), ("cycles_per_step", "cycles per time step", "{:,.0f}"),
         ("fmax_mhz", "Fmax (MHz)", "{:.1f}"),
         ("neuron_steps_per_s", "neuron-steps per second", "{:.3g}"), ("step_rate_hz", "time steps per second", "{:.3g}"),
         ("energy_pj_per_step_model", "energy model (pJ / neuron-step)", "{:.4g}"),
         ("energy_pj_per_step_activity", "energy activity (pJ / neuron-step)", "{:.4g}"),
         ("energy_pj_per_step_switching", "energy switching (pJ / neuron-step)", "{:.4g}"),
         ("energy_pj_per_synop_switching", "energy switching (pJ / synaptic op)", "{:.4g}"),
         ("energy_pj_per_sample_switching", "energy switching (pJ / sample of T steps)", "{:.4g}")]


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
    atomic_write(jpath, json.dumps(_finite(report), indent=1) + "\n")
    atomic_write(mpath, markdown(report))
    return jpath, mpath


def markdown(report: dict) -> str:
    """A readable table of a report (core, baseline and ratio columns when there is a baseline)."""
    spec = report["spec"]
    base = report.get("baseline")
    placed = [f"the {r['spec']['arith']} {role} on the {r['device']}" for r, role in ((report, "core"), (base, "baseline"))
              if r and r.get("device")]
    lines = [f"# shiftpsn synth: {report['target']}", "",
             f"Core `{report['top']}`: C={spec['channels']}, k={spec['order']}, d={spec['dilation']}, "
             f"input_width={spec['input_width']}, exponents [{spec['exp_min']}, {spec['exp_max']}], "
             f"weights {spec['weights']}, pipeline {spec['pipeline']}, arith {spec['arith']}"
             + (f", positions {spec['positions']}" if "positions" in spec else "")
             + (f", lanes {spec['lanes']}" if "lanes" in spec else "") + "."
             + (f" Placed: {', '.join(placed)}." if placed else ""), ""]
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
    lines += switching_markdown(report)
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


#: Rows of the switching breakdown: (key of breakdown_pj_per_step / by_kind_pj_per_step, label).
_SW_ROWS = [("breakdown", "flip_flops_and_clock", "flip-flops and clock"),
            ("breakdown", "combinational", "combinational datapath"),
            ("breakdown", "inputs", "input nets (load on the stream's driver)"),
            ("breakdown", "memories", "memories (mapped to flip-flops)"),
            ("sram", None, "memories as SRAM macros instead (per-access model, not in the total)"),
            ("clock", "net_switching", "of which clock net (1/2 C V^2, no clock tree)"),
            ("clock", "clk_pin_internal", "of which flip-flop CLK pins (internal)"),
            ("config", None, "of which configuration registers"),
            ("gate", None, "clock-gating the configuration registers would save"),
            ("kind", "internal", "internal (liberty tables)"),
            ("kind", "switching_pins", "1/2 C V^2, pin capacitance"),
            ("kind", "switching_wire", "1/2 C V^2, wire-load model"),
            ("kind", "leakage", "leakage")]


def switching_markdown(report: dict) -> list[str]:
    """The switching-energy section of report.md: breakdown (core and baseline), the three energies
    side by side and why OpenSTA's differs. Empty when the report has no switching figure."""
    sw = (report.get("energy") or {}).get("switching")
    if not sw:
        return []
    if sw.get("pj_per_step") is None:
        return ["", f"Switching energy: not computed ({sw.get('error', 'unknown reason')})."]
    base = report.get("baseline") or {}
    bsw = (base.get("energy") or {}).get("switching") or {}
    entries = [sw] + ([bsw] if bsw.get("pj_per_step") is not None else [])

    def pick(e, group, key):
        if group == "breakdown":
            return e["breakdown_pj_per_step"].get(key)
        if group == "clock":
            return e["clock_pj_per_step"].get(key)
        if group == "config":
            return e.get("config_registers_pj_per_step")
        if group == "gate":
            return (e.get("clock_gating_potential_pj_per_step") or {}).get("config_registers")
        if group == "sram":
            return ((e.get("memories") or {}).get("sram_model") or {}).get("pj_per_step")
        return e["by_kind_pj_per_step"].get(key)

    head = "| pJ / neuron-step | " + " | ".join(
        f"{x['spec']['arith']} core" for x in [report] + ([base] if len(entries) > 1 else [])) + " |"
    lines = ["", "Gate-level switching energy (synth/switching.py): the mapped netlist simulated in Icarus "
             f"with the liberty's cell models on the stimulus ({sw['beats']} beats, {sw['cycles']} cycles at "
             f"{sw['clock_mhz']:g} MHz, {sw['voltage']:g} V); outputs "
             + ("equal the golden model" if sw.get("outputs_match_golden") else
                f"DIFFER from the golden model ({sw.get('output_mismatch')})") + ".", "",
             head + (" mac / shift |" if len(entries) > 1 else ""), "|---|" + "---:|" * (len(entries) + (len(entries) > 1))]

    def row(label, vals, bold=False):
        cells = [_fmt(v, "**{:.4g}**" if bold else "{:.4g}") for v in vals]
        if len(vals) > 1:
            cells.append(_fmt(vals[1] / vals[0] if vals[0] and vals[1] is not None else None, "{:.2f}x"))
        return f"| {label} | " + " | ".join(cells) + " |"
    lines.append(row("**total**", [e["pj_per_step"] for e in entries], bold=True))
    for group, key, label in _SW_ROWS:
        vals = [pick(e, group, key) for e in entries]
        if any(v is not None for v in vals):
            lines.append(row(label, vals))
    lines.append(row("without the wire-load model", [e.get("pj_per_step_without_wires") for e in entries]))
    glitch = [(e.get("with_glitches") or {}).get("pj_per_step") for e in entries]
    if any(v is not None for v in glitch):
        lines.append(row("with glitches (cell-model delays, not the headline)", glitch))
    rows = [("op-count model (MF-PSN Table 9, 45 nm)", "energy_pj_per_step_model"),
            ("OpenSTA, input-port activity propagated", "energy_pj_per_step_activity"),
            ("gate-level switching", "energy_pj_per_step_switching")]
    if base:
        lines += ["", "| energy per neuron-step (pJ) | shift | mac | mac / shift |", "|---|---:|---:|---:|"]
        for label, key in rows:
            r = (report.get("ratio") or {}).get(key)
            lines.append(f"| {label} | {_fmt(report.get(key), '{:.4g}')} | {_fmt(base.get(key), '{:.4g}')} | "
                         f"{_fmt(r, '{:.2f}x')} |")
    lines += _ratio_reasons(report, base, sw, bsw)
    m = sw.get("model", {})
    lines += ["", "Why the figures differ: the op-count model prices arithmetic operations at 45 nm (a "
              "multiply 3.7 pJ, a shift 0.13 pJ) and nothing else: no registers, no clock, no delay "
              "lines. OpenSTA 2.0.17 propagates the input ports' toggle rates probabilistically (no VCD "
              "reader), taking every gate's inputs as independent, so it does not see the real internal "
              "activity of the adder trees; it leaves out the clock net and wires; and it prices each "
              "flip-flop CLK pin at its falling-edge table value on both clock edges (for OSU DFFPOSX1 "
              "0.111 pJ twice instead of 0.007 + 0.110 pJ per cycle), which makes flip-flops look "
              "dominant. The switching figure counts every net's real transitions in zero-delay "
              "simulation (no glitches; the with-glitches row repeats it with the cell models' delays) and "
              "prices them with the same liberty, plus a wire-load model of "
              f"{m.get('wire_pf_per_fanout', 0) * 1e3:g} fF per sink and the clock net's own capacitance. "
              "Flip-flop clock pins are paid every cycle in both (no clock gating, no clock tree)."]
    return lines


def _ratio_reasons(report: dict, base: dict, sw: dict, bsw: dict) -> list[str]:
    """A sentence on why the switching ratio mac / shift is below the op-count model's, from the
    breakdown (empty without a baseline or when it is not below)."""
    ratio = report.get("ratio") or {}
    r_sw, r_model = ratio.get("energy_pj_per_step_switching"), ratio.get("energy_pj_per_step_model")
    if not base or r_sw is None or r_model is None or r_sw >= r_model or not bsw:
        return []
    b0, b1 = sw["breakdown_pj_per_step"], bsw["breakdown_pj_per_step"]
    ff0 = b0["flip_flops_and_clock"] + b0.get("memories", 0.0)
    ff1 = b1["flip_flops_and_clock"] + b1.get("memories", 0.0)
    c0, c1 = b0["combinational"], b1["combinational"]
    cells = (base.get("cells") or 0) / report["cells"] if report.get("cells") else None
    return ["", f"Why mac / shift is {r_sw:.2f}x here, below the op-count model's {r_model:.2f}x: "
            f"(1) flip-flops and clock{' (with the memories)' if b0.get('memories') else ''} are "
            f"{ff0 / sw['pj_per_step']:.0%} of the {report['spec']['arith']} "
            f"core's switching energy and cost about the same in the mac core ({_fmt(ff1 / ff0 if ff0 else None, '{:.2f}x')}: "
            "the same delay lines, configuration and output registers, clocked every cycle), and the "
            "op-count model counts arithmetic only; (2) the combinational datapath is "
            f"{_fmt(c1 / c0 if c0 else None, '{:.2f}x')}, not the model's multiply-to-shift ratio: the mac core "
            f"has {_fmt(cells, '{:.2f}x')} the cells, but its nets toggle "
            f"{bsw['mean_toggles_per_net_per_cycle']:.2f} times per cycle against "
            f"{sw['mean_toggles_per_net_per_cycle']:.2f} (a multiplier by sign * 2^s keeps most partial "
            "products at zero), while the shift core's barrel shifters and sign logic switch too."]

