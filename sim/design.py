"""A design under co-simulation: its Verilog, top module, description and the spec it implements.

    >>> rtl = generated(spec)                  # a core (CoreSpec: a one-layer design) or a NetworkSpec
    >>> rtl = from_file("net.v", net)          # Verilog + the description beside it (``net.network.json``)
    >>> rtl.streams                            # {"i": ..., "o": ..., "spikes_1": ...}: what the testbench drives and watches

Everything the testbench needs comes from the description (``shiftpsn.base.description``, version 2;
the version-1 CORE.json / NETWORK.json of the last release are read converted): the stream ports and
payload layouts, the configuration port, the monitors (streams inside a network), the clock and the
reset. What differs between a core and a network (golden model, results arrays, traffic) is one
:class:`~shiftpsn.sim.kinds.Kind` each, looked up by the description's ``kind``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from shiftpsn.base.description import VERSION, convert_v1, find_description, load_description
from shiftpsn.base.errors import UsageError
from shiftpsn.base.limits import MAX_VERILOG_BYTES, read_text

from .kinds import Kind, kind_of


# ----------------------------------------------------------------------------------- Verilog ports
def verilog_ports(text: str, module: str) -> dict[str, tuple[str, int]] | None:
    """{port: (direction, width)} of ``module`` in Verilog-2001 text (as Yosys writes it), None when
    the text has no such module. The one place that reads ports from Verilog text."""
    body = module_body(text, module)
    if body is None:
        return None
    decl = re.compile(r"^\s*(input|output|inout)\s+(?:wire\s+|reg\s+)?(?:signed\s+)?"
                      r"(?:\[(\d+):(\d+)\]\s*)?\\?(\w+)\s*[;,)]", flags=re.M)
    return {name: (d, abs(int(msb) - int(lsb)) + 1 if msb else 1) for d, msb, lsb, name in decl.findall(body)}


def module_body(text: str, module: str) -> str | None:
    """The text of ``module`` between its name and ``endmodule``, None when there is none."""
    m = re.search(rf"^\s*module\s+\\?{re.escape(module)}(?=\s*[(;#])(.*?)\bendmodule\b", text, flags=re.M | re.S)
    return m.group(1) if m else None


def instance_ports(text: str, top: str, instance: str) -> dict[str, tuple[str, int]] | None:
    """The ports of the module that ``instance`` (an instance in ``top``) instantiates, or None."""
    body = module_body(text, top) or ""
    decl = re.search(rf"^\s*\\?(\S+)\s+{re.escape(instance)}\s*\(", body, flags=re.M)
    return verilog_ports(text, decl.group(1)) if decl else None


def verilog_top(text: str) -> str | None:
    """The module marked ``(* top = 1 *)`` by Yosys, else the only module whose name is not
    hierarchical (Amaranth names submodules ``top.sub``)."""
    m = re.search(r"\(\*\s*top\s*=\s*(?:1|32'd1)\s*\*\)\s*module\s+\\?(\w+)", text)
    if m:
        return m.group(1)
    names = [n for n in re.findall(r"^\s*module\s+\\?(\S+?)\s*[(;#]", text, flags=re.M) if "." not in n]
    return names[0] if len(names) == 1 else None


# ----------------------------------------------------------------------------------- the design
@dataclass
class RTLDesign:
    """Verilog text, its top module, its description (version 2) and the design it implements: a
    CoreSpec (a one-layer design: a parallel core or an engine) or a NetworkSpec, whose golden model
    the scoreboard runs (and whose weights a runtime core loads through its configuration port)."""

    verilog: str
    top: str
    desc: dict
    design: object
    source: str = "generated"

    @property
    def kind(self) -> Kind:
        return kind_of(self.design)

    @property
    def spec(self):
        """The design (``spec`` reads naturally for a core)."""
        return self.design

    @property
    def streams(self) -> dict[str, dict]:
        """name -> {"valid", "ready", "payload", "fields", "instance"}: ``i`` (driven), ``o`` (sunk)
        and ``spikes_L`` for every monitor of a neuron layer L (watched inside ``instance``)."""
        out = {}
        for name in ("i", "o"):
            s = self.desc["streams"][name]
            out[name] = {k: s[k] for k in ("valid", "ready", "payload", "fields")} | {"instance": None}
        for m in self.monitors():
            out[f"spikes_{m['layer']}"] = dict(m["ports"], fields=m["payload"], instance=m["instance"])
        return out

    def monitors(self) -> list[dict]:
        """The description's monitors that the Verilog has: each ``{"layer", "instance", "ports",
        "payload"}`` of a neuron layer, kept when that instance exists in the top and its valid / ready
        / payload ports have the widths the layer's stream needs."""
        out = []
        for m in self.desc.get("monitors") or []:
            lanes = self.kind.monitor_lanes(self.design, m.get("layer"))
            inst, ports, payload = m.get("instance"), m.get("ports") or {}, m.get("payload")
            if lanes is None or not isinstance(inst, str) or not re.match(r"^\w+$", inst) \
                    or not isinstance(payload, dict) or payload.get("x", {}).get("count") != lanes:
                continue
            have = instance_ports(self.verilog, self.top, inst) or {}
            want = {ports.get("valid"): ("output", 1), ports.get("ready"): ("input", 1),
                    ports.get("payload"): ("output", max(f["offset"] + f["width"] for f in payload.values()))}
            if all(have.get(k) == v for k, v in want.items()):
                out.append(m)
        return out

    def config_words(self) -> list[tuple[int, int]] | None:
        """The configuration writes that load the design's weights (a runtime core's), else None."""
        return self.kind.config_words(self.design)

    def idle_timeout(self) -> int:
        """Cycles without progress before the testbench gives up: generous against the slowest step."""
        def most(v):
            return v.get("max", 64) if isinstance(v, dict) else int(v or 1)
        return int(4000 + 40 * (most(self.desc.get("cycles_per_step", 1)) + most(self.desc.get("latency", 1))))


