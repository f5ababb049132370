"""shiftpsn: the common base of the flow: the core spec, file formats, errors and the command line."""

from .errors import CheckFailed, SpecError, StimulusError, ToolMissing, UsageError
from .spec import CoreSpec

__all__ = ["CoreSpec", "UsageError", "SpecError", "StimulusError", "ToolMissing", "CheckFailed"]
__version__ = "0.1.0"
