"""The ``dropout-experiments`` command: paper-scale runs behind the book's chapters.

Every module of :mod:`dropout_theory.experiments` that defines ``register(subparsers)`` contributes a
subcommand (it adds a parser with ``set_defaults(func=...)``), so new experiments plug in without editing
this file. Run ``dropout-experiments --help`` (or ``python -m dropout_theory.experiments``) for the list.
Common options of every subcommand: ``--out`` (results file, resumable; default ``runs/NAME.jsonl``, and
``runs/NAME-quick.jsonl`` with ``--quick``), ``--workers`` (local process pool size, or the number of worker
processes of a Dask ``LocalCluster``), ``--executor local|dask`` and ``--scheduler ADDRESS`` (where the jobs run:
:mod:`dropout_theory.experiments.executors`), ``--device`` (``cpu``, ``cuda``, ``cuda:1``: where every job
computes), ``--quick`` (book-scale sizes, for a smoke test).

Options are checked by argparse before anything runs (a bad value exits with status 2 and writes nothing). The
results file records the run (command, options, scale, library version) in its first line, and a run resumes
only into a file of the same run (a subcommand whose science function labels its own runs, with
``set_defaults(labels_own_runs=True)``, records that function's arguments as the options instead). SIGTERM or
SIGINT stops a run cleanly: the finished jobs are saved, the workers are stopped, and the command exits with
status 128 + the signal number (143 for SIGTERM); the same command resumes. Exit status 1 means some jobs raised
(their tracebacks are in the results file).
"""

from __future__ import annotations

import argparse
import importlib
import math
import pkgutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import dropout_theory.experiments as _pkg
from dropout_theory.experiments.executors import DASK_MISSING, EXECUTORS, dask_available, open_executor
from dropout_theory.jobs import JobsFailed, RunInterrupted, RunMismatchError, check_results_path, run_identity

#: Folder of the default results files (relative to the working directory; ignored by the book's git).
RUNS_DIR = "runs"
#: Parsed arguments that do not determine the results: where and how the jobs run, and the parser's bookkeeping.
#: (``--device`` does: a GPU draws other random numbers than the CPU, so a run on it is another run.)
_NOT_OPTIONS = frozenset(
    {
        "func",
        "out",
        "workers",
        "quick",
        "command",
        "subparser",
        "executor",
        "scheduler",
        "pool",
        "labels_own_runs",
        "quick_ignores",
    }
)


def int_at_least(minimum: int, *, even: bool = False) -> Callable[[str], int]:
    """argparse ``type``: an integer >= ``minimum`` (and even, with ``even``)."""
    what = f"an {'even ' if even else ''}integer >= {minimum}"

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
        if value < minimum or (even and value % 2):
            raise argparse.ArgumentTypeError(f"must be {what}, got {value}")
        return value

    return convert


def float_in(low: float, high: float = math.inf, *, low_open: bool, high_open: bool = True) -> Callable[[str], float]:
    """argparse ``type``: a finite number in the interval from ``low`` to ``high`` (open or closed ends)."""
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"

    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number in {interval}, got {text!r}") from None
        inside = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
        if not (math.isfinite(value) and inside):
            raise argparse.ArgumentTypeError(f"must be a finite number in {interval}, got {text}")
        return value

    return convert


positive_int = int_at_least(1)
positive_float = float_in(0.0, low_open=True)
nonnegative_float = float_in(0.0, low_open=False)
probability = float_in(0.0, 1.0, low_open=True, high_open=False)


