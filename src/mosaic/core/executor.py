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

Memory
------
The worker wrapper gives freed memory back to the system before and after every task
(:func:`release_unused_memory`) so each task starts from the same baseline, resets the
process's high-water mark and records the task's peak growth above that baseline
(:func:`task_memory`; Linux). Worker processes allocate arrow buffers through the C library's
allocator (see :func:`_worker_setup`).
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mosaic.core.errors import ConfigError, MosaicError

PARALLEL_MODES = ("serial", "thread", "process", "dask")
DASK_ENV = "MOSAIC_DASK_SCHEDULER"
#: arrow's allocator for its C++ parts too, read when pyarrow loads (set for the workers of a LocalCluster started here)
ARROW_POOL_ENV = "ARROW_DEFAULT_MEMORY_POOL"
WORKER_ENV = {ARROW_POOL_ENV: "system"}
#: glibc ``mallopt`` parameter, and the allocation size from which worker processes map pages of their own
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 1 << 17


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


#: pipeline parameter (and facade argument) names of the executor settings → :class:`ExecutorConfig` fields
EXECUTOR_PARAMS = {
    "parallel_mode": "mode",
    "parallel_workers": "n_workers",
    "dask_address": "dask_address",
    "memory_limit": "memory_limit",
}


def executor_from_params(params: Mapping[str, Any] | None) -> ExecutorConfig:
    """The :class:`ExecutorConfig` of a pipeline's parameters (keys of :data:`EXECUTOR_PARAMS`; absent or
    null keys keep :class:`ExecutorConfig`'s defaults)."""
    params = params or {}
    return ExecutorConfig(**{f: params[k] for k, f in EXECUTOR_PARAMS.items() if params.get(k) is not None})


def _call(fn: Callable[[Any], Any], task: Any, measure: bool = True, worker: bool = False) -> Any:
    """Run one task; a :class:`MosaicError` comes back as the result (named by the task itself).

    The worker wrapper of every mode: with ``measure`` (not in a thread pool, where tasks share
    the process) it gives freed memory back to the system, notes the resident memory and resets
    its high-water mark before the task, and records the task's peak growth above that baseline
    in :func:`task_memory`; after the task it gives the task's freed memory back again, so the
    next task starts from the same baseline. In a worker process (``worker``: process and Dask
    modes) arrow allocates through the C library's allocator (see :func:`_worker_setup`).
    """
    if worker:
        _worker_setup()
    base = _start_task() if measure else None
    try:
        return fn(task)
    except MosaicError as exc:
        return exc
    finally:
        if base is not None:
            _end_task(fn, base)


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
                futs = [ex.submit(_call, fn, t, False) for t in tasks]
                for f in as_completed(futs):
                    yield f.result()
                    bar.update()
        elif mode == "process":
            from joblib import Parallel, delayed

            n = workers or min(os.cpu_count() or 1, len(tasks))
            par = Parallel(n_jobs=n, backend="loky", return_as="generator_unordered")
            try:
                for r in par(delayed(_call)(fn, t, True, True) for t in tasks):
                    yield r
                    bar.update()
            finally:
                _release_process_workers()
        else:
            yield from _run_dask(fn, tasks, config, bar)
    finally:
        bar.close()


def _release_process_workers() -> None:
    """Stop loky's idle worker processes when this process is itself a worker (e.g. of Kedro's
    ``ParallelRunner``): it could not exit until they time out (minutes). The main process keeps
    them for the next stage."""
    import multiprocessing

    if multiprocessing.parent_process() is None:
        return
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True, kill_workers=True)


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
        env=dict(WORKER_ENV),
        **kwargs,
    )
    return Client(cluster), cluster


def _run_dask(fn: Callable[[Any], Any], tasks: list[Any], config: ExecutorConfig, bar) -> Iterator[Any]:
    from distributed import as_completed

    client, cluster = dask_client(config)
    try:
        futs = client.map(_call, [fn] * len(tasks), tasks, [True] * len(tasks), [True] * len(tasks), pure=False)
        for fut in as_completed(futs):
            yield fut.result()
            fut.release()
            bar.update()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _status_mb(field: str) -> float | None:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def peak_rss_mb() -> float | None:
    """Peak resident memory of this process (a worker) in MB, from /proc (None elsewhere).

    Under :func:`run_tasks` (except in a thread pool) the peak is reset before each task, so
    inside a task this is the peak since the task started.
    """
    return _status_mb("VmHWM")


def rss_mb() -> float | None:
    """Resident memory of this process in MB, from /proc (None elsewhere)."""
    return _status_mb("VmRSS")


