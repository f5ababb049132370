"""The flow's machinery without tools: the one step cache (a failed step is never cached, changed inputs
are recomputed, reuse is reported), the step runner's reused marks and the one configuration."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shiftpsn.base.errors import CheckFailed
from shiftpsn.flow.config import MODE_DEFAULTS, FlowConfig
from shiftpsn.flow.steps import Done, Step, cached, input_hash, run_steps


def test_cache_reuses_only_the_same_inputs_and_existing_outputs(tmp_path, capsys):
    out = tmp_path / "o.txt"
    calls = []

    def compute():
        calls.append(1)
        out.write_text("x")
        return {"n": len(calls), "t": (1, 2)}

    inputs = {"a": 1, "x": np.arange(3), "f": tmp_path / "in.txt"}
    (tmp_path / "in.txt").write_text("one")
    assert cached(tmp_path, "s", inputs, [out], compute) == ({"n": 1, "t": [1, 2]}, False)
    assert cached(tmp_path, "s", inputs, [out], compute, noun="reports") == ({"n": 1, "t": [1, 2]}, True)
    assert "[flow] s: reusing the reports in" in capsys.readouterr().out
    (tmp_path / "in.txt").write_text("two")  # an input file's content changed
    assert cached(tmp_path, "s", inputs, [out], compute)[0]["n"] == 2
    out.unlink()  # an output is missing
    assert cached(tmp_path, "s", inputs, [out], compute)[0]["n"] == 3
    assert cached(tmp_path, "s", {**inputs, "x": np.arange(4)}, [out], compute)[0]["n"] == 4
    assert cached(tmp_path, "s", {**inputs, "x": np.arange(4)}, [out], compute, force=True)[0]["n"] == 5
    assert json.loads((tmp_path / "s.cache.json").read_text())["result"] == {"n": 5, "t": [1, 2]}


def test_a_failed_step_is_never_cached(tmp_path):
    out = tmp_path / "o.txt"
    out.write_text("partial")

    def fail():
        raise CheckFailed("synth asic (shift) failed: yosys died")

    assert cached(tmp_path, "synth", {"a": 1}, [out], lambda: {"ok": 1})[1] is False
    with pytest.raises(CheckFailed):
        cached(tmp_path, "synth", {"a": 2}, [out], fail)  # new inputs, the step fails
    assert not (tmp_path / "synth.cache.json").exists()  # the old entry is gone, no new one
    assert cached(tmp_path, "synth", {"a": 2}, [out], lambda: {"ok": 2}) == ({"ok": 2}, False)


def test_input_hash_tells_arrays_and_values_apart():
    assert input_hash({"a": [1, 2]}) == input_hash({"a": (1, 2)})
    assert input_hash(np.arange(3, dtype=np.int64)) != input_hash(np.arange(3, dtype=np.int32))
    assert input_hash(np.zeros((2, 3))) != input_hash(np.zeros((3, 2)))
    assert input_hash({"a": 1, "b": 2}) == input_hash({"b": 2, "a": 1})


def test_run_steps_marks_reused_steps(capsys):
    steps = [Step("one", lambda c, x: "first", lambda c, x: Done("did it")),
             Step("two", lambda c, x: "second", lambda c, x: Done("kept", reused=True))]
    s = run_steps(FlowConfig(), steps, {"summary": {}})
    out = capsys.readouterr().out
    assert "[flow 1/2] one: first" in out and "[flow] one done in" in out and "s: did it" in out
    assert "[flow] two done in" in out and "(reused): kept" in out
    assert s["reused_steps"] == ["two"] and set(s["stage_seconds"]) == {"one", "two", "total"}


def test_one_config_with_mode_defaults():
    net, layer = FlowConfig(), FlowConfig(mode="layer")
    assert (net.width, net.epochs, net.sim, net.dilation) == (64, 20, "verilator", "fixed")
    assert (layer.width, layer.epochs, layer.sim, layer.dilation) == (8, 40, "icarus", "sawtooth")
    assert {k: getattr(layer, k) for k in MODE_DEFAULTS["layer"]} == MODE_DEFAULTS["layer"]
    assert FlowConfig(mode="layer", width=16).width == 16
    assert FlowConfig().to_dict()["output_dir"] == "out/demo"
    with pytest.raises(ValueError):
        FlowConfig(mode="board")
