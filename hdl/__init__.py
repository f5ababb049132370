"""Amaranth generators of the hardware (the shift-add PSN core, the engine, whole networks) and their
Verilog / design-description export (docs/ARCHITECTURE.md, "The neuron engine" and "The network in hardware")."""

from .core import ShiftPSNCore
from .engine import ShiftPSNEngine
from .generate import GeneratedVerilog, generate, generate_network, write_network_verilog, write_verilog
from .network import NetworkTop

__all__ = ["ShiftPSNCore", "ShiftPSNEngine", "GeneratedVerilog", "generate", "write_verilog",
           "NetworkTop", "generate_network", "write_network_verilog"]