def results_file(text: str) -> str:
    """argparse ``type``: a results file path (not a directory, not under a file)."""
    if not text:
        raise argparse.ArgumentTypeError("must be a file name, got ''")
    try:
        check_results_path(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


def device_name(text: str) -> str:
    """argparse ``type``: a torch device, ``cpu``, ``cuda`` or ``cuda:K`` (normalized as torch writes it)."""
    import torch

    try:
        dev = torch.device(text)
    except RuntimeError:
        raise argparse.ArgumentTypeError(f"must be cpu, cuda or cuda:K, got {text!r}") from None
    if dev.type not in ("cpu", "cuda"):
        raise argparse.ArgumentTypeError(f"must be cpu, cuda or cuda:K, got {text!r}")
    return str(dev)


def check_device_here(device: str) -> str | None:
    """``None`` when ``device`` can be used in this process, otherwise the reason it cannot."""
    import torch

    dev = torch.device(device)
    if dev.type == "cpu":
        return None
    if not torch.cuda.is_available():
        return f"{device}: CUDA is not available on this machine (torch {torch.__version__})"
    if dev.index is not None and dev.index >= torch.cuda.device_count():
        return f"{device}: this machine has {torch.cuda.device_count()} CUDA device(s)"
    return None


def default_results_path(command: str, quick: bool) -> str:
    """``runs/COMMAND.jsonl``, or ``runs/COMMAND-quick.jsonl`` for a ``--quick`` run (never the same file)."""
    return str(Path(RUNS_DIR) / f"{command}{'-quick' if quick else ''}.jsonl")


def add_experiment(
    subparsers: argparse._SubParsersAction,
    name: str,
    *,
    help: str,
    description: str | None = None,
    quick_help: str = "book-scale sizes (a smoke test)",
) -> argparse.ArgumentParser:
    """Add a subcommand with the options every experiment shares: --out, --workers, --quick.

    Args:
        subparsers: the object returned by ``ArgumentParser.add_subparsers``.
        name: subcommand name.
        help: one-line help shown by ``dropout-experiments --help``.
        description: longer description (default: ``help``).
        quick_help: help text of ``--quick``.

    Returns:
        The subcommand's parser, for experiment-specific options and ``set_defaults(func=...)``.
    """
    p = subparsers.add_parser(name, help=help, description=description or help)
    p.add_argument(
        "--out",
        type=results_file,
        default=None,
        help=f"JSON-lines results file; rerun the same command to resume (default {default_results_path(name, False)}, "
        f"with --quick {default_results_path(name, True)})",
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        help="local process pool size, or worker processes of the Dask LocalCluster (default: all cores)",
    )
    p.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="local",
        help="where the jobs run: a local process pool, or a Dask cluster (a LocalCluster on this machine, or the "
        "scheduler given by --scheduler); same results file, progress bar and results either way",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786 (with --executor dask)",
    )
    p.add_argument(
        "--device",
        type=device_name,
        default="cpu",
        help="torch device every job computes on: cpu, cuda or cuda:K (default cpu); part of the run's identity",
    )
    p.add_argument("--quick", action="store_true", help=quick_help)
    p.set_defaults(subparser=p)
    return p


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one subcommand per registering module."""
    parser = argparse.ArgumentParser(
        prog="dropout-experiments",
        description="Paper-scale experiments of the executable book on dropout dynamics.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(_pkg.__path__), key=lambda i: i.name):
        if info.name in {"cli", "__main__"}:
            continue
        module = importlib.import_module(f"{_pkg.__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def run_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options of a parsed command that determine its results (not ``--out``, ``--workers``, ``--quick``,
    ``--executor``, ``--scheduler``: where the jobs run does not change them; ``--device`` does). With ``--quick``,
    the size options that the quick run replaces by its own (the subcommand's ``quick_ignores`` default) are left
    out too, so the run header records what the jobs used."""
    ignored = set(getattr(args, "quick_ignores", ())) if getattr(args, "quick", False) else set()
    return {k: v for k, v in sorted(vars(args).items()) if k not in _NOT_OPTIONS and k not in ignored}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status (argparse errors exit with status 2 before anything runs)."""
    from dropout_theory import __version__

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    if args.out is None:
        args.out = default_results_path(args.command, args.quick)
    if args.scheduler is not None and args.executor != "dask":
        args.subparser.error("argument --scheduler: needs --executor dask")
    if args.scheduler is not None and args.workers is not None:
        args.subparser.error("argument --workers: sizes a local pool or LocalCluster, not the cluster at --scheduler")
    if args.executor == "dask" and not dask_available():
        args.subparser.error(f"argument --executor: {DASK_MISSING}")
    if args.scheduler is None and (reason := check_device_here(args.device)) is not None:
        args.subparser.error(f"argument --device: {reason}")
    options, scale = run_options(args), "quick" if args.quick else "paper"
    identity = {"command": args.command, "options": options, "scale": scale, "library_version": __version__}
    if getattr(args, "labels_own_runs", False):  # a science function that labels its runs checks them itself
        identity = None
    try:
        check_results_path(args.out, identity)
    except ValueError as err:
        args.subparser.error(f"argument --out: {err}")
    try:
        with (
            run_identity(args.command, options, scale, argv=["dropout-experiments", *argv]),
            open_executor(args.executor, max_workers=args.workers, scheduler=args.scheduler) as args.pool,
        ):
            args.func(args)
    except RunMismatchError as err:
        args.subparser.error(f"argument --out: {err}")
    except RunInterrupted as stop:
        print(f"dropout-experiments {args.command}: {stop}", file=sys.stderr)
        return 128 + stop.signum
    except JobsFailed as err:
        print(f"dropout-experiments {args.command}: {err}", file=sys.stderr)
        return 1
    return 0
