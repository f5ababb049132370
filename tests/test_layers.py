"""The architecture: one import root, and layers that import one way (docs/ARCHITECTURE.md).

The import-linter contracts live in pyproject.toml. They run on a staged copy of the package laid out
as it installs (shiftpsn/ with golden/, hdl/, sim/, synth/ inside), so that a violation can be planted
in the copy and seen to break the contract.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAPPED = ("golden", "hdl", "sim", "synth")
LINT = Path(sys.executable).parent / "lint-imports"


def _stage(dest: Path) -> Path:
    """Copy the package as it installs into ``dest/shiftpsn``; return ``dest``."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "shiftpsn", dest / "shiftpsn", ignore=ignore)
    for sub in MAPPED:
        shutil.copytree(ROOT / sub, dest / "shiftpsn" / sub, ignore=ignore)
    return dest


def _lint(staged: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(staged)}
    return subprocess.run([str(LINT), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
                          cwd=staged, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    return _stage(tmp_path_factory.mktemp("layers"))


def test_layer_contracts_hold(staged):
    r = _lint(staged)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "2 kept, 0 broken" in r.stdout


@pytest.mark.parametrize("module, planted, broken", [
    ("base/spec.py", "from shiftpsn.hdl import core", "shiftpsn.base is not allowed to import shiftpsn.hdl"),
    ("golden/integer.py", "import shiftpsn.sim.cosim", "shiftpsn.golden is not allowed to import shiftpsn.sim"),
    ("hdl/core.py", "from shiftpsn.flow import run_flow", "shiftpsn.hdl is not allowed to import shiftpsn.flow"),
    ("synth/report.py", "from shiftpsn.sim import traffic", "shiftpsn.synth is not allowed to import shiftpsn.sim"),
    ("golden/integer.py", "import torch", "shiftpsn.golden.integer is not allowed to import torch"),
    ("base/ports.py", "import amaranth", "shiftpsn.base is not allowed to import amaranth"),
    ("base/layers/dense.py", "import torch", "shiftpsn.base.layers is not allowed to import torch"),
    ("base/layers/registry.py", "import amaranth", "shiftpsn.base.layers is not allowed to import amaranth"),
])
def test_a_planted_upward_import_breaks_a_contract(tmp_path, module, planted, broken):
    staged = _stage(tmp_path)
    path = staged / "shiftpsn" / module
    path.write_text(path.read_text() + f"\n{planted}  # planted\n")
    r = _lint(staged)
    assert r.returncode == 1, r.stdout[-3000:]
    assert broken in r.stdout, r.stdout[-3000:]


def test_packages_listed_in_pyproject_are_every_package_folder():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert cfg["package-dir"] == {"shiftpsn": "shiftpsn", **{f"shiftpsn.{m}": m for m in MAPPED}}
    found = set()
    for name, folder in cfg["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            found.add(".".join((name, *init.parent.relative_to(ROOT / folder).parts)))
    assert set(cfg["packages"]) == found


def test_one_import_root_from_outside_the_repository(tmp_path):
    code = ("import importlib\n"
            "for m in ('shiftpsn.golden', 'shiftpsn.hdl', 'shiftpsn.sim', 'shiftpsn.synth', 'shiftpsn.cli'):\n"
            "    importlib.import_module(m)\n"
            "bad = []\n"
            "for m in ('golden', 'hdl', 'sim', 'synth', 'bench'):\n"
            "    try:\n"
            "        importlib.import_module(m)\n"
            "        bad.append(m)\n"
            "    except ImportError:\n"
            "        pass\n"
            "print('importable:', bad)\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                       env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "importable: []"


def test_no_tracked_file_points_outside_the_repository():
    """Users who clone shiftpsn have only the repository: docs and code cite docs/CONTRACT.md and the
    papers by title and arXiv id, never a path outside the checkout."""
    files = subprocess.check_output(["git", "ls-files"], cwd=ROOT, text=True).split()
    bad = []
    for name in files:
        if name.startswith("tests/") or name.startswith("results/runs/"):
            continue
        try:
            text = (ROOT / name).read_text()
        except (UnicodeDecodeError, OSError):
            continue
        for needle in ("../shared", "shared/INTERFACE", "INTERFACE.md", "shared/TOOLCHAIN", "papers/00"):
            if needle in text:
                bad.append(f"{name}: {needle}")
    assert not bad, bad[:20]
