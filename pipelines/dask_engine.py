"""Scale batch scoring out on Dask: one task per file, each worker loading the model once.

Every task runs the single-process :func:`pipelines.batch.score_file` on one input file, so
outputs are the same files, byte for byte in content, as a local run writes. Each worker
process keeps the loaded detector in a small cache keyed by the model directory, the
inference engine and the model's modification time (:func:`cached_detector`); the model is
loaded on every worker before the first task (``client.run``), which also turns a bad model
directory into one :class:`~anomaly.errors.ModelFileError` before any file is read.

Without a scheduler address a ``LocalCluster`` is started (2 worker processes, 1 thread
each, with this process's BLAS thread count, see :func:`local_cluster`). With
``scheduler="tcp://HOST:PORT"`` the workers of that cluster must see the model directory and
the input/output paths under the same names (a shared filesystem); their float32 results can
differ from a local run in the last bits where their BLAS differs (thread count, CPU kernels).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from anomaly.bundle import META_FILE
from anomaly.errors import ConfigError
from anomaly.registry import load
from pipelines.batch import ScoredFile, score_files
from pipelines.chunk_reader import DEFAULT_CHUNK_ROWS

#: Local cluster shape when no scheduler is given.
LOCAL_WORKERS, LOCAL_THREADS = 2, 1
#: How long to try reaching a given scheduler.
CONNECT_TIMEOUT = "10s"


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ConfigError("the dask engine needs the dask extra: pip install 'robot-anomaly[dask]'") from None
    return distributed


@contextmanager
def connect(scheduler: str | None = None) -> Iterator:
    """A ``distributed.Client``: to ``scheduler`` when given, else to a new local cluster (closed on exit)."""
    distributed = _distributed()
    if scheduler is not None:
        try:
            client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ConfigError(f"cannot connect to the Dask scheduler {scheduler!r} ({exc.__class__.__name__}: {exc})") from None
        with client:
            yield client
        return
    with local_cluster() as cluster, distributed.Client(cluster) as client:
        yield client


def local_cluster():
    """A ``LocalCluster`` of ``LOCAL_WORKERS`` processes x ``LOCAL_THREADS`` threads whose BLAS
    uses as many threads as this process's (Dask would pin it to 1).

    OpenBLAS rounds float32 matrix products (PCA) differently with another thread count; with
    the same count, local workers reproduce the single-process engine bit for bit. The count
    must be in the environment before a worker starts (Dask's ``pre-spawn-environ``).
    """
    import dask
    from threadpoolctl import threadpool_info

    distributed = _distributed()
    threads = str(max((lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"), default=1))
    environ = {**dask.config.get("distributed.nanny.pre-spawn-environ"), "OPENBLAS_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        return distributed.LocalCluster(n_workers=LOCAL_WORKERS, threads_per_worker=LOCAL_THREADS, processes=True,
                                        dashboard_address=":0")


def _stamp(model: str) -> int:
    """Modification time of the model's metadata: a refitted model is loaded again."""
    path = Path(model) / META_FILE
    return path.stat().st_mtime_ns if path.exists() else 0


@functools.lru_cache(maxsize=4)
def _load(model: str, engine: str, stamp: int):
    return load(model, engine=engine)


def cached_detector(model: str, engine: str = "auto"):
    """The detector at ``model`` loaded with ``engine``, once per process (and again after a refit)."""
    return _load(model, engine, _stamp(model))


def warm(model: str, engine: str) -> str:
    """Load the model on a worker before its first task; returns the detector's class name."""
    return type(cached_detector(model, engine)).__name__


def _score(job: ScoredFile, model: str, engine: str, options: dict) -> ScoredFile:
    """One task: score one file with the worker's cached detector."""
    return score_files(cached_detector(model, engine), [job], **options)[0]


def score_files_dask(model: str | Path, jobs: list[ScoredFile], *, engine: str = "auto", scheduler: str | None = None,
                     timestamp: str | None = None, chunk_rows: int = DEFAULT_CHUNK_ROWS, top_k: int = 3,
                     with_errors: bool = False, on_done: Callable[[ScoredFile], None] | None = None,
                     drop_leading: bool | None = False) -> list[ScoredFile]:
    """Score planned files (:func:`pipelines.batch.plan`) on a Dask cluster, one task per file.

    Parameters
    ----------
    model : str or Path
        Model directory (from ``anomaly fit``), readable by every worker.
    jobs : list of ScoredFile
        Entries of :func:`~pipelines.batch.plan`; skipped ones are returned as they are.
    engine : {"auto", "keras", "onnx"}
        Inference engine on the workers.
    scheduler : str, optional
        ``tcp://HOST:PORT`` of a running scheduler; default: a local cluster of 2 processes.
    timestamp, chunk_rows, top_k, with_errors, drop_leading
        As for :func:`pipelines.batch.score_file`.
    on_done : callable, optional
        Called with each file's result as it completes (in completion order).

    Returns
    -------
    list of ScoredFile, in the order of ``jobs`` (a rejected file carries its ``error``).

    Raises
    ------
    ModelFileError, ConfigError
        A bad model directory or engine (before any file is read), no dask installed, or a
        scheduler that cannot be reached.
    """
    distributed = _distributed()
    model = str(Path(model).resolve())
    options = {"timestamp": timestamp, "chunk_rows": chunk_rows, "top_k": top_k, "with_errors": with_errors,
               "drop_leading": drop_leading}
    results = list(jobs)
    todo = [i for i, job in enumerate(jobs) if not job.skipped]
    if not todo:
        return results
    with connect(scheduler) as client:
        client.run(warm, model, engine)
        futures = {client.submit(_score, jobs[i], model, engine, options, pure=False): i for i in todo}
        for future in distributed.as_completed(futures):
            result = future.result()
            results[futures[future]] = result
            if on_done is not None:
                on_done(result)
    return results
