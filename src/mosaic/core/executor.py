"""One executor for every stage that loops over recordings.

A stage builds a list of small tasks (paths and parameters, never tables), a module-level
function that runs one task (reads its recording, writes its output atomically, returns a
small record), and hands both to :func:`run_tasks`. Results come back as they complete; the
stage (the driver) writes its index once from them.

Modes
-----
``'serial'``
    In this process, one task after the other.
``'thread'``
    A thread pool (``n_workers`` threads; serial when ``n_workers`` is 1 or None).
``'process'``
    Worker processes (joblib/loky; ``n_workers`` defaults to the number of cores).
``'dask'``
    A ``dask.distributed`` cluster: the scheduler at ``dask_address`` (or
    ``$MOSAIC_DASK_SCHEDULER``) when given, else a ``LocalCluster`` on 127.0.0.1 with
    ``n_workers`` single-threaded worker processes (default 2), each limited to
    ``memory_limit`` (e.g. ``'2GB'``; Dask's default otherwise).

A :class:`~mosaic.core.errors.MosaicError` raised by a task is returned in its place (the
stage records it against the recording and goes on); any other exception propagates, as it
would serially. A Dask worker that dies mid-task has its task retried on another worker by
the scheduler; since tasks write atomically, no partial file is left either way.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from mosaic.core.errors import ConfigError, MosaicError

PARALLEL_MODES = ("serial", "thread", "process", "dask")
DASK_ENV = "MOSAIC_DASK_SCHEDULER"


@dataclass(frozen=True)
class ExecutorConfig:
    """How a stage runs its per-recording tasks (see the module docstring for the modes)."""

    mode: str = "serial"
    n_workers: int | None = None
    dask_address: str | None = None
    memory_limit: str | int | None = None

    def __post_init__(self) -> None:
        if self.mode not in PARALLEL_MODES:
            raise ConfigError("unknown parallel_mode", expected=list(PARALLEL_MODES), found=self.mode)
        w = self.n_workers
        if w is not None and (isinstance(w, bool) or not isinstance(w, int) or w < 1):
            raise ConfigError("n_workers must be a positive int or None", expected="int >= 1 or None", found=w)
        if self.dask_address is not None and not isinstance(self.dask_address, str):
            raise ConfigError(
                "dask_address must be a scheduler address string", expected="'tcp://host:8786'", found=self.dask_address
            )
        if self.memory_limit is not None and (
            isinstance(self.memory_limit, bool) or not isinstance(self.memory_limit, (str, int))
        ):
            raise ConfigError(
                "memory_limit must be bytes (int) or a size string", expected="e.g. '2GB'", found=self.memory_limit
            )


def _call(fn: Callable[[Any], Any], task: Any) -> Any:
    """Run one task; a :class:`MosaicError` comes back as the result (named by the task itself)."""
    try:
        return fn(task)
    except MosaicError as exc:
        return exc


def run_tasks(
    fn: Callable[[Any], Any],
    tasks: Sequence[Any],
    config: ExecutorConfig | None = None,
    *,
    desc: str = "tasks",
    unit: str = "recording",
) -> Iterator[Any]:
    """Yield ``fn(task)`` for each task (or the :class:`MosaicError` it raised), as tasks complete.

    Parameters
    ----------
    fn
        A module-level function (picklable for ``'process'``/``'dask'``) running one task.
    tasks
        Small, picklable task descriptions (paths and parameters).
    config
        The executor (serial when None).
    desc, unit
        Label of the progress bar, updated as results arrive.

    Notes
    -----
    Completion order differs between modes; a stage that needs a stable order sorts its
    records (every stage here keys them by recording).
    """
    from mosaic.core.progress import progress

    config = config or ExecutorConfig()
    tasks = list(tasks)
    if not tasks:
        return
    bar = progress(total=len(tasks), desc=desc, unit=unit, leave=False)
    try:
        mode, workers = config.mode, config.n_workers
        if mode == "serial" or (mode == "thread" and (workers or 1) <= 1) or (len(tasks) == 1 and mode != "dask"):
            for t in tasks:
                yield _call(fn, t)
                bar.update()
        elif mode == "thread":
            from concurrent.futures import ThreadPoolExecutor, as_completed

            with ThreadPoolExecutor(max_workers=workers) as ex:
                futs = [ex.submit(_call, fn, t) for t in tasks]
                for f in as_completed(futs):
                    yield f.result()
                    bar.update()
        elif mode == "process":
            from joblib import Parallel, delayed

            n = workers or min(os.cpu_count() or 1, len(tasks))
            par = Parallel(n_jobs=n, backend="loky", return_as="generator_unordered")
            for r in par(delayed(_call)(fn, t) for t in tasks):
                yield r
                bar.update()
        else:
            yield from _run_dask(fn, tasks, config, bar)
    finally:
        bar.close()


def dask_client(config: ExecutorConfig):
    """``(client, cluster)`` for ``config``: the named scheduler, or a new loopback ``LocalCluster``.

    ``cluster`` is None when connecting to an existing scheduler. The caller closes both.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - installed in the project env
        raise ConfigError(
            "parallel_mode='dask' needs dask.distributed", expected="pip install 'dask[distributed]'", found=str(exc)
        ) from exc
    address = config.dask_address or os.environ.get(DASK_ENV)
    if address:
        try:
            return Client(address, timeout="20s"), None
        except OSError as exc:
            raise ConfigError(
                "cannot reach the Dask scheduler",
                expected="a running scheduler",
                found=address,
                hint=f"start one (dask scheduler) or unset dask_address / ${DASK_ENV}",
            ) from exc
    kwargs: dict[str, Any] = {}
    if config.memory_limit is not None:
        kwargs["memory_limit"] = config.memory_limit
    cluster = LocalCluster(
        n_workers=config.n_workers or 2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        **kwargs,
    )
    return Client(cluster), cluster


def _run_dask(fn: Callable[[Any], Any], tasks: list[Any], config: ExecutorConfig, bar) -> Iterator[Any]:
    from distributed import as_completed

    client, cluster = dask_client(config)
    try:
        futs = client.map(_call, [fn] * len(tasks), tasks, pure=False)
        for fut in as_completed(futs):
            yield fut.result()
            fut.release()
            bar.update()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def peak_rss_mb() -> float | None:
    """Peak resident memory of this process (a worker) in MB, from /proc (None elsewhere)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None
