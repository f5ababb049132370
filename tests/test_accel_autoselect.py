"""Autoselect (papers/000 Algorithm 1) on CPU: a valid choice, its reported overhead, the caches, a model
left as found, and the ``shiftpsn autoselect`` command line."""

import json

import pytest
import torch
from torch import nn

from conftest import assert_usage_error
from shiftpsn.golden.accel import available_methods
from shiftpsn.golden.accel.autoselect import Choice, autoselect, select_for_shape
from shiftpsn.golden.accel.module import TemporalConv
from shiftpsn.golden.model.layers import SeqLayer


def test_one_layer_choice_is_valid_and_fastest():
    choice = select_for_shape((6, 3, 4), 3, 2, repeats=1, seed=3)
    assert choice.layout in ("time-first", "time-last") and not choice.cached
    assert set(choice.times_s) == {"time-first", "time-last"}
    for lay, per_layer in choice.times_s.items():
        (times,) = per_layer.values()
        assert list(times) == available_methods(lay, "cpu")  # triton not on CPU by default
        assert all(t > 0 for t in times.values())
        assert choice.layout_times_s[lay] == min(times.values())
        assert choice.all_methods[lay]["0:TemporalConv"] == min(times, key=times.get)
    assert choice.layout == min(choice.layout_times_s, key=choice.layout_times_s.get)
    assert choice.methods == choice.all_methods[choice.layout]
    assert choice.overhead_s >= sum(choice.layout_times_s.values())  # it ran them all, 3 times each


def mod_format() -> str:
    from shiftpsn.golden.accel.autoselect import CACHE_FORMAT

    return CACHE_FORMAT


def test_model_choice_applied_and_state_restored(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(SeqLayer(nn.Conv2d(2, 4, 3, padding=1)), SeqLayer(nn.BatchNorm2d(4)),
                          TemporalConv(4, 3, 2), SeqLayer(nn.Flatten()), SeqLayer(nn.Linear(4 * 3 * 3, 5)))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(5, 2, 2, 3, 3)  # (T, N, C, H, W)
    cache = tmp_path / "choice.json"
    choice = autoselect(model, x, repeats=1, cache_file=cache)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), f"{k} changed"  # BN running stats restored
    assert all(p.grad is None for p in model.parameters())
    assert all(layer.layout == choice.layout for layer in model)
    assert model[2].method == choice.methods["2:TemporalConv"]
    assert set(choice.methods) == {"0:SeqLayer", "1:SeqLayer", "2:TemporalConv", "3:SeqLayer", "4:SeqLayer"}
    y = model(torch.randn(5, 2, 2, 3, 3).movedim(0, -1).contiguous() if choice.layout == "time-last"
              else torch.randn(5, 2, 2, 3, 3))
    assert y.shape == ((5, 2, 5) if choice.layout == "time-first" else (2, 5, 5))
    # in-memory cache, then the JSON file from a cold memory cache
    again = autoselect(model, x, repeats=1, cache_file=cache)
    assert again.cached and again.layout == choice.layout and again.overhead_s < choice.overhead_s
    stored = json.loads(cache.read_text())
    assert stored["format"] == mod_format() and list(stored["choices"]) == [choice.key]
    from shiftpsn.golden.accel import autoselect as mod

    mod._CACHE.clear()
    from_file = autoselect(model, x, repeats=1, cache_file=cache)
    assert from_file.cached and from_file.methods == choice.methods
    # another shape is another key
    other = autoselect(model, torch.randn(4, 2, 2, 3, 3), repeats=1, layouts=("time-first",))
    assert not other.cached and other.layout == "time-first"


def test_bad_arguments():
    layer = TemporalConv(3, 2)
    with pytest.raises(ValueError, match="repeats"):
        autoselect(layer, torch.randn(4, 2, 3), repeats=0)
    with pytest.raises(ValueError, match="layout must be one of"):
        autoselect(layer, torch.randn(4, 2, 3), layouts=("sideways",))


def test_choice_json_roundtrip():
    c = select_for_shape((4, 2, 3), 2, 1, repeats=1, layouts=("time-last",))
    assert Choice(**json.loads(json.dumps(c.to_json()))) == c


def test_cli_json(cli):
    proc = cli("autoselect", "--shape", "6,2,4", "--order", "3", "--dilation", "2", "--repeats", "1", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) == {"shape", "order", "dilation", "device", "dtype", "repeats", "layouts", "times_s",
                        "layout_times_s", "best_method", "choice", "overhead_s", "cached"}
    lay = out["choice"]["layout"]
    assert out["choice"]["method"] == min(out["times_s"][lay], key=out["times_s"][lay].get)
    assert out["overhead_s"] > 0 and out["shape"] == [6, 2, 4]


def test_cli_table_one_layout(cli):
    proc = cli("autoselect", "--shape", "6,2,4,2", "--order", "2", "--dilation", "7", "--repeats", "1",
               "--layout", "time-last")
    assert proc.returncode == 0, proc.stderr
    assert "time-first" not in proc.stdout
    assert "choice: layout=time-last method=" in proc.stdout and "autoselect overhead:" in proc.stdout
    for m in available_methods("time-last", "cpu"):
        assert f" {m} " in proc.stdout


@pytest.mark.parametrize("args, fragment", [
    (["--shape", "8,x,3"], "--shape must be comma-separated integers"),
    (["--shape", "8,3"], "at least T,N,C"),
    (["--shape", "8,0,3"], "must be >= 1"),
    (["--shape", "8,2,3", "--order", "0"], "--order must be >= 1"),
    (["--shape", "8,2,3", "--dilation", "0"], "--dilation must be >= 1"),
    (["--shape", "8,2,3", "--repeats", "0"], "--repeats must be >= 1"),
    (["--shape", "8,2,3", "--layout", "diagonal"], "invalid choice"),
])
def test_cli_bad_input(cli, args, fragment):
    base = {"--order": "2", "--dilation": "1"}
    for i in range(0, len(args), 2):
        base[args[i]] = args[i + 1]
    flat = [a for kv in base.items() for a in kv]
    assert_usage_error(cli("autoselect", *flat), fragment)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_cli_cuda_missing(cli):
    assert_usage_error(cli("autoselect", "--shape", "4,2,3", "--order", "2", "--dilation", "1", "--device", "cuda"),
                       "no CUDA device")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_choice_includes_triton():
    choice = select_for_shape((64, 32, 128), 4, 2, device="cuda", repeats=3)
    for lay in ("time-first", "time-last"):
        (times,) = choice.times_s[lay].values()
        assert "triton" in times and list(times) == available_methods(lay, "cuda")
    assert choice.overhead_s > 0


def test_cli_triton_interpret_competes_on_cpu(cli):
    proc = cli("autoselect", "--shape", "4,2,3", "--order", "2", "--dilation", "1", "--repeats", "1", "--json",
               "--triton-interpret")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    for lay in ("time-first", "time-last"):
        assert "triton" in out["times_s"][lay] and out["times_s"][lay]["triton"] > 0


def test_triton_on_cpu_needs_the_interpreter():
    from shiftpsn.golden.accel import triton_conv

    if triton_conv.interpreter_enabled():
        pytest.skip("the interpreter is on in this process")
    with pytest.raises(ValueError, match="TRITON_INTERPRET=1"):
        autoselect(TemporalConv(3, 2), torch.randn(4, 2, 3), repeats=1, triton_on_cpu=True)
