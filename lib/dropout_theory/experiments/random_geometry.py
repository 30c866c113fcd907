"""Dropout vs random geometry at paper scale: the teacher–student experiment of the phase paper across widths.

The science is :mod:`dropout_theory.phase.random_geometry`; this module is the ``random-geometry`` subcommand.
One job per (width, repeat): :func:`teacher_student_job`, i.e. :func:`dropout_theory.phase.teacher_student_run`
with the repeat index as its generator, stored as JSON (numbers to 6 significant digits);
:func:`run_teacher_student` collects them into a :class:`dropout_theory.phase.TeacherStudentSummary`, and
:func:`load_teacher_student` reads a stored run back. Paper scale: widths 200, 500, 1000, 2000, 5000, 10 repeats,
1000 steps, the authors' setup.

CLI: ``dropout-experiments random-geometry [--setup authors|book] [--widths 200 500 ...] [--repeats 10]
[--steps 1000] [--record-every 10] [--tau 0.5] [--keep-prob 0.7] [--dtype float32] [--out FILE] [--workers 1]
[--quick]``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import asdict
from typing import Any

from dropout_theory._checks import DivergenceError
from dropout_theory.experiments.cli import add_experiment, positive_float, positive_int, probability
from dropout_theory.jobs import run_jobs
from dropout_theory.phase import TeacherStudentSummary, teacher_student_run
from dropout_theory.phase.random_geometry import BOOK_WIDTHS, DTYPES, PAPER_WIDTHS
from dropout_theory.phase.teacher_student import SETUPS

#: Significant digits of the stored numbers.
DIGITS = 6


def round_floats(obj: Any, digits: int = DIGITS) -> Any:
    """A copy of a JSON-like object with every float rounded to ``digits`` significant digits."""
    if isinstance(obj, float):
        return float(f"{obj:.{digits}g}")
    if isinstance(obj, dict):
        return {k: round_floats(v, digits) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [round_floats(v, digits) for v in obj]
    return obj


def teacher_student_job(*, width: int, repeat: int = 0, device: str | None = None, **params: Any) -> dict[str, Any]:
    """One job: :func:`dropout_theory.phase.teacher_student_run` (``repeat`` → ``generator``, on ``device``) as a
    JSON record, ``{"diverged": False, "steps", "rms", "loss", "val_loss"}`` (6 significant digits), or
    ``{"diverged": True, "divergence": {...}}`` for a run that blew up."""
    try:
        run = teacher_student_run(width, generator=repeat, device=device, **params)
    except DivergenceError as err:
        return {"diverged": True, "divergence": err.record.as_dict()}
    return {"diverged": False, **round_floats(asdict(run))}


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
    device: str | None = None,
    **kwargs: Any,
) -> TeacherStudentSummary:
    """Run the experiment through :func:`dropout_theory.experiments.run_jobs` and collect the repeats."""
    jobs = teacher_student_jobs(widths, repeats=repeats, **kwargs)
    results = run_jobs(
        teacher_student_job,
        jobs,
        results_path=results_path,
        executor=executor,
        max_workers=max_workers,
        progress=progress,
        desc="teacher-student",
        device=device,
    )
    return TeacherStudentSummary.from_runs([j["width"] for j in jobs], results)


def _cli(args: argparse.Namespace) -> None:
    if args.quick:
        widths, repeats, num_steps, record_every = (20, 40), 2, 20, 10
    else:
        widths, repeats, num_steps, record_every = args.widths, args.repeats, args.steps, args.record_every
    kwargs = {"num_steps": num_steps, "record_every": min(record_every, num_steps), "setup": args.setup,
              "tau": args.tau, "keep_prob": args.keep_prob, "dtype": args.dtype}  # fmt: skip
    summary = run_teacher_student(
        widths,
        repeats=repeats,
        results_path=args.out,
        max_workers=args.workers,
        executor=args.pool,
        device=args.device,
        **kwargs,
    )
    print(summary)
    if len(summary.widths) > 2:
        print(summary.slopes_table([num_steps]))
    print(f"results in {args.out}")


def register(subparsers: Any) -> None:
    """Add the ``random-geometry`` subcommand."""
    p = add_experiment(
        subparsers,
        "random-geometry",
        help="teacher-student: dropout vs random metric, propagation noise, no dropout (part III)",
        description=__doc__.splitlines()[0],
        quick_help="widths 20 and 40, 2 repeats, 20 steps (smoke test; the size options are ignored)",
    )
    p.add_argument(
        "--setup",
        choices=SETUPS,
        default="authors",
        help="data and initialization: the authors' code (default) or the book's earlier choice",
    )
    p.add_argument("--widths", type=positive_int, nargs="+", default=list(PAPER_WIDTHS), help="student widths")
    p.add_argument("--repeats", type=positive_int, default=10, help="repeats per width (seeds 0, 1, ...)")
    p.add_argument("--steps", type=positive_int, default=1000, help="gradient steps per run")
    p.add_argument("--record-every", type=positive_int, default=10, help="record the distances every this many steps")
    p.add_argument("--tau", type=positive_float, default=0.5, help="master learning rate (learning rate tau * width)")
    p.add_argument("--keep-prob", type=probability, default=0.7, help="keep probability q (dropout rate 1 - q)")
    p.add_argument(
        "--dtype",
        choices=sorted(DTYPES),
        default="float32",
        help="floating dtype of the runs (default float32: about twice as fast; the float32/float64 agreement is "
        "in the book's appendix Reproducing the papers)",
    )
    p.set_defaults(func=_cli, quick_ignores=("widths", "repeats", "steps", "record_every"))
