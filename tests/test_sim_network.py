"""Co-simulation of whole networks (shiftpsn.sim.cosim, tb, scoreboard, faults: as for a core) in real
simulators against the golden integer network model (shiftpsn.golden.network):

* random networks (random lanes: parallel cores, engines and Regroups; random pipelines; shift and mac)
  equal golden in Icarus under random gaps, stalls and a reset mid-sequence: every logit, every
  sequence's done/class/sums, every neuron layer's spikes (watched inside the hardware); one case in
  Verilator;
* ``shiftpsn rtl-run --net`` writes what ``shiftpsn golden --net`` writes;
* every hand-made network fault (shiftpsn.sim.faults) fails ``shiftpsn regress --net`` with exit 1
  and one line naming the first mismatch; the healthy network passes;
* the scoreboard itself (payload packing, prefixes after a reset, missing and extra beats);
* bad input: exit 2, one line.
"""

import json

import numpy as np
import pytest
from conftest import assert_usage_error

from shiftpsn.base.testing import random_network_input
from shiftpsn.cli import main as shiftpsn
from shiftpsn.golden.network import run_network
from shiftpsn.sim.cosim import generated as generated_network
from shiftpsn.sim.cosim import regress as regress_network
from shiftpsn.sim.cosim import rtl_run as rtl_run_network
from shiftpsn.sim.faults import NETWORK_FAULTS, fault_network, write_faulty_network
from shiftpsn.sim.matrix import random_hw_network
from shiftpsn.base.payload import pack_network_inputs, unpack_stream
from shiftpsn.sim.scoreboard import Expected as NetExpected
from shiftpsn.sim.scoreboard import compare as compare_network
from shiftpsn.sim.traffic import Phase, Plan, default_phases


# ----------------------------------------------------------------------------- RTL equals golden
@pytest.mark.parametrize("seed", [11, 13])
def test_random_network_equals_golden_icarus(seed):
    rtl = generated_network(random_hw_network(np.random.default_rng(seed), arith="mac" if seed == 13 else "shift"))
    assert len(rtl.monitors()) == len(rtl.design.neuron_indices)  # every neuron layer's spikes are watched
    out = regress_network(rtl, steps=160, seed=seed)
    assert out.mismatch is None, out.mismatch.report()
    assert out.verdict["stalled"] is None and out.verdict["beats_out"] > 0


def test_cli_regress_random_networks(capsys):
    rc = shiftpsn(["regress", "--random-net", "2", "--steps", "80", "--seed", "21"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert "PASS 2 random networks on icarus" in out.out and "random network 2 of 2 (seed 22)" in out.out


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 140))
def test_random_network_equals_golden_icarus_many(seed):
    rng = np.random.default_rng(seed)
    rtl = generated_network(random_hw_network(rng, hidden=(1, 3), width=(1, 24), order=(1, 8)))
    out = regress_network(rtl, steps=400, seed=seed)
    assert out.mismatch is None, out.mismatch.report()


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(200, 204))
def test_random_network_equals_golden_verilator_many(seed):
    rtl = generated_network(random_hw_network(np.random.default_rng(seed), width=(1, 32)))
    out = regress_network(rtl, sim="verilator", steps=1000, seed=seed)
    assert out.mismatch is None, out.mismatch.report()


def test_fault_network_equals_golden_verilator():
    """The one Verilator case (builds are slow): the fault network (engine, core, Regroups, ties)."""
    rtl = generated_network(fault_network())
    out = regress_network(rtl, sim="verilator", steps=300, seed=3)
    assert out.mismatch is None, out.mismatch.report()
    assert out.verdict["monitored"] == [1, 3]


def test_rtl_run_network_api_equals_golden():
    net = fault_network()
    x = random_network_input(net, np.random.default_rng(1), 3, 7, extreme_fraction=0.3)
    got = rtl_run_network(generated_network(net), x)
    want = run_network(net, x).arrays()
    assert set(got) == set(want)
    for k in want:
        assert got[k].dtype == want[k].dtype and got[k].shape == want[k].shape, k
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)


