"""Switching energy of a liberty-mapped netlist from gate-level simulation (``energy_pj_per_step_switching``).

The netlist of the asic flow (``WORK/asic/netlist.v``) runs in Icarus with the liberty's cell models on
the stimulus (:mod:`shiftpsn.synth.gatesim`: reset, runtime weights through the configuration port,
then one beat per cycle), every net's rising and falling transitions are counted in the window from
the first beat until the last output beat has left, and the energy of that window is::

    E = sum over nets n       (r_n + f_n) * 1/2 * C_n * V^2                      (switching)
      + sum over output pins  r * Eint_rise(C_n, slew) + f * Eint_fall(C_n, slew)  (internal, liberty)
      + sum over input pins with their own internal_power tables (flip-flop CLK and D pins)
                              r * Eint_rise(slew) + f * Eint_fall(slew)
      + sum over cells        leakage * cycles / f_clk                              (leakage)

and ``energy_pj_per_step_switching`` = E / (neuron-time-steps of the stimulus), the neuron-time-steps
being B*T*P*C.

* **Loads** C_n = the liberty ``capacitance`` of every input pin on the net + :data:`PORT_LOAD_PF` for
  an output port + the wire-load model :data:`WIRE_PF_PER_FANOUT` per sink (pin or port). The wire
  model is an assumption of this module, not a figure of the liberty (OSU 0.18 um ships no
  wire_load): 3 fF per sink is about 15 um of 0.18 um metal at 0.2 fF/um per sink. ``details`` reports
  the wire part apart (``switching_wire``), so the figure without wires is E - that part.
* **Slews**: a net driven by a cell gets its driver's ``rise_transition`` / ``fall_transition``
  (mean of the two, mean over the driver's timing arcs) at the net's load with input slew
  :data:`PORT_SLEW_NS`; nets driven by ports (inputs, and the ideal clock) have :data:`PORT_SLEW_NS`.
  Slews are not propagated further (one step).
* **Internal energy** of an output transition: the mean over the pin's ``internal_power`` groups
  (all related pins, all ``when`` conditions; the simulation does not say which input caused it) of
  the table at the net's load and the related input net's slew. Liberty tables are clamped to their
  characterised range. Internal energy units: capacitive_load_unit * voltage_unit^2 (pJ).
* **Clock**: an ideal clock net with no clock tree: it toggles twice per cycle and charges every
  flip-flop's CLK pin (+ the wire model per pin); every flip-flop's CLK pin internal energy is paid on
  every edge, whether or not its Q changes.
* **Leakage**: ``cell_leakage_power`` (state-independent) over the window.

Breakdown (``details["breakdown_pj_per_step"]``): ``flip_flops_and_clock`` (sequential cells' internal
energy and leakage, the switching of the nets they drive, and the clock net), ``combinational``
(the other cells and the nets they drive), ``inputs`` (the switching of the nets driven by the
core's input ports other than the clock: the load the core presents to whatever drives it), and
``memories``: the standard-cell flow has no SRAM macros (Yosys maps every memory to flip-flops and
multiplexers), so this is the simulated energy of the flip-flops of the neuron layers' memories (the
history, tap and threshold memories of the engine), with their share of the clock net (their read
multiplexers stay in ``combinational``); 0 for the parallel core. Which flip-flops those are, and which
are configuration registers, the design's name map says (``names`` of the description,
:mod:`shiftpsn.hdl.names`): a flip-flop whose Q net is one of the listed paths (or a bit of one). ``details["memories"]["sram_model"]`` prices the same accesses as SRAM macros instead
(:func:`memory_access_pj`, Horowitz ISSCC 2014 45 nm figures; :func:`sram_model`).

What it leaves out: glitches in the headline figure (zero-delay simulation counts functional
transitions only; datapaths with unbalanced paths add spurious ones, so E is a lower bound there;
``glitches=True`` repeats the run with the cell models' fixed delays, ``details["with_glitches"]``,
pricing each glitch as a full transition: an upper-side estimate), a clock tree (buffers), wires
beyond the model, I/O pads, state-dependent leakage.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from shiftpsn.base import payload, ports
from shiftpsn.base.spec import CoreSpec
from shiftpsn.base.stimulus import to_beats

from . import gatesim, libpower
from .gatemap import map_to_liberty  # noqa: F401  (where the netlists this module prices come from)
from .tools import Progress

#: Wire-load model: pF per sink (pin or port) of a net (assumption: ~15 um of 0.18 um wire per sink).
WIRE_PF_PER_FANOUT = 0.003
#: Load of an output port (pF): the core's outputs are taken to feed one register's D pin (as in
#: the OpenSTA flow, where outputs are register-bound); DFFPOSX1 D of OSU 0.18 um is 0.0088 pF.
PORT_LOAD_PF = 0.0088
#: Transition time of nets driven by ports (data inputs, the ideal clock) and the input slew of the
#: one-step slew estimate, ns.
PORT_SLEW_NS = 0.1

#: Per-access energies of SRAM macros, (capacity in bits, pJ per 64-bit access): Horowitz,
#: "Computing's energy problem", ISSCC 2014 (45 nm): 8 KB 10 pJ, 32 KB 20 pJ, 1 MB 100 pJ.
SRAM_ACCESS_PJ_64B = ((8 * 8192, 10.0), (32 * 8192, 20.0), (1024 * 8192, 100.0))


def memory_access_pj(words: int, width: int) -> float:
    """Per-access energy (pJ) of a ``words`` x ``width`` SRAM: Horowitz' 45 nm 64-bit figures
    (:data:`SRAM_ACCESS_PJ_64B`), interpolated in log capacity, below 8 KB scaled with the square root
    of the capacity (the trend of the three figures: 4x the bits, 2x the energy), clamped above 1 MB,
    and scaled by width / 64. A documented model for memories kept as macros, not a measurement."""
    bits = max(1, words * width)
    (c0, e0) = SRAM_ACCESS_PJ_64B[0]
    if bits < c0:
        pj = e0 * math.sqrt(bits / c0)
    else:
        caps = [math.log(c) for c, _ in SRAM_ACCESS_PJ_64B]
        pj = float(np.interp(math.log(bits), caps, [e for _, e in SRAM_ACCESS_PJ_64B]))
    return pj * width / 64


def sram_model(layer) -> dict | None:
    """Per-access SRAM estimate of a neuron layer's memories (the layer protocol's ``memories()``: the
    psn engine reads and writes a lane's history word and reads a taps word and a threshold per
    neuron-time-step, four accesses; a time-multiplexed lif layer reads and writes a membrane and reads a
    threshold). None when the layer has no memories (a parallel core). ``parts`` gives each memory's share."""
    mems = layer.memories()
    if not mems:
        return None
    parts = {name: {"words": w, "width": b, "accesses_per_step": n, "access_pj": memory_access_pj(w, b),
                    "pj_per_step": n * memory_access_pj(w, b)}
             for name, (w, b, n) in mems.items()}
    return {"pj_per_step": sum(p["pj_per_step"] for p in parts.values()), "parts": parts,
            "accesses_per_step": sum(p["accesses_per_step"] for p in parts.values()),
            "source": "Horowitz, ISSCC 2014, 45 nm SRAM (8 KB 10 pJ, 32 KB 20 pJ, 1 MB 100 pJ per 64-bit access), "
                      "synth/switching.py memory_access_pj"}


