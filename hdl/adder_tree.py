"""A balanced adder tree with an optional register stage after any level (the ``pipeline`` key).

A lane's ``pipeline`` register stages (0 .. ``shiftpsn.base.spec.max_pipeline(k)`` = levels + 2) are
split by :func:`split_pipeline`: up to levels + 1 go into the tree (:func:`pipeline_cuts`); the
deepest setting adds one more, the *operand cut*, between the operand's sign/zero select and its
barrel shifter (see the lanes' ``_operand``), the longest segment of a runtime-weight lane.
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Signal, Value

__all__ = ["pipeline_cuts", "split_pipeline", "PipelinedAdderTree"]


def split_pipeline(levels: int, stages: int) -> tuple[bool, tuple[int, ...]]:
    """``(operand_cut, tree cuts)`` of a lane with ``stages`` register stages and ``levels`` adder levels.

    ``stages`` <= levels + 1: no operand cut, the tree gets :func:`pipeline_cuts`; ``stages`` =
    levels + 2 (the most): every tree cut plus the operand cut.
    """
    if not 0 <= stages <= levels + 2:
        raise ValueError(f"stages must be in [0, {levels + 2}], got {stages}")
    if stages == levels + 2:
        return True, pipeline_cuts(levels, levels + 1)
    return False, pipeline_cuts(levels, stages)


def pipeline_cuts(levels: int, stages: int) -> tuple[int, ...]:
    """Where ``stages`` register stages go in a tree of ``levels`` adder levels.

    Cut ``q`` registers the values after adder level ``q`` (``q = 0``: the operands, before the first
    adder; ``q = levels``: the sum, before the comparator), so ``0 <= stages <= levels + 1``. The
    cuts split the ``levels + 2`` combinational segments (operand logic, each adder level,
    comparator) as evenly as integers allow.
    """
    if not 0 <= stages <= levels + 1:
        raise ValueError(f"stages must be in [0, {levels + 1}], got {stages}")
    cuts = tuple((j + 1) * (levels + 1) // (stages + 1) for j in range(stages))
    assert len(set(cuts)) == stages and all(0 <= q <= levels for q in cuts), cuts
    return cuts


class PipelinedAdderTree:
    """Builds a balanced binary adder tree of signed operands into a :class:`Module`.

    An operand is a pair ``(value, negative)``: a constant negative sign costs no negation, since
    a pair of operands of different signs becomes a subtraction and a pair of negative operands
    the negative of their sum. The tree always has ``levels`` adder levels (fewer operands pass
    through the missing ones), so every tree built with the same ``cuts`` has the same latency.
    Registers load when ``enable`` is high; constants are not registered. Each level widens by
    one bit, so no sum overflows.

    Parameters
    ----------
    m : Module
        Module to add the logic to.
    levels : int
        Adder levels, at least ``ceil(log2(number of operands))``.
    cuts : tuple of int
        Register positions from :func:`pipeline_cuts`.
    enable : Value
        Clock enable of the pipeline registers.
    """

    def __init__(self, m: Module, *, levels: int, cuts: tuple[int, ...], enable: Value):
        self._m, self._levels, self._cuts, self._enable = m, levels, frozenset(cuts), enable
        #: Flip-flops the pipeline registers hold (sum of their widths).
        self.register_bits = 0

    def build(self, operands: list[tuple[Value, bool]]) -> tuple[Value, bool]:
        """Return ``(sum, negative)``: the total is ``-sum`` if ``negative`` else ``sum``."""
        operands = list(operands) or [(Const(0, 1), False)]
        for level in range(self._levels + 1):
            if level in self._cuts:
                loads = []
                operands = [(self._register(v, f"tree_l{level}_{j}", loads), neg)
                            for j, (v, neg) in enumerate(operands)]
                with self._m.If(self._enable):
                    self._m.d.sync += loads
            if level < self._levels:
                operands = _pair_sums(operands)
        assert len(operands) == 1, "levels too small for the number of operands"
        return operands[0]

    def register(self, value: Value, name: str) -> Value:
        """``value`` behind one register loading on ``enable`` (counted in :attr:`register_bits`);
        a constant passes unregistered. For stages outside the tree (the operand cut)."""
        loads = []
        reg = self._register(value, name, loads)
        if loads:
            with self._m.If(self._enable):
                self._m.d.sync += loads
        return reg

    def _register(self, value: Value, name: str, loads: list) -> Value:
        if isinstance(value, Const):
            return value
        reg = Signal(value.shape(), name=name)
        loads.append(reg.eq(value))
        self.register_bits += len(reg)
        return reg


def _pair_sums(operands: list[tuple[Value, bool]]) -> list[tuple[Value, bool]]:
    """One adder level: neighbours combined pairwise, an odd last operand passed through."""
    out = [_combine(operands[j], operands[j + 1]) for j in range(0, len(operands) - 1, 2)]
    if len(operands) % 2:
        out.append(operands[-1])
    return out


def _combine(a: tuple[Value, bool], b: tuple[Value, bool]) -> tuple[Value, bool]:
    (va, na), (vb, nb) = a, b
    if na == nb:
        return va + vb, na   # +a+b, or -(a+b)
    return (vb - va, False) if na else (va - vb, False)