@pytest.mark.parametrize("shape", [(2, 6), (1, 5)], ids=["B_T_I", "T_I"])
def test_cli_rtl_run_net_equals_golden(cli, tmp_path, shape):
    verilog, net_path = write_faulty_network(None, tmp_path)
    net = fault_network()
    B, T = shape
    x = random_network_input(net, np.random.default_rng(T), B, T, extreme_fraction=0.3)
    np.save(tmp_path / "x.npy", x if B > 1 else x[0])
    g = cli("golden", "--net", net_path, "--input", tmp_path / "x.npy", "--output", tmp_path / "g.npz")
    assert g.returncode == 0, g.stderr
    args = ["--verilog", verilog] if B > 1 else []  # a given Verilog (+ NETWORK.json), or generated
    r = cli("rtl-run", "--net", net_path, "--input", tmp_path / "x.npy", "--output", tmp_path / "r.npz", *args)
    assert r.returncode == 0, r.stderr
    with np.load(tmp_path / "g.npz") as zg, np.load(tmp_path / "r.npz") as zr:
        assert sorted(zg.files) == sorted(zr.files) == ["classes", "logits", "spikes_1", "spikes_3"]
        for k in zg.files:
            assert zg[k].dtype == zr[k].dtype and zg[k].shape == zr[k].shape, k
            np.testing.assert_array_equal(zr[k], zg[k], err_msg=k)


# ----------------------------------------------------------------------------- fault injection
def _regress_net(verilog, net_path, capsys, *extra):
    rc = shiftpsn(["regress", "--net", str(net_path), "--verilog", str(verilog), *map(str, extra)])
    return rc, capsys.readouterr()  # default steps, seed, sim


def test_healthy_network_passes(tmp_path, capsys):
    rc, out = _regress_net(*write_faulty_network(None, tmp_path), capsys)
    assert rc == 0, out.err
    assert "PASS fault_net" in out.out


def test_at_least_ten_network_faults():
    assert len(NETWORK_FAULTS) >= 10 and len({f.name for f in NETWORK_FAULTS}) == len(NETWORK_FAULTS)
    names = {f.name for f in NETWORK_FAULTS}
    assert {"weight_address_wrong", "spike_dropped_between_layers", "readout_tie_wrong_way"} <= names


@pytest.mark.parametrize("fault", NETWORK_FAULTS, ids=[f.name for f in NETWORK_FAULTS])
def test_network_fault_is_caught(fault, tmp_path, capsys):
    verilog, net_path = write_faulty_network(fault, tmp_path)  # raises if the edit finds nothing to change
    # --waves: the failing run dumps its waveform at once (no second run with one: faster)
    rc, out = _regress_net(verilog, net_path, capsys, "--waves", tmp_path / "waves")
    err = out.err.strip()
    assert rc == 1, f"{fault.name} ({fault.description}) not caught: {out.out}{out.err}"
    assert len(err.splitlines()) == 1 and "FAIL" in err and "(sequence, t, c, expected, got)" in err, err
    assert any((tmp_path / "waves").iterdir())  # the waveform of the failing run is kept


# ----------------------------------------------------------------------------- the scoreboard
def _plan(net, lengths, phases):
    rtl = generated_network(net)
    return Plan(design=net.to_dict(), streams=rtl.streams, stimulus="", lengths=lengths, results="",
                phases=phases), rtl.desc


def _fake_out_stream(exp: NetExpected, layout: dict, steps: np.ndarray) -> list[str]:
    """The output payloads a correct network sends for ``steps`` (binary strings, MSB first)."""
    net = exp.design
    lanes = net.layers[-1].lanes
    G = net.out_features // lanes
    o = layout["output_payload"]
    width = max(f["offset"] + f["width"] for f in o.values())
    words = []
    for s in steps:
        seq = exp.sequence[s]
        for g in range(G):
            word = 0
            for name, value in (("first", exp.first[s]), ("last", exp.last[s]),
                                ("done", int(exp.last[s] and g == G - 1)), ("cls", exp.cls[seq])):
                word |= int(value) << o[name]["offset"]
            for key, values in (("logits", exp.logits[s, g * lanes:(g + 1) * lanes]), ("sums", exp.sums[seq])):
                per = o[key]["per_element"]
                for j, v in enumerate(values):
                    word |= (int(v) & ((1 << per) - 1)) << (o[key]["offset"] + j * per)
            words.append(format(word, f"0{width}b"))
    return words


