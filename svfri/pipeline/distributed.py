"""Running a batch on a Dask distributed cluster: ``svfri fit PHOTOS... --scheduler tcp://HOST:8786`` or
``--workers N`` (a local cluster of N worker processes).

Same contract as :func:`svfri.pipeline.batch.run_batch` (rows, ``summary.json`` / ``summary.csv``, exit codes,
``--skip-existing``): the client checks which folders are complete, submits one task per remaining photo, and
collects the rows in input order. Each task runs the job (``run_fit`` with the batch's settings) on a worker,
which writes the photo's folder itself -- all-or-nothing, as locally -- so the workers must see the same file
system as the client (a shared or network file system on a real cluster).

* **Models load once per worker**: :class:`ModelsPlugin` (a ``distributed.WorkerPlugin``) loads the face models
  and the networks when a worker starts (and on every worker that joins later); the fit's compiled step is
  traced on a worker's first photo and reused for the rest.
* **Isolated failures**: a failed photo is a ``failed`` row, exactly as locally (the job's errors are caught on the
  worker). A worker that dies (killed, out of memory) loses only the photo it was fitting: that photo gets a
  ``failed`` row saying so (exit code :data:`EXIT_WORKER_DIED`), the other photos go on, on the remaining and
  restarted workers. The client keeps at most one photo per worker thread in flight, so a worker never holds a
  queued photo besides the one it runs. The local cluster lets each photo kill at most
  :data:`LOCAL_ALLOWED_FAILURES` + 1 workers (:data:`LOCAL_SCHEDULER_CONFIG`); on an external cluster its
  scheduler's ``distributed.scheduler.allowed-failures`` decides (Dask's default: 3 retries on other workers).
* **Resume**: completed folders hold their ``fit.json`` marker, so re-running with ``--skip-existing`` after a
  killed run (client, worker or cluster) skips them and fits the rest.
* **One fit at a time per worker process** (the fitter's variables are per process): a worker with several threads
  still runs one photo at a time; TensorFlow uses the worker's cores. Start external workers with
  ``--nthreads 1``; the local cluster gives each of its ``N`` workers ``cores / N`` TensorFlow threads.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from pathlib import Path
from typing import Callable

from svfri.errors import NotYetError, UsageError
from svfri.pipeline.batch import BatchResult, _run_one, batch_exit_code, batch_lock, write_summary
from svfri.pipeline.completeness import is_complete, recorded_metrics
from svfri.pipeline.inputs import output_folders

__all__ = ["require_dask", "ModelsPlugin", "run_batch_distributed", "dask_runner", "DASK_MISSING_MESSAGE",
           "EXIT_WORKER_DIED", "LOCAL_ALLOWED_FAILURES", "LOCAL_SCHEDULER_CONFIG", "PLUGIN_NAME"]

#: Shown (exit code 40) when ``--scheduler`` / ``--workers`` is used without Dask installed.
DASK_MISSING_MESSAGE = ("--scheduler / --workers need Dask distributed, which is not installed; "
                        "install it with pip install 'svfri[dask]'")
#: Exit code of a photo whose worker died while fitting it.
EXIT_WORKER_DIED = 1
#: On the local cluster, how many times a photo's task is retried after its worker died (0: the first death fails
#: the photo; a photo that kills workers, e.g. by exhausting memory, would otherwise take more of them down).
LOCAL_ALLOWED_FAILURES = 0
#: The local cluster's scheduler settings: a photo whose worker died is not retried (above).
LOCAL_SCHEDULER_CONFIG = {"distributed.scheduler.allowed-failures": LOCAL_ALLOWED_FAILURES}
#: Name of the worker plugin (registering it again replaces it).
PLUGIN_NAME = "svfri-models"

_FIT_LOCK = threading.Lock()


def require_dask():
    """``distributed`` imported, or :class:`~svfri.errors.NotYetError` (exit code 40) naming the extra."""
    try:
        import distributed
    except ImportError:
        raise NotYetError(DASK_MISSING_MESSAGE) from None
    return distributed


class ModelsPlugin:
    """Worker plugin: TensorFlow's thread count, the face models and the networks, once per worker process.

    ``tf_threads``: intra-op threads of TensorFlow on the worker (``None`` leaves TensorFlow's default, all cores);
    ``networks_dir``: the networks folder (``None``: ``$SVFRI_NETWORKS_DIR`` or the shipped ones).
    """

    name = PLUGIN_NAME

    def __init__(self, tf_threads: int | None = None, networks_dir: str | None = None):
        self.tf_threads = tf_threads
        self.networks_dir = networks_dir

    def setup(self, worker=None) -> None:
        from svfri.native_logs import import_tensorflow

        tf = import_tensorflow()
        if self.tf_threads:
            try:
                tf.config.threading.set_intra_op_parallelism_threads(self.tf_threads)
                tf.config.threading.set_inter_op_parallelism_threads(self.tf_threads)
            except RuntimeError:  # TensorFlow already initialised in this process: it keeps its threads
                pass
        from svfri.geometry.face_models import ensure_face_models
        from svfri.pipeline.fit_job import load_networks

        ensure_face_models(quiet=True)
        load_networks(self.networks_dir)

    def teardown(self, worker=None) -> None:
        pass


def _worker_plugin(tf_threads: int | None, networks_dir: str | None):
    """A ``distributed.WorkerPlugin`` instance of :class:`ModelsPlugin` (the base class needs Dask imported)."""
    distributed = require_dask()

    class _Plugin(ModelsPlugin, distributed.WorkerPlugin):
        pass

    _Plugin.__name__ = _Plugin.__qualname__ = "ModelsPlugin"
    return _Plugin(tf_threads, networks_dir)


def _task(job: Callable[[Path, Path], dict], photo: Path, folder: Path, debug: bool) -> dict:
    """What runs on a worker for one photo: the row fields of :func:`svfri.pipeline.batch._run_one` and seconds."""
    with _FIT_LOCK:
        start = time.perf_counter()
        fields = _run_one(job, photo, folder, debug)
        fields["seconds"] = round(time.perf_counter() - start, 3)
        fields["worker"] = f"{os.uname().nodename}:{os.getpid()}"
        return fields


def _local_cluster(workers: int):
    distributed = require_dask()
    import dask

    with dask.config.set(LOCAL_SCHEDULER_CONFIG):
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=logging.ERROR)
    return cluster


def run_batch_distributed(photos: list[Path], out: Path, job: Callable[[Path, Path], dict], *, output_set: str,
                          scheduler: str | None = None, workers: int | None = None, skip_existing: bool = False,
                          debug: bool = False, on_start: Callable[[int, int, Path], None] | None = None,
                          on_row: Callable[[dict], None] | None = None,
                          networks_dir: str | None = None) -> BatchResult:
    """:func:`svfri.pipeline.batch.run_batch` on a Dask cluster (module docstring).

    Args:
      job: ``job(photo, folder) -> metrics``; must be picklable (e.g. ``functools.partial(run_fit,
        settings=...)``): it runs on the workers.
      scheduler: address of a running scheduler (``tcp://HOST:8786``); or ``workers``: start a local cluster of
        that many worker processes for this batch (one of the two).
      on_start: ``(index, total, photo)`` when a photo is submitted to the cluster; ``on_row``: each finished row, in completion
        order (the returned rows and the summary are in input order).

    Rows as :func:`~svfri.pipeline.batch.run_batch`'s, plus ``worker`` (host:pid) for photos fitted on a worker.
    """
    if (scheduler is None) == (workers is None):
        raise UsageError("give either --scheduler ADDRESS or --workers N")
    if workers is not None and workers < 1:
        raise UsageError(f"--workers must be >= 1, got {workers}")
    distributed = require_dask()
    folders = output_folders(photos, out)
    several = len(photos) > 1
    rows: list[dict | None] = [None] * len(photos)
    interrupted = False
    cluster = client = None
    with batch_lock(out, several=several), contextlib.ExitStack() as cleanup:
        @cleanup.callback
        def close_cluster() -> None:  # the client first, then a local cluster this batch started
            if client is not None:
                client.close()
            if cluster is not None:
                cluster.close()

        pending = {}
        for index, (photo, folder) in enumerate(zip(photos, folders)):
            if skip_existing and is_complete(folder, output_set):
                rows[index] = {"input": str(photo), "output": str(folder), "status": "skipped", "seconds": 0.0,
                               "metrics": recorded_metrics(folder, output_set)}
                if on_row is not None:
                    on_row(rows[index])
        todo = [i for i, row in enumerate(rows) if row is None]
        try:
            if todo:
                if scheduler is not None:
                    client = distributed.Client(scheduler)
                    tf_threads = None
                else:
                    cluster = _local_cluster(workers)
                    client = distributed.Client(cluster)
                    tf_threads = max(1, (os.cpu_count() or 1) // workers)
                client.register_plugin(_worker_plugin(tf_threads, networks_dir), name=PLUGIN_NAME)
                queue = list(todo)

                def submit_more(completed) -> None:
                    # At most one photo per worker thread in flight: a worker never holds a queued photo that
                    # its death would take down with it (and a worker that joins later raises the limit).
                    limit = max(1, sum(client.nthreads().values()))
                    while queue and len(pending) < limit:
                        index = queue.pop(0)
                        if on_start is not None:
                            on_start(index, len(photos), photos[index])
                        future = client.submit(_task, job, photos[index], folders[index], debug, pure=False,
                                               key=f"svfri-{index}-{time.time_ns()}")
                        pending[future] = index
                        completed.add(future)

                completed = distributed.as_completed()
                submit_more(completed)
                for future in completed:
                    index = pending.pop(future)
                    row = {"input": str(photos[index]), "output": str(folders[index])}
                    try:
                        row.update(future.result())
                    except (KeyboardInterrupt, SystemExit):
                        raise
                    except Exception as error:  # the worker died (KilledWorker) or the cluster went away
                        row.update(status="failed", exit_code=EXIT_WORKER_DIED, seconds=None,
                                   error=f"{photos[index]}: the Dask worker fitting it died or was lost "
                                         f"({type(error).__name__}: {error}); its folder was left as it was; "
                                         "re-run with --skip-existing to retry")
                    rows[index] = row
                    if on_row is not None:
                        on_row(row)
                    submit_more(completed)
        except KeyboardInterrupt:
            interrupted = True
            for future in pending:
                future.cancel()
        finished = [row for row in rows if row is not None]
        if several:
            write_summary(out, finished)
    return BatchResult(finished, batch_exit_code(finished, several=several, interrupted=interrupted),
                       interrupted=interrupted, total=len(photos))


def dask_runner(*, scheduler: str | None = None, workers: int | None = None):
    """A callable with :func:`~svfri.pipeline.batch.run_batch`'s signature that runs the batch on Dask; checks
    that Dask is installed now (exit code 40 otherwise)."""
    require_dask()

    def runner(photos, out, job, **options):
        return run_batch_distributed(photos, out, job, scheduler=scheduler, workers=workers, **options)

    return runner
