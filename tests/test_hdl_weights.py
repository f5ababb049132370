"""Runtime weight registers (hdl/config.py) against a register-file model written here; split from test_hdl_blocks.py."""

from __future__ import annotations
import numpy as np
import pytest
from amaranth.hdl import signed
from shiftpsn.base.spec import CoreSpec, pack_fields
from shiftpsn.base.testing import random_spec
from shiftpsn.hdl.config import RuntimeWeights
from shiftpsn.hdl.lane import ChannelLane

from test_hdl_blocks import _Harness, _run, assert_same_sequence, _signed_range, _random_bits, _to_signed  # noqa: F401 (helpers and fixtures of test_hdl_blocks)


class RegisterFileModel:
    """The configuration registers of docs/CONTRACT.md section 7, from the spec's weights at power-up.

    Field per address: tap (c, i) at ``c*k + i`` (the tap word amount | neg << S | zero << S+1, or for
    ``arith = "mac"`` the integer weight ``sign * 2**amount``, 0 for a zero tap), threshold of c at
    ``C*k + c`` (theta saturated to [acc_min, acc_max + 1]). Everything is kept as plain ints."""

    def __init__(self, spec: CoreSpec):
        self.spec = spec
        s, C, k = spec, spec.channels, spec.order
        self.S = max(1, (s.exp_max - s.exp_min).bit_length())
        self.taps = {}
        for c in range(C):
            for i in range(k):
                e = s.shift[c][i]
                word = (1 << (self.S + 1) if e is None
                        else (e - s.exp_min) | (int(s.sign[c][i] < 0) << self.S))
                self.taps[c * k + i] = self._decode(word) if s.arith == "mac" else word
        acc_w = s.input_width + (s.exp_max - s.exp_min) + max(0, k - 1).bit_length() + 1
        acc_min, acc_max = _signed_range(acc_w)
        self.threshold_width = acc_w + 1
        self.thresholds = {C * k + c: min(max(s.threshold[c], acc_min), acc_max + 1) for c in range(C)}

    def _decode(self, word: int) -> int:
        amount, neg, zero = word & ((1 << self.S) - 1), (word >> self.S) & 1, (word >> (self.S + 1)) & 1
        return 0 if zero else (-1 if neg else 1) << amount

    def write(self, addr: int, data: int) -> None:
        if addr in self.taps:
            word = data & ((1 << (self.S + 2)) - 1)
            self.taps[addr] = self._decode(word) if self.spec.arith == "mac" else word
        elif addr in self.thresholds:
            self.thresholds[addr] = _to_signed(data, self.threshold_width)

    def outputs(self) -> tuple:
        """Per channel: (its k tap fields packed LSB first as an unsigned int, its signed threshold)."""
        s, C, k = self.spec, self.spec.channels, self.spec.order
        tap_width = (s.exp_max - s.exp_min) + 2 if s.arith == "mac" else self.S + 2
        return tuple((pack_fields([(self.taps[c * k + i], tap_width) for i in range(k)])[0],
                      self.thresholds[C * k + c]) for c in range(C))


def _simulate_weights(dut: RuntimeWeights, spec: CoreSpec, writes: list[dict]) -> list[tuple]:
    top = _Harness(dut)
    taps = dut.weight if spec.arith == "mac" else dut.tap
    got = []

    async def bench(ctx):
        for w in writes:
            ctx.set(dut.cfg.addr, w["addr"])
            ctx.set(dut.cfg.data, w["data"])
            ctx.set(dut.cfg.we, w["we"])
            ctx.set(top.rst, w["rst"])
            got.append(tuple((ctx.get(taps[c]), ctx.get(dut.threshold[c])) for c in range(spec.channels)))
            await ctx.tick()
        got.append(tuple((ctx.get(taps[c]), ctx.get(dut.threshold[c])) for c in range(spec.channels)))

    _run(top, bench)
    return got


def register_file_expected(spec: CoreSpec, writes: list[dict]) -> list[tuple]:
    """Outputs per cycle (and once more after the last edge): a write takes effect at its edge."""
    model = RegisterFileModel(spec)
    out = []
    for w in writes:
        out.append(model.outputs())
        if w["we"]:
            model.write(w["addr"], w["data"])
    out.append(model.outputs())
    return out