def test_scoreboard_prefix_after_reset_missing_and_wrong_beats():
    net = fault_network()
    lengths = [3, 1, 4, 2]
    phases = [Phase(0, 3, cut=5, reset=True), Phase(3, 4)]  # a reset inside sequence 2, then sequence 3
    plan, layout = _plan(net, lengths, phases)
    x = random_network_input(net, np.random.default_rng(0), 1, sum(lengths))[0]
    exp = NetExpected(net, plan, x)
    steps0 = np.arange(0, 4)  # one step of the 5 driven before the reset was in flight: dropped
    steps1 = np.arange(8, 10)
    words = _fake_out_stream(exp, layout, steps0) + _fake_out_stream(exp, layout, steps1)
    epochs = np.array([0] * (len(words) - 4) + [1] * 4)
    got = unpack_stream(layout["output_payload"], words)
    assert compare_network(exp, {"o": (got, epochs)}) is None
    # the last beat of the last sequence missing
    short = unpack_stream(layout["output_payload"], words[:-1])
    m = compare_network(exp, {"o": (short, epochs[:-1])})
    assert m.field == "missing" and (m.sequence, m.t) == (3, 1)
    # a wrong logit; a wrong class on the final beat
    bad = dict(got, logits=got["logits"].copy(), cls=got["cls"].copy())
    bad["logits"][3, 1] += 1
    m = compare_network(exp, {"o": (bad, epochs)})
    assert (m.sequence, m.t, m.channel, m.field) == (0, 1, 3, "logits")
    bad = dict(got, cls=got["cls"].copy())
    bad["cls"][-1] ^= 1
    m = compare_network(exp, {"o": (bad, epochs)})
    assert (m.sequence, m.t, m.field) == (3, 1, "cls") and m.expected == exp.cls[3]


def test_pack_and_unpack_inputs_round_trip():
    net = fault_network()
    plan, layout = _plan(net, [2, 3], default_phases(2, [2, 3], first_after_reset=True))
    x = random_network_input(net, np.random.default_rng(2), 1, 5, extreme_fraction=0.5)[0]
    first, last = plan.flags()
    assert first.tolist() == [1, 0, 1, 0, 0] and last.tolist() == [0, 1, 0, 0, 1]
    words = pack_network_inputs(layout["input_payload"], x, first, last)
    width = max(f["offset"] + f["width"] for f in layout["input_payload"].values())
    back = unpack_stream(layout["input_payload"], [format(w, f"0{width}b") for w in words])
    np.testing.assert_array_equal(back["x"], x)
    assert back["first"].tolist() == first.tolist() and back["last"].tolist() == last.tolist()
    back = unpack_stream(layout["input_payload"], ["x" * width])
    assert back["unknown_x"].all()
    # sums wider than 64 bits (a long max_steps) come back as Python ints
    wide = {"sums": {"offset": 0, "width": 140, "count": 2, "per_element": 70, "signed": True}}
    word = ((-5) & ((1 << 70) - 1)) | ((1 << 65) << 70)
    assert unpack_stream(wide, [format(word, "0140b")])["sums"].tolist() == [[-5, 1 << 65]]


# ----------------------------------------------------------------------------- bad input
def test_bad_input_is_one_line_exit_2(cli, tmp_path):
    verilog, net_path = write_faulty_network(None, tmp_path)
    np.save(tmp_path / "x.npy", np.zeros((4, 2), np.int64))  # the network has I = 3 inputs
    assert_usage_error(cli("rtl-run", "--net", net_path, "--input", tmp_path / "x.npy", "--output",
                           tmp_path / "r.npz"), "I = 3")
    np.save(tmp_path / "x.npy", np.full((4, 3), 99, np.int64))  # beyond input_width 5
    assert_usage_error(cli("rtl-run", "--net", net_path, "--input", tmp_path / "x.npy", "--output",
                           tmp_path / "r.npz"), "input_width")
    lone = tmp_path / "lone.v"
    lone.write_text(verilog.read_text())  # no lone.network.json beside it
    assert_usage_error(cli("regress", "--net", net_path, "--verilog", lone), "network description")
    other = tmp_path / "other.json"
    d = json.loads(net_path.read_text())
    d["layers"][-1].pop("lanes")  # 4 logits per output beat, the Verilog has 2
    other.write_text(json.dumps(d))
    assert_usage_error(cli("regress", "--net", other, "--verilog", verilog), "do not match")
    assert_usage_error(cli("regress", "--random-net", "2", "--verilog", verilog), "--random-net")
    r = cli("regress", "--net", net_path, "--spec", net_path)
    assert r.returncode == 2 and "not allowed with" in r.stderr
    assert_usage_error(cli("regress", "--random-net", "0"), "--random-net")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"input_width": 4, "layers": [{"type": "psn"}]}))
    assert_usage_error(cli("regress", "--net", bad), "layers[0]")
    assert not (tmp_path / "r.npz").exists()
