"""Amaranth generator of the shift-add PSN core and its Verilog / CORE.json export."""

from .core import ShiftPSNCore
from .generate import GeneratedCore, generate, write_core

__all__ = ["ShiftPSNCore", "GeneratedCore", "generate", "write_core"]
