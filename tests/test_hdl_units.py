"""Building blocks checked exhaustively against plain integer arithmetic."""

import itertools

import pytest
from amaranth.hdl import Module, Signal, signed
from amaranth.sim import Simulator

from shiftpsn.base.spec import max_pipeline
from shiftpsn.hdl.adder_tree import pipeline_cuts, split_pipeline
from shiftpsn.hdl.barrel_shift import barrel_shift_left


@pytest.mark.parametrize("width,max_shift", [(2, 0), (3, 1), (3, 3), (4, 4), (4, 5), (2, 7)])
def test_barrel_shift_exhaustive(width, max_shift):
    m = Module()
    value = Signal(signed(width))
    amount = Signal(max(1, max_shift.bit_length()))
    out = barrel_shift_left(m, value, amount, max_shift, name="bs")
    assert len(out) == width + max_shift and out.shape().signed
    stages = max_shift.bit_length()  # log-depth: one mux stage per amount bit
    sim = Simulator(m)
    seen = []

    async def bench(ctx):
        for v, a in itertools.product(range(-(1 << (width - 1)), 1 << (width - 1)), range(max_shift + 1)):
            ctx.set(value, v)
            ctx.set(amount, a)
            seen.append((v, a, ctx.get(out)))

    sim.add_testbench(bench)
    sim.run()
    bad = [(v, a, got) for v, a, got in seen if got != v * 2 ** a]
    assert not bad, f"first mismatch (value, amount, got): {bad[0]}"
    assert len(seen) == (1 << width) * (max_shift + 1) and stages == max(0, max_shift).bit_length()


def test_pipeline_cuts():
    assert pipeline_cuts(0, 0) == () and pipeline_cuts(0, 1) == (0,)
    assert pipeline_cuts(3, 4) == (0, 1, 2, 3)
    assert pipeline_cuts(3, 1) == (2,)          # one register: near the middle of 5 segments
    assert pipeline_cuts(4, 2) == (1, 3)
    for levels in range(6):
        for stages in range(levels + 2):
            cuts = pipeline_cuts(levels, stages)
            assert len(set(cuts)) == stages and all(0 <= q <= levels for q in cuts)
    with pytest.raises(ValueError):
        pipeline_cuts(2, 4)


def test_split_pipeline():
    """Up to levels + 1 stages go into the tree as before; levels + 2 (max_pipeline) adds the
    operand cut on top of every tree cut."""
    for levels in range(5):
        for stages in range(levels + 2):
            assert split_pipeline(levels, stages) == (False, pipeline_cuts(levels, stages))
        assert split_pipeline(levels, levels + 2) == (True, tuple(range(levels + 1)))
        assert max_pipeline(1 << levels) == levels + 2
    with pytest.raises(ValueError):
        split_pipeline(1, 4)


def test_register_roles_count_what_sync_drives_and_refuse_an_undeclared_register():
    """RegisterRoles (hdl/registers.py) sums, per role, the bits a module's own sync statements drive
    (a register driven in part counts only those bits), and refuses a register it was not told about."""
    from shiftpsn.hdl.registers import RegisterRoles

    m, reg = Module(), RegisterRoles()
    m._MustUse__silence = True  # built only to count its registers
    a = reg("counters", Signal(5, name="a"))
    b = reg("output", Signal(7, name="b"))
    c = reg("output", Signal(3, name="c"))  # combinational: no flip-flop
    m.d.sync += [a.eq(a + 1), b[:4].eq(a)]
    m.d.comb += c.eq(a)
    assert reg.count(m, ("counters", "output", "stage1")) == {"counters": 5, "output": 4, "stage1": 0}
    d = Signal(2, name="undeclared")
    m.d.sync += d.eq(a)
    with pytest.raises(RuntimeError, match="undeclared"):
        reg.count(m, ("counters", "output"))
