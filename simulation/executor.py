"""One executor interface over serial, local processes and Dask.

Comparisons, sweeps, calibrations and sensitivity analyses all hand independent tasks
(a scenario and a replicate, a parameter set) to an executor and collect the results as
they finish. Tasks carry their seeds explicitly and every draw of the model is
counter-based (:mod:`simulation.rng`), so a task's result does not depend on where or in
which order it runs: serial, processes and Dask give identical numbers.

>>> with make_executor("processes", workers=2) as ex:           # doctest: +SKIP
...     for index, value in ex.map(pow, [(2, 3), (3, 2)]):
...         print(index, value)

- ``serial``: in this process, one task after another (numba keeps its thread count).
- ``processes``: a pool of local worker processes (spawned, not forked: numba's thread
  pools are not fork-safe).
- ``dask``: a ``dask.distributed`` cluster, an existing one given by its scheduler address
  (``tcp://HOST:PORT``) or a LocalCluster of worker processes started for the run. A task
  lost with a dead worker is rescheduled by the scheduler on another worker; a task that
  raises is retried ``retries`` times.

Each worker runs its tasks with ``threads_per_worker`` numba threads (default 1, so that
N workers use N cores).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

#: The executor kinds accepted by ``--executor``.
KINDS = ("serial", "processes", "dask")
#: Seconds to wait for an existing Dask scheduler: the TCP connection first (so that a wrong
#: address fails fast, before dask is even imported), then the Dask handshake.
PROBE_TIMEOUT_S = 3
CONNECT_TIMEOUT_S = 10


class ExecutorError(Exception):
    """An executor that cannot start (bad option, unreachable scheduler): a user error."""


def _call(fn: Callable[..., Any], args: tuple, threads: int | None) -> Any:
    """Run ``fn(*args)`` in a worker with ``threads`` numba threads."""
    if threads:
        import numba

        numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    return fn(*args)


def check_scheduler_address(address: str) -> str:
    """``address`` (``tcp://HOST:PORT``, ``tls://HOST:PORT`` or ``HOST:PORT``) checked for
    its form and probed with a plain TCP connection of at most :data:`PROBE_TIMEOUT_S`
    seconds; returns it with its scheme. Raises :class:`ExecutorError` (one line) when it
    is malformed or nothing listens there."""
    import socket
    from urllib.parse import urlsplit

    text = address.strip()
    full = text if "://" in text else f"tcp://{text}"
    expected = "(expected tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786)"
    try:
        u = urlsplit(full)
        host, port = u.hostname, u.port
    except ValueError:
        host, port, u = None, None, None
    if (u is None or u.scheme not in ("tcp", "tls") or not host or port is None
            or u.path not in ("", "/") or u.query or u.fragment):
        raise ExecutorError(f"--scheduler {address!r}: not a scheduler address {expected}")
    try:
        with socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S):
            pass
    except OSError as e:
        reason = ("timed out" if isinstance(e, TimeoutError)
                  else e.strerror or str(e) or type(e).__name__)
        raise ExecutorError(f"cannot reach the Dask scheduler at {full}: {reason} "
                            "(expected a running scheduler, e.g. tcp://HOST:8786)") from None
    return full


def default_workers() -> int:
    """Local worker count: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class Executor:
    """Runs independent tasks; subclasses differ only in where.

    Use as a context manager; :meth:`map` yields ``(index, result)`` pairs in the order the
    tasks finish (``index`` is the task's position in ``tasks``)."""

    kind = "serial"

    def __init__(self, threads_per_worker: int | None = None) -> None:
        self.threads_per_worker = threads_per_worker

    def map(self, fn: Callable[..., Any], tasks: Sequence[tuple]) -> Iterator[tuple[int, Any]]:
        for i, args in enumerate(tasks):
            yield i, _call(fn, tuple(args), self.threads_per_worker)

    def describe(self) -> str:
        return "serial (this process)"

    def close(self) -> None:
        pass

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ProcessExecutor(Executor):
    """A pool of local worker processes (``concurrent.futures``, spawn start method)."""

    kind = "processes"

    def __init__(self, workers: int | None = None, threads_per_worker: int | None = 1) -> None:
        super().__init__(threads_per_worker)
        self.workers = workers or default_workers()
        self._pool: ProcessPoolExecutor | None = None

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    def map(self, fn: Callable[..., Any], tasks: Sequence[tuple]) -> Iterator[tuple[int, Any]]:
        if not tasks:
            return
        pool = self._get_pool()
        futures = {pool.submit(_call, fn, tuple(args), self.threads_per_worker): i
                   for i, args in enumerate(tasks)}
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in sorted(done, key=futures.__getitem__):
                    yield futures[f], f.result()
        finally:
            for f in pending:
                f.cancel()

    def describe(self) -> str:
        return f"{self.workers} local processes"

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskExecutor(Executor):
    """Tasks on a ``dask.distributed`` cluster: the one at ``scheduler`` or a LocalCluster of
    ``workers`` processes with one thread each."""

    kind = "dask"

    def __init__(self, workers: int | None = None, threads_per_worker: int | None = 1,
                 scheduler: str | None = None, retries: int = 2) -> None:
        super().__init__(threads_per_worker)
        if scheduler:
            scheduler = check_scheduler_address(scheduler)
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - distributed is a core dependency
            raise ExecutorError("the dask executor needs dask.distributed: "
                                "pip install 'dask[distributed]'") from None
        self.retries = retries
        self.scheduler = scheduler
        self._cluster = None
        self.workers = workers
        try:
            if scheduler:
                self.client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
            else:
                self.workers = workers or default_workers()
                self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1,
                                             processes=True, dashboard_address=None,
                                             silence_logs=40)
                self.client = Client(self._cluster)
        except (OSError, TimeoutError, ValueError) as e:
            if self._cluster is not None:
                self._cluster.close()
            where = scheduler or "a local cluster"
            what = "reach the Dask scheduler at" if scheduler else "start"
            raise ExecutorError(f"cannot {what} {where}: "
                                f"{str(e).splitlines()[0] if str(e) else type(e).__name__}"
                                + (" (expected a running scheduler, e.g. tcp://HOST:8786)"
                                   if scheduler else "")) from None

    def map(self, fn: Callable[..., Any], tasks: Sequence[tuple]) -> Iterator[tuple[int, Any]]:
        if not tasks:
            return
        from dask.distributed import as_completed

        futures = [self.client.submit(_call, fn, tuple(args), self.threads_per_worker,
                                      pure=False, retries=self.retries) for args in tasks]
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for f in as_completed(futures):
                yield index[f.key], f.result()
        finally:
            for f in futures:
                if not f.done():
                    f.cancel()

    def describe(self) -> str:
        if self.scheduler:
            return f"Dask cluster at {self.scheduler}"
        return f"Dask LocalCluster of {self.workers} worker processes"

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            if self._cluster is not None:
                self._cluster.close()


