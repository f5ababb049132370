"""A network's Verilog and description, its cells after Yosys (no multiplier in the shift network), the stage registry; split from test_hdl_network.py."""

import json
import re
import subprocess
from pathlib import Path
import numpy as np
import pytest
from conftest import assert_usage_error, run_cli
from shiftpsn.base.errors import UsageError
from shiftpsn.base.network import DenseLayer, NetworkSpec, signed_width
from shiftpsn.base.spec import CoreSpec
from shiftpsn.hdl.dense import DenseEngine
from shiftpsn.hdl.generate import generate_network, network_description_path, write_network_verilog
from shiftpsn.hdl.network import NetworkTop, with_arith

from test_hdl_network import YOSYS  # noqa: F401 (helpers and fixtures of test_hdl_network)


def small_network(seed=5, I=4, H=8, O=3, W=8, lanes=4) -> NetworkSpec:
    rng = np.random.default_rng(seed)
    d0 = DenseLayer(rng.integers(-100, 101, size=(H, I)).tolist(), rng.integers(-50, 51, size=H).tolist(), lanes=lanes)
    lo, hi, _ = d0.output_range(-(1 << (W - 1)), (1 << (W - 1)) - 1)
    spec = CoreSpec(channels=H, order=3, dilation=1, input_width=signed_width(min(lo), max(hi)), exp_min=-2,
                    exp_max=1, shift=[[int(v) for v in rng.integers(-2, 2, size=3)] for _ in range(H)],
                    sign=[[int(v) for v in rng.choice([-1, 1], size=3)] for _ in range(H)],
                    threshold=[int(v) for v in rng.integers(-100, 100, size=H)], lanes=lanes)
    d1 = DenseLayer(rng.integers(-100, 101, size=(O, H)).tolist(), rng.integers(-50, 51, size=O).tolist())
    return NetworkSpec(input_width=W, layers=(d0, spec, d1), name="small_net")


def verilog_ports(text: str, module: str) -> dict[str, tuple[str, int]]:
    body = text[text.index(f"module {module}("):]
    body = body[: body.index("endmodule")]
    ports = {}
    for direction, msb, name in re.findall(r"^\s*(input|output)\s+(?:wire\s+|reg\s+)?(?:\[(\d+):0\]\s+)?(\w+)\s*;",
                                           body, re.M):
        ports[name] = (direction, int(msb) + 1 if msb else 1)
    return ports


def test_generate_network_verilog_and_description(tmp_path):
    net = small_network()
    info = write_network_verilog(net, tmp_path / "net.v")
    text = (tmp_path / "net.v").read_text()
    desc = json.loads(network_description_path(tmp_path / "net.v").read_text())
    assert desc == json.loads(json.dumps(info)) and desc["top"] == "small_net" and desc["kind"] == "network"
    assert verilog_ports(text, "small_net") == {p["name"]: (p["direction"], p["width"]) for p in desc["ports"]}
    top = NetworkTop(net=net)
    top._MustUse__silence = True  # only its sizes are read
    assert desc["input_payload"]["x"] == {"offset": 0, "width": 4 * 8, "count": 4, "per_element": 8, "signed": True}
    assert desc["output_payload"]["sums"]["count"] == 3 and desc["sum_width"] == top.sum_width
    cps = desc["cycles_per_step"]
    dense0 = cps["layers"][0]
    assert dense0["kind"] == "dense" and (dense0["min"], dense0["max"]) == (2 * (8 + 1), 2 * (8 * 4 + 1))
    assert cps["max"] == max(x["max"] for x in cps["layers"])
    assert [layer["kind"] for layer in desc["layers"]] == ["dense", "psn", "dense"]
    assert desc["layers"][0]["first_layer"] == "bit-serial" and desc["layers"][1]["hardware"] == "engine"
    assert generate_network(with_arith(net, "mac")).info["layers"][0]["first_layer"] == "multiplier"
    # each neuron layer's spike stream is visible at the named instance, with the described payload
    (mon,) = desc["monitors"]
    assert mon["layer"] == 1 and mon["payload"]["x"]["count"] == 4  # lanes spikes per beat
    assert re.search(rf"^\s*\\small_net\.{mon['instance']}\s+{mon['instance']}\s*\(", text, re.M)
    ports = verilog_ports(text, f"\\small_net.{mon['instance']} ")
    width = max(f["offset"] + f["width"] for f in mon["payload"].values())
    assert ports[mon["ports"]["valid"]] == ("output", 1) and ports[mon["ports"]["ready"]] == ("input", 1)
    assert ports[mon["ports"]["payload"]] == ("output", width)
    with pytest.raises(UsageError):
        write_network_verilog(net, tmp_path / "net.json")
    with pytest.raises(UsageError):
        generate_network(net, top="1bad")