def cell_models_for(liberty: Path) -> Path:
    """The Verilog cell models shipped beside a liberty (``X.lib`` -> ``X.v``)."""
    return Path(liberty).with_suffix(".v")


# ----------------------------------------------------------------------------- energy of counts
def net_loads(nl: gatesim.Netlist, lib: libpower.PowerLibrary) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """(pin capacitance, wire capacitance, fanout) per net and the driver (cell index, pin) or None."""
    pin_c = np.zeros(nl.n_nets)
    fanout = np.zeros(nl.n_nets, dtype=int)
    driver: list = [None] * nl.n_nets
    for ci, cell in enumerate(nl.cells):
        for pin, n, p in _connected_pins(cell, lib):
            if p.direction == "input":
                pin_c[n] += p.cap_pf
                fanout[n] += 1
            elif p.direction == "output":
                driver[n] = (ci, pin)
    for name, kind, _, _ in nl.ports:
        if kind != "output":
            continue
        for (pname, _), n in nl.port_bits.items():
            if pname == name and n is not None and n >= 0:
                pin_c[n] += PORT_LOAD_PF
                fanout[n] += 1
    return pin_c, WIRE_PF_PER_FANOUT * fanout, fanout, driver


def _connected_pins(cell: gatesim.Cell, lib: libpower.PowerLibrary):
    """``(pin name, net, liberty pin)`` of each of the cell's pins on a net that the liberty describes."""
    lc = lib.cell(cell.type)
    for pin, n in cell.pins.items():
        if n >= 0 and pin in lc.pins:
            yield pin, n, lc.pins[pin]


