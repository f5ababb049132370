"""Static timing and power of a standard-cell netlist with OpenSTA (``sta``, Debian opensta 2.0.17).

One Tcl script per run (kept as ``sta.tcl`` with its log ``sta.log``): read the liberty and the
cleaned netlist (:mod:`shiftpsn.synth.netlist`), one ideal clock on port ``clk`` at the requested period, input
and output delays of zero (the core's ports are taken to be driven by and to feed registers), then

* ``report_checks -path_delay max``: the critical path; Fmax = 1 / (period - worst slack);
* ``set_power_activity``: every input port's toggles per clock cycle and duty (fraction of cycles at
  1), measured on the stimulus (:mod:`shiftpsn.synth.activity`); OpenSTA propagates them through the logic
  (it has no VCD reader), then ``report_power``: internal, switching and leakage power in watts.
  For a runtime-weight core the power runs on a second netlist whose configuration registers are
  held at their loaded values (:mod:`shiftpsn.synth.config_state`), in ``sta_power.tcl``.

Times are in the liberty's time unit (OpenSTA reports in it); :func:`run` converts to ns.
"""

from __future__ import annotations

import re
from pathlib import Path

from shiftpsn.base.errors import UsageError

from .tools import Progress, find_tool, run_tool

_NUM = r"(-?[0-9.]+(?:[eE][-+]?[0-9]+)?)"
_POWER_ROW = re.compile(rf"^(Sequential|Combinational|Macro|Pad|Total)\s+{_NUM}\s+{_NUM}\s+{_NUM}\s+{_NUM}", re.M)


def tcl_script(liberty: Path, netlist: Path, top: str, period: float,
               activities: dict[str, tuple[float, float]] | None,
               held: dict[str, int] | None = None, timing: bool = True) -> str:
    """The OpenSTA script. ``period`` is in the liberty's time unit; ``activities`` maps an input
    port bit (``name`` or ``name[i]``) to (toggles per cycle, duty); None skips the power report.
    ``held`` maps the ports that stand for held register outputs (:func:`shiftpsn.synth.netlist.
    hold_flop_outputs`) to their value: activity 0, duty 0 or 1. ``timing=False`` skips
    ``report_checks``."""
    lines = [f"read_liberty {{{liberty}}}",
             f"read_verilog {{{netlist}}}",
             f"link_design {top}",
             f"create_clock -name clk -period {period:.6g} [get_ports clk]",
             "set_input_delay 0 -clock clk [delete_from_list [all_inputs] [get_ports clk]]",
             "set_output_delay 0 -clock clk [all_outputs]"]
    if timing:
        lines += ["puts \"== timing\"", "report_checks -path_delay max -digits 4"]
    if activities is not None:
        lines += ["puts \"== power\"",
                  "set_power_activity -input -activity 0 -duty 0"]
        for port, (act, duty) in sorted(activities.items()):
            lines.append(f"set_power_activity -input_ports [get_ports {{{port}}}] "
                         f"-activity {act:.6g} -duty {duty:.6g}")
        for port, value in sorted((held or {}).items()):
            lines.append(f"set_power_activity -input_ports [get_ports {{{port}}}] -activity 0 -duty {value:d}")
        lines.append("report_power -digits 6")
    lines.append("exit")
    return "\n".join(lines) + "\n"


def parse_timing(text: str) -> dict:
    """Critical path of ``report_checks`` output: ``arrival``, ``required``, ``slack`` (report time
    unit), ``startpoint``, ``endpoint``. Raises ValueError when the report has no path."""
    m_arr = re.search(rf"^\s*{_NUM}\s+data arrival time", text, re.M)
    m_req = re.search(rf"^\s*{_NUM}\s+data required time", text, re.M)
    m_slack = re.search(rf"^\s*{_NUM}\s+slack \((MET|VIOLATED)\)", text, re.M)
    if not (m_arr and m_req and m_slack):
        raise ValueError("no timing path in OpenSTA's report")
    start = re.search(r"^Startpoint:\s*(\S+)", text, re.M)
    end = re.search(r"^Endpoint:\s*(\S+)", text, re.M)
    return {"arrival": float(m_arr.group(1)), "required": float(m_req.group(1)),
            "slack": float(m_slack.group(1)), "startpoint": start.group(1) if start else None,
            "endpoint": end.group(1) if end else None}


def parse_power(text: str) -> dict:
    """``report_power`` table: group -> {internal, switching, leakage, total} in watts.
    Raises ValueError when there is no Total row."""
    rows = {}
    for m in _POWER_ROW.finditer(text):
        rows[m.group(1).lower()] = {k: float(v) for k, v in
                                    zip(("internal", "switching", "leakage", "total"), m.groups()[1:])}
    if "total" not in rows:
        raise ValueError("no power table in OpenSTA's report")
    return rows


def run(liberty: Path, netlist: Path, top: str, period_ns: float, time_unit_ns: float,
        activities: dict | None, workdir: Path, progress: Progress | None = None,
        step: str = "opensta", power_netlist: Path | None = None,
        held: dict[str, int] | None = None) -> dict:
    """Run OpenSTA; return ``{"timing": {... in ns, "fmax_mhz"}, "power": parse_power or None}``.

    With ``power_netlist`` (``netlist`` with held register outputs on the ports ``held``, see
    :func:`shiftpsn.synth.netlist.hold_flop_outputs`), timing comes from ``netlist`` (``sta.tcl``) and power
    from ``power_netlist`` (``sta_power.tcl`` / ``sta_power.log``)."""
    liberty, period = Path(liberty).resolve(), period_ns / time_unit_ns
    split = power_netlist is not None and activities is not None
    text = _run(tcl_script(liberty, Path(netlist).resolve(), top, period, None if split else activities),
                netlist, workdir, "sta", step, progress)
    timing_text, _, power_text = text.partition("== power")
    try:
        t = parse_timing(timing_text)
        power = parse_power(power_text) if activities is not None and not split else None
    except ValueError as e:
        raise UsageError(f"OpenSTA on {netlist.name}: {e} [log: {workdir / 'sta.log'}]") from None
    if split:
        text = _run(tcl_script(liberty, Path(power_netlist).resolve(), top, period, activities, held,
                               timing=False), power_netlist, workdir, "sta_power", step + " power",
                    progress)
        try:
            power = parse_power(text.partition("== power")[2])
        except ValueError as e:
            raise UsageError(f"OpenSTA on {power_netlist.name}: {e} "
                             f"[log: {workdir / 'sta_power.log'}]") from None
    timing = {k: (v * time_unit_ns if isinstance(v, float) else v) for k, v in t.items()}
    min_period = period_ns - timing["slack"]
    timing["min_period_ns"] = min_period
    timing["fmax_mhz"] = 1e3 / min_period
    return {"timing": timing, "power": power}


def _run(script: str, netlist: Path, workdir: Path, name: str, step: str, progress) -> str:
    """Run one OpenSTA script (kept as ``name.tcl``, log ``name.log``); its output, or UsageError
    on the first ``Error:`` line."""
    tcl = workdir / f"{name}.tcl"
    tcl.write_text(script)
    text = run_tool([find_tool("sta"), "-no_splash", tcl.name], cwd=workdir, log=workdir / f"{name}.log",
                    step=step, progress=progress)
    errors = [ln for ln in text.splitlines() if ln.startswith("Error:")]
    if errors:
        raise UsageError(f"OpenSTA on {netlist.name}: {errors[0]} [log: {workdir / f'{name}.log'}]")
    return text
