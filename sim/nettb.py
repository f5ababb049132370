"""The cocotb test module of a network co-simulation (the network counterpart of :mod:`shiftpsn.sim.tb`).

The runner starts the simulator with ``SHIFTPSN_SIM_PLAN`` naming a :class:`~shiftpsn.sim.nettraffic.NetPlan`.
The test drives the network's input stream (one beat per time step, with random gaps), takes its output
stream (with random stalls), watches the stream leaving every neuron layer named in the plan (passive
monitors on that instance's ``o__valid`` / ``o__ready`` / ``o__payload``), writes everything it received
to the plan's results .npz and, when asked, compares it with the golden network model
(:mod:`shiftpsn.sim.netscoreboard`).
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

from shiftpsn.base.payload import pack_network_inputs, unpack_stream

from .driver import EdgeLoop, StallTimeout, StreamSink, StreamSource, _high
from .netscoreboard import NetExpected, compare_network
from .nettraffic import NetPlan
from .tb import CLOCK_NS, PLAN_ENV

#: time steps driven between two looks at the streams so far (``NetPlan.fail_fast``); the looks thin
#: out geometrically (after 128, 256, 512, ... steps) so a long run is not compared over and over
CHECK_EVERY = 128


class StreamMonitor:
    """Passive monitor of a stream inside the design: records every payload that moves (valid and
    ready high at a rising edge), with the epoch (resets so far) it moved in."""

    def __init__(self, handle, ports: dict):
        self.valid = getattr(handle, ports["valid"])
        self.ready = getattr(handle, ports["ready"])
        self.payload = getattr(handle, ports["payload"])
        self.payloads: list[str] = []
        self.epochs: list[int] = []
        self.epoch = 0

    def step(self) -> None:
        if _high(self.valid) and _high(self.ready):
            self.payloads.append(str(self.payload.value))
            self.epochs.append(self.epoch)


class StopEarly(Exception):
    """The streams so far already differ from the golden model."""


def received(plan: NetPlan, sink: StreamSink, monitors: dict) -> dict:
    """name -> (unpacked fields, epochs) of every watched stream."""
    out = {"out": (unpack_stream(plan.output_payload, sink.payloads), np.array(sink.epochs, np.int64))}
    for m in plan.monitors:
        mon = monitors[m["layer"]]
        out[f"spikes_{m['layer']}"] = (unpack_stream(m["payload"], mon.payloads), np.array(mon.epochs, np.int64))
    return out


@cocotb.test()
async def run_net_plan(dut):
    """Drive the plan named by ``$SHIFTPSN_SIM_PLAN``; record (and optionally check) every stream."""
    log = logging.getLogger("cocotb.nettb")
    log.setLevel(logging.INFO)
    plan = NetPlan.load(os.environ[PLAN_ENV])
    x = np.load(plan.stimulus)
    first, last = plan.flags()
    payloads = pack_network_inputs(plan.input_payload, x, first, last)

    cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())
    src_rng, sink_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(plan.seed).spawn(2))
    source, sink = StreamSource(dut, "i", src_rng), StreamSink(dut, "o", sink_rng)
    monitors = {m["layer"]: StreamMonitor(getattr(dut, m["instance"]), m["ports"]) for m in plan.monitors}
    EdgeLoop(dut.clk, *monitors.values(), sink, source).start()

    async def reset(cycles: int = 2) -> None:
        dut.rst.value = 1
        await ClockCycles(dut.clk, cycles)
        dut.rst.value = 0
        for part in (sink, *monitors.values()):
            part.epoch += 1
        await RisingEdge(dut.clk)

    dut.rst.value = 0
    await reset()
    for part in (sink, *monitors.values()):
        part.epoch = 0  # epochs count the resets after the first one

    expected = NetExpected(plan.network(), plan, x) if plan.check else None

    next_look = [CHECK_EVERY]

    def early_mismatch():
        if expected is None or not plan.fail_fast or source.sent < next_look[0]:
            return None
        next_look[0] = 2 * source.sent
        return compare_network(expected, received(plan, sink, monitors), complete=False)

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
                await source.send(payloads[a:min(hi, a + chunk)], plan.idle_timeout)
                if early_mismatch() is not None:
                    raise StopEarly
            epoch_steps += hi - lo
            if ph.reset:
                await reset()
                epoch_steps = 0
        sink.stall.p = 0.0
        G = _out_beats_per_step(plan)
        await sink.wait_for(len(sink.payloads) - sink.in_epoch + epoch_steps * G, plan.idle_timeout, dut.clk)
        await ClockCycles(dut.clk, 32)  # an extra (duplicated) beat would show up here
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
               "monitored": [m["layer"] for m in plan.monitors]}
    mismatch = None if expected is None else compare_network(expected, streams, complete=not stopped_early)
    if mismatch is not None:
        verdict["mismatch"] = mismatch.to_dict()
    arrays = {}
    for name, (fields, epochs) in streams.items():
        arrays[f"{name}__epoch"] = epochs
        for k, v in fields.items():
            if v.dtype != object:
                arrays[f"{name}__{k}"] = v
    np.savez(plan.results, verdict=json.dumps(verdict), **arrays)
    log.info("%d steps in, %d output beats, %.0f cycles, %.2f s (%.0f cycles/s)", verdict["beats_in"],
             verdict["beats_out"], cycles, wall, cycles / max(wall, 1e-9))
    assert mismatch is None, str(mismatch)


def _out_beats_per_step(plan: NetPlan) -> int:
    f = plan.output_payload["logits"]
    return len(plan.net["layers"][-1]["weight"]) // f["count"]
