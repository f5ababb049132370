"""The one configuration of ``shiftpsn flow`` (both modes), with every default in one place."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path

#: The flow's modes: the whole network (the default, ``make demo``) and one neuron layer as a core.
MODES = ("network", "layer")

#: Defaults that differ between the modes (a field left None takes its mode's value).
#: network: a 3 x 64 network, accurate on seq-digits (0.93 after 20 epochs), whose hardware (one dense
#: output and one neuron per cycle in each layer) fits an iCE40 HX8K (not the UP5K: about 6,180 logic
#: cells against 5,280). d = 1 in every layer (``fixed``): the sawtooth's d = 3 layer needs a 3x deeper
#: history, one block RAM per 16 bits of word, and the network then needs 35 block RAMs, more than any
#: iCE40 has. Verilator: every test sample goes through the whole network.
#: layer: small enough for a few minutes on 2 cores, and a core (8 channels) whose mac baseline still
#: fits an iCE40 HX8K next to the synthesis harness.
MODE_DEFAULTS = {
    "network": {"dilation": "fixed", "width": 64, "epochs": 20, "sim": "verilator"},
    "layer": {"dilation": "sawtooth", "width": 8, "epochs": 40, "sim": "icarus"},
}


@dataclass(frozen=True)
class FlowConfig:
    """Everything a flow run depends on. Build it with keyword arguments; fields left None take the
    mode's default (:data:`MODE_DEFAULTS`)."""

    mode: str = "network"
    output_dir: Path = Path("out/demo")
    # training
    task: str = "seq-digits"
    order: int = 4
    dilation: str | None = None
    width: int | None = None
    layers: int = 3
    epochs: int | None = None
    lr: float = 1e-2
    seed: int = 0
    test_subset: int | None = None
    retrain: bool = False
    # export: layer mode (the neuron layer exported and its input width), network mode (dense weight bits)
    layer: int = 0
    input_width: int = 8
    weight_bits: int = 8
    # hardware (network mode): dense outputs and neurons computed per cycle in each layer
    dense_lanes: int = 1
    psn_lanes: int = 1
    # co-simulation and synthesis
    sim: str | None = None
    targets: tuple = ("ice40", "asic")
    clock_mhz: float = 100.0

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        for key, value in MODE_DEFAULTS[self.mode].items():
            if getattr(self, key) is None:
                object.__setattr__(self, key, value)
        object.__setattr__(self, "output_dir", Path(self.output_dir))
        object.__setattr__(self, "targets", tuple(self.targets))

    def to_dict(self) -> dict:
        """The configuration as JSON values (the summary's ``config``)."""
        return {f.name: (str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v)
                for f in fields(self) for v in [getattr(self, f.name)]}

    def replace(self, **changes) -> "FlowConfig":
        return replace(self, **changes)


def default(mode: str, key: str):
    """The default of ``key`` in ``mode`` (for help texts)."""
    return getattr(FlowConfig(mode=mode), key)
