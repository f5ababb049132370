"""The design description reader (shiftpsn.base.description) and the one payload schema
(shiftpsn.base.payload): version-1 CORE.json / NETWORK.json files converted to version 2, file names,
and payloads packed and unpacked. Expected values are written out by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shiftpsn.base.description import (FORMAT, VERSION, description_path, find_description, is_description,
                                       load_description)
from shiftpsn.base.errors import UsageError
from shiftpsn.base.payload import build_layout, pack_stream, payload_width, unpack_stream

# A version-1 CORE.json as 0.3 wrote it for a runtime core with lanes = 2, input_width 4, acc width 7
# (ports and config shortened to what the conversion touches).
V1_CORE = {
    "top": "shiftpsn_core", "spec": {"channels": 2}, "latency": 1,
    "ports": [{"name": "clk", "direction": "input", "width": 1}],
    "input_payload": {"x": {"offset": 0, "width": 8, "per_channel": 4},
                      "first": {"offset": 8, "width": 1, "per_channel": 1}},
    "output_payload": {"spikes": {"offset": 0, "width": 2, "per_channel": 1},
                       "first": {"offset": 2, "width": 1, "per_channel": 1},
                       "acc": {"offset": 3, "width": 14, "per_channel": 7}},
    "config": {"addr_width": 3, "data_width": 8}, "storage_bits": 16, "registers": 40,
}
IN_V2 = {"x": {"offset": 0, "width": 8, "count": 2, "per_element": 4, "signed": True},
         "first": {"offset": 8, "width": 1}}
OUT_V2 = {"spikes": {"offset": 0, "width": 2, "count": 2, "per_element": 1, "signed": False},
          "first": {"offset": 2, "width": 1},
          "acc": {"offset": 3, "width": 14, "count": 2, "per_element": 7, "signed": True}}


def write(path, d):
    path.write_text(json.dumps(d))
    return path


def test_description_paths():
    assert description_path("out/core.v").as_posix() == "out/core.core.json"
    assert description_path("out/core.v", "engine").as_posix() == "out/core.core.json"
    assert description_path("out/net.v", "network").as_posix() == "out/net.network.json"
    with pytest.raises(ValueError):
        description_path("x.v", "board")


def test_v1_core_is_read_as_version_2(tmp_path):
    d = load_description(write(tmp_path / "core.core.json", V1_CORE))
    assert (d["format"], d["version"], d["kind"]) == (FORMAT, VERSION, "core")
    assert d["input_payload"] == IN_V2 and d["output_payload"] == OUT_V2
    assert d["streams"]["i"]["fields"] == IN_V2 and d["streams"]["o"]["fields"] == OUT_V2
    assert {k: d["streams"]["i"][k] for k in ("direction", "valid", "ready", "payload")} == {
        "direction": "input", "valid": "i__valid", "ready": "i__ready", "payload": "i__payload"}
    assert d["streams"]["o"]["direction"] == "output" and d["streams"]["o"]["payload"] == "o__payload"
    assert d["config"]["port"] == {"addr": "cfg__addr", "data": "cfg__data", "we": "cfg__we"}
    assert d["config"]["addr_width"] == 3 and d["cycles_per_step"] == 1  # a parallel core: one beat a step
    assert d["monitors"] == [] and d["names"] is None
    assert (d["storage_bits"], d["registers"], d["latency"]) == (16, 40, 1)  # every other key kept


def test_v1_engine_and_one_lane_core(tmp_path):
    one_lane = {**V1_CORE, "engine": {"lanes": 1}, "cycles_per_step": 2, "config": None,
                "output_payload": {"spikes": {"offset": 0, "width": 1, "per_channel": 1},
                                   "first": {"offset": 1, "width": 1, "per_channel": 1}}}
    d = load_description(write(tmp_path / "e.core.json", one_lane))
    assert d["kind"] == "engine" and d["cycles_per_step"] == 2 and d["config"] is None
    # one lane: spikes stays a vector of one element; only `first` is a scalar
    assert d["output_payload"] == {"spikes": {"offset": 0, "width": 1, "count": 1, "per_element": 1,
                                              "signed": False}, "first": {"offset": 1, "width": 1}}


def test_v1_network_is_read_as_version_2(tmp_path):
    layout_in = {"x": {"offset": 0, "width": 12, "count": 2, "per_element": 6, "signed": True},
                 "first": {"offset": 12, "width": 1}, "last": {"offset": 13, "width": 1}}
    layout_out = {"logits": {"offset": 0, "width": 5, "count": 1, "per_element": 5, "signed": True},
                  "first": {"offset": 5, "width": 1}}
    monitors = [{"layer": 1, "instance": "s1_neuronstage_l1", "payload": layout_in}]
    v1 = {"top": "net", "kind": "network", "ports": [], "input_payload": layout_in, "output_payload": layout_out,
          "input_beat": "one time step", "output_beat": "logits", "monitors": monitors,
          "cycles_per_step": {"min": 3, "max": 9}, "latency": {"max": 20}}
    d = load_description(write(tmp_path / "net.network.json", v1))
    assert (d["kind"], d["version"], d["config"], d["names"]) == ("network", 2, None, None)
    assert d["streams"]["i"]["fields"] == layout_in and d["streams"]["o"]["fields"] == layout_out
    assert d["streams"]["i"]["beat"] == "one time step" and d["monitors"] == monitors
    assert d["cycles_per_step"] == {"min": 3, "max": 9}


def test_version_2_is_read_as_it_is_and_other_files_are_refused(tmp_path):
    v2 = {"format": FORMAT, "version": 2, "top": "t", "kind": "core", "ports": [], "names": {"memories": []}}
    assert load_description(write(tmp_path / "a.json", v2)) == v2
    with pytest.raises(UsageError, match="version 3"):
        load_description(write(tmp_path / "b.json", {**v2, "version": 3}))
    with pytest.raises(UsageError, match="not a design description"):
        load_description(write(tmp_path / "spec.json", {"channels": 2, "order": 3}))
    assert not is_description({**v2, "format": "something-else"}) and is_description(V1_CORE)


def test_find_description_reads_names_of_earlier_releases(tmp_path):
    v = tmp_path / "core.v"
    assert find_description(v) is None
    write(tmp_path / "CORE.json", V1_CORE)  # before 0.2
    assert find_description(v) == tmp_path / "CORE.json"
    write(tmp_path / "core.json", {"channels": 2})  # a spec beside it is never taken
    assert find_description(v) == tmp_path / "CORE.json"
    write(tmp_path / "core.core.json", V1_CORE)
    assert find_description(v) == tmp_path / "core.core.json"
    assert find_description(tmp_path / "net.v", "network") is None
    write(tmp_path / "net.network.json", {"top": "n", "ports": [], "kind": "network"})
    assert find_description(tmp_path / "net.v", "network") == tmp_path / "net.network.json"


def test_generated_core_description_matches_the_layer_layout(tmp_path):
    from shiftpsn.base.spec import uniform_spec
    from shiftpsn.hdl.generate import write_verilog

    spec = uniform_spec(channels=4, order=2, dilation=1, input_width=4, lanes=2)
    write_verilog(spec, tmp_path / "core.v")
    d = load_description(find_description(tmp_path / "core.v"))
    assert d["streams"]["i"]["fields"] == spec.stream_fields("input")
    assert d["streams"]["o"]["fields"] == spec.stream_fields("output")
    ports = {p["name"]: p["width"] for p in d["ports"]}
    assert ports["i__payload"] == payload_width(spec.stream_fields("input"))
    assert ports["o__payload"] == payload_width(spec.stream_fields("output"))


# ----------------------------------------------------------------------------- the payload schema
LAYOUT = build_layout([("x", 2, 4, True), ("first", None, 1, False)])


def test_build_layout_and_width():
    assert LAYOUT == IN_V2 and payload_width(LAYOUT) == 9 and payload_width({}) == 0


def test_pack_and_unpack_by_hand():
    # x = (3, -2): 3 = 0011 at bits 0..3, -2 = 1110 at bits 4..7 -> 0xE3; first at bit 8 -> 0x1E3
    # x = (-8, 7): 1000, 0111 -> 0x78; first 0
    words = pack_stream(LAYOUT, {"x": np.array([[3, -2], [-8, 7]]), "first": np.array([1, 0])})
    assert words == [0x1E3, 0x078]
    assert pack_stream(LAYOUT, {"x": np.array([[3, -2], [-8, 7]]), "first": np.array([True, False])}) == words
    got = unpack_stream(LAYOUT, ["111100011", "x01111000"])  # the second: an unknown bit (x) in `first`
    assert got["x"].tolist() == [[3, -2], [-8, 7]] and got["first"].tolist() == [1, 0]
    assert got["unknown_first"].tolist() == [False, True] and got["unknown_x"].tolist() == [False, False]


def test_pack_refuses_values_that_do_not_fit():
    with pytest.raises(ValueError, match=r"'x': values must be integers in \[-8, 7\]"):
        pack_stream(LAYOUT, {"x": np.array([[8, 0]]), "first": np.array([0])})
    with pytest.raises(ValueError, match=r"'first': values must be integers in \[0, 1\]"):
        pack_stream(LAYOUT, {"x": np.array([[0, 0]]), "first": np.array([2])})
    with pytest.raises(ValueError, match="no values for payload field 'first'"):
        pack_stream(LAYOUT, {"x": np.array([[0, 0]])})


def test_wide_fields():
    wide = build_layout([("a", 1, 64, True), ("b", 1, 70, True), ("c", None, 3, False)])
    # a = -1 in 64 bits: 2^64 - 1; b = -2 in 70 bits at bit 64: (2^70 - 2) << 64; c = 5 at bit 134
    b = np.empty((1, 1), dtype=object)
    b[0, 0] = -2
    word = pack_stream(wide, {"a": np.array([[-1]]), "b": b, "c": np.array([5])})[0]
    assert word == (2 ** 64 - 1) | ((2 ** 70 - 2) << 64) | (5 << 134)
    got = unpack_stream(wide, [format(word, "0137b")])
    assert got["a"].tolist() == [[-1]] and got["b"].tolist() == [[-2]] and got["c"].tolist() == [5]
