"""The numerical phase diagram at paper scale: finite-n dropout along τ = n^(−a), q = n^(−b) against its limits.

The science is :mod:`dropout_theory.phase.compare`; this module is the ``phase-diagram`` subcommand. One job per
(a, b, width): :func:`phase_job`, i.e. :func:`dropout_theory.phase.phase_point` with the job's ``seed`` as its
generator, stored as JSON. :func:`run_phase_diagram` runs the jobs through :func:`dropout_theory.experiments.run_jobs`
(resumable, any Executor) and returns a :class:`dropout_theory.phase.PhaseDiagram`.

CLI: ``dropout-experiments phase-diagram [--out runs/phase-diagram.jsonl] [--workers 2] [--quick]``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import asdict
from typing import Any

from dropout_theory._checks import Divergence
from dropout_theory.experiments.cli import add_experiment
from dropout_theory.jobs import run_jobs
from dropout_theory.phase import BOOK_POINTS, BOOK_WIDTHS, PhaseDiagram, PhasePoint, phase_point

#: Paper-scale grid: the book's points and seven more.
FULL_POINTS: tuple[tuple[str, str], ...] = (
    *BOOK_POINTS,
    ("1/2", "1/2"),
    ("3/4", "3/4"),
    ("1/2", "0"),
    ("3/4", "1/4"),
    ("3/2", "1"),
    ("1/2", "1"),
    ("3/2", "5/4"),
)
FULL_WIDTHS: tuple[int, ...] = (50, 100, 200, 400, 800, 1600)


def phase_job(*, seed: int = 0, **params: Any) -> dict[str, Any]:
    """One job: :func:`dropout_theory.phase.phase_point` (``seed`` → ``generator``) as a JSON record."""
    point = phase_point(generator=seed, **params)
    record = asdict(point)
    if point.divergence is not None:
        record["divergence"] = point.divergence.as_dict()
    return record


def _point(record: dict[str, Any]) -> PhasePoint:
    div = record.get("divergence")
    return PhasePoint(**{**record, "divergence": None if div is None else Divergence.from_dict(div)})


def phase_jobs(
    points: Sequence[tuple[str, str]] = BOOK_POINTS, widths: Sequence[int] = BOOK_WIDTHS, **kwargs: Any
) -> list[dict[str, Any]]:
    """The job list of a sweep: every (a, b) × width, with further keyword arguments of :func:`phase_job`."""
    return [{"a": a, "b": b, "width": int(n), **kwargs} for a, b in points for n in widths]


def run_phase_diagram(
    points: Sequence[tuple[str, str]] = BOOK_POINTS,
    widths: Sequence[int] = BOOK_WIDTHS,
    *,
    results_path: str | None = None,
    executor: Executor | None = None,
    max_workers: int | None = None,
    progress: bool = True,
    **kwargs: Any,
) -> PhaseDiagram:
    """Run the sweep through :func:`dropout_theory.experiments.run_jobs` (resumable, any Executor)."""
    jobs = phase_jobs(points, widths, **kwargs)
    results = run_jobs(
        phase_job,
        jobs,
        results_path=results_path,
        executor=executor,
        max_workers=max_workers,
        progress=progress,
        desc="phase diagram",
    )
    return PhaseDiagram(tuple(_point(r) for r in results))


def _cli(args: argparse.Namespace) -> None:
    points = BOOK_POINTS if args.quick else FULL_POINTS
    widths = (20, 40) if args.quick else FULL_WIDTHS
    kwargs = {"repeats": 2 if args.quick else 8}
    diagram = run_phase_diagram(points, widths, results_path=args.out, max_workers=args.workers, **kwargs)
    print(diagram)
    print(diagram.slopes_table())
    print(f"{len(diagram.points)} results in {args.out}")


def register(subparsers: Any) -> None:
    """Add the ``phase-diagram`` subcommand."""
    p = add_experiment(
        subparsers,
        "phase-diagram",
        help="finite-n dropout along tau = n^-a, q = n^-b vs its limits (part III)",
        description=__doc__.splitlines()[0],
        quick_help="book-scale grid and small widths (smoke test)",
    )
    p.set_defaults(func=_cli)
