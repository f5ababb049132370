"""The cocotb test module: a generic testbench for any generated core.

The runner (``shiftpsn.sim.runner``) starts the simulator with ``SHIFTPSN_SIM_PLAN`` naming a plan file
(``shiftpsn.sim.traffic.Plan``: spec, stimulus .npy, handshake probabilities, resets, seed, results path).
The test drives the plan, records every output beat, writes them to the plan's results .npz and,
when the plan asks for it, compares them with the golden model (``shiftpsn.sim.scoreboard``).
"""

from __future__ import annotations

import json
import logging
import os
import time

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, RisingEdge

from shiftpsn.base.spec import CoreSpec

from .driver import ConfigWriter, EdgeLoop, StallTimeout, StreamSink, StreamSource
from shiftpsn.base.payload import pack_inputs, unpack_outputs
from .scoreboard import Expected, compare, driven_first_flags
from .traffic import Plan

PLAN_ENV = "SHIFTPSN_SIM_PLAN"
CLOCK_NS = 10
#: beats driven between two looks at the outputs so far (``Plan.fail_fast``)
CHECK_EVERY = 512


class StopEarly(Exception):
    """The outputs so far already differ from the golden model."""


class TB:
    """Clock, reset, configuration writer, input source and output monitor of one core.

    Parameters
    ----------
    dut : cocotb handle of the core's top level
    seed : int
        Seeds the source's gaps and the sink's stalls (independently).
    """

    def __init__(self, dut, seed: int = 0):
        self.dut = dut
        self.log = logging.getLogger("cocotb.tb")
        self.log.setLevel(logging.INFO)
        cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())
        src_rng, sink_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
        self.source = StreamSource(dut, "i", src_rng)
        self.sink = StreamSink(dut, "o", sink_rng)
        self.cfg = ConfigWriter(dut, dut.clk) if hasattr(dut, "cfg__we") else None
        EdgeLoop(dut.clk, self.sink, self.source).start()
        dut.rst.value = 0

    async def reset(self, cycles: int = 2) -> None:
        """Synchronous reset for ``cycles`` edges; beats that arrive afterwards start a new epoch."""
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, cycles)
        self.dut.rst.value = 0
        self.sink.epoch += 1
        await RisingEdge(self.dut.clk)

    async def load_weights(self, spec: CoreSpec) -> None:
        """Write the spec's weights and thresholds through the configuration port."""
        if self.cfg is None:
            return
        await self.cfg.write(spec.config_words())


@cocotb.test()
async def run_plan(dut):
    """Drive the plan named by ``$SHIFTPSN_SIM_PLAN``; record (and optionally check) the outputs."""
    plan = Plan.load(os.environ[PLAN_ENV])
    spec = CoreSpec.from_dict(plan.spec)
    x = np.load(plan.stimulus)
    payloads = pack_inputs(spec, x, driven_first_flags(plan))

    tb = TB(dut, plan.seed)
    await tb.reset()
    # the sink starts counting epochs after the first reset
    tb.sink.epoch = 0
    if plan.load_weights:
        await tb.load_weights(spec)

    expected = Expected(spec, plan, x) if plan.check else None

    def early_mismatch():
        """Compare what has arrived so far (fail fast: a broken core stops the run early)."""
        if expected is None or not plan.fail_fast:
            return None
        return compare(expected, unpack_outputs(spec, tb.sink.payloads), np.array(tb.sink.epochs, np.int64),
                       complete=False)

    wall0, cpu0, sim0 = time.perf_counter(), time.process_time(), get_sim_time("ns")
    stalled, stopped_early, epoch_beats = None, False, 0
    try:
        for ph in plan.phases:
            lo, hi = plan.hw_beats(ph)  # stream beats: beats_per_step per time step
            tb.source.gap.p, tb.sink.stall.p = ph.gap_p, ph.stall_p
            tb.log.info("phase: sequences %d..%d (%d beats), gap_p %.2f, stall_p %.2f%s",
                        ph.start, ph.stop - 1, hi - lo, ph.gap_p, ph.stall_p,
                        ", then reset" if ph.reset else "")
            chunk = CHECK_EVERY if expected is not None and plan.fail_fast else max(1, hi - lo)
            for a in range(lo, hi, chunk):
                await tb.source.send(payloads[a:min(hi, a + chunk)], plan.idle_timeout)
                if early_mismatch() is not None:
                    raise StopEarly
            epoch_beats += hi - lo
            if ph.reset:
                await tb.reset()
                epoch_beats = 0
        tb.sink.stall.p = 0.0
        await tb.sink.wait_for(len(tb.sink.payloads) - tb.sink.in_epoch + epoch_beats,
                               plan.idle_timeout, dut.clk)
        await ClockCycles(dut.clk, 32)  # an extra (duplicated) beat would show up here
    except StallTimeout as e:
        stalled = str(e)
        tb.log.warning("stopped: %s", stalled)
    except StopEarly:
        stopped_early = True
        tb.log.warning("stopped early: output differs from the golden model")
    cycles = (get_sim_time("ns") - sim0) / CLOCK_NS
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0

    got = unpack_outputs(spec, tb.sink.payloads)
    epochs = np.array(tb.sink.epochs, dtype=np.int64)
    verdict = {"beats_in": int(tb.source.sent), "beats_out": len(tb.sink.payloads),
               "cycles": cycles, "wall_s": wall, "cpu_s": cpu, "stalled": stalled, "mismatch": None}
    mismatch = None if expected is None else compare(expected, got, epochs, complete=not stopped_early)
    if mismatch is not None:
        verdict["mismatch"] = mismatch.to_dict()
    np.savez(plan.results, epoch=epochs, verdict=json.dumps(verdict),
             **{k: v for k, v in got.items()})
    tb.log.info("%d beats in, %d out, %.0f cycles, %.2f s (%.0f cycles/s)", verdict["beats_in"],
                verdict["beats_out"], cycles, wall, cycles / max(wall, 1e-9))
    assert mismatch is None, str(mismatch)
