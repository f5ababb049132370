"""Dask preload of the worker processes of the default LocalCluster (``dask_setup`` runs in each).

Ctrl-C at a terminal reaches every process of its group, the workers too; the client alone answers
it (cancels the tasks, keeps what finished, closes the cluster, which ends its workers), so a worker
ignores SIGINT instead of printing a traceback of its own. Dask's own messages stay at errors.
"""

import logging
import signal


def dask_setup(worker) -> None:  # noqa: ARG001 - Dask's preload interface
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.getLogger("distributed").setLevel(logging.ERROR)