def _mean(vals):
    vals = [v for v in vals if v is not None]
    return sum(vals) / len(vals) if vals else 0.0


def energy(nl: gatesim.Netlist, lib: libpower.PowerLibrary, rises, falls, cycles: int, period_ns: float,
           clock_net: int | None = None,
           tag_of_cell=None) -> dict:
    """The window's energy in pJ from per-net transition counts (see the module docstring).

    Returns ``total``, ``by_kind`` (internal, switching_pins, switching_wire, leakage),
    ``groups`` (flip_flops_and_clock, combinational, inputs), ``clock`` (clock net switching + CLK
    pin internal energy), ``tags`` (``tag_of_cell(cell) -> str or None``: that tag's cells' energy
    incl. the nets they drive), and ``nets`` / ``cells`` counts.
    """
    V2 = lib.voltage ** 2
    pin_c, wire_c, fanout, driver = net_loads(nl, lib)
    cap = pin_c + wire_c
    rises = np.asarray(rises, dtype=float)
    falls = np.asarray(falls, dtype=float)
    slew = np.full(nl.n_nets, PORT_SLEW_NS)
    for n, drv in enumerate(driver):
        if drv is None:
            continue
        pin = lib.cell(nl.cells[drv[0]].type).pins[drv[1]]
        if pin.transitions:
            slew[n] = _mean([(r.lookup(cap[n], PORT_SLEW_NS) + f.lookup(cap[n], PORT_SLEW_NS)) / 2
                             for _, r, f in pin.transitions])
    groups = {"flip_flops_and_clock": 0.0, "combinational": 0.0, "inputs": 0.0}
    kinds = {"internal": 0.0, "switching_pins": 0.0, "switching_wire": 0.0, "leakage": 0.0}
    tags: dict = {}
    tag_clock: dict = {}
    clock = {"net_switching": 0.0, "clk_pin_internal": 0.0}
    t_ns = cycles * period_ns
    cell_e = np.zeros(len(nl.cells))
    for ci, cell in enumerate(nl.cells):
        lc = lib.cell(cell.type)
        e_int = 0.0
        for _, n, p in _connected_pins(cell, lib):
            if not p.power or (rises[n] == 0 and falls[n] == 0):
                continue
            if p.direction == "output":
                er = _mean([a.rise.lookup(cap[n], _related_slew(cell, a, slew)) if a.rise else None
                            for a in p.power])
                ef = _mean([a.fall.lookup(cap[n], _related_slew(cell, a, slew)) if a.fall else None
                            for a in p.power])
            else:  # an input pin's own (passive) internal power, per transition of its net
                er = _mean([a.rise.lookup(0.0, slew[n]) if a.rise else None for a in p.power])
                ef = _mean([a.fall.lookup(0.0, slew[n]) if a.fall else None for a in p.power])
            e = rises[n] * er + falls[n] * ef
            e_int += e
            if p.clock:
                clock["clk_pin_internal"] += e
        leak = lc.leakage_w * t_ns * 1e-9 * 1e12  # W * s -> pJ
        kinds["internal"] += e_int
        kinds["leakage"] += leak
        cell_e[ci] = e_int + leak
    # net switching, attributed to the driver
    sw_pins = 0.5 * pin_c * V2 * (rises + falls)
    sw_wire = 0.5 * wire_c * V2 * (rises + falls)
    kinds["switching_pins"] = float(sw_pins.sum())
    kinds["switching_wire"] = float(sw_wire.sum())
    for n in range(nl.n_nets):
        e = sw_pins[n] + sw_wire[n]
        if e == 0:
            continue
        drv = driver[n]
        if drv is not None:
            cell_e[drv[0]] += e
        elif n == clock_net:
            groups["flip_flops_and_clock"] += e
            clock["net_switching"] += e
        else:
            groups["inputs"] += e
    for ci, cell in enumerate(nl.cells):
        seq = lib.cell(cell.type).sequential
        groups["flip_flops_and_clock" if seq else "combinational"] += float(cell_e[ci])
        if tag_of_cell is not None:
            tag = tag_of_cell(cell)
            if tag:
                tags[tag] = tags.get(tag, 0.0) + float(cell_e[ci])
                # the clock net's charge into this cell's clock pins (the share a clock gate would save)
                for _, n, p in _connected_pins(cell, lib):
                    if p.clock:
                        e_clk = 0.5 * (p.cap_pf + WIRE_PF_PER_FANOUT) * V2 * (rises[n] + falls[n])
                        tag_clock[tag] = tag_clock.get(tag, 0.0) + float(e_clk)
    total = sum(kinds.values())
    return {"total": total, "by_kind": kinds, "groups": groups, "clock": clock, "tags": tags,
            "tag_clock_net": tag_clock,
            "nets": nl.n_nets, "cells": len(nl.cells), "transitions": int(rises.sum() + falls.sum()),
            "cycles": cycles, "period_ns": period_ns, "voltage": lib.voltage}