def check_options(kind: str | None = None, workers: int | None = None,
                  scheduler: str | None = None, threads_per_worker: int | None = None,
                  probe: bool = True) -> tuple[str, str | None]:
    """Check executor options without starting anything (cheap: dask is not imported);
    returns ``(kind, scheduler)`` with the defaults filled in. With ``probe``, an existing
    scheduler's address is also probed (:func:`check_scheduler_address`), so that a wrong
    address fails in seconds, before any work. Raises :class:`ExecutorError`."""
    if kind is None:
        kind = "dask" if scheduler else "serial"
    if kind not in KINDS:
        raise ExecutorError(f"--executor: expected one of {', '.join(KINDS)}, got {kind!r}")
    if workers is not None and workers < 1:
        raise ExecutorError(f"--workers: expected a positive integer, got {workers}")
    if threads_per_worker is not None and threads_per_worker < 1:
        raise ExecutorError(f"--threads-per-worker: expected a positive integer, "
                            f"got {threads_per_worker}")
    if scheduler and kind != "dask":
        raise ExecutorError(f"--scheduler: only with --executor dask (got --executor {kind})")
    if workers is not None and (kind == "serial" or scheduler):
        raise ExecutorError("--workers: only with --executor processes or a local Dask "
                            "cluster (an existing cluster has its own workers)")
    if scheduler and probe:
        scheduler = check_scheduler_address(scheduler)
    return kind, scheduler


def make_executor(kind: str | None = None, workers: int | None = None,
                  scheduler: str | None = None,
                  threads_per_worker: int | None = None) -> Executor:
    """The executor named ``kind`` (one of :data:`KINDS`; default ``dask`` when a
    ``scheduler`` is given, else ``serial``).

    ``workers``: local processes or LocalCluster workers (default: the cores available);
    ``scheduler``: address of an existing Dask scheduler (only with ``dask``);
    ``threads_per_worker``: numba threads per task (default 1 for processes and Dask, the
    current setting for serial). Raises :class:`ExecutorError` on a bad option or an
    unreachable scheduler."""
    kind, scheduler = check_options(kind, workers, scheduler, threads_per_worker, probe=False)
    if kind == "serial":
        return Executor(threads_per_worker)
    if kind == "processes":
        return ProcessExecutor(workers, threads_per_worker or 1)
    return DaskExecutor(workers, threads_per_worker or 1, scheduler)
