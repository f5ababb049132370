"""One executor for every sweep (``synth --sweep``, ``regress`` over several specs or ``--random-net N``,
the training runs of ``make results``): Dask distributed, on a LocalCluster of this machine by default
or on an existing scheduler (``--cluster ADDRESS``), each task's result kept under ``DIR/tasks`` by the
hash of its inputs so a rerun resumes.

This package sits between ``shiftpsn.base`` and ``shiftpsn.golden`` (pyproject.toml's layer contract):
golden (training), synth and cli all hand it work, so it must lie below them; it is not part of base,
which stays numpy-only for the integer reference, and it imports nothing of what it runs (no torch,
amaranth or cocotb): a task is a module-level function that a worker imports by name.
"""

from .cluster import CLUSTER_ENV, ExecutorOptions, VersionMismatch, add_arguments, from_args, identity
from .run import Outcome, Task, run_tasks
from .store import TASKS_DIR, TaskStore, array_digest, file_digest

__all__ = ["CLUSTER_ENV", "ExecutorOptions", "VersionMismatch", "add_arguments", "from_args", "identity",
           "Outcome", "Task", "run_tasks", "TASKS_DIR", "TaskStore", "array_digest", "file_digest"]
