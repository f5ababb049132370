"""The spec keys ``positions`` and ``lanes`` (docs/CONTRACT.md section 2.1): validation, derived sizes,
stimulus shapes, payload layouts and the golden model with P neurons per channel."""

import numpy as np
import pytest

from shiftpsn.base import ports
from shiftpsn.base.errors import SpecError, StimulusError
from shiftpsn.base.spec import CoreSpec, uniform_spec
from shiftpsn.base.stimulus import check_stimulus, from_beats, random_stimulus, to_beats
from shiftpsn.base.testing import random_spec
from shiftpsn.golden.integer import run as golden_run


@pytest.mark.parametrize("changes,message", [
    (dict(positions=0), "'positions' must be >= 1, got 0"),
    (dict(positions=1.5), "'positions' must be an integer"),
    (dict(lanes=0), "'lanes' must be >= 1, got 0"),
    (dict(lanes=True), "'lanes' must be an integer"),
    (dict(lanes=3), "'lanes' (3) must divide positions * channels = 8"),
    (dict(positions=3, lanes=16), "'lanes' (16) must divide positions * channels = 24"),
])
def test_bad_keys_are_rejected_with_one_line(changes, message):
    d = uniform_spec(channels=8).to_dict()
    d.update(changes)
    with pytest.raises(SpecError) as e:
        CoreSpec.from_dict(d)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_defaults_leave_the_dict_unchanged():
    spec = uniform_spec(channels=6)
    assert spec.positions == 1 and spec.lanes == 6 and spec.parallel
    assert "positions" not in spec.to_dict() and "lanes" not in spec.to_dict()
    assert CoreSpec.from_dict({**spec.to_dict(), "lanes": None}) == spec
    engine = spec.replace(positions=4, lanes=3)
    assert engine.to_dict()["positions"] == 4 and engine.to_dict()["lanes"] == 3
    assert CoreSpec.from_dict(engine.to_dict()) == engine
    assert spec.replace(positions=2).lanes == 12  # the default follows P*C


def test_derived_sizes():
    s = uniform_spec(channels=8, order=4, dilation=3, input_width=6, positions=4, lanes=2)
    assert (s.neurons, s.beats_per_step, s.cycles_per_step, s.parallel) == (32, 16, 16, False)
    assert s.history_slots == 9 and s.history_word_width == 2 * 9 * 6 and s.history_depth == 16
    assert s.history_bits == s.storage_bits == 32 * 9 * 6
    assert s.beat_addr_width == 4 and s.channel_addr_width == 3
    assert [s.lane_channel(g, j) for g in range(5) for j in range(2)] == [0, 1, 2, 3, 4, 5, 6, 7, 0, 1]
    assert s.lane_channels_fixed is False and s.replace(lanes=16).lane_channels_fixed is True
    # constant zero oldest taps shorten the engine's histories
    c = s.replace(weights="constant", shift=[[None, None, 0, 1]] * 8)
    assert c.history_slots == 3 and s.replace(shift=[[None, None, 0, 1]] * 8).history_slots == 9


def test_default_payload_layouts_are_unchanged():
    s = uniform_spec(channels=5, input_width=7)
    assert ports.input_fields(s) == [("x", 35, 7), ("first", 1, 1)]
    assert ports.output_fields(s) == [("spikes", 5, 1), ("first", 1, 1), ("acc", 5 * s.acc_width, s.acc_width)]
    e = s.replace(positions=3, lanes=3)
    assert ports.input_fields(e) == [("x", 21, 7), ("first", 1, 1)]
    assert ports.output_fields(e)[0] == ("spikes", 3, 1)


def test_stimulus_shapes():
    s = uniform_spec(channels=3, positions=2, lanes=2)
    x = np.zeros((5, 2, 3), dtype=np.int8)
    assert check_stimulus(x, s).shape == (1, 5, 2, 3)
    assert check_stimulus(x[None].repeat(2, 0), s).shape == (2, 5, 2, 3)
    with pytest.raises(StimulusError, match=r"\(T, P, C\) or \(B, T, P, C\)"):
        check_stimulus(np.zeros((5, 3), dtype=np.int8), s)
    with pytest.raises(StimulusError, match="expected positions = 2"):
        check_stimulus(np.zeros((5, 4, 3), dtype=np.int8), s)
    with pytest.raises(StimulusError, match=r"\(T, C\) or \(B, T, C\)"):
        check_stimulus(np.zeros((1, 5, 2, 3), dtype=np.int8), uniform_spec(channels=3))
    r = random_stimulus(s, np.random.default_rng(0), 2, 4)
    assert r.shape == (2, 4, 2, 3)
    beats = to_beats(s, r)
    assert beats.shape == (2, 4, 3, 2) and np.array_equal(from_beats(s, beats), r)
    # beat g, lane j = neuron n = g*lanes + j = p*C + c
    assert beats[1, 2, 1, 1] == r[1, 2, 1, 0]


def test_golden_positions_are_independent_neurons_of_their_channel():
    """Each position p is the P = 1 core on X[:, :, p, :] (a loop here, in the test, not in golden)."""
    rng = np.random.default_rng(2)
    spec = random_spec(rng, channels=5, order=4, dilation=2, positions=3)
    x = random_stimulus(spec, rng, 2, 12)
    spikes, acc = golden_run(spec, x)
    single = spec.replace(positions=1)
    for p in range(3):
        s1, a1 = golden_run(single, x[:, :, p])
        assert np.array_equal(a1, acc[:, :, p]) and np.array_equal(s1, spikes[:, :, p])
    assert golden_run(spec, x[0])[1].shape == (12, 3, 5)
    # lanes changes nothing in the golden model
    assert np.array_equal(golden_run(spec.replace(lanes=5), x)[1], acc)


def test_synth_layer_keys():
    """The report keys of issue 13 from a target's counts and Fmax (shiftpsn.synth.synthesize)."""
    from shiftpsn.synth.synthesize import _layer_keys

    spec = uniform_spec(channels=256, order=2, dilation=3, exp_min=-7, exp_max=0, lanes=1)
    entry = {"luts": 256, "fmax_mhz": 51.2, "cell_types": {"SB_RAM40_4K": 5, "SB_LUT4": 256},
             "pnr": {"device": "iCE40 UP5K (sg48)", "device_args": "--up5k --package sg48"}}
    keys = _layer_keys(spec, entry)
    assert keys["neurons"] == 256 and keys["lanes"] == 1 and keys["cycles_per_step"] == 256
    assert keys["bram_bits"] == 5 * 4096 and keys["history_bits"] == 256 * 3 * 8
    assert keys["luts_per_neuron"] == 1.0 and keys["device"] == "iCE40 UP5K (sg48)"
    assert keys["neuron_steps_per_s"] == 51.2e6 and keys["step_rate_hz"] == 51.2e6 / 256
    none = _layer_keys(uniform_spec(), {"luts": None, "fmax_mhz": None})
    assert none["luts_per_neuron"] is None and none["step_rate_hz"] is None and none["history_bits"] == 0
