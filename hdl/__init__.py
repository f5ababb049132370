"""Amaranth generator of the shift-add PSN core and its Verilog / CORE.json export."""

from .core import ShiftPSNCore
from .engine import ShiftPSNEngine
from .generate import GeneratedVerilog, generate, write_verilog
from .network import NetworkTop, generate_network, write_network_verilog

__all__ = ["ShiftPSNCore", "ShiftPSNEngine", "GeneratedVerilog", "generate", "write_verilog",
           "NetworkTop", "generate_network", "write_network_verilog"]
