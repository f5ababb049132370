"""The power data of a Liberty (.lib) file, for the gate-level switching energy (:mod:`shiftpsn.synth.switching`).

:mod:`shiftpsn.synth.liberty` reads only what the area reports need; this module reads a liberty's
whole group tree (:func:`parse_groups`) and keeps, per cell: its leakage, and per pin its direction,
input capacitance, ``internal_power`` tables (``rise_power`` / ``fall_power`` per related pin, or a
pin's own passive tables when it has no related pin) and output transition tables; per library: the
supply voltage and the units. Units (Liberty convention, the one OpenSTA's reader uses): capacitance
in ``capacitive_load_unit``, leakage in ``leakage_power_unit``, internal energy in
``capacitive_load_unit * voltage_unit^2`` (pF * V^2 = pJ for OSU 0.18 um). Everything here is
converted to pF, ns, pJ and W.

Table lookup (:meth:`Table.lookup`) interpolates linearly in each index and clamps to the table's
range (no extrapolation: the characterised corner nearest the query is used).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from shiftpsn.base.errors import UsageError

from . import liberty

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}();:,]|[^\s{}();:,"]+')


@dataclass
class Group:
    """One Liberty group: ``kind (args) { attrs; complex (args); subgroups }``."""
    kind: str
    args: list
    attrs: dict = field(default_factory=dict)
    complex: dict = field(default_factory=dict)
    groups: list = field(default_factory=list)

    def sub(self, kind: str) -> list["Group"]:
        return [g for g in self.groups if g.kind == kind]


def _unquote(s: str) -> str:
    return s[1:-1] if len(s) >= 2 and s[0] == '"' and s[-1] == '"' else s


def parse_groups(text: str) -> Group:
    """The top group (``library``) of a Liberty text. Raises UsageError on a syntax error."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"\\\s*\n", " ", text)
    toks = _TOKEN.findall(text)
    pos = 0

    def expect(t):
        nonlocal pos
        if pos >= len(toks) or toks[pos] != t:
            got = toks[pos] if pos < len(toks) else "end of file"
            raise UsageError(f"liberty syntax: expected {t!r}, got {got!r} (token {pos})")
        pos += 1

    def take_until(stop: str) -> list[str]:
        """The unquoted tokens up to ``stop`` (commas dropped), consuming ``stop``."""
        nonlocal pos
        out = []
        while toks[pos] != stop:
            if toks[pos] != ",":
                out.append(_unquote(toks[pos]))
            pos += 1
        pos += 1
        return out

    def args_list():
        expect("(")
        return take_until(")")

    def body(g: Group):
        nonlocal pos
        while pos < len(toks) and toks[pos] != "}":
            name = toks[pos]
            pos += 1
            if pos < len(toks) and toks[pos] == ":":
                pos += 1
                g.attrs[name] = " ".join(take_until(";"))
            elif pos < len(toks) and toks[pos] == "(":
                a = args_list()
                if pos < len(toks) and toks[pos] == "{":
                    pos += 1
                    child = Group(name, a)
                    body(child)
                    expect("}")
                    g.groups.append(child)
                else:
                    if pos < len(toks) and toks[pos] == ";":
                        pos += 1
                    g.complex[name] = a
            elif name == ";":
                continue
            else:
                raise UsageError(f"liberty syntax: unexpected {toks[pos] if pos < len(toks) else 'end'!r} "
                                 f"after {name!r}")

    while pos < len(toks) and toks[pos] != "library":
        pos += 1
    if pos >= len(toks):
        raise UsageError("liberty file has no library group")
    pos += 1
    top = Group("library", args_list())
    expect("{")
    body(top)
    return top


def _floats(s: str) -> np.ndarray:
    return np.array([float(v) for v in re.split(r"[,\s]+", s.strip()) if v], dtype=float)


@dataclass(frozen=True)
class Table:
    """A lookup table: ``variables`` (Liberty names, e.g. ``total_output_net_capacitance``,
    ``input_transition_time``), their ``indexes`` and ``values`` (shape of the indexes), in the
    library's units scaled by ``scale``."""
    variables: tuple
    indexes: tuple
    values: np.ndarray

    def lookup(self, load_pf: float, slew_ns: float) -> float:
        """The value at an output load (pF) and input transition (ns), clamped to the table."""
        lists = self.__dict__.get("_lists")
        if lists is None:  # nested lists are faster than numpy for one point
            lists = (self.values.tolist(), [list(map(float, i)) for i in self.indexes],
                     ["capacitance" in v for v in self.variables])
            object.__setattr__(self, "_lists", lists)
        vals, indexes, is_load = lists
        for idx, load in zip(indexes, is_load):
            vals = _interp_axis(vals, idx, load_pf if load else slew_ns)
        return float(vals)


def _interp_axis(vals, idx, x: float):
    """Linear interpolation along the first axis of nested lists ``vals``, clamped to ``idx``'s range."""
    if len(idx) == 1:
        return vals[0]
    x = min(max(x, idx[0]), idx[-1])
    j = min(max(bisect.bisect_left(idx, x) - 1, 0), len(idx) - 2)
    f = (x - idx[j]) / (idx[j + 1] - idx[j])
    a, b = vals[j], vals[j + 1]
    if isinstance(a, list):
        return [u * (1 - f) + v * f for u, v in zip(a, b)]
    return a * (1 - f) + b * f


@dataclass
class PowerArc:
    """One ``internal_power`` group of a pin: energy per rising / falling transition of the pin
    (an output: per output transition caused through ``related``; an input without related pin: per
    transition of that input). ``when``: the Liberty condition or ''."""
    related: str
    when: str
    rise: Table | None
    fall: Table | None


