"""Sweeps on a real Dask cluster (shiftpsn.executor): ``dask scheduler`` and two ``dask worker`` processes
on 127.0.0.1 (nothing listens beyond the loopback).

* a small ``synth --sweep`` and ``regress --random-net 4`` through ``--cluster``, one worker killed
  (SIGKILL) in the middle of each, give every result identical to the run on local worker processes;
* a rerun into the same folder computes nothing (the executor's counter line, and every task entry
  left untouched on disk);
* a worker running another shiftpsn version, and a scheduler that is not there: one line, exit 2.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import SHIFTPSN, assert_usage_error, run_cli

from shiftpsn.base.spec import uniform_spec

ROOT = Path(__file__).resolve().parents[1]
DASK = Path(sys.executable).parent / "dask"
#: A sweep of four small points and four random networks: a minute or two in all on 2 cores.
SWEEP = ["--target", "generic", "--no-activity", "--no-switching", "--sweep", "k=2,3", "--sweep", "C=1,3"]
REGRESS = ["--random-net", "4", "--steps", "20"]
COUNTER = re.compile(r"(\d+) tasks: (\d+) reused, (\d+) computed, (\d+) failed")
#: One xdist worker runs this module: its tests share one scheduler (and the 2 cores).
pytestmark = pytest.mark.xdist_group("dask-cluster")


class Cluster:
    """A scheduler on 127.0.0.1 and worker processes that a test can kill and add."""

    def __init__(self, root: Path):
        self.root = root
        self.procs: list[subprocess.Popen] = []
        sched_file = root / "scheduler.json"
        self.scheduler = self._start([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0",
                                      "--no-dashboard", "--scheduler-file", str(sched_file)], "scheduler")
        deadline = time.monotonic() + 60
        while not sched_file.exists() or not sched_file.read_text().strip():
            assert time.monotonic() < deadline, (root / "scheduler.log").read_text()
            time.sleep(0.2)
        self.address = json.loads(sched_file.read_text())["address"]
        assert self.address.startswith("tcp://127.0.0.1:"), self.address
        self.workers: list[subprocess.Popen] = []

    def _start(self, argv, name, env=None) -> subprocess.Popen:
        log = open(self.root / f"{name}.log", "w")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.root)
        self.procs.append(p)
        return p

    def add_worker(self, env=None) -> subprocess.Popen:
        name = f"worker{len(self.workers)}"
        w = self._start([str(DASK), "worker", self.address, "--no-nanny", "--nthreads", "1", "--host", "127.0.0.1",
                         "--no-dashboard", "--memory-limit", "0", "--name", name], name, env)
        self.workers.append(w)
        return w

    def wait_for_workers(self, n: int) -> None:
        from distributed import Client

        with Client(self.address, timeout="30s") as c:
            c.wait_for_workers(n, timeout=120)

    def live_workers(self) -> list[subprocess.Popen]:
        return [w for w in self.workers if w.poll() is None]

    def close(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("dask"))
    try:
        c.add_worker()
        c.add_worker()
        c.wait_for_workers(2)
        yield c
    finally:
        c.close()


@pytest.fixture(scope="module")
def tiny_spec(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("spec") / "tiny.json"
    uniform_spec(channels=2, order=2, dilation=1, input_width=4, exp_min=0, exp_max=1, weights="runtime").save(p)
    return p


def counter(text: str) -> tuple[int, int, int, int]:
    """The executor's closing line: (tasks, reused, computed, failed)."""
    found = COUNTER.findall(text)
    assert len(found) == 1, text
    return tuple(map(int, found[0]))


def entries(out: Path) -> dict[str, dict]:
    """Task entries of a folder: address -> its result, and the file's mtime (ns)."""
    return {p.stem: {"result": json.loads(p.read_text())["result"], "mtime": p.stat().st_mtime_ns}
            for p in sorted((out / "tasks").glob("[!.]*.json"))}


def run_killing_a_worker(cluster: Cluster, argv: list[str]) -> subprocess.CompletedProcess:
    """Run ``shiftpsn ARGV --cluster ADDRESS``; SIGKILL one worker once the first task has finished
    (tasks still running or waiting then); return the finished process (output merged)."""
    p = subprocess.Popen([SHIFTPSN, *argv, "--cluster", cluster.address], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    lines, killed_after = [], None
    for line in p.stdout:
        lines.append(line)
        m = re.search(r"\] (\d+)/(\d+) ", line)
        if m and killed_after is None:
            done, total = map(int, m.groups())
            assert done < total, "".join(lines)
            victim = cluster.live_workers()[0]
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=30)
            killed_after = done
    p.wait(timeout=600)
    text = "".join(lines)
    assert killed_after is not None, text
    return subprocess.CompletedProcess(p.args, p.returncode, text, "")


