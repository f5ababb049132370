"""The loaded values of a runtime-weight core's configuration registers, for steady-state power.

A runtime core (``weights = "runtime"``) holds its weights in configuration flip-flops
(:class:`shiftpsn.hdl.config.RuntimeWeights`) that are written once and then hold. OpenSTA 2.0.17 cannot know
those values: a register whose D is its own Q (``cfg__we`` held at 0) gets activity 0 and duty 0, i.e.
every register bit reads as 0 (a mac core then multiplies by weight 0, a shift core shifts by 0 with
weight +1). Its ``set_case_analysis`` on a flip-flop's Q pin is not usable either: it crashes
``report_power`` on some netlists and zeroes the power of gates whose output is not constant.

So :func:`shiftpsn.synth.netlist.hold_nets` cuts each configuration register's Q net from its flip-flop and
drives it from an extra input port with activity 0 and duty = the loaded bit; OpenSTA's
probabilistic propagation is exact for such constant inputs, and the flip-flops keep their clock
power.

Register naming (hdl/config.py): channel c's register ``weights.weights<c>`` packs, LSB first, its k
tap fields (``tap_word(c, i)``, or for ``arith = "mac"`` the decoded ``int_weight(c, i)`` in
``mac_weight_width`` bits two's complement), then ``threshold_hw(c)`` in ``threshold_width`` bits.
Yosys keeps that name on the flip-flops' Q nets (``\\weights.weights<c> [bit]``).
"""

from __future__ import annotations

import re

from shiftpsn.base.errors import UsageError
from shiftpsn.base.spec import CoreSpec

#: A configuration register bit's net in the Yosys netlist: channel, bit.
_NET = re.compile(r"^\\weights\.weights(\d+) \[(\d+)\]$")




def net_value(spec: CoreSpec, net: str) -> int | None:
    """The loaded bit (0/1) of a configuration register net ``\\weights.weights<c> [b]``, or None
    for a net that is not one. Raises UsageError for a register bit the spec does not have."""
    m = _NET.match(net.strip())
    if not m:
        return None
    c, b = int(m.group(1)), int(m.group(2))
    if c >= spec.channels:
        raise UsageError(f"netlist has configuration register {net.strip()!r} but the spec has "
                         f"{spec.channels} channels")
    word, width = spec.weight_register(c)
    if b >= width:
        raise UsageError(f"netlist has configuration register bit {net.strip()!r} beyond the "
                         f"{width}-bit register of the spec")
    return (word >> b) & 1
