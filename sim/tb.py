"""The cocotb test module: one testbench for any generated design, core or network.

The runner (``shiftpsn.sim.runner``) starts the simulator with ``SHIFTPSN_SIM_PLAN`` naming a plan file
(:class:`shiftpsn.sim.traffic.Plan`). As verilog-axis drives any stream DUT from its port prefixes, the
test takes everything from the plan, which carries the design's description: it drives the ``i``
stream (random gaps), takes the ``o`` stream (random stalls), watches every monitored stream inside the
design (passive monitors on that instance's valid / ready / payload), writes the configuration words
through the configuration port when there are any, saves everything it received to the plan's
results .npz and, when asked, compares it with the golden model (:mod:`shiftpsn.sim.scoreboard`).
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

from shiftpsn.base.payload import pack_stream, unpack_stream

from .driver import ConfigWriter, EdgeLoop, StallTimeout, StreamMonitor, StreamSink, StreamSource
from .kinds import kind_of
from .scoreboard import Expected, compare
from .traffic import Plan

PLAN_ENV = "SHIFTPSN_SIM_PLAN"
CLOCK_NS = 10
#: time steps driven between two looks at the streams so far (``Plan.fail_fast``); the looks thin out
#: geometrically (after 128, 256, 512, ... steps) so a long run is not compared over and over
CHECK_EVERY = 128


class StopEarly(Exception):
    """The streams so far already differ from the golden model."""


def input_payloads(layout: dict, x: np.ndarray, first: np.ndarray, last: np.ndarray) -> tuple[list[int], int]:
    """The input payloads of N time steps and the beats per step: a step's values ``x`` (N, ...) cut
    into beats of the layout's ``x`` count (beat g carries values g*count ..), every beat of a step
    with the step's flags."""
    beats = np.asarray(x, dtype=np.int64).reshape(-1, layout["x"]["count"])
    G = len(beats) // max(1, len(first))
    flags = {"first": first, "last": last}
    values = {"x": beats} | {f: np.repeat(np.asarray(flags[f], np.int64), G) for f in layout if f != "x"}
    return pack_stream(layout, values), G


def received(plan: Plan, sink: StreamSink, monitors: dict) -> dict:
    """name -> (unpacked fields, epochs) of every watched stream."""
    parts = {"o": sink} | monitors
    return {name: (unpack_stream(plan.streams[name]["fields"], part.payloads), np.array(part.epochs, np.int64))
            for name, part in parts.items()}


@cocotb.test()
async def run_plan(dut):
    """Drive the plan named by ``$SHIFTPSN_SIM_PLAN``; record (and optionally check) every stream."""
    log = logging.getLogger("cocotb.tb")
    log.setLevel(logging.INFO)
    plan = Plan.load(os.environ[PLAN_ENV])
    x = np.load(plan.stimulus)
    first, last = plan.flags()
    payloads, G = input_payloads(plan.streams["i"]["fields"], x, first, last)

    clk, rst = getattr(dut, plan.clock), getattr(dut, plan.reset)
    cocotb.start_soon(Clock(clk, CLOCK_NS, unit="ns").start())
    src_rng, sink_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(plan.seed).spawn(2))
    source, sink = StreamSource(dut, plan.streams["i"], src_rng), StreamSink(dut, plan.streams["o"], sink_rng)
    monitors = {name: StreamMonitor(getattr(dut, s["instance"]), s)
                for name, s in plan.streams.items() if s.get("instance")}
    EdgeLoop(clk, *monitors.values(), sink, source).start()
    parts = (sink, *monitors.values())

    async def reset(cycles: int = 2) -> None:
        """Synchronous reset for ``cycles`` edges; beats that arrive afterwards start a new epoch."""
        rst.value = 1
        await ClockCycles(clk, cycles)
        rst.value = 0
        for part in parts:
            part.epoch += 1
        await RisingEdge(clk)

    rst.value = 0
    await reset()
    for part in parts:
        part.epoch = 0  # epochs count the resets after the first one
    if plan.config:
        await ConfigWriter(dut, clk, plan.config_port).write(plan.config)

    design = kind_of(plan.design).load(plan.design)
    expected = Expected(design, plan, x) if plan.check else None
    next_look = [CHECK_EVERY]

    def early_mismatch():
        """Compare what has arrived so far (fail fast: a broken design stops the run early)."""
        steps = source.sent // G
        if expected is None or not plan.fail_fast or steps < next_look[0]:
            return None
        next_look[0] = 2 * steps
        return compare(expected, received(plan, sink, monitors), complete=False)

    wall0, cpu0, sim0 = time.perf_counter(), time.process_time(), get_sim_time("ns")
    stalled, stopped_early, epoch_steps = None, False, 0
    try:
        for ph in plan.phases:
            lo, hi = plan.steps(ph)
            source.gap.p, sink.stall.p = ph.gap_p, ph.stall_p
            log.info("phase: sequences %d..%d (%d steps), gap_p %.2f, stall_p %.2f%s", ph.start, ph.stop - 1,
                     hi - lo, ph.gap_p, ph.stall_p, ", then reset" if ph.reset else "")
            chunk = CHECK_EVERY if expected is not None and plan.fail_fast else max(1, hi - lo)
            for a in range(lo, hi, chunk):
                await source.send(payloads[a * G:min(hi, a + chunk) * G], plan.idle_timeout)
                if early_mismatch() is not None:
                    raise StopEarly
            epoch_steps += hi - lo
            if ph.reset:
                await reset()
                epoch_steps = 0
        sink.stall.p = 0.0
        await sink.wait_for(len(sink.payloads) - sink.in_epoch + epoch_steps * plan.streams["o"]["beats_per_step"],
                            plan.idle_timeout, clk)
        await ClockCycles(clk, 32)  # an extra (duplicated) beat would show up here
    except StallTimeout as e:
        stalled = str(e)
        log.warning("stopped: %s", stalled)
    except StopEarly:
        stopped_early = True
        log.warning("stopped early: a stream differs from the golden model")
    cycles = (get_sim_time("ns") - sim0) / CLOCK_NS
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0

    streams = received(plan, sink, monitors)
    verdict = {"beats_in": int(source.sent), "beats_out": len(sink.payloads), "cycles": cycles, "wall_s": wall,
               "cpu_s": cpu, "stalled": stalled, "mismatch": None,
               "monitored": sorted(int(name.split("_", 1)[1]) for name in monitors)}
    mismatch = None if expected is None else compare(expected, streams, complete=not stopped_early)
    if mismatch is not None:
        verdict["mismatch"] = mismatch.to_dict()
    arrays = {}
    for name, (fields, epochs) in streams.items():
        arrays[f"{name}__epoch"] = epochs
        arrays.update({f"{name}__{k}": v for k, v in fields.items() if v.dtype != object})
    np.savez(plan.results, verdict=json.dumps(verdict), **arrays)
    log.info("%d beats in, %d out, %.0f cycles, %.2f s (%.0f cycles/s)", verdict["beats_in"],
             verdict["beats_out"], cycles, wall, cycles / max(wall, 1e-9))
    assert mismatch is None, str(mismatch)
