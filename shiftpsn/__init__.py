"""shiftpsn: the reference flow from a trained mul-free channel-wise PSN to verified hardware.

Packages, lowest layer first (docs/ARCHITECTURE.md): ``shiftpsn.base`` (core spec, ports, files, errors),
``shiftpsn.golden`` (reference models, training), ``shiftpsn.hdl`` (Amaranth generators),
``shiftpsn.sim`` (co-simulation) and ``shiftpsn.synth`` (reports), ``shiftpsn.flow`` (the main job) and
``shiftpsn.cli`` (the ``shiftpsn`` command).
"""

from shiftpsn.base.errors import CheckFailed, SpecError, StimulusError, ToolMissing, UsageError
from shiftpsn.base.spec import CoreSpec

__all__ = ["CoreSpec", "UsageError", "SpecError", "StimulusError", "ToolMissing", "CheckFailed"]
__version__ = "0.2.0.dev0"
