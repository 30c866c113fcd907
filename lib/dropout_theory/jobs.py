"""The job store: run lists of independent jobs through any ``concurrent.futures.Executor``, resumably.

Part of the core, so that the math packages can run a sweep into a results file and read it back (a chapter that
plots a stored sweep calls the same function that made it); the ``dropout-experiments`` command is a shell over it.

A sweep is a list of parameter dicts and a top-level (picklable) function ``fn(**params) -> dict``. Each
finished job is appended at once, as one JSON line, to a results file, so an interrupted sweep resumes where it
stopped. By default jobs run in a local process pool; pass any other Executor (Dask distributed's
``Client.get_executor()``, opened by :func:`dropout_theory.experiments.executors.open_executor`, Ray's,
submitit's) to run elsewhere. There is no home-made scheduler here: the
Executor is the only interface.

**The results file** (JSON lines) belongs to one run. Its first line is the run's header,
``{"record": "run", "command", "options", "scale", "function", "library_version", ...}`` (the identity: what
determines the results) plus provenance (``argv``, start time, Python and torch versions). Every other line is a
job record ``{"record": "job", "key", "params", "status", "result"}``:

* ``key``: :func:`job_key` of the job's declared parameters;
* ``status``: ``"ok"``; ``"nonfinite"`` when the result held NaN or ±inf, which are written as JSON ``null``
  and listed under ``"nonfinite"`` (JSON has no NaN); ``"error"`` when the job raised (type, message and
  traceback under ``"error"``; the job is retried when the run resumes).

A run resumes only into a file whose header has the same identity (:class:`~dropout_theory.jobs.RunMismatchError`
otherwise), so summaries never mix the records of two runs. A record is committed when its newline is written: a
partial last line (a run killed while writing) is cut before appending.

**Stopping.** SIGTERM (a cluster scheduler's stop) and SIGINT stop :func:`run_jobs` cleanly: the records of the
finished jobs are on disk, the local pool's workers are terminated, and :class:`RunInterrupted` is raised.
Workers of the local pool also exit by themselves within a second when the main process disappears (SIGKILL).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import hashlib
import json
import math
import multiprocessing
import os
import platform
import signal
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import BrokenExecutor, Executor, Future, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from dropout_theory._checks import check_positive_int

_RUN_IDENTITY: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("run_identity", default=None)


class RunInterrupted(KeyboardInterrupt):
    """SIGTERM or SIGINT stopped :func:`run_jobs`; the finished jobs are saved and the same call resumes.

    A subclass of ``KeyboardInterrupt``, so that code which handles Ctrl-C handles it too.

    Attributes:
        signum: the signal number.
        num_done: jobs of the sweep with a record in the results file (or in memory).
        num_jobs: jobs of the sweep.
        results_path: the results file (``None`` when results were kept in memory).
    """

    def __init__(self, signum: int, num_done: int = 0, num_jobs: int = 0, results_path: str | None = None) -> None:
        self.signum = int(signum)
        self.num_done, self.num_jobs, self.results_path = num_done, num_jobs, results_path
        where = f" in {results_path}; run the same command again to resume" if results_path else ""
        super().__init__(
            f"stopped by {signal.Signals(self.signum).name}: {num_done} of {num_jobs} jobs finished and saved{where}"
        )


class JobsFailed(RuntimeError):
    """Some jobs raised. Every other job ran and is saved; the failures are ``"error"`` records of the results
    file (with their tracebacks), retried when the run resumes.

    Attributes:
        failures: ``(params, error)`` pairs, ``error`` holding ``type``, ``message`` and ``traceback``.
    """

    def __init__(self, failures: Sequence[tuple[Mapping[str, Any], Mapping[str, str]]]) -> None:
        self.failures = list(failures)
        first_params, first = self.failures[0]
        super().__init__(
            f"{len(self.failures)} job(s) failed; the first, {dict(first_params)}, raised "
            f"{first['type']}: {first['message']}\n{first['traceback']}"
        )


class RunMismatchError(ValueError):
    """The results file belongs to another run (different command, options, scale, job function or library
    version), or is not a results file at all."""


def job_key(params: Mapping[str, Any]) -> str:
    """Stable 16-hex-digit key of a JSON-serializable parameter dict.

    The order of keys does not matter, tuples count as lists, and floats are rounded to 12 significant digits
    before hashing, so that a value that differs in its last bits on another machine (declare job inputs as
    written, e.g. ``0.1`` or ``round(x, 3)``, not as the output of a computation) still finds its record.

    Raises:
        ValueError: for a NaN or infinite parameter (named by its path).
    """
    blob = json.dumps(_canonical(params, "params"), sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def _canonical(obj: Any, path: str) -> Any:
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        if not math.isfinite(obj):
            raise ValueError(f"job parameter {path} must be finite, got {obj!r}")
        return float(f"{obj:.12g}")
    if isinstance(obj, Mapping):
        return {str(k): _canonical(v, f"{path}[{k!r}]") for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_canonical(v, f"{path}[{i}]") for i, v in enumerate(obj)]
    return obj


def _json_safe(obj: Any, path: str, nonfinite: list[str]) -> Any:
    """A JSON-serializable copy of ``obj`` with NaN/±inf replaced by ``None`` (their paths appended)."""
    if isinstance(obj, np.generic | np.ndarray):
        obj = obj.tolist()
    if isinstance(obj, float):
        if math.isfinite(obj):
            return obj
        nonfinite.append(path)
        return None
    if isinstance(obj, Mapping):
        return {str(k): _json_safe(v, f"{path}.{k}" if path else str(k), nonfinite) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_safe(v, f"{path}[{i}]", nonfinite) for i, v in enumerate(obj)]
    return obj


@contextlib.contextmanager
def run_identity(
    command: str, options: Mapping[str, Any], scale: str, *, argv: Sequence[str] | None = None
) -> Iterator[None]:
    """Label the runs of :func:`run_jobs` started inside this block (what the ``dropout-experiments`` command does).

    A science function that owns a stored sweep labels its runs itself (its own arguments are the options), so that
    the command line and a chapter calling it with the same arguments resume and read the same file; the command
    line of an enclosing block is kept for provenance.

    Args:
        command: subcommand or sweep name, e.g. ``"sme"``.
        options: the options that determine the results (JSON-serializable).
        scale: ``"quick"`` or ``"paper"`` (or another label of the sweep's size).
        argv: the command line, recorded in the header for provenance (not part of the identity); default: that of
            the enclosing block, if any.
    """
    if argv is None:
        argv = (_RUN_IDENTITY.get() or {}).get("argv")
    token = _RUN_IDENTITY.set(
        {"command": command, "options": dict(options), "scale": scale, "argv": None if argv is None else list(argv)}
    )
    try:
        yield
    finally:
        _RUN_IDENTITY.reset(token)


def _identity(fn: Callable[..., Any], device: str | None = None) -> dict[str, Any]:
    from dropout_theory import __version__

    context = _RUN_IDENTITY.get() or {}
    ident = {f: context.get(f) for f in ("command", "options", "scale")}
    ident |= {"function": f"{fn.__module__}.{fn.__qualname__}", "library_version": __version__}
    return ident if device is None else ident | {"device": device}


def _header(fn: Callable[..., Any], device: str | None = None) -> dict[str, Any]:
    import torch

    return {
        "record": "run",
        **_identity(fn, device),
        "argv": (_RUN_IDENTITY.get() or {}).get("argv"),
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }


_HEADER_PREFIX = b'{"record": "run"'


def _read_lines(path: Path) -> list[dict[str, Any]]:
    """The committed records of a results file (lines ending in a newline); a partial last line is ignored and
    a line that is not JSON is skipped with a warning."""
    data = path.read_bytes()
    out = []
    for n, line in enumerate(data[: data.rfind(b"\n") + 1].splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            warnings.warn(f"{path}, line {n}: not a JSON record; skipped (its job will run again)", stacklevel=3)
            continue
        if isinstance(rec, dict):
            out.append(rec)
    return out


def read_run_header(results_path: str | os.PathLike) -> dict[str, Any] | None:
    """The header record of a results file (``None`` for a missing or empty file, or a header cut mid-write).

    Raises:
        RunMismatchError: if the file has content but does not start with a run header.
    """
    path = Path(results_path)
    data = path.read_bytes() if path.is_file() else b""
    if not data:
        return None
    first, newline, _ = data.partition(b"\n")
    if not newline and data.startswith(_HEADER_PREFIX):
        return None
    try:
        rec = json.loads(first) if newline else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        rec = None
    if not isinstance(rec, dict) or rec.get("record") != "run":
        raise RunMismatchError(
            f"{path} is not a results file of dropout_theory.jobs (its first line is not a run header); "
            "choose another results file"
        )
    return rec


def load_results(results_path: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """Read the finished jobs of a results file into ``{key: {"params", "result", "status"}}``.

    Missing file → empty dict. The header and ``"error"`` records are skipped (a failed job is not finished), a
    partial last line is ignored, and for a key recorded twice the last record wins.
    """
    path = Path(results_path)
    out: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return out
    for rec in _read_lines(path):
        if rec.get("record", "job") != "job" or "key" not in rec:
            continue
        status = rec.get("status", "ok")
        if status == "error":
            continue
        out[rec["key"]] = {"params": rec["params"], "result": rec["result"], "status": status}
    return out


def job_records(jobs: Sequence[Mapping[str, Any]], results: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """``{key: {"params", "result"}}`` for a job list and its results (e.g. from :func:`run_jobs`): the mapping
    :func:`load_results` returns, restricted to these jobs, for summaries of exactly one sweep."""
    for name, seq in (("jobs", jobs), ("results", results)):
        if isinstance(seq, str | Mapping) or not isinstance(seq, Sequence):
            raise TypeError(f"{name} must be a sequence of mappings, got {type(seq).__name__}")
    if len(jobs) != len(results):
        raise ValueError(f"jobs and results must have the same length, got {len(jobs)} and {len(results)}")
    return {job_key(j): {"params": dict(j), "result": r} for j, r in zip(jobs, results, strict=True)}


def check_results_path(results_path: str | os.PathLike, identity: Mapping[str, Any] | None = None) -> Path:
    """Check that ``results_path`` can hold (or resume) a run, without writing anything.

    Args:
        results_path: the results file.
        identity: fields of the run's identity to compare with an existing header (e.g. ``command``,
            ``options``, ``scale``); ``None`` checks only that the path is usable.

    Returns:
        The path.

    Raises:
        ValueError: the path is a directory or lies under a file.
        RunMismatchError: the file exists and belongs to another run, or is not a results file.
    """
    path = Path(results_path)
    if path.is_dir():
        raise ValueError(
            f"results file {str(path)!r} is a directory; give a file name such as {str(path / 'run.jsonl')!r}"
        )
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise ValueError(f"results file {str(path)!r} lies under {str(parent)!r}, which is a file")
    header = read_run_header(path)
    if header is not None and identity is not None:
        theirs = {f: header.get(f) for f in identity}
        ours = {f: json.loads(json.dumps(v)) for f, v in identity.items()}
        # files written before the device option existed ran on the CPU
        if "device" in ours and "device" not in header:
            theirs["device"] = "cpu"
        options = theirs.get("options")
        if isinstance(options, dict) and "device" not in options and "device" in (ours.get("options") or {}):
            theirs["options"] = {**options, "device": "cpu"}
        if theirs != ours:
            diff = ", ".join(f"{f}: file {theirs[f]!r}, now {ours[f]!r}" for f in ours if theirs[f] != ours[f])
            raise RunMismatchError(
                f"{path} holds another run ({diff}); a results file holds one run, so that its summaries "
                "never mix runs: choose another results file"
            )
    return path


def _cut_partial_last_line(path: Path) -> None:
    with open(path, "rb+") as fh:
        data = fh.read()
        keep = data.rfind(b"\n") + 1
        if keep < len(data):
            fh.truncate(keep)
            warnings.warn(
                f"{path}: cut a partial last line ({len(data) - keep} bytes of a record whose write was "
                "interrupted); that job runs again",
                stacklevel=3,
            )


_PARENT_WATCH_SECONDS = 1.0


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(_PARENT_WATCH_SECONDS)
        if os.getppid() != parent:
            os._exit(1)  # the main process is gone (e.g. SIGKILL): nobody will collect our results


def _pool_worker_init(parent: int) -> None:
    # The main process may be gone already (killed while this worker started): compare with its pid, not with
    # the parent seen now.
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="parent-watch").start()
    # Ctrl-C reaches the whole process group: the main process alone decides how to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # tqdm would otherwise create a multiprocessing lock (a named semaphore) that a terminated worker leaves to
    # multiprocessing's resource tracker, which then warns about "leaked semaphore objects".
    tqdm.set_lock(threading.RLock())
    # One BLAS/torch thread per worker, so that a pool of k workers uses k cores.
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)


def default_executor(max_workers: int | None = None) -> ProcessPoolExecutor:
    """A local process pool (spawn context, one torch thread per worker, workers exit when the parent dies)."""
    workers = max_workers or os.cpu_count() or 1
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_pool_worker_init,
        initargs=(os.getpid(),),
    )


def _terminate_pool(ex: ProcessPoolExecutor) -> None:
    """Stop a process pool now: terminate its workers (running jobs are abandoned) and wait for them."""
    procs = list((getattr(ex, "_processes", None) or {}).values())  # CPython's ProcessPoolExecutor keeps them here
    for p in procs:
        with contextlib.suppress(Exception):
            p.terminate()
    ex.shutdown(wait=True, cancel_futures=True)
    for p in procs:
        p.join(timeout=5)
        if p.is_alive():
            p.kill()
            p.join(timeout=5)


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[None]:
    """Turn SIGTERM and SIGINT into :class:`RunInterrupted` (only in the main thread, where handlers can be set)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        for s in previous:  # a second signal must not interrupt the clean-up
            signal.signal(s, signal.SIG_IGN)
        raise RunInterrupted(signum)

    previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    for s in previous:
        signal.signal(s, handler)
    try:
        yield
    finally:
        for s, h in previous.items():
            if h is not None:
                signal.signal(s, h)


