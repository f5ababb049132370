"""``shiftpsn generate`` through the console script: success writes CORE.v + CORE.json; bad input
exits 2 with one line naming the problem."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shiftpsn.base.spec import uniform_spec

SHIFTPSN = Path(sys.executable).parent / "shiftpsn"


def _generate(*args):
    return subprocess.run([str(SHIFTPSN), "generate", *map(str, args)], capture_output=True, text=True)


@pytest.fixture
def spec_file(tmp_path):
    path = tmp_path / "spec.json"
    uniform_spec(channels=3, order=3, dilation=2).save(path)
    return path


def test_generate_writes_verilog_and_core_json(tmp_path, spec_file):
    out = tmp_path / "out" / "CORE.v"
    out.parent.mkdir()
    r = _generate("--spec", spec_file, "--output", out, "--top", "my_psn")
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert "module my_psn(" in text and "module my_psn_lane(" in text
    info = json.loads((tmp_path / "out" / "CORE.core.json").read_text())
    assert info["top"] == "my_psn" and info["spec"] == json.loads(spec_file.read_text())


def test_default_top_is_the_spec_name(tmp_path):
    spec = tmp_path / "s.json"
    uniform_spec(channels=2, order=2, weights="constant", name="named_core").save(spec)
    assert _generate("--spec", spec, "--output", tmp_path / "c.v").returncode == 0
    assert "module named_core(" in (tmp_path / "c.v").read_text()


def _bad_spec(tmp_path, **changes):
    d = uniform_spec(channels=2, order=3).to_dict()
    d.update(changes)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(d))
    return path


@pytest.mark.parametrize("case", [
    "missing_spec", "bad_json", "unknown_key", "bad_order", "bad_pipeline", "bad_arith",
    "bad_top", "keyword_top", "dir_is_file", "output_is_json", "unwritable",
])
def test_bad_input_exits_2_with_one_line(tmp_path, spec_file, case):
    out = tmp_path / "CORE.v"
    args = {
        "missing_spec": ("--spec", tmp_path / "nope.json", "--output", out),
        "bad_json": ("--spec", (tmp_path / "j.json", (tmp_path / "j.json").write_text("{oops"))[0],
                     "--output", out),
        "unknown_key": ("--spec", _bad_spec(tmp_path, lanes_typo=2), "--output", out),
        "bad_order": ("--spec", _bad_spec(tmp_path, order=0), "--output", out),
        "bad_pipeline": ("--spec", _bad_spec(tmp_path, pipeline=9), "--output", out),
        "bad_arith": ("--spec", _bad_spec(tmp_path, arith="float"), "--output", out),
        "bad_top": ("--spec", spec_file, "--output", out, "--top", "9lives"),
        "keyword_top": ("--spec", spec_file, "--output", out, "--top", "module"),
        "dir_is_file": ("--spec", spec_file, "--output", spec_file / "CORE.v"),
        "output_is_json": ("--spec", spec_file, "--output", tmp_path / "CORE.json"),
        "unwritable": ("--spec", spec_file, "--output", "/proc/CORE.v"),
    }[case]
    r = _generate(*args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "error" in lines[0] and "Traceback" not in r.stderr, r.stderr
    assert not out.exists()


def test_missing_output_directory_is_created(tmp_path, spec_file):
    out = tmp_path / "no" / "such" / "CORE.v"
    r = _generate("--spec", spec_file, "--output", out)
    assert r.returncode == 0, r.stderr
    assert out.is_file() and (out.parent / "CORE.core.json").is_file()


def test_missing_required_option_exits_2(spec_file):
    r = _generate("--spec", spec_file)
    assert r.returncode == 2 and "--output" in r.stderr