def test_cli_generate_net(tmp_path):
    net_path = tmp_path / "net.json"
    small_network(I=2, H=4, O=2, lanes=2).save(net_path)
    out = tmp_path / "out" / "net.v"
    r = run_cli("generate", "--net", net_path, "--output", out, "--top", "my_net")
    assert r.returncode == 0, r.stderr
    assert "module my_net(" in out.read_text()
    assert json.loads((tmp_path / "out" / "net.network.json").read_text())["top"] == "my_net"
    assert "cycles per time step" in r.stdout
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"input_width": 4, "layers": [{"type": "psn"}]}))
    assert_usage_error(run_cli("generate", "--net", bad, "--output", tmp_path / "b.v"), "layers[0]")
    assert_usage_error(run_cli("generate", "--net", net_path, "--output", net_path), "net.json")
    r = run_cli("generate", "--net", net_path, "--spec", net_path, "--output", tmp_path / "c.v")
    assert r.returncode == 2 and "not allowed with" in r.stderr
    assert not (tmp_path / "b.v").exists() and not (tmp_path / "c.v").exists()


# ----------------------------------------------------------------------------- Yosys: no multipliers
def yosys_cells(verilog: Path, top: str, script: str) -> dict[str, int]:
    stat = verilog.with_suffix(f".{abs(hash(script)) % 10**8}.json")
    r = subprocess.run([str(YOSYS), "-q", "-p", f"read_verilog {verilog.name}; hierarchy -top {top}; {script}; "
                        f"tee -q -o {stat.name} stat -json"], cwd=verilog.parent, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    modules = json.loads(stat.read_text())["modules"]
    return modules[f"\\{top}"]["num_cells_by_type"]


@pytest.fixture(scope="module")
def shift_and_mac(tmp_path_factory):
    d = tmp_path_factory.mktemp("netyosys")
    net = small_network(I=2, H=2, O=2, lanes=2)  # small: synthesis time; the parallel neuron core
    paths = {}
    for arith, n in (("shift", net), ("mac", with_arith(net, "mac"))):
        paths[arith] = d / f"{arith}.v"
        paths[arith].write_text(generate_network(n, top=f"net_{arith}").verilog)
    return paths


def test_shift_network_has_no_multiplier_cells(shift_and_mac):
    cells = {a: yosys_cells(p, f"net_{a}", "proc; flatten; opt -fast") for a, p in shift_and_mac.items()}
    assert "$mul" not in cells["shift"], cells["shift"]
    assert cells["mac"].get("$mul", 0) >= 2, cells["mac"]  # the first layer's two lanes at least


def test_shift_network_maps_to_no_dsp_on_ice40(shift_and_mac):
    cells = {a: yosys_cells(p, f"net_{a}", f"synth_ice40 -dsp -top net_{a}") for a, p in shift_and_mac.items()}
    assert "SB_MAC16" not in cells["shift"], cells["shift"]
    assert cells["mac"].get("SB_MAC16", 0) >= 2, cells["mac"]


@pytest.mark.slow
def test_shift_network_maps_to_no_dsp_on_ecp5(shift_and_mac):
    cells = {a: yosys_cells(p, f"net_{a}", f"synth_ecp5 -top net_{a}") for a, p in shift_and_mac.items()}
    assert "MULT18X18D" not in cells["shift"], cells["shift"]
    assert cells["mac"].get("MULT18X18D", 0) >= 2, cells["mac"]


@pytest.mark.slow
def test_large_dense_layer_weights_go_to_block_ram(tmp_path):
    """A 64 x 64 spike layer, 4 lanes, 8-bit weights: the 1024 x 32-bit weight ROM (32 kbit) fills
    eight SB_RAM40_4K; no multiplier anywhere."""
    from amaranth.back import verilog

    rng = np.random.default_rng(0)
    layer = DenseLayer(rng.integers(-128, 128, size=(64, 64)).tolist(), rng.integers(-100, 100, size=64).tolist(),
                       lanes=4)
    engine = DenseEngine(layer=layer, input_width=None, out_width=16)
    assert engine.rom_bits == 64 * 64 * 8 + 64 * 8
    (tmp_path / "d.v").write_text(verilog.convert(engine, name="dense64"))
    cells = yosys_cells(tmp_path / "d.v", "dense64", "synth_ice40 -top dense64")
    assert cells.get("SB_RAM40_4K") == 8 and "SB_MAC16" not in cells, cells


def test_every_layer_type_has_a_stage_builder():
    """The network top builds each layer through its type's builder (shiftpsn.hdl.stages), never by
    asking its class: every registered layer type has one, and each stage offers the stage interface."""
    from shiftpsn.base.layers import LAYER_TYPES
    from shiftpsn.hdl.stages import STAGE_BUILDERS

    assert set(STAGE_BUILDERS) == set(LAYER_TYPES)
    top = NetworkTop(net=small_network())
    top._MustUse__silence = True  # only its stages are read
    for L, stage in top.stages:
        assert stage.layer_entry(L)["kind"] == stage.kind and isinstance(stage.latency_bound, int)
        assert stage.monitored == (stage.kind == "psn") and set(stage.names()) >= {"memories", "registers"}