def _related_slew(cell: gatesim.Cell, arc, slew: np.ndarray) -> float:
    n = cell.pins.get(arc.related.strip()) if arc.related else None
    return PORT_SLEW_NS if n is None or n < 0 else float(slew[n])


# ----------------------------------------------------------------------------- a core's stimulus
def stream_beats(layout: dict, x: np.ndarray) -> list[int]:
    """Input payloads (ints) of a (B, T, beats per step, values per beat) stimulus in the payload
    schema ``layout`` (:func:`shiftpsn.base.payload.pack_stream`), beat by beat: ``x`` the values,
    ``first`` on every beat of t = 0 and, when the layout has it, ``last`` on every beat of t = T - 1."""
    x = np.asarray(x, dtype=np.int64)
    B, T, G = x.shape[:3]
    t = np.repeat(np.tile(np.arange(T), B), G)
    values = {"x": x.reshape(B * T * G, -1), "first": (t == 0).astype(np.int64)}
    if "last" in layout:
        values["last"] = (t == T - 1).astype(np.int64)
    return payload.pack_stream(layout, values)


def beats(spec: CoreSpec, x: np.ndarray) -> list[int]:
    """Input payloads (ints) of a checked (B, T, C) or (B, T, P, C) stimulus of a core, beat by beat: a
    time step's P*C neurons in beats of ``lanes`` (:func:`stream_beats`)."""
    return stream_beats(spec.stream_fields("input"), to_beats(spec, x))


def decode_outputs(spec: CoreSpec, outs: list[int]) -> tuple[np.ndarray, np.ndarray | None]:
    """(spikes (beats, L), acc (beats, L) or None) of output payload ints
    (:func:`shiftpsn.base.payload.unpack_outputs`)."""
    width = ports.payload_width(ports.output_fields(spec))
    got = payload.unpack_outputs(spec, payload.int_strings(outs, width))
    return got["spikes"], got.get("acc")


def _check_outputs(spec: CoreSpec, x: np.ndarray, outs: list[int]) -> str | None:
    """None when the simulated outputs equal the golden model's, else what differs."""
    from shiftpsn.golden import integer

    spikes, acc = integer.run(spec, x)
    want_s = spikes.reshape(-1, spec.lanes)
    got_s, got_a = decode_outputs(spec, outs)
    if got_s.shape != want_s.shape:
        return f"{got_s.shape[0]} output beats, expected {want_s.shape[0]}"
    if got_a is not None:
        bad = np.argwhere(got_a != acc.reshape(-1, spec.lanes))
        if len(bad):
            i, j = bad[0]
            return f"beat {i} lane {j}: acc {got_a[i, j]}, expected {acc.reshape(-1, spec.lanes)[i, j]}"
    bad = np.argwhere(got_s != want_s)
    if len(bad):
        i, j = bad[0]
        return f"beat {i} lane {j}: spike {got_s[i, j]}, expected {want_s[i, j]}"
    return None


