"""Static timing and power of a standard-cell netlist with OpenSTA (``sta``, Debian opensta 2.0.17).

One Tcl script per run (kept as ``sta.tcl`` with its log ``sta.log``): read the liberty and the
cleaned netlist (:mod:`synth.netlist`), one ideal clock on port ``clk`` at the requested period, input
and output delays of zero (the core's ports are taken to be driven by and to feed registers), then

* ``report_checks -path_delay max``: the critical path; Fmax = 1 / (period - worst slack);
* ``set_power_activity``: every input port's toggles per clock cycle and duty (fraction of cycles at
  1), measured on the stimulus (:mod:`synth.activity`); OpenSTA propagates them through the logic
  (it has no VCD reader), then ``report_power``: internal, switching and leakage power in watts.

Times are in the liberty's time unit (OpenSTA reports in it); :func:`run` converts to ns.
"""

from __future__ import annotations

import re
from pathlib import Path

from shiftpsn.errors import UsageError

from .tools import Progress, find_tool, run_tool

_NUM = r"(-?[0-9.]+(?:[eE][-+]?[0-9]+)?)"
_POWER_ROW = re.compile(rf"^(Sequential|Combinational|Macro|Pad|Total)\s+{_NUM}\s+{_NUM}\s+{_NUM}\s+{_NUM}", re.M)


def tcl_script(liberty: Path, netlist: Path, top: str, period: float,
               activities: dict[str, tuple[float, float]] | None) -> str:
    """The OpenSTA script. ``period`` is in the liberty's time unit; ``activities`` maps an input
    port bit (``name`` or ``name[i]``) to (toggles per cycle, duty); None skips the power report."""
    lines = [f"read_liberty {{{liberty}}}",
             f"read_verilog {{{netlist}}}",
             f"link_design {top}",
             f"create_clock -name clk -period {period:.6g} [get_ports clk]",
             "set_input_delay 0 -clock clk [delete_from_list [all_inputs] [get_ports clk]]",
             "set_output_delay 0 -clock clk [all_outputs]",
             "puts \"== timing\"",
             "report_checks -path_delay max -digits 4"]
    if activities is not None:
        lines += ["puts \"== power\"",
                  "set_power_activity -input -activity 0 -duty 0"]
        for port, (act, duty) in sorted(activities.items()):
            lines.append(f"set_power_activity -input_ports [get_ports {{{port}}}] "
                         f"-activity {act:.6g} -duty {duty:.6g}")
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
        step: str = "opensta") -> dict:
    """Run OpenSTA; return ``{"timing": {... in ns, "fmax_mhz"}, "power": parse_power or None}``."""
    sta = find_tool("sta")
    tcl = workdir / "sta.tcl"
    tcl.write_text(tcl_script(Path(liberty).resolve(), Path(netlist).resolve(), top,
                              period_ns / time_unit_ns, activities))
    text = run_tool([sta, "-no_splash", tcl.name], cwd=workdir, log=workdir / "sta.log",
                    step=step, progress=progress)
    errors = [ln for ln in text.splitlines() if ln.startswith("Error:")]
    timing_text, _, power_text = text.partition("== power")
    try:
        if errors:
            raise ValueError(errors[0])
        t = parse_timing(timing_text)
        power = parse_power(power_text) if activities is not None else None
    except ValueError as e:
        raise UsageError(f"OpenSTA on {netlist.name}: {e} [log: {workdir / 'sta.log'}]") from None
    timing = {k: (v * time_unit_ns if isinstance(v, float) else v) for k, v in t.items()}
    min_period = period_ns - timing["slack"]
    timing["min_period_ns"] = min_period
    timing["fmax_mhz"] = 1e3 / min_period
    return {"timing": timing, "power": power}
