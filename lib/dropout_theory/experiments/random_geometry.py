"""Dropout vs random geometry at paper scale: the teacher–student experiment of the phase paper across widths.

The science is :mod:`dropout_theory.phase.random_geometry`; this module is the ``random-geometry`` subcommand.
One job per (width, repeat): :func:`teacher_student_job`, i.e. :func:`dropout_theory.phase.teacher_student_run`
with the repeat index as its generator, stored as JSON; :func:`run_teacher_student` averages them into a
:class:`dropout_theory.phase.TeacherStudentSummary`. Paper scale: widths 200, 500, 1000, 2000, 5000, 10 repeats,
1000 steps.

CLI: ``dropout-experiments random-geometry [--out runs/random-geometry.jsonl] [--workers 2] [--quick]``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import asdict
from typing import Any

from dropout_theory._checks import DivergenceError
from dropout_theory.experiments.cli import add_experiment
from dropout_theory.jobs import run_jobs
from dropout_theory.phase import TeacherStudentSummary, teacher_student_run
from dropout_theory.phase.random_geometry import BOOK_WIDTHS, DTYPES, PAPER_WIDTHS


def teacher_student_job(*, width: int, repeat: int = 0, **params: Any) -> dict[str, Any]:
    """One job: :func:`dropout_theory.phase.teacher_student_run` (``repeat`` → ``generator``) as a JSON record,
    ``{"diverged": False, "steps", "rms", "loss"}``, or ``{"diverged": True, "divergence": {...}}`` for a run that
    blew up."""
    try:
        run = teacher_student_run(width, generator=repeat, **params)
    except DivergenceError as err:
        return {"diverged": True, "divergence": err.record.as_dict()}
    return {"diverged": False, **asdict(run)}


def teacher_student_jobs(
    widths: Sequence[int] = BOOK_WIDTHS, *, repeats: int = 2, **kwargs: Any
) -> list[dict[str, Any]]:
    """Jobs of the experiment: every width × repeat, with :func:`teacher_student_run`'s keyword arguments."""
    return [{"width": int(n), "repeat": r, **kwargs} for n in widths for r in range(repeats)]


def run_teacher_student(
    widths: Sequence[int] = BOOK_WIDTHS,
    *,
    repeats: int = 2,
    results_path: str | None = None,
    executor: Executor | None = None,
    max_workers: int | None = None,
    progress: bool = True,
    **kwargs: Any,
) -> TeacherStudentSummary:
    """Run the experiment through :func:`dropout_theory.experiments.run_jobs` and average over repeats."""
    jobs = teacher_student_jobs(widths, repeats=repeats, **kwargs)
    results = run_jobs(
        teacher_student_job,
        jobs,
        results_path=results_path,
        executor=executor,
        max_workers=max_workers,
        progress=progress,
        desc="teacher-student",
    )
    return TeacherStudentSummary.from_runs([j["width"] for j in jobs], results)


def _cli(args: argparse.Namespace) -> None:
    if args.quick:
        widths, repeats, kwargs = (20, 40), 2, {"num_steps": 20, "record_every": 10}
    else:
        widths, repeats, kwargs = PAPER_WIDTHS, 10, {"num_steps": 1000, "record_every": 10}
    kwargs["dtype"] = args.dtype
    summary = run_teacher_student(widths, repeats=repeats, results_path=args.out, max_workers=args.workers, **kwargs)
    print(summary)
    print(f"results in {args.out}")


def register(subparsers: Any) -> None:
    """Add the ``random-geometry`` subcommand."""
    p = add_experiment(
        subparsers,
        "random-geometry",
        help="teacher-student: dropout vs random metric, propagation noise, no dropout (part III)",
        description=__doc__.splitlines()[0],
        quick_help="tiny widths and 20 steps (smoke test)",
    )
    p.add_argument("--dtype", choices=sorted(DTYPES), default="float64", help="floating dtype of the runs")
    p.set_defaults(func=_cli)