@dataclass
class LibPin:
    name: str
    direction: str
    cap_pf: float
    clock: bool = False
    power: list = field(default_factory=list)        # PowerArc
    transitions: list = field(default_factory=list)  # (related pin, rise_transition, fall_transition)


@dataclass
class PowerCell:
    name: str
    area: float
    leakage_w: float
    sequential: bool
    pins: dict


@dataclass
class PowerLibrary:
    """A liberty's power data in pF, ns, pJ and W; ``voltage`` the supply (V)."""
    name: str
    voltage: float
    cells: dict
    path: str = ""

    def cell(self, name: str) -> PowerCell:
        try:
            return self.cells[name]
        except KeyError:
            raise UsageError(f"cell {name!r} of the netlist is not in liberty {self.path}") from None


_UNIT = {"f": 1e-15, "p": 1e-12, "n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1.0}


def _unit(text: str | None, base: str, default: float) -> float:
    """A Liberty unit like ``"1ns"`` / ``"1nW"`` -> its value in SI (``base`` the unit letter)."""
    if not text:
        return default
    m = re.match(rf'\s*"?\s*([0-9.eE+-]+)\s*([fpnum]?){base}\s*"?\s*$', text)
    if not m:
        raise UsageError(f"liberty unit {text!r} not understood")
    return float(m.group(1)) * _UNIT[m.group(2)]


def _table(g: Group, templates: dict, scale: float) -> Table:
    tmpl = templates.get(g.args[0] if g.args else "", {})
    variables, indexes = [], []
    for n in (1, 2, 3):
        key = f"index_{n}"
        idx = g.complex.get(key) or tmpl.get(key)
        var = tmpl.get(f"variable_{n}")
        if idx is None:
            break
        indexes.append(_floats(",".join(idx)))
        variables.append(var or "")
    values = np.array([_floats(row) for row in g.complex.get("values", [])], dtype=float)
    if not indexes:  # scalar table
        return Table((), (), np.array(values.ravel()[0] * scale))
    values = values.reshape([len(i) for i in indexes]) * scale
    return Table(tuple(variables), tuple(indexes), values)


def from_groups(lib: Group, path: str = "") -> PowerLibrary:
    """The :class:`PowerLibrary` of a parsed ``library`` group."""
    cap_unit = lib.complex.get("capacitive_load_unit", ["1", "pf"])
    cap_scale = float(cap_unit[0]) * _UNIT[cap_unit[1].strip().lower()[0]] / 1e-12  # -> pF
    volt_scale = _unit(lib.attrs.get("voltage_unit"), "V", 1.0)
    leak_scale = _unit(lib.attrs.get("leakage_power_unit"), "W", 1e-9)        # -> W
    time_scale = _unit(lib.attrs.get("time_unit"), "s", 1e-9) / 1e-9           # -> ns
    energy_scale = cap_scale * volt_scale ** 2                                 # -> pJ
    voltage = None
    for oc in lib.sub("operating_conditions"):
        if oc.args and oc.args[0] == lib.attrs.get("default_operating_conditions"):
            voltage = float(oc.attrs["voltage"])
    if voltage is None:
        voltage = float(lib.attrs.get("nom_voltage", 0) or 0)
    if not voltage:
        raise UsageError(f"liberty {path}: no supply voltage (nom_voltage / operating_conditions)")
    voltage *= volt_scale
    templates = {}
    for kind in ("lu_table_template", "power_lut_template"):
        for t in lib.sub(kind):
            templates[t.args[0]] = {**{k: v for k, v in t.attrs.items()}, **t.complex}
    cells = {}
    for c in lib.sub("cell"):
        pins = {}
        for p in c.sub("pin"):
            pin = LibPin(p.args[0], p.attrs.get("direction", ""), float(p.attrs.get("capacitance", 0)) * cap_scale,
                         clock=p.attrs.get("clock", "false") == "true")
            for ip in p.sub("internal_power"):
                rise = [_table(g, templates, energy_scale) for g in ip.groups if g.kind in ("rise_power", "power")]
                fall = [_table(g, templates, energy_scale) for g in ip.groups if g.kind in ("fall_power", "power")]
                pin.power.append(PowerArc(ip.attrs.get("related_pin", ""), ip.attrs.get("when", ""),
                                          rise[0] if rise else None, fall[0] if fall else None))
            for t in p.sub("timing"):
                if t.attrs.get("timing_type", "combinational") in ("combinational", "rising_edge",
                                                                   "falling_edge", ""):
                    rt = [_table(g, templates, time_scale) for g in t.groups if g.kind == "rise_transition"]
                    ft = [_table(g, templates, time_scale) for g in t.groups if g.kind == "fall_transition"]
                    if rt or ft:
                        pin.transitions.append((t.attrs.get("related_pin", ""), (rt or ft)[0], (ft or rt)[0]))
            pins[pin.name] = pin
        seq = bool(c.sub("ff") or c.sub("latch") or c.sub("ff_bank") or c.sub("latch_bank"))
        cells[c.args[0]] = PowerCell(c.args[0], float(c.attrs.get("area", 0)),
                                     float(c.attrs.get("cell_leakage_power", 0)) * leak_scale, seq, pins)
    if not cells:
        raise UsageError(f"liberty {path}: no cell groups")
    return PowerLibrary(lib.args[0] if lib.args else "", voltage, cells, str(path))


_CACHE: dict = {}


def read(path: str | Path) -> PowerLibrary:
    """Read (and cache) a liberty's power data. Raises UsageError when unreadable."""
    path = Path(path).resolve()
    key = (str(path), path.stat().st_mtime if path.exists() else 0)
    if key not in _CACHE:
        _CACHE[key] = from_groups(parse_groups(liberty.read_text(path)), str(path))
    return _CACHE[key]
