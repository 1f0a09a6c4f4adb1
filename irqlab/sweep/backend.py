"""Where sweep batches run: this process (``--jobs 1``), a pool of local
processes (``concurrent.futures.ProcessPoolExecutor``), or Dask distributed
through its ``concurrent.futures`` face (``Client.get_executor()``): a running
scheduler (``--dask tcp://host:8786``) or a ``LocalCluster`` (``--dask local``).
Dask is imported only when asked for.
"""

from __future__ import annotations

import logging
import multiprocessing
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import (
    BrokenExecutor,
    Executor,
    Future,
    ProcessPoolExecutor,
    as_completed,
)
from contextlib import contextmanager
from typing import Any

from irqlab.sweep.point import Batch, Row, run_batch

#: a Dask scheduler that does not answer within this is reported, not waited for
CONNECT_TIMEOUT_S = 10

LOST_WORKER = ("a worker process died (out of memory, or killed); finished runs are kept, "
               "rerun the same command to run the rest")


class BackendError(RuntimeError):
    """A backend that cannot start, or lost a worker; the message names the option."""


@contextmanager
def executor(jobs: int, dask: str | None) -> Iterator[tuple[Executor | None, int]]:
    """``(executor, workers)``; the executor is None for ``--jobs 1`` without Dask."""
    if dask is None:
        if jobs == 1:
            yield None, 1
            return
        try:
            # forkserver, not fork: the parent may run threads (the progress bar's refresh),
            # and a fork copies their locks held (Python 3.14 makes it the default)
            with ProcessPoolExecutor(max_workers=jobs,
                                     mp_context=multiprocessing.get_context("forkserver")) as pool:
                yield pool, jobs
        except BrokenExecutor:
            raise BackendError(f"--jobs {jobs}: {LOST_WORKER}") from None
        return
    from distributed import Client, LocalCluster  # the CLI checked the extra is installed
    if dask == "local":
        with warnings.catch_warnings():  # its HTTP port taken: distributed picks another
            warnings.filterwarnings("ignore", message="Port .* is already in use")
            cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
    else:
        cluster = None
        try:
            client = Client(dask, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError, ValueError) as exc:
            raise BackendError(f"--dask {dask}: cannot reach the scheduler ({exc})") from None
    from distributed.scheduler import KilledWorker

    try:
        workers = max(1, sum(client.nthreads().values()))
        yield client.get_executor(), workers
    except KilledWorker:
        raise BackendError(f"--dask {dask}: {LOST_WORKER}") from None
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def batches(runs: Sequence[Any], workers: int, make: Callable[[Sequence[Any]], Batch],
            ) -> list[Batch]:
    """``runs`` cut into batches: about four per worker (so the last ones
    balance), at most 32 runs each (so progress and the journal keep up)."""
    size = max(1, min(32, -(-len(runs) // (workers * 4))))
    return [make(runs[i:i + size]) for i in range(0, len(runs), size)]


def execute(work: Sequence[Batch], pool: Executor | None,
            done: Callable[[list[Row]], None]) -> None:
    """Run every batch, calling ``done`` with each batch's rows as it finishes
    (in this process); on an error or Ctrl-C the batches not started are cancelled."""
    if pool is None:
        for batch in work:
            done(run_batch(batch))
        return
    futures: list[Future[list[Row]]] = [pool.submit(run_batch, b) for b in work]
    try:
        for future in as_completed(futures):
            done(future.result())
    finally:
        for future in futures:
            future.cancel()
