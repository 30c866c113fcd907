"""The numerical phase diagram at paper scale: finite-n dropout along τ = n^(−a), q = n^(−b) against its limits.

The science is :mod:`dropout_theory.phase.compare`; this module is the ``phase-diagram`` subcommand. One job per
(a, b, width): :func:`phase_job`, i.e. :func:`dropout_theory.phase.phase_point` with the job's ``seed`` as its
generator, stored as JSON. :func:`run_phase_diagram` runs the jobs through :func:`dropout_theory.experiments.run_jobs`
(resumable, any Executor) and returns a :class:`dropout_theory.phase.PhaseDiagram`.

CLI: ``dropout-experiments phase-diagram [--points 0,0 1/4,1/4 ...] [--widths 50 100 ...] [--repeats 8]
[--tau 0.1] [--keep-prob 0.5] [--t-final 1] [--max-steps N] [--dtype float64] [--out FILE] [--workers 2] [--quick]``;
``--max-steps`` leaves out the (point, width) jobs with more than N steps (penalized-flow points need about
10·n^a steps). :func:`load_phase_diagram` reads a stored run back.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import asdict
from typing import Any

from dropout_theory.experiments.cli import add_experiment, positive_float, positive_int, probability
from dropout_theory.jobs import run_jobs
from dropout_theory.phase import (
    BOOK_POINTS,
    BOOK_WIDTHS,
    PhaseDiagram,
    as_exponent,
    num_steps_at,
    phase_point,
)
from dropout_theory.phase.stored import phase_point_from_record

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


def phase_job(*, seed: int = 0, device: str | None = None, **params: Any) -> dict[str, Any]:
    """One job: :func:`dropout_theory.phase.phase_point` (``seed`` → ``generator``, on ``device``) as a JSON
    record."""
    point = phase_point(generator=seed, device=device, **params)
    record = asdict(point)
    if point.divergence is not None:
        record["divergence"] = point.divergence.as_dict()
    return record


def phase_jobs(
    points: Sequence[tuple[str, str]] = BOOK_POINTS,
    widths: Sequence[int] = BOOK_WIDTHS,
    *,
    max_steps: int | None = None,
    **kwargs: Any,
) -> list[dict[str, Any]]:
    """The job list of a sweep: every (a, b) × width, with further keyword arguments of :func:`phase_job`, except
    the jobs with more than ``max_steps`` steps (:func:`dropout_theory.phase.num_steps_at`)."""
    tau0, t_final = kwargs.get("tau0", 0.1), kwargs.get("t_final", 1.0)
    return [
        {"a": a, "b": b, "width": int(n), **kwargs}
        for a, b in points
        for n in widths
        if max_steps is None or num_steps_at(a, b, int(n), tau0=tau0, t_final=t_final) <= max_steps
    ]


def run_phase_diagram(
    points: Sequence[tuple[str, str]] = BOOK_POINTS,
    widths: Sequence[int] = BOOK_WIDTHS,
    *,
    results_path: str | None = None,
    executor: Executor | None = None,
    max_workers: int | None = None,
    progress: bool = True,
    max_steps: int | None = None,
    device: str | None = None,
    **kwargs: Any,
) -> PhaseDiagram:
    """Run the sweep through :func:`dropout_theory.jobs.run_jobs` (resumable, any Executor, on ``device``)."""
    jobs = phase_jobs(points, widths, max_steps=max_steps, **kwargs)
    results = run_jobs(
        phase_job,
        jobs,
        results_path=results_path,
        executor=executor,
        max_workers=max_workers,
        progress=progress,
        desc="phase diagram",
        device=device,
    )
    return PhaseDiagram(tuple(phase_point_from_record(r) for r in results))


def _point_arg(text: str) -> tuple[str, str]:
    """argparse ``type``: a grid point "a,b" with exact exponents (e.g. "5/4,1")."""
    try:
        a, b = (part.strip() for part in text.split(","))
        as_exponent(a, "a")
        as_exponent(b, "b")
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a point a,b such as 1/4,1/4 or 5/4,1, got {text!r}") from None
    return a, b


def _cli(args: argparse.Namespace) -> None:
    if args.quick:
        points, widths, kwargs, max_steps = BOOK_POINTS, (20, 40), {"repeats": 2}, None
    else:
        points, widths, max_steps = args.points, args.widths, args.max_steps
        kwargs = {"repeats": args.repeats, "tau0": args.tau, "keep0": args.keep_prob, "t_final": args.t_final,
                  "dtype": args.dtype}  # fmt: skip
    diagram = run_phase_diagram(
        points,
        widths,
        results_path=args.out,
        max_workers=args.workers,
        executor=args.pool,
        device=args.device,
        max_steps=max_steps,
        **kwargs,
    )
    print(diagram)
    print(diagram.slopes_table())
    print(diagram.prediction_table())
    print(f"{len(diagram.points)} results in {args.out}")


def register(subparsers: Any) -> None:
    """Add the ``phase-diagram`` subcommand."""
    p = add_experiment(
        subparsers,
        "phase-diagram",
        help="finite-n dropout along tau = n^-a, q = n^-b vs its limits (part III)",
        description=__doc__.splitlines()[0],
        quick_help="book-scale grid, widths 20 and 40, 2 repeats (smoke test; the size options are ignored)",
    )
    p.add_argument("--points", type=_point_arg, nargs="+", default=list(FULL_POINTS), metavar="A,B",
                   help="grid points a,b (tau = tau0 n^-a, q = q0 n^-b), e.g. 1/4,1/4 5/4,1")  # fmt: skip
    p.add_argument("--widths", type=positive_int, nargs="+", default=list(FULL_WIDTHS), help="widths n")
    p.add_argument("--repeats", type=positive_int, default=8, help="repeats per (point, width), batched")
    p.add_argument("--tau", type=positive_float, default=0.1, help="tau0 of tau = tau0 n^-a")
    p.add_argument("--keep-prob", type=probability, default=0.5, help="q0 of q = min(1, q0 n^-b)")
    p.add_argument("--t-final", type=positive_float, default=1.0, help="mean-field horizon t (ceil(t/tau) steps)")
    p.add_argument("--max-steps", type=positive_int, default=None, help="leave out jobs with more steps than this")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64", help="floating dtype of the runs")
    p.set_defaults(
        func=_cli, quick_ignores=("points", "widths", "repeats", "tau", "keep_prob", "t_final", "max_steps", "dtype")
    )
