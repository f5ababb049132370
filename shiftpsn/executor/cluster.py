"""Where tasks run: an in-process Dask LocalCluster sized to this machine (the default, nothing to set
up), or the workers of an existing Dask scheduler (``--cluster ADDRESS`` or ``SHIFTPSN_CLUSTER``:
a lab's Slurm / Kubernetes cluster started with dask-jobqueue or dask-kubernetes, or ``dask scheduler``
and ``dask worker`` by hand).

Workers must run the same shiftpsn as the client: :func:`identity` (the version and a digest of the
installed sources) is compared on every worker at connection and again by every task before it starts,
so a worker that joins later is caught too. Either mismatch is bad input: one line, exit 2.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import importlib.util
import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from shiftpsn import __version__
from shiftpsn.base.errors import UsageError

#: Environment variable naming a scheduler, used when ``--cluster`` is not given.
CLUSTER_ENV = "SHIFTPSN_CLUSTER"
#: Seconds to wait for a scheduler to answer before giving up (exit 2).
CONNECT_TIMEOUT_S = 10
#: The packages whose sources make up the project (the four top folders install under shiftpsn).
PACKAGES = ("shiftpsn", "shiftpsn.golden", "shiftpsn.hdl", "shiftpsn.sim", "shiftpsn.synth")
#: The files that make up the code (Python modules and the Yosys scripts shipped as package data);
#: anything else a run may leave in a checkout (logs, builds) does not count.
SOURCE_SUFFIXES = (".py", ".ys")
#: Dask settings for every run: Dask's own log stays quiet unless something is wrong.
DASK_CONFIG = {"logging.distributed": "error"}


class VersionMismatch(UsageError):
    """A worker runs another shiftpsn than the client."""


@dataclass(frozen=True)
class ExecutorOptions:
    """Where a sweep runs: ``cluster`` (a scheduler address) or, when None, a LocalCluster of ``jobs``
    single-threaded worker processes (None: one per CPU this process may use)."""

    cluster: str | None = None
    jobs: int | None = None
    origin: str = "--cluster"  # where the address came from, for messages

    def __post_init__(self):
        if self.jobs is not None and (not isinstance(self.jobs, int) or self.jobs < 1):
            raise UsageError(f"--jobs must be >= 1, got {self.jobs}")
        if self.cluster is not None and not self.cluster.strip():
            raise UsageError(f"{self.origin}: empty scheduler address")

    def describe(self) -> str:
        n = self.local_workers()
        return f"Dask scheduler {self.cluster}" if self.cluster else f"{n} local worker{'s' if n != 1 else ''}"

    def local_workers(self) -> int:
        return self.jobs or len(os.sched_getaffinity(0))


def add_arguments(p: argparse.ArgumentParser, jobs_default: int | None = None) -> None:
    """``--cluster ADDRESS`` and ``--jobs N`` (parsed into :class:`ExecutorOptions` by :func:`from_args`)."""
    p.add_argument("--cluster", metavar="ADDRESS", default=None,
                   help=f"run the tasks on the workers of this Dask scheduler (tcp://HOST:PORT; default: "
                        f"${CLUSTER_ENV}, else worker processes on this machine)")
    p.add_argument("--jobs", type=_positive, default=jobs_default, metavar="N",
                   help="worker processes on this machine when no --cluster is given (default: "
                        + (f"{jobs_default})" if jobs_default else "one per CPU)"))


def from_args(args: argparse.Namespace) -> ExecutorOptions:
    if args.cluster is not None:
        return ExecutorOptions(cluster=args.cluster, jobs=args.jobs)
    return ExecutorOptions(cluster=os.environ.get(CLUSTER_ENV) or None, jobs=args.jobs, origin=CLUSTER_ENV)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text[:40]!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


@functools.lru_cache(maxsize=1)
def identity() -> str:
    """``VERSION+DIGEST``: the project version and the SHA-256 (12 hex digits) of its installed
    sources (:data:`SOURCE_SUFFIXES`), so two checkouts of the same version with different edits
    differ too."""
    files = {}  # path as the installed package names it -> file; a wheel nests golden/ in shiftpsn/
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        for root in (spec.submodule_search_locations or []) if spec else []:
            for path in Path(root).rglob("*"):
                if path.suffix in SOURCE_SUFFIXES and path.is_file():
                    files["/".join([*name.split("."), *path.relative_to(root).parts])] = path
    h = hashlib.sha256()
    for key in sorted(files):
        h.update(f"{key}\0".encode())
        h.update(files[key].read_bytes())
    return f"{__version__}+{h.hexdigest()[:12]}"


def check_identity(expected: str) -> None:
    """Raise VersionMismatch when this process runs another shiftpsn than ``expected`` (in a task)."""
    mine = identity()
    if mine != expected:
        raise VersionMismatch(f"a worker runs shiftpsn {mine}, the client {expected}: install the same "
                              f"shiftpsn on every worker")


@contextmanager
def connect(options: ExecutorOptions, say=None):
    """A Dask client for ``options``, its workers' shiftpsn checked; closes what it started."""
    import dask
    from distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(logging.ERROR)
    cluster = None
    with dask.config.set(DASK_CONFIG):
        if options.cluster:
            try:
                _probe_scheduler(options.cluster)
                client = Client(options.cluster, timeout=f"{CONNECT_TIMEOUT_S}s", set_as_default=False)
            except Exception as e:  # refused, timed out, a malformed address: all the same to a user
                raise UsageError(f"{options.origin} {options.cluster}: no Dask scheduler answers there "
                                 f"({one_line(e)})") from None
        else:
            cluster = LocalCluster(n_workers=options.local_workers(), threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address="127.0.0.1:0", memory_limit=0,
                                   preload=["shiftpsn.executor.local_worker"])
            client = Client(cluster, set_as_default=False)
        try:
            _check_workers(client, options)
            if say is not None:
                n = len(client.scheduler_info(n_workers=-1)["workers"])
                say(f"running on {options.describe()} ({n} worker{'s' if n != 1 else ''} connected"
                    f"{'; tasks wait for workers to join' if n == 0 else ''})")
            yield client
        finally:
            client.close(timeout=CONNECT_TIMEOUT_S)
            if cluster is not None:
                cluster.close(timeout=CONNECT_TIMEOUT_S)