def core_switching(spec: CoreSpec, netlist_path: Path, liberty: Path, x: np.ndarray, clock_mhz: float,
                   workdir: Path, progress: Progress | None = None, step: str = "switching",
                   top: str | None = None, config: bool = True, glitches: bool = False,
                   idle: int = 0, names: dict | None = None) -> dict:
    """Gate-level switching energy of a core's mapped netlist on stimulus ``x`` (B, T, [P,] C).

    Returns the details dict of the report (``energy.switching``): ``pj_per_step`` (the headline,
    per neuron-time-step), ``pj_per_synaptic_op`` (/ order: one tap operation), ``pj_per_sample`` (one
    sequence of T steps of all neurons), ``breakdown_pj_per_step`` (flip_flops_and_clock, combinational,
    inputs, memories: they sum to the headline), ``by_kind_pj_per_step`` (internal, switching_pins,
    switching_wire, leakage), ``clock_pj_per_step``, ``config_registers_pj_per_step``,
    ``clock_gating_potential_pj_per_step``, ``memories`` (with the SRAM model), ``with_glitches``
    (or None), counts (cycles, beats, nets, cells, transitions), ``outputs_match_golden``, ``model``.
    Raises UsageError when a tool or the cell models are missing or the simulation does not finish.
    ``config=False`` leaves the configuration registers unwritten (their power-up state is X).
    ``glitches``: also simulate with the cell models' delays (``details["with_glitches"]``, in
    ``workdir/specify``). ``idle``: ``idle`` cycles with ``i__valid`` low after each beat (the payload
    held), a stimulus with gaps: the energy of the idle cycles is in the per-step figures. ``names``:
    the design's name map (the description's ``names``), default that of the core
    :func:`shiftpsn.hdl.generate.generate` makes for ``spec``.
    """
    if names is None:
        from shiftpsn.hdl.generate import core_names
        names = core_names(spec)
    lib = libpower.read(liberty)
    period = 1e3 / clock_mhz
    drive = gatesim.Drive(top=top or "", ports=ports.core_ports(spec), beats=beats(spec, x),
                          config=spec.config_words() if (config and spec.weights == "runtime") else [],
                          out_width=ports.payload_width(ports.output_fields(spec)), period_ns=period,
                          idle=idle)
    nl, sim, e = netlist_energy(netlist_path, liberty, drive, workdir, progress, step, names=names)
    steps = int(np.prod(x.shape[:2])) * spec.positions * spec.channels
    pj = float(e["total"]) / steps
    per = lambda v: float(v) / steps  # noqa: E731
    mem = e["tags"].get("memory", 0.0) + e["tag_clock_net"].get("memory", 0.0)  # with their clock share
    breakdown = {k: per(v) for k, v in e["groups"].items()}
    breakdown["flip_flops_and_clock"] -= per(mem)
    breakdown["memories"] = per(mem)
    mismatch = _check_outputs(spec, x, sim.out_beats)
    with_glitches = None
    if glitches:
        _, gsim, ge = netlist_energy(netlist_path, liberty, drive, workdir / "specify", progress,
                                     step + " (cell delays)", specify=True, names=names)
        gmis = _check_outputs(spec, x, gsim.out_beats)
        with_glitches = {"pj_per_step": per(ge["total"]),
                         "breakdown_pj_per_step": {k: per(v) for k, v in ge["groups"].items()},
                         "transitions": ge["transitions"], "cycles": gsim.cycles,
                         "outputs_match_golden": gmis is None, "output_mismatch": gmis,
                         "method": "the same, compiled with iverilog -gspecify: the cell models' fixed "
                                   "typical path delays (no load or wire dependence) apply, so glitches are "
                                   "counted; each glitch transition is priced as a full one"}
    return {
        "pj_per_step": pj,
        "breakdown_pj_per_step": breakdown,
        "memories": {"flip_flop_mapped_pj_per_step": per(mem), "sram_model": sram_model(spec),
                     "note": "the standard-cell flow maps memories to flip-flops and multiplexers: "
                             "'memories' in the breakdown is the simulated energy of those flip-flops "
                             "(clock pins and their share of the clock net, Q nets); their read "
                             "multiplexers stay in 'combinational'. "
                             "sram_model is what the same accesses would cost in SRAM macros."},
        "by_kind_pj_per_step": {k: per(v) for k, v in e["by_kind"].items()},
        "clock_pj_per_step": {k: per(v) for k, v in e["clock"].items()},
        "config_registers_pj_per_step": per(e["tags"].get("config", 0.0)),
        "clock_gating_potential_pj_per_step": {
            "config_registers": per(e["tags"].get("config", 0.0) + e["tag_clock_net"].get("config", 0.0)),
            "note": "what gating the clock of the configuration registers would save in the steady state "
                    "(they hold their weights; their CLK pin energy, their share of the clock net, their Q "
                    "nets), before the cost of the clock-gating cell (shiftpsn.synth.switching)"},
        "pj_per_step_without_wires": per(e["total"] - e["by_kind"]["switching_wire"]),
        "pj_per_synaptic_op": pj / spec.order,
        "pj_per_sample": float(e["total"]) / x.shape[0],
        "window_pj": e["total"], "neuron_steps": steps, "cycles": sim.cycles, "beats": len(drive.beats),
        "idle_cycles_per_beat": idle,
        "clock_mhz": clock_mhz, "voltage": lib.voltage, "nets": e["nets"], "cells": e["cells"],
        "transitions": e["transitions"],
        "mean_toggles_per_net_per_cycle": e["transitions"] / max(1, e["nets"] * sim.cycles),
        "outputs_match_golden": mismatch is None, "output_mismatch": mismatch,
        "with_glitches": with_glitches,
        "liberty": str(liberty), "cell_models": str(cell_models_for(liberty)),
        "model": {"wire_pf_per_fanout": WIRE_PF_PER_FANOUT, "port_load_pf": PORT_LOAD_PF,
                  "port_slew_ns": PORT_SLEW_NS,
                  "method": "Icarus zero-delay simulation of the mapped netlist with the liberty's cell "
                            "models; every net's 0->1 / 1->0 transitions in the window from the first "
                            "beat to the last output beat; E = sum 1/2 C V^2 per net transition + "
                            "liberty internal energy per pin transition + leakage over the window "
                            "(shiftpsn.synth.switching)",
                  "clock": "ideal clock, no clock tree: the clock net toggles twice per cycle into "
                           "every flip-flop CLK pin"},
    }


