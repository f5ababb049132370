"""A non-editable install works from any directory: `pip install .` puts one package, shiftpsn, into
site-packages, and the commands run from elsewhere on the examples.

The fresh virtual environment takes the pinned dependencies from the project's own venv (a .pth
line), so the test builds and installs only shiftpsn itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    venv = tmp_path_factory.mktemp("install") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = Path(subprocess.check_output([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                        text=True).strip())
    (site / "shiftpsn-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # build from a copy: setuptools leaves a build/ folder in the tree it builds
    src = venv.parent / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", ".git", "build", "out", "results", "bench", "data",
                                                             "tests", "__pycache__", "*.egg-info"))
    r = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps",
                        "--no-build-isolation", str(src)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return venv, site


def test_only_shiftpsn_lands_in_site_packages(installed):
    _, site = installed
    ours = sorted(p.name for p in site.iterdir() if not p.name.endswith((".dist-info", ".pth")))
    assert ours == ["shiftpsn"]
    for sub in ("golden", "hdl", "sim", "synth", "base", "cli", "flow"):
        assert (site / "shiftpsn" / sub / "__init__.py").is_file(), sub
    assert (site / "shiftpsn" / "synth" / "scripts" / "ice40.ys").is_file()


def test_commands_run_from_another_directory(installed, tmp_path):
    venv, _ = installed
    exe = str(venv / "bin" / "shiftpsn")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    spec, stim = ROOT / "examples" / "default.json", ROOT / "examples" / "stimulus.npy"

    def run(*argv):
        r = subprocess.run([exe, *argv], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, f"{argv}: {r.stderr[-2000:]}"
        return r

    assert run("--version").stdout.startswith("shiftpsn ")
    run("generate", "--spec", str(spec), "--output", "build/core.v")
    assert "module shiftpsn_core" in (tmp_path / "build" / "core.v").read_text()
    run("golden", "--spec", str(spec), "--input", str(stim), "--output", "build/golden.npz")
    run("rtl-run", "--spec", str(spec), "--input", str(stim), "--output", "build/rtl.npz")
    with np.load(tmp_path / "build" / "golden.npz") as g, np.load(tmp_path / "build" / "rtl.npz") as r:
        assert np.array_equal(g["spikes"], r["spikes"]) and np.array_equal(g["acc"], r["acc"])
    # the installed package is the one that ran, not the checkout
    where = subprocess.check_output([str(venv / "bin" / "python"), "-c", "import shiftpsn.hdl; print(shiftpsn.hdl.__file__)"],
                                    cwd=tmp_path, env=env, text=True)
    assert str(ROOT) not in where