def _probe_scheduler(address: str) -> None:
    """Raise when no Dask scheduler answers at ``address``: at once when nothing listens at a TCP
    address (Dask itself would retry until its timeout), else after asking it who it is (so that
    something else listening there fails here, not inside a half-made Client)."""
    import asyncio
    import socket

    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.core import rpc

    scheme, location = parse_address(address)
    if scheme == "tcp":
        with socket.create_connection(parse_host_port(location), timeout=CONNECT_TIMEOUT_S):
            pass

    async def identity():
        async with rpc(address, timeout=CONNECT_TIMEOUT_S) as r:
            return await r.identity()

    try:
        who = asyncio.run(asyncio.wait_for(identity(), CONNECT_TIMEOUT_S))
    except (OSError, asyncio.TimeoutError):
        raise
    except Exception:  # bytes that are not Dask's protocol
        raise OSError("something answers there, but not in Dask's protocol") from None
    if not isinstance(who, dict) or who.get("type") != "Scheduler":
        kind = who.get("type") if isinstance(who, dict) else None
        raise OSError(f"it is a Dask {kind}, not a scheduler" if kind else "not a Dask scheduler")


def _check_workers(client, options: ExecutorOptions) -> None:
    """VersionMismatch naming the first worker whose shiftpsn is not the client's."""
    mine = identity()
    try:
        theirs = client.run(identity)
    except Exception as e:  # a worker without shiftpsn cannot even load the probe
        raise VersionMismatch(f"{options.describe()}: a worker cannot run shiftpsn {mine} "
                              f"({one_line(e)}); install the same shiftpsn on every worker") from None
    for address, version in sorted(theirs.items()):
        if version != mine:
            raise VersionMismatch(f"worker {address} runs shiftpsn {version}, this client {mine}: install "
                                  f"the same shiftpsn on every worker")


def one_line(e, limit: int | None = 200) -> str:
    """An exception's message as one line (its lines joined with '; '), cut at ``limit`` characters."""
    text = "; ".join(ln.strip() for ln in str(e).splitlines() if ln.strip()) or type(e).__name__
    return text if limit is None or len(text) <= limit else text[:limit - 3] + "..."
