"""cocotb components for a design's ports: stream source (driver), stream sink, passive stream
monitor, configuration writer. Each takes its port names from the design's description (a stream's
``valid`` / ``ready`` / ``payload``, the configuration port's ``addr`` / ``data`` / ``we``).

Handshake rule (docs/ARCHITECTURE.md): a beat moves at a rising edge where valid and ready are both
high. The source and the sink are cycle-based: their ``step()`` runs once per rising edge, while the
signals still show the values the flip-flops sampled at that edge; it first books the handshake that
just happened, then drives the next cycle. One clock process (:class:`EdgeLoop`) steps every
component, so a clock cycle costs one coroutine resumption, not one per component: that, and
payloads as whole precomputed integers (``shiftpsn.base.payload``), is what makes a 64-channel core fast.
"""

from __future__ import annotations

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles, Event, First, RisingEdge


class StallTimeout(Exception):
    """The core refused (or stopped producing) beats for longer than the idle timeout."""


class Coin:
    """Seeded biased coin, drawn from a precomputed numpy buffer (cheap per clock cycle)."""

    def __init__(self, rng: np.random.Generator, p: float = 0.0, chunk: int = 8192):
        self.rng, self.p, self.chunk = rng, float(p), chunk
        self._buf, self._i = rng.random(chunk), 0

    def __call__(self) -> bool:
        """True with probability ``p``."""
        if self.p <= 0.0:
            return False
        if self._i == self.chunk:
            self._buf, self._i = self.rng.random(self.chunk), 0
        self._i += 1
        return self._buf[self._i - 1] < self.p


def _high(signal) -> bool:
    """A 1-bit signal is 1 (X or Z, as before a first reset, count as 0)."""
    try:
        return bool(signal.value)
    except ValueError:
        return False


class _Stream:
    """The valid / ready / payload signals of a stream of ``handle`` (``ports``: their names)."""

    def __init__(self, handle, ports: dict):
        self.valid = getattr(handle, ports["valid"])
        self.ready = getattr(handle, ports["ready"])
        self.payload = getattr(handle, ports["payload"])
        self.payloads: list[str] = []  # received payloads (binary strings, unpacked in bulk later)
        self.epochs: list[int] = []    # the epoch (resets so far) each arrived in
        self.epoch = 0


class StreamSource(_Stream):
    """Drives a stream's valid / payload from a queue of payloads and watches its ready. Idle cycles
    come only between beats (valid never drops while a beat waits), with probability ``gap.p`` per
    cycle."""

    def __init__(self, dut, ports: dict, rng: np.random.Generator):
        super().__init__(dut, ports)
        self.name = ports["ready"]
        self.gap = Coin(rng)
        self.sent = 0  # beats accepted by the core, in total
        self.stalled: str | None = None
        self._queue: list[int] = []
        self._next = 0
        self._offering = self._valid_now = False
        self._waited, self._timeout = 0, 0
        self._done = Event()
        self._done.set()
        self.valid.value = 0

    async def send(self, payloads: list[int], idle_timeout: int) -> None:
        """Send every payload in order; return once the last one is accepted.

        Raises StallTimeout when a beat waits ``idle_timeout`` cycles without being accepted."""
        self._queue, self._next, self._timeout = payloads, 0, idle_timeout
        if not payloads:
            return
        self._done.clear()
        await self._done.wait()
        if self.stalled:
            raise StallTimeout(self.stalled)

    def step(self) -> None:
        """One rising edge: book an accepted beat, then choose the next cycle's beat or gap."""
        if self._offering:
            if _high(self.ready):
                self._next += 1
                self.sent += 1
                self._offering = False
            else:
                self._waited += 1
                if self._waited >= self._timeout:
                    self.stalled = f"{self.name} stayed low for {self._waited} cycles"
                    self._offering = False
                    self._queue = []
                    self._done.set()
        if not self._offering:
            if self._next < len(self._queue) and not self.gap():
                self.payload.value = self._queue[self._next]
                self._offering, self._waited = True, 0
                if not self._valid_now:
                    self.valid.value = self._valid_now = 1
            else:
                if self._valid_now:
                    self.valid.value = self._valid_now = 0
                if self._next >= len(self._queue) and not self._done.is_set():
                    self._done.set()


class StreamSink(_Stream):
    """Takes a stream's beats, driving its ready low with probability ``stall.p`` per cycle. Received
    payloads are kept as binary strings, with the ``epoch`` (number of resets so far) at which each
    arrived."""

    def __init__(self, dut, ports: dict, rng: np.random.Generator):
        super().__init__(dut, ports)
        self.stall = Coin(rng)
        self._ready_now = False
        self._want, self._reached = None, Event()
        self.ready.value = 0

    def step(self) -> None:
        """One rising edge: record a transferred beat, then choose the next cycle's ready."""
        if self._ready_now and _high(self.valid):
            self.payloads.append(str(self.payload.value))  # binary string, unpacked in bulk later
            self.epochs.append(self.epoch)
            if self._want is not None and len(self.payloads) >= self._want:
                self._reached.set()
        ready = not self.stall()
        if ready != self._ready_now:
            self.ready.value = self._ready_now = ready

    @property
    def in_epoch(self) -> int:
        """Beats received so far in the current epoch (since the last reset)."""
        n = 0
        for e in reversed(self.epochs):
            if e != self.epoch:
                break
            n += 1
        return n

    async def wait_for(self, count: int, idle_timeout: int, clk) -> None:
        """Wait until ``count`` beats in total have arrived; StallTimeout if ``idle_timeout``
        cycles pass without a new beat."""
        while len(self.payloads) < count:
            before = len(self.payloads)
            self._want = count
            self._reached.clear()
            await First(self._reached.wait(), ClockCycles(clk, idle_timeout))
            if len(self.payloads) == before:
                raise StallTimeout(f"no output beat for {idle_timeout} cycles "
                                   f"({len(self.payloads)} of {count} received)")
        self._want = None


class StreamMonitor(_Stream):
    """Passive monitor of a stream inside the design: records every payload that moves (valid and
    ready high at a rising edge), with the epoch it moved in."""

    def step(self) -> None:
        if _high(self.valid) and _high(self.ready):
            self.payloads.append(str(self.payload.value))
            self.epochs.append(self.epoch)


class EdgeLoop:
    """The one clock process: at every rising edge, step each component in order (monitors, the sink,
    then the source)."""

    def __init__(self, clk, *components):
        self.edge = RisingEdge(clk)
        self.components = components

    def start(self):
        return cocotb.start_soon(self._run())

    async def _run(self):
        edge, steps = self.edge, [c.step for c in self.components]
        while True:
            await edge
            for step in steps:
                step()


class ConfigWriter:
    """Writes (address, data) words through the configuration port (``port``: its ``addr`` / ``data`` /
    ``we`` names), one per cycle (docs/ARCHITECTURE.md, register map from ``CoreSpec.config_words``)."""

    def __init__(self, dut, clk, port: dict):
        self.addr, self.data, self.we = (getattr(dut, port[k]) for k in ("addr", "data", "we"))
        self.edge = RisingEdge(clk)
        self.we.value = 0

    async def write(self, words: list[tuple[int, int]]) -> None:
        for addr, data in words:
            self.addr.value = addr
            self.data.value = data
            self.we.value = 1
            await self.edge
        self.we.value = 0
