"""Run a sweep's tasks on Dask: each task once, its result kept on disk by its inputs.

    tasks = [Task(fn=synth_point, kwargs={...}, inputs={...}, label="k=4") for ...]
    outcome = run_tasks(tasks, options=ExecutorOptions(), store=TaskStore(out), progress=Progress("synth"))
    outcome.results  # one per task, in order (JSON values: what the store gives back)

A task whose entry is in the store is not run again (``outcome.reused``); the others go to the workers
(``outcome.computed``), each entry written by the client the moment its result arrives, so a rerun after
Ctrl-C, a killed client or a lost worker recomputes only what had not finished. A worker that dies
mid-task is Dask's business: the scheduler runs the task elsewhere. A task that raises is tried once
more, then reported with its inputs; the run goes on and ends in CheckFailed naming every failure.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Callable

from shiftpsn.base.errors import CheckFailed
from shiftpsn.base.progress import Progress, on_terminal

from .cluster import ExecutorOptions, VersionMismatch, check_identity, connect, identity, one_line
from .store import TaskStore, canonical, plain, task_address

#: Times a task that raises is run again before it counts as failed.
RETRIES = 1
#: Longest inputs text in the final error line (the per-failure progress line has them whole).
SHOWN_INPUTS = 300


@dataclass(frozen=True)
class Task:
    """One unit of a sweep.

    Parameters
    ----------
    fn : callable
        A module-level function (workers import it by name); returns a JSON-able value.
    kwargs : dict
        Its keyword arguments (anything picklable: specs, arrays, paths).
    inputs : dict
        JSON values that determine the result: the task's address is their hash (with ``fn``'s name and
        the project version). Whatever changes the result must be in here, files by content
        (:func:`shiftpsn.executor.store.file_digest`, :func:`~shiftpsn.executor.store.array_digest`).
    label : str
        What a person calls this task in progress lines and errors (``k=4``, ``random network 3``).
    """

    fn: Callable
    kwargs: dict
    inputs: dict
    label: str

    @property
    def fn_name(self) -> str:
        return f"{self.fn.__module__}.{self.fn.__qualname__}"

    @functools.cached_property
    def address(self) -> str:
        return task_address(self.fn_name, self.inputs)


@dataclass
class Outcome:
    """What a sweep did: ``results`` per task (None where it failed), counts of reused and computed
    tasks (tasks with equal inputs count once), the failures as (task, message), and the workers
    connected when the computing began (0 when everything was reused)."""

    results: list
    reused: int = 0
    computed: int = 0
    failed: list = field(default_factory=list)
    workers: int = 0


def execute(fn: Callable, kwargs: dict, expected: str):
    """What a worker runs: ``fn(**kwargs)``, after checking it runs the client's shiftpsn."""
    check_identity(expected)
    t0 = time.perf_counter()
    return fn(**kwargs), time.perf_counter() - t0


def run_tasks(tasks: list[Task], *, options: ExecutorOptions, store: TaskStore, progress: Progress,
              on_result: Callable | None = None, describe: Callable | None = None) -> Outcome:
    """Run ``tasks`` (the stored ones are read back, the others computed); return the Outcome.

    ``on_result(index, task, result, reused)`` is called in this process for every task with a result,
    as it arrives; ``describe(result)`` adds a few words to a finished task's progress line. Raises
    CheckFailed once every task has finished when some failed, UsageError (VersionMismatch) when a
    worker runs another shiftpsn, and lets KeyboardInterrupt through after cancelling the rest."""
    outcome = Outcome(results=[None] * len(tasks))
    by_address: dict[str, list[int]] = {}
    for i, task in enumerate(tasks):
        by_address.setdefault(task.address, []).append(i)
    todo = []
    for address, indices in by_address.items():
        result = store.get(address)
        if result is None:
            todo.append(address)
            continue
        outcome.reused += 1
        for i in indices:
            outcome.results[i] = result
            if on_result is not None:
                on_result(i, tasks[i], result, True)
    total = len(by_address)
    if outcome.reused:
        progress.say(f"{outcome.reused} of {total} tasks already done in {store.dir}: reused")
    if todo:
        with connect(options, progress.say) as client:
            outcome.workers = len(client.scheduler_info(n_workers=-1)["workers"])
            _compute(client, tasks, by_address, todo, store, progress, outcome, on_result, describe)
    where = f" (kept in {store.dir})" if store.dir is not None else ""
    progress.say(f"{total} tasks: {outcome.reused} reused, {outcome.computed} computed, "
                 f"{len(outcome.failed)} failed{where}")
    if outcome.failed:
        task, message = outcome.failed[0]
        inputs = canonical(task.inputs)
        inputs = inputs if len(inputs) <= SHOWN_INPUTS else inputs[:SHOWN_INPUTS] + "..."
        raise CheckFailed(f"{len(outcome.failed)} of {total} tasks failed (each tried {RETRIES + 1} times); "
                          f"first: {task.label} (inputs {inputs}): {message}")
    return outcome


def _compute(client, tasks, by_address, todo, store, progress, outcome, on_result, describe) -> None:
    from distributed import as_completed

    me = identity()
    futures = {}
    for address in todo:
        task = tasks[by_address[address][0]]
        # the address is the key: two clients asking one scheduler the same question share the answer
        f = client.submit(execute, task.fn, task.kwargs, me, key=f"shiftpsn-{address}", retries=RETRIES,
                          pure=False)
        futures[f] = address
    done, total = outcome.reused, len(by_address)
    bar = _bar(total, done, progress)
    try:
        for f in as_completed(list(futures), loop=client.loop):
            address = futures[f]
            task = tasks[by_address[address][0]]
            done += 1
            if f.status == "finished":
                value, seconds = f.result()
                result = plain(value)
                store.put(address, task.fn_name, task.inputs, result, seconds)
                outcome.computed += 1
                for i in by_address[address]:
                    outcome.results[i] = result
                    if on_result is not None:
                        on_result(i, tasks[i], result, False)
                extra = f": {describe(result)}" if describe is not None else ""
                line = f"{done}/{total} {task.label}{extra} ({seconds:.1f} s)"
            else:
                error = f.exception()
                if isinstance(error, VersionMismatch):
                    raise VersionMismatch(str(error)) from None
                message = _one_line(error)
                outcome.failed.append((task, message))
                line = f"{done}/{total} {task.label} FAILED: {message}; inputs {canonical(task.inputs)}"
            if bar is None:
                progress.say(line)
            else:  # on a terminal the bar counts; only failures get a line of their own
                bar.update(1)
                if f.status != "finished":
                    bar.write(line, file=bar.fp)
    except BaseException:
        client.cancel(list(futures), force=True)
        raise
    finally:
        if bar is not None:
            bar.close()


def _bar(total: int, done: int, progress: Progress):
    """A tqdm bar on a terminal (None off one or when quiet: then a line per finished task)."""
    if progress.quiet or not on_terminal(progress.stream):
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=done, desc=progress.tag, unit="task", dynamic_ncols=True,
                file=progress.stream)


def _one_line(e) -> str:
    """A task's exception as one line, with its type (a worker's traceback stays on the worker)."""
    return f"{type(e).__name__}: {one_line(e, limit=None)}"
