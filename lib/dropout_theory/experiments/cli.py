"""The ``dropout-experiments`` command: paper-scale runs behind the book's chapters.

Every module of :mod:`dropout_theory.experiments` that defines ``register(subparsers)`` contributes a
subcommand (it adds a parser with ``set_defaults(func=...)``), so new experiments plug in without editing
this file. Run ``dropout-experiments --help`` (or ``python -m dropout_theory.experiments``) for the list.
Common options of every subcommand: ``--out`` (results file, resumable; ``args.results_path``), ``--workers``
(local process pool size; ``args.max_workers``), ``--quick`` (book-scale sizes, for a smoke test).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from collections.abc import Sequence

import dropout_theory.experiments as _pkg


def add_experiment(
    subparsers: argparse._SubParsersAction,
    name: str,
    *,
    help: str,
    description: str | None = None,
    default_out: str | None = None,
    quick_help: str = "book-scale sizes (a smoke test)",
) -> argparse.ArgumentParser:
    """Add a subcommand with the options every experiment shares: --out, --workers, --quick.

    Args:
        subparsers: the object returned by ``ArgumentParser.add_subparsers``.
        name: subcommand name.
        help: one-line help shown by ``dropout-experiments --help``.
        description: longer description (default: ``help``).
        default_out: default results file; ``None`` makes ``--out`` required.
        quick_help: help text of ``--quick``.

    Returns:
        The subcommand's parser, for experiment-specific options and ``set_defaults(func=...)``.
    """
    p = subparsers.add_parser(name, help=help, description=description or help)
    if default_out is None:
        p.add_argument(
            "--out", dest="results_path", required=True, help="JSON-lines results file (rerun the command to resume)"
        )
    else:
        p.add_argument(
            "--out",
            dest="results_path",
            default=default_out,
            help=f"JSON-lines results file, resumable (default {default_out})",
        )
    p.add_argument(
        "--workers", dest="max_workers", type=int, default=None, help="local process pool size (default: all cores)"
    )
    p.add_argument("--quick", action="store_true", help=quick_help)
    return p


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one subcommand per registering module."""
    parser = argparse.ArgumentParser(
        prog="dropout-experiments",
        description="Paper-scale experiments of the executable book on dropout dynamics.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(_pkg.__path__), key=lambda i: i.name):
        if info.name in {"cli", "runner", "__main__"}:
            continue
        module = importlib.import_module(f"{_pkg.__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    args.func(args)
    return 0
