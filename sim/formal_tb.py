"""The cocotb test module of a counterexample replay (``shiftpsn.sim.formal_replay``): cycle by cycle.

The plan (JSON named by ``$SHIFTPSN_SIM_PLAN``) lists, per clock cycle, the inputs the solver chose:
``rst``, ``i_valid``, ``i_payload``, ``o_ready`` and, for runtime weights, ``cfg_we``/``cfg_addr``/
``cfg_data``. The test drives exactly those values in that cycle (from power-up, no reset of its own,
no configuration load of its own) and records what the core shows in the same cycle, just before the
clock edge: ``i_ready``, ``o_valid`` and ``o_payload``. The verdict (compared with the golden model) is
worked out afterwards from this record, outside the simulator.
"""

from __future__ import annotations

import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge

from .tb import CLOCK_NS, PLAN_ENV


def _value(signal) -> str:
    """The signal as a binary string (X / Z kept: the replay reports them)."""
    return str(signal.value)


@cocotb.test()
async def replay_cycles(dut):
    """Drive the plan's cycles; write every cycle's outputs to the plan's results file."""
    plan = json.loads(open(os.environ[PLAN_ENV]).read())
    runtime = hasattr(dut, "cfg__we")
    drive = [("rst", dut.rst), ("i_valid", dut.i__valid), ("i_payload", dut.i__payload), ("o_ready", dut.o__ready)]
    if runtime:
        drive += [("cfg_we", dut.cfg__we), ("cfg_addr", dut.cfg__addr), ("cfg_data", dut.cfg__data)]
    record = []
    for i, cycle in enumerate(plan["cycles"]):
        for name, signal in drive:
            signal.value = int(cycle.get(name, 0))
        if i == 0:  # the first rising edge after cycle 0's inputs are set
            cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start(start_high=False))
        await RisingEdge(dut.clk)  # the signals still show the cycle's values (before the edge)
        record.append({"i_ready": _value(dut.i__ready), "o_valid": _value(dut.o__valid),
                       "o_payload": _value(dut.o__payload)})
    with open(plan["results"], "w") as f:
        json.dump({"cycles": record}, f)