def as_v2(desc: dict) -> dict:
    """A description dict as version 2 (a version-1 dict converted)."""
    return desc if desc.get("version") == VERSION else convert_v1(desc)


def rtl_design(verilog: str, top: str, design, *, desc: dict | None = None, source: str = "generated") -> RTLDesign:
    """An RTLDesign; without ``desc`` the description is derived from the design (a core's ports,
    streams and configuration port follow from its spec)."""
    kind = kind_of(design)
    return RTLDesign(verilog, top, as_v2(desc) if desc is not None else kind.describe(design, top), design, source)


def generated(design, *, power_up=None, top: str | None = None, progress=None) -> RTLDesign:
    """A freshly generated design. With ``power_up`` (a runtime core) the Verilog is generated from that
    spec instead (other weights as configuration reset values), so a run that passes proves the
    testbench's weights went in through the configuration port."""
    kind = kind_of(design)
    verilog, desc = kind.generate(design, power_up=power_up, top=top, progress=progress)
    return rtl_design(verilog, desc["top"], design, desc=desc)


def scrambled_weights(spec):
    """The same core with other weights and thresholds: signs flipped, exponents mirrored within
    [exp_min, exp_max], zero taps swapped for nonzero ones, thresholds moved."""
    lo, hi = spec.exp_min, spec.exp_max
    shift = [[hi if e is None else (None if e == hi and lo != hi else lo + hi - e) for e in row]
             for row in spec.shift]
    sign = [[-s for s in row] for row in spec.sign]
    threshold = [1 - t for t in spec.threshold]
    return spec.replace(shift=shift, sign=sign, threshold=threshold)


def from_file(verilog_path: str | Path, design=None) -> RTLDesign:
    """A design from a Verilog file and the description beside it (``<stem>.core.json`` /
    ``<stem>.network.json``, as ``generate`` writes them). ``design``: a NetworkSpec (its description
    must be there), or a core's spec overriding the description's (None: the description's, else the
    default spec; a core without a description is described from its spec). The Verilog's ports are
    checked against what the design needs (UsageError on a mismatch)."""
    from .kinds import KINDS

    path = Path(verilog_path)
    if not path.is_file():
        raise UsageError(f"Verilog file not found: {path}")
    text = read_text(path, "Verilog", limit=MAX_VERILOG_BYTES)
    k = KINDS["core"] if design is None else kind_of(design)
    dpath = find_description(path, k.name)
    desc = load_description(dpath) if dpath is not None else None
    design, desc = k.from_description(design, desc, path, dpath)
    top = desc.get("top") or verilog_top(text) or k.default_top(design)
    if not desc.get("top"):
        desc = k.describe(design, top)
    ports = verilog_ports(text, top)
    if ports is None:
        raise UsageError(f"{path}: no module {top!r} found")
    for name, d, w in k.ports(design, desc):
        if ports.get(name) != (d, w):
            have = f"{ports[name][0]} [{ports[name][1]}]" if name in ports else "missing"
            raise UsageError(f"{path}: port {name} is {have}; {k.needs(dpath)} {d} [{w}]")
    return RTLDesign(text, top, desc, design, source=str(path))
