"""The sweep executor (shiftpsn.executor) on local worker processes:

* a task's address is the hash of its function, inputs and the project version (key order aside);
  an unreadable entry counts as not done;
* a task that raises once is retried and passes; one that keeps raising is tried twice, then reported
  (exit 1) with its label and inputs, after every other task finished and was kept;
* ``make results`` (shiftpsn.golden.train.results) interrupted by Ctrl-C (SIGINT to its process group,
  as a terminal sends it) keeps every finished run, and the rerun trains only the others;
* bad executor options: one line, exit 2.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import assert_usage_error, run_cli

from shiftpsn import __version__
from shiftpsn.base.errors import CheckFailed
from shiftpsn.base.progress import Progress
from shiftpsn.executor import ExecutorOptions, Task, TaskStore, run_tasks
from shiftpsn.executor.store import task_address

COUNTER = re.compile(r"(\d+) tasks: (\d+) reused, (\d+) computed, (\d+) failed")


def attempt(marker: str, fail_first: int, value: int) -> dict:
    """A task that raises on its first ``fail_first`` attempts (counted in the file ``marker``)."""
    path = Path(marker)
    tries = len(path.read_text()) if path.exists() else 0
    path.write_text("x" * (tries + 1))
    if tries < fail_first:
        raise RuntimeError(f"attempt {tries + 1} fails")
    return {"value": value, "tries": tries + 1}


def test_task_address_is_the_hash_of_function_inputs_and_version():
    import hashlib

    a = task_address("m.f", {"x": 1, "y": [1, 2]})
    assert a == task_address("m.f", {"y": [1, 2], "x": 1})  # key order does not matter
    text = json.dumps({"fn": "m.f", "inputs": {"x": 1, "y": [1, 2]}, "version": __version__},
                      sort_keys=True, separators=(",", ":"))
    assert a == hashlib.sha256(text.encode()).hexdigest()  # computed here independently
    assert len({a, task_address("m.g", {"x": 1, "y": [1, 2]}), task_address("m.f", {"x": 2, "y": [1, 2]})}) == 3


def test_store_reads_back_what_it_wrote_and_ignores_broken_entries(tmp_path):
    store = TaskStore(tmp_path)
    address = task_address("m.f", {"x": 1})
    assert store.get(address) is None
    store.put(address, "m.f", {"x": 1}, {"r": [1, 2]}, 0.5)
    assert store.get(address) == {"r": [1, 2]}
    entry = json.loads((tmp_path / "tasks" / f"{address}.json").read_text())
    assert entry["inputs"] == {"x": 1} and entry["fn"] == "m.f" and entry["version"] == __version__
    (tmp_path / "tasks" / f"{address}.json").write_text('{"address": "')  # cut short
    assert store.get(address) is None
    assert TaskStore(None).get(address) is None


def test_a_failing_task_is_retried_once_then_reported_with_its_inputs(tmp_path):
    out = tmp_path / "out"
    tasks = [Task(fn=attempt, kwargs={"marker": str(tmp_path / "a"), "fail_first": 1, "value": 7},
                  inputs={"case": "retried", "value": 7}, label="retried"),
             Task(fn=attempt, kwargs={"marker": str(tmp_path / "b"), "fail_first": 9, "value": 8},
                  inputs={"case": "broken", "value": 8}, label="broken"),
             Task(fn=attempt, kwargs={"marker": str(tmp_path / "a"), "fail_first": 1, "value": 7},
                  inputs={"case": "retried", "value": 7}, label="same inputs")]
    lines = []
    progress = Progress("t", stream=_Lines(lines))
    with pytest.raises(CheckFailed) as e:
        run_tasks(tasks, options=ExecutorOptions(jobs=1), store=TaskStore(out), progress=progress)
    msg = str(e.value)
    assert msg.startswith("1 of 2 tasks failed (each tried 2 times); first: broken")
    assert '"case":"broken"' in msg and "RuntimeError: attempt 2 fails" in msg
    assert len((tmp_path / "b").read_text()) == 2  # tried twice, no more
    assert len((tmp_path / "a").read_text()) == 2  # failed once, passed on the retry, ran once for both
    assert any("broken FAILED" in ln and '"value":8' in ln for ln in lines), lines
    assert COUNTER.search("".join(lines)).groups() == ("2", "0", "1", "1")
    # the rerun reuses the finished task for both its copies and tries the broken one again
    again = run_tasks(tasks[:1] + tasks[2:], options=ExecutorOptions(jobs=1), store=TaskStore(out),
                      progress=Progress("t", quiet=True))
    assert (again.reused, again.computed) == (1, 0)
    assert again.results == [{"value": 7, "tries": 2}] * 2
    assert len((tmp_path / "a").read_text()) == 2


class _Lines:
    def __init__(self, lines):
        self.lines = lines

    def write(self, s):
        self.lines.append(s)

    def flush(self):
        pass


def test_results_interrupted_by_ctrl_c_resume_without_retraining(tmp_path):
    out = tmp_path / "results"
    cmd = [sys.executable, "-m", "shiftpsn.golden.train.results", "--output-dir", str(out), "--seeds", "1",
           "--epochs-scale", "0.05", "--subset", "48", "--only", "seq-digits/mulfree", "--jobs", "1"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    seen = []
    for line in p.stdout:
        seen.append(line)
        if re.search(r"\] 1/7 ", line):
            os.killpg(p.pid, signal.SIGINT)  # what Ctrl-C at a terminal does: the whole group
            break
    rest, err = p.communicate(timeout=300)
    text = "".join(seen) + rest
    assert p.returncode == 130, text + err
    assert "Traceback" not in err, err
    assert "interrupted:" in text
    runs = sorted((out / "runs").glob("[!.]*.json"))
    entries = {q.name: q.stat().st_mtime_ns for q in (out / "tasks").glob("[!.]*.json")}
    kept = {q.name: q.read_bytes() for q in runs}
    assert 1 <= len(kept) < 7 and len(entries) == len(kept), text
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"7 runs, {len(kept)} already done, {7 - len(kept)} to train" in r.stdout
    assert COUNTER.search(r.stdout).groups() == (str(7 - len(kept)), "0", str(7 - len(kept)), "0")
    assert {q.name: q.read_bytes() for q in runs} == kept  # the runs done before were not trained again
    assert all((out / "tasks" / n).stat().st_mtime_ns == t for n, t in entries.items())
    assert len(list((out / "runs").glob("[!.]*.json"))) == 7
    assert json.loads((out / "results.json").read_text())


@pytest.mark.parametrize("argv, fragments", [
    (["synth", "--target", "generic", "--output-dir", "{tmp}/o", "--cluster", "tcp://127.0.0.1:1"],
     ["--cluster and --jobs say where --sweep points run"]),
    (["regress", "--random-net", "2", "--jobs", "0"], ["--jobs must be >= 1, got 0"]),
    (["regress", "--random-net", "2", "--cluster", " "], ["--cluster: empty scheduler address"]),
    (["regress", "--random-net", "2", "--verilog", "x.v"], ["--verilog"]),
])
def test_bad_executor_options_exit_2(tmp_path, argv, fragments):
    r = run_cli(*[a.replace("{tmp}", str(tmp_path)) for a in argv], cwd=tmp_path)
    assert_usage_error(r, *fragments)