def _error_info(err: BaseException) -> dict[str, str]:
    tb = "".join(traceback.format_exception(err))
    return {"type": type(err).__name__, "message": str(err), "traceback": tb[-4000:]}


def run_jobs(
    fn: Callable[..., Mapping[str, Any]],
    jobs: Sequence[Mapping[str, Any]],
    *,
    results_path: str | os.PathLike | None = None,
    executor: Executor | None = None,
    max_workers: int | None = None,
    progress: bool = True,
    desc: str | None = None,
    device: str | None = None,
) -> list[dict[str, Any]]:
    """Run ``fn(**job)`` for every job, skipping those already finished in ``results_path``.

    Args:
        fn: a module-level function returning a JSON-serializable mapping (NaN/inf are stored as ``null``).
        jobs: parameter dicts (JSON-serializable, finite).
        results_path: JSON-lines file to resume from and append to (see the module docstring); ``None`` keeps
            results in memory only.
        executor: any ``concurrent.futures.Executor``; ``None`` creates a local process pool (or runs in
            this process when ``max_workers == 1``). A caller-supplied executor is not shut down.
        max_workers: size of the default pool (default: number of CPUs).
        progress: show a tqdm progress bar.
        desc: label of the progress bar.
        device: a torch device name (``"cuda"``): every job runs as ``fn(**job, device=device)``. Not part of the
            job keys (so the keys of a sweep do not depend on where it runs), but part of the run's identity: a
            GPU draws other random numbers than the CPU, so a run on another device is another run.

    Returns:
        The results, one dict per job, in the order of ``jobs``, as stored (non-finite numbers are ``None``).

    Raises:
        RunMismatchError: ``results_path`` holds another run.
        RunInterrupted: SIGTERM or SIGINT arrived; finished jobs are saved, the local pool is terminated.
        JobsFailed: some jobs raised; all the others ran and are saved.
    """
    if max_workers is not None:
        check_positive_int(max_workers, "max_workers")
    keys = [job_key(j) for j in jobs]
    device = None if device is None else str(device)
    extra = {} if device is None else {"device": device}
    path = None if results_path is None else Path(results_path)
    done: dict[str, dict[str, Any]] = {}
    if path is not None:
        check_results_path(path, _identity(fn, device))
        if path.is_file():
            _cut_partial_last_line(path)
            done = load_results(path)
    todo = list({k: (k, j) for k, j in zip(keys, jobs, strict=True) if k not in done}.values())  # identical jobs once
    failures: list[tuple[Mapping[str, Any], dict[str, str]]] = []
    fh = None
    if path is not None and todo:
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(path, "a")
        if fh.tell() == 0:
            fh.write(json.dumps(_header(fn, device), allow_nan=False) + "\n")
            fh.flush()

    def store(key: str, params: Mapping[str, Any], outcome: Mapping[str, Any] | Exception) -> None:
        rec: dict[str, Any] = {"record": "job", "key": key, "params": dict(params)}
        if not isinstance(outcome, Exception):
            bad: list[str] = []
            try:
                rec["result"] = _json_safe(dict(outcome), "", bad)
                rec |= {"status": "nonfinite" if bad else "ok"} | ({"nonfinite": bad} if bad else {})
                line = json.dumps(rec, allow_nan=False)
            except (TypeError, ValueError) as err:  # the job returned something JSON cannot hold
                outcome = err
        if isinstance(outcome, Exception):
            rec.pop("nonfinite", None)
            rec |= {"status": "error", "result": None, "error": _error_info(outcome)}
            line = json.dumps(rec)
        if fh is not None:
            fh.write(line + "\n")  # one write: a record is whole or absent
            fh.flush()
        if isinstance(outcome, Exception):
            failures.append((params, rec["error"]))
        else:
            done[key] = {"params": rec["params"], "result": rec["result"], "status": rec["status"]}

    bar = tqdm(total=len(jobs), initial=len(jobs) - len(todo), disable=not progress, desc=desc)
    try:
        with _stop_on_signals():
            if todo and executor is None and max_workers == 1:
                for k, j in todo:
                    try:
                        outcome: Mapping[str, Any] | Exception = fn(**j, **extra)
                    except Exception as err:
                        outcome = err
                    store(k, j, outcome)
                    bar.update()
            elif todo:
                own = executor is None
                ex = default_executor(max_workers) if own else executor
                futures: dict[Future, tuple[str, Mapping[str, Any]]] = {}
                try:
                    futures = {ex.submit(fn, **j, **extra): (k, j) for k, j in todo}
                    for fut in as_completed(futures):
                        k, j = futures[fut]
                        try:
                            outcome = fut.result()
                        except BrokenExecutor:
                            raise
                        except Exception as err:
                            outcome = err
                        store(k, j, outcome)
                        bar.update()
                except BaseException:
                    for fut in futures:
                        fut.cancel()
                    if own:
                        _terminate_pool(ex)
                    raise
                if own:
                    ex.shutdown(wait=True)
    except RunInterrupted as stop:
        finished = sum(k in done for k in dict.fromkeys(keys))
        raise RunInterrupted(stop.signum, finished, len(set(keys)), None if path is None else str(path)) from None
    finally:
        bar.close()
        if fh is not None:
            fh.close()
    if failures:
        raise JobsFailed(failures)
    return [done[k]["result"] for k in keys]