def _weights_spec(rng, C, k, W, exp_min, exp_max, arith) -> CoreSpec:
    return random_spec(rng, channels=C, order=k, dilation=1, input_width=W, exp_lo=exp_min,
                       exp_span=exp_max - exp_min, zero_tap_p=0.25, extreme_threshold_p=0.3, arith=arith)


_WEIGHT_CASES = [
    # C, k, W, exp_min, exp_max, arith
    (1, 1, 2, 0, 0, "shift"),     # smallest: one tap, exp_min == exp_max (1-bit amount field)
    (1, 1, 3, 1, 1, "mac"),       # exp_min == exp_max: integer weights +-1 or 0
    (3, 2, 4, -1, 2, "shift"),
    (2, 4, 6, -2, 3, "mac"),
    (5, 3, 8, -4, 1, "shift"),    # 20 words in a 5-bit address: 12 unmapped addresses
    (2, 3, 4, 2, 2, "shift"),     # exp_min == exp_max with several taps
]


@pytest.mark.parametrize("C,k,W,exp_min,exp_max,arith", _WEIGHT_CASES)
def test_runtime_weights_random_writes(C, k, W, exp_min, exp_max, arith):
    """Power-up values, then random writes (mapped and unmapped addresses, junk in the unused data
    bits) and rst pulses: after each edge only the written field has changed."""
    rng = np.random.default_rng(300 + C * 16 + k)
    spec = _weights_spec(rng, C, k, W, exp_min, exp_max, arith)
    S = max(1, (exp_max - exp_min).bit_length())
    writes = []
    for _ in range(25 * (C * k + C) + 40):
        addr = _random_bits(rng, spec.cfg_addr_width)
        data = _random_bits(rng, spec.cfg_data_width)
        if arith == "mac" and addr < C * k:  # a valid tap word: amount in [0, exp_max - exp_min]
            amount = int(rng.integers(0, exp_max - exp_min + 1))
            data = (data & ~((1 << S) - 1)) | amount
        we = int(rng.random() < 0.5)
        rst = int(not we and rng.random() < 0.15)
        writes.append({"addr": addr, "data": data, "we": we, "rst": rst})
    got = _simulate_weights(RuntimeWeights(spec=spec), spec, writes)
    expected = register_file_expected(spec, writes)
    assert_same_sequence(f"(taps, threshold) per channel, spec {spec.to_dict()}", expected, got,
                         writes + [None])


@pytest.mark.parametrize("C,k,W,exp_min,exp_max,arith", _WEIGHT_CASES)
def test_runtime_weights_load_config_words(C, k, W, exp_min, exp_max, arith):
    """Generated from one spec and loaded with another's ``config_words()``: the registers then read
    back as the other spec's register map (``CoreSpec.weight_register``), and as the model says."""
    rng = np.random.default_rng(400 + C * 16 + k)
    powered = _weights_spec(rng, C, k, W, exp_min, exp_max, arith)
    loaded = powered
    while loaded.config_words() == powered.config_words():  # other weights, so the port must work
        loaded = _weights_spec(rng, C, k, W, exp_min, exp_max, arith)
    writes = [{"addr": a, "data": d, "we": 1, "rst": 0} for a, d in loaded.config_words()]
    writes += [{"addr": 0, "data": 0, "we": 0, "rst": 1}]  # rst afterwards clears nothing
    dut = RuntimeWeights(spec=powered)
    got = _simulate_weights(dut, powered, writes)
    expected = register_file_expected(powered, writes)
    assert_same_sequence("(taps, threshold) per channel", expected, got, writes + [None])
    assert got[0] == RegisterFileModel(powered).outputs()
    assert got[-1] == RegisterFileModel(loaded).outputs()
    for c, (taps, threshold) in enumerate(got[-1]):  # the whole register, per CoreSpec's map
        value, width = loaded.weight_register(c)
        tap_bits = width - loaded.threshold_width
        assert taps | ((threshold & ((1 << loaded.threshold_width) - 1)) << tap_bits) == value, c


# ========================================================================================= ChannelLane