def netlist_energy(netlist_path: Path, liberty: Path, drive: gatesim.Drive, workdir: Path,
                   progress: Progress | None = None, step: str = "switching", specify: bool = False,
                   names: dict | None = None):
    """Simulate a cleaned netlist with the stream testbench ``drive`` and price its transitions:
    (:class:`gatesim.Netlist`, :class:`gatesim.SimResult`, :func:`energy` dict, in pJ for the window).
    ``specify``: with the cell models' delays (glitches counted), see :func:`gatesim.run`. ``names``:
    the design's name map (the description's ``names``), which tags the flip-flops of configuration
    registers and memories in :func:`energy`'s ``tags`` (None: nothing tagged)."""
    lib = libpower.read(liberty)
    nl = gatesim.parse_netlist(Path(netlist_path).read_text())
    sim = gatesim.run(nl, drive, cell_models_for(liberty), workdir, progress, step, specify=specify)
    e = energy(nl, lib, sim.rises, sim.falls, sim.cycles, drive.period_ns, nl.port_bits.get(("clk", None)),
               tag_of_cell=_flip_flop_tags(nl, names))
    return nl, sim, e


#: The tag of each name-map role whose flip-flops :func:`energy` reports apart: the runtime weight
#: registers, and the neuron layers' memories (a dense layer's ROMs are logic, not memory).
_TAGGED_ROLES = {("registers", "config"): "config", ("memories", "history"): "memory",
                 ("memories", "taps"): "memory", ("memories", "thresholds"): "memory",
                 ("memories", "membrane"): "memory"}


def _flip_flop_tags(nl: gatesim.Netlist, names: dict | None):
    """Tag flip-flops by their Q net: "config" or "memory", where the net is (a bit of) a name-map
    entry of those roles (:data:`_TAGGED_ROLES`, :func:`shiftpsn.hdl.names.net_matches`)."""
    from shiftpsn.hdl.names import net_matches

    paths = [(e["path"], tag) for (kind, role), tag in _TAGGED_ROLES.items()
             for e in (names or {}).get(kind) or [] if e["role"] == role]
    tags = {}
    for i, name in enumerate(nl.names):
        tag = next((t for path, t in paths if name and net_matches(name, path)), None)
        if tag is not None:
            tags[i] = tag

    def tag(cell):
        q = cell.pins.get("Q")
        return tags.get(q) if q is not None else None
    return tag
