"""The executors a sweep can run on: the local process pool, or a Dask cluster (``--executor dask``).

:func:`dropout_theory.experiments.run_jobs` accepts any ``concurrent.futures.Executor``; this module opens the two
the ``dropout-experiments`` command offers:

* ``"local"``: ``None``, i.e. :func:`run_jobs`'s own process pool (``max_workers`` processes, one torch thread
  each), or the calling process when ``max_workers == 1``;
* ``"dask"``: the ``concurrent.futures`` face of a ``dask.distributed`` client (``Client.get_executor()``), on a
  ``LocalCluster`` of ``max_workers`` worker processes with one thread each (default: one per core), listening on
  the loopback interface only, without a dashboard; or, with ``scheduler``, on an existing cluster reached at that
  address (``tcp://host:8786``), e.g. one started by ``dask-jobqueue`` on SLURM or by the Dask Kubernetes operator.

Dask is an optional dependency: ``pip install "dropout-theory[dask]"`` (the book's environment pins it). A local
cluster and its workers are closed when the block ends, also when the run is stopped by a signal; a cluster reached
through ``scheduler`` is left running (only the client disconnects), and its workers need the same library
installed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
from collections.abc import Iterator
from concurrent.futures import Executor

from dropout_theory._checks import check_choice, check_positive_int

EXECUTORS: tuple[str, ...] = ("local", "dask")

#: Environment of every Dask worker process of a local cluster: one BLAS/OpenMP (and so torch) thread, like the
#: local pool's workers, so that k workers use k cores.
WORKER_ENV: dict[str, str] = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}

DASK_MISSING = (
    "the Dask executor needs the optional dependency dask[distributed]: "
    'pip install "dropout-theory[dask]" (the book\'s environment, bash tasks.sh, installs it)'
)


def dask_available() -> bool:
    """Whether ``dask.distributed`` can be imported (without importing it)."""
    return importlib.util.find_spec("distributed") is not None


@contextlib.contextmanager
def open_executor(
    kind: str = "local", *, max_workers: int | None = None, scheduler: str | None = None
) -> Iterator[Executor | None]:
    """Open the executor of a sweep for the duration of a ``with`` block.

    Args:
        kind: ``"local"`` or ``"dask"``.
        max_workers: local pool size, or the number of worker processes of the Dask ``LocalCluster``
            (default: one per core). Not allowed with ``scheduler`` (the cluster decides).
        scheduler: address of a running Dask scheduler (``"tcp://host:8786"``); only with ``kind="dask"``.

    Yields:
        ``None`` for ``"local"`` (:func:`run_jobs` then makes its own pool), otherwise a
        ``concurrent.futures.Executor`` backed by the Dask client.

    Raises:
        ValueError: unknown ``kind``, ``scheduler`` without ``kind="dask"``, ``max_workers`` with ``scheduler``,
            or Dask not installed.
    """
    kind = check_choice(kind, "executor", EXECUTORS)
    if max_workers is not None:
        check_positive_int(max_workers, "max_workers")
    if scheduler is not None and kind != "dask":
        raise ValueError(f"scheduler={scheduler!r} needs the Dask executor (executor='dask'), got executor={kind!r}")
    if kind == "local":
        yield None
        return
    if scheduler is not None and max_workers is not None:
        raise ValueError(
            f"max_workers={max_workers} sizes a local cluster; a cluster reached through scheduler={scheduler!r} "
            "has its own workers"
        )
    if not dask_available():
        raise ValueError(DASK_MISSING)
    from distributed import Client, LocalCluster

    with contextlib.ExitStack() as stack:
        if scheduler is None:
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=max_workers or os.cpu_count() or 1,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                    env=WORKER_ENV,
                )
            )
            client = stack.enter_context(Client(cluster))
        else:
            client = stack.enter_context(Client(scheduler))
        yield client.get_executor()


__all__ = ["DASK_MISSING", "EXECUTORS", "WORKER_ENV", "dask_available", "open_executor"]
