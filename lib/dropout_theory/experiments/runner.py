"""Run lists of independent jobs through any ``concurrent.futures.Executor``, resumably.

A sweep is a list of parameter dicts and a top-level (picklable) function ``fn(**params) -> dict``. Each
finished job is appended at once to a JSON-lines results file keyed by a hash of its parameters, so an
interrupted sweep resumes where it stopped. By default jobs run in a local process pool; pass any other
Executor (Dask distributed's ``Client.get_executor()``, Ray's, submitit's) to run elsewhere. There is no
home-made scheduler here: the Executor is the only interface.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from dropout_theory._checks import check_positive_int


def job_key(params: Mapping[str, Any]) -> str:
    """Stable 16-hex-digit key of a JSON-serializable parameter dict (order of keys does not matter)."""
    blob = json.dumps(params, sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def load_results(results_path: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """Read a results file into ``{key: {"params": ..., "result": ...}}`` (missing file → empty dict).

    A truncated last line (a run killed mid-write) is ignored.
    """
    path = Path(results_path)
    out: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        out[rec["key"]] = {"params": rec["params"], "result": rec["result"]}
    return out


def _single_thread_worker() -> None:
    # Each worker process gets one BLAS/torch thread so that a pool of k workers uses k cores.
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)


def default_executor(max_workers: int | None = None) -> Executor:
    """A local process pool (spawn context, one torch thread per worker)."""
    workers = max_workers or os.cpu_count() or 1
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_single_thread_worker,
    )


def run_jobs(
    fn: Callable[..., Mapping[str, Any]],
    jobs: Sequence[Mapping[str, Any]],
    *,
    results_path: str | os.PathLike | None = None,
    executor: Executor | None = None,
    max_workers: int | None = None,
    progress: bool = True,
    desc: str | None = None,
) -> list[dict[str, Any]]:
    """Run ``fn(**job)`` for every job, skipping those already in ``results_path``.

    Args:
        fn: a module-level function returning a JSON-serializable mapping.
        jobs: parameter dicts (JSON-serializable).
        results_path: JSON-lines file to resume from and append to; ``None`` keeps results in memory only.
        executor: any ``concurrent.futures.Executor``; ``None`` creates a local process pool (or runs in
            this process when ``max_workers == 1``). A caller-supplied executor is not shut down.
        max_workers: size of the default pool (default: number of CPUs).
        progress: show a tqdm progress bar.
        desc: label of the progress bar.

    Returns:
        The results, one dict per job, in the order of ``jobs``.
    """
    if max_workers is not None:
        check_positive_int(max_workers, "max_workers")
    keys = [job_key(j) for j in jobs]
    done = load_results(results_path) if results_path is not None else {}
    todo = [(k, j) for k, j in zip(keys, jobs, strict=True) if k not in done]
    todo = list({k: (k, j) for k, j in todo}.values())  # identical jobs run once
    fh = None
    if results_path is not None:
        Path(results_path).parent.mkdir(parents=True, exist_ok=True)
        fh = open(results_path, "a")

    def store(key: str, params: Mapping[str, Any], result: Mapping[str, Any]) -> None:
        done[key] = {"params": dict(params), "result": dict(result)}
        if fh is not None:
            fh.write(json.dumps({"key": key, "params": params, "result": result}) + "\n")
            fh.flush()

    bar = tqdm(total=len(jobs), initial=len(jobs) - len(todo), disable=not progress, desc=desc)
    try:
        if todo and executor is None and max_workers == 1:
            for k, j in todo:
                store(k, j, fn(**j))
                bar.update()
        elif todo:
            own = executor is None
            ex = default_executor(max_workers) if own else executor
            try:
                futures: dict[Future, tuple[str, Mapping[str, Any]]] = {ex.submit(fn, **j): (k, j) for k, j in todo}
                for fut in as_completed(futures):
                    k, j = futures[fut]
                    store(k, j, fut.result())
                    bar.update()
            finally:
                if own:
                    ex.shutdown(cancel_futures=True)
    finally:
        bar.close()
        if fh is not None:
            fh.close()
    return [done[k]["result"] for k in keys]