def _reset_peak_rss() -> bool:
    """Reset this process's ``VmHWM`` to its current RSS (Linux ``clear_refs``); False when unsupported."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


@functools.cache
def _libc_function(name: str, argtypes: tuple) -> Any:
    """A glibc function (``malloc_trim``, ``mallopt``); None on other C libraries / platforms."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = getattr(ctypes.CDLL(None), name)  # the C library already loaded into the process
    except (OSError, AttributeError):
        return None
    fn.argtypes = list(argtypes)
    fn.restype = ctypes.c_int
    return fn


def release_unused_memory() -> None:
    """Give freed memory back to the operating system (cheap: about a millisecond).

    Frees nothing in use: the free pages arrow's allocator keeps (when pyarrow is loaded)
    and glibc's free heap pages (``malloc_trim``). Large temporaries freed in the middle of
    the heap and the parquet writer's buffers are otherwise kept by the process, and the next
    recording's arrays would be stacked on top of them.
    """
    pa = sys.modules.get("pyarrow")
    if pa is not None:
        for pool in _arrow_pools(pa):
            pool.release_unused()
    trim = _libc_function("malloc_trim", (ctypes.c_size_t,))
    if trim is not None:
        trim(0)


def _arrow_pools(pa: Any) -> list[Any]:
    """Arrow's current default pool and the allocators its C++ parts keep using (mimalloc, jemalloc).

    Changing pyarrow's default pool does not change the pool of arrow's C++ internals (the
    parquet reader's and writer's buffers): their free pages are released too.
    """
    pools = [pa.default_memory_pool()]
    for name in ("mimalloc_memory_pool", "jemalloc_memory_pool"):
        try:
            pools.append(getattr(pa, name)())
        except (AttributeError, pa.ArrowException):
            continue  # not built into this pyarrow (ArrowNotImplementedError is an ArrowException)
    return pools


#: per-task memory of this process, appended by the worker wrapper (see :func:`task_memory`)
_TASK_MEMORY: list[dict[str, Any]] = []
_TASK_MEMORY_MAX = 100_000


@functools.lru_cache(maxsize=1)
def _worker_setup() -> None:
    """Once per worker process: arrow allocates through the C library's allocator.

    Arrow's default allocator (mimalloc) keeps its own segments: a parquet writer left it
    holding 10-18 MB per recording of a few MB, on top of the recording's data, where the C
    allocator (trimmed after each task) stays within a few MB. And glibc's threshold above
    which an allocation gets its own pages (returned when freed) is fixed at
    :data:`MMAP_THRESHOLD_BYTES`: by default it rises as large arrays are freed, and blocks of
    a few MB then come from the heap, whose freed holes stay resident until the task ends.
    Only worker processes are set this way; the driver's process keeps its allocator. Arrow's
    C++ parts (the parquet reader and writer) take their allocator from ``$ARROW_DEFAULT_MEMORY_POOL``
    when pyarrow loads: the workers of a ``LocalCluster`` started here get :data:`WORKER_ENV`
    (start the workers of an existing cluster with it too).
    """
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - a dependency of the project
        pass
    else:
        pa.set_memory_pool(pa.system_memory_pool())
    mallopt = _libc_function("mallopt", (ctypes.c_int, ctypes.c_int))
    if mallopt is not None:
        mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)


def _start_task() -> float | None:
    release_unused_memory()
    base = rss_mb()
    return base if base is not None and _reset_peak_rss() else None


def _end_task(fn: Callable[[Any], Any], base: float) -> None:
    peak = peak_rss_mb()
    release_unused_memory()
    if peak is not None and len(_TASK_MEMORY) < _TASK_MEMORY_MAX:
        name = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', type(fn).__name__)}"
        _TASK_MEMORY.append({"task": name, "base_mb": base, "peak_mb": peak, "growth_mb": max(0.0, peak - base)})


def task_memory(clear: bool = False) -> list[dict[str, Any]]:
    """The memory of every task this process ran under :func:`run_tasks` (Linux only; else empty).

    One dict per task, in order: ``task`` (the task function's qualified name), ``base_mb``
    (resident memory when the task started, after freed memory went back to the system),
    ``peak_mb`` (the high-water mark during the task) and ``growth_mb`` (their difference: the
    memory the task needed on top of the worker's baseline). Call it on the workers
    (``client.run(task_memory)`` on Dask). ``clear`` empties the record.
    """
    out = list(_TASK_MEMORY)
    if clear:
        _TASK_MEMORY.clear()
    return out