def test_sweeps_on_a_cluster_losing_a_worker_equal_the_local_run(cluster, tiny_spec, tmp_path):
    # --- synth --sweep: the local run, then the cluster losing a worker
    local, remote = tmp_path / "synth_local", tmp_path / "synth_cluster"
    ref = run_cli("synth", "--spec", tiny_spec, *SWEEP, "--output-dir", local, "--jobs", "2")
    assert ref.returncode == 0, ref.stderr
    assert counter(ref.stderr) == (4, 0, 4, 0)
    got = run_killing_a_worker(cluster, ["synth", "--spec", str(tiny_spec), *SWEEP, "--output-dir", str(remote)])
    assert got.returncode == 0, got.stdout
    assert counter(got.stdout) == (4, 0, 4, 0), got.stdout
    assert (remote / "sweep.csv").read_text() == (local / "sweep.csv").read_text()
    for point in ("k=2", "k=3", "C=1", "C=3"):
        assert json.loads((remote / point / "report.json").read_text()) == \
            json.loads((local / point / "report.json").read_text()), point
    before = entries(remote)
    assert {a: e["result"] for a, e in before.items()} == {a: e["result"] for a, e in entries(local).items()}
    # the rerun finds every point done: nothing computed, no entry rewritten
    again = run_cli("synth", "--spec", tiny_spec, *SWEEP, "--output-dir", remote, "--cluster", cluster.address)
    assert again.returncode == 0, again.stderr
    assert counter(again.stderr) == (4, 4, 0, 0)
    assert entries(remote) == before

    # --- regress --random-net 4: a fresh worker replaces the lost one, then one is lost again
    cluster.add_worker()
    cluster.wait_for_workers(2)
    local, remote = tmp_path / "regress_local", tmp_path / "regress_cluster"
    ref = run_cli("regress", *REGRESS, "--output-dir", local, "--jobs", "2")
    assert ref.returncode == 0, ref.stdout + ref.stderr
    got = run_killing_a_worker(cluster, ["regress", *REGRESS, "--output-dir", str(remote)])
    assert got.returncode == 0, got.stdout
    assert counter(got.stdout) == (4, 0, 4, 0)
    assert got.stdout.splitlines()[-1] == ref.stdout.splitlines()[-1]  # the PASS line with every count
    assert json.loads((remote / "regress.json").read_text()) == json.loads((local / "regress.json").read_text())
    before = entries(remote)
    assert {a: e["result"] for a, e in before.items()} == {a: e["result"] for a, e in entries(local).items()}
    again = run_cli("regress", *REGRESS, "--output-dir", remote, "--cluster", cluster.address)
    assert again.returncode == 0, again.stdout + again.stderr
    assert counter(again.stdout) == (4, 4, 0, 0)
    assert entries(remote) == before


def test_a_worker_of_another_version_is_refused(cluster, tmp_path):
    fake = tmp_path / "other"
    shutil.copytree(ROOT / "shiftpsn", fake / "shiftpsn", ignore=shutil.ignore_patterns("__pycache__"))
    init = fake / "shiftpsn" / "__init__.py"
    init.write_text(re.sub(r'__version__ = ".*"', '__version__ = "0.0.1"', init.read_text()))
    cluster.add_worker(env={**os.environ, "PYTHONPATH": str(fake)})
    cluster.wait_for_workers(len(cluster.live_workers()))
    try:
        r = run_cli("regress", *REGRESS, "--cluster", cluster.address)
        assert_usage_error(r, "runs shiftpsn 0.0.1+", "install the same shiftpsn on every worker")
    finally:
        cluster.workers[-1].terminate()
        cluster.workers[-1].wait(timeout=20)


def test_no_scheduler_at_the_address_is_bad_input(tmp_path):
    import socket

    with socket.socket() as s:  # a port on the loopback that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = run_cli("regress", *REGRESS, "--cluster", f"tcp://127.0.0.1:{port}", "--output-dir", tmp_path / "o")
    assert_usage_error(r, f"--cluster tcp://127.0.0.1:{port}: no Dask scheduler answers there")
    r = run_cli("regress", *REGRESS, env={**os.environ, "SHIFTPSN_CLUSTER": f"tcp://127.0.0.1:{port}"})
    assert_usage_error(r, f"SHIFTPSN_CLUSTER tcp://127.0.0.1:{port}: no Dask scheduler answers there")
