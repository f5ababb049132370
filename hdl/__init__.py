"""Amaranth generator of the shift-add PSN core and its Verilog / CORE.json export."""

from .core import ShiftPSNCore
from .generate import GeneratedVerilog, generate, write_verilog

__all__ = ["ShiftPSNCore", "GeneratedVerilog", "generate", "write_verilog"]
