"""Every command shown in README.md runs, in order, in a fresh directory, and its outputs exist and parse.

``make`` lines are checked to name a real Makefile target (running them here would recurse into the test
suite; ``make demo`` is ``shiftpsn flow``, tested in test_flow.py). Long commands run on small settings:
the extra arguments below are appended, and synthesis uses a 2-channel spec.
"""

import json
import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli
from shiftpsn.base.spec import CoreSpec, uniform_spec

ROOT = Path(__file__).resolve().parents[1]

#: subcommand -> arguments appended to make it quick
SMALL = {
    "train": ["--epochs", "1", "--train-subset", "128", "--test-subset", "32", "--width", "8", "--quiet"],
    "autoselect": ["--repeats", "1"],
    "regress": ["--steps", "300"],
}


def readme_commands() -> list[list[str]]:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    lines = [ln.split("#")[0].strip() for b in blocks for ln in b.splitlines()]
    return [shlex.split(ln) for ln in lines if ln]


def test_readme_shows_the_two_commands_first():
    head = (ROOT / "README.md").read_text().split("\n## ")[0]
    assert "make demo" in head and "make test" in head


def test_readme_make_lines_name_real_targets():
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, flags=re.M))
    for argv in readme_commands():
        if argv[0] == "make":
            assert argv[1] in targets, f"README shows 'make {argv[1]}', not a Makefile target"


@pytest.mark.xdist_group("readme")
def test_every_readme_command_runs(tmp_path):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    tiny = uniform_spec(channels=2, order=2, dilation=1, input_width=4, exp_min=-1, exp_max=1)
    tiny.save(tmp_path / "tiny.json")
    commands = [argv for argv in readme_commands() if argv[0] == "shiftpsn"]
    assert len(commands) >= 14
    seen = set()
    for argv in commands:
        sub, args = argv[1], argv[2:]
        if sub == "synth":
            args = [str(tmp_path / "tiny.json") if a == "examples/default.json" else a for a in args]
        args = args + SMALL.get(sub, [])
        proc = run_cli(sub, *args, cwd=tmp_path, timeout=1200)
        assert proc.returncode == 0, f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stderr[-2000:]}"
        seen.add(sub)
    assert seen >= {"generate", "golden", "rtl-run", "regress", "synth", "train", "export", "autoselect"}
    b = tmp_path / "build"
    # outputs exist and parse
    for v in ("core.v", "core_const.v"):
        assert "module " in (b / v).read_text()
    assert json.loads((b / "core.core.json").read_text())["top"] == "shiftpsn_core"
    assert "module psn_const" in (b / "core_const.v").read_text()
    golden, rtl = np.load(b / "golden.npz"), np.load(b / "rtl.npz")
    np.testing.assert_array_equal(golden["acc"], rtl["acc"])
    np.testing.assert_array_equal(golden["spikes"], rtl["spikes"])
    for d in ("ice40", "asic", "fpga/ice40", "fpga/ecp5"):
        report = json.loads((b / d / "report.json").read_text())
        assert report["target"] == Path(d).name
    assert json.loads((b / "asic" / "report.json").read_text())["ratio"]["area_um2"] > 0
    assert (b / "sweep" / "sweep.csv").is_file()
    CoreSpec.load(b / "layer0.json")
    assert np.load(b / "layer0.npy").dtype.kind == "i"
    assert (tmp_path / "runs" / "seq" / "model.pt").is_file()
    net = np.load(b / "net.npz")  # the whole network in integers (docs/CONTRACT.md section 5)
    assert net["classes"].shape == (450,) and net["logits"].dtype == np.int64
    assert json.loads((b / "net.export.json").read_text())["accuracy"]["integer"] >= 0
    assert json.loads((b / "net_nir.json").read_text()) == json.loads((b / "net.json").read_text())  # nir round trip
