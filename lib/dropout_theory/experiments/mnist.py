"""The phase paper's MNIST experiment (digits 4 vs 7, five coupled variants, several drop rates) at a chosen scale.

The science is :mod:`dropout_theory.phase.mnist`; this module is the ``mnist`` subcommand. One job per
(width, keep rate, repeat): :func:`mnist_job`, i.e. :func:`dropout_theory.phase.mnist_run` with the repeat index as its
generator, stored as JSON (numbers to 6 significant digits); :func:`run_mnist` collects them into one
:class:`dropout_theory.phase.MnistSummary` per width and :func:`load_mnist_runs` reads a stored run back. The digits
come from :func:`dropout_theory.data.load_mnist` (cached by the test command's set-up).

CLI: ``dropout-experiments mnist [--widths 1000] [--keep-prob 0.9 0.8 0.7 0.6] [--repeats 5] [--steps 1000]
[--tau 0.25] [--batch-size 64] [--record-every 50] [--curvature-steps 500 1000] [--dtype float32] [--out FILE]
[--workers 1] [--quick]``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import asdict
from typing import Any

from dropout_theory._checks import DivergenceError
from dropout_theory.experiments.cli import add_experiment, int_at_least, positive_float, positive_int, probability
from dropout_theory.experiments.random_geometry import round_floats
from dropout_theory.jobs import run_jobs
from dropout_theory.phase import MNIST_DROP_RATES, MnistSummary, mnist_run
from dropout_theory.phase.stored import mnist_summaries


def mnist_job(*, width: int, keep_prob: float, repeat: int = 0, **params: Any) -> dict[str, Any]:
    """One job: :func:`dropout_theory.phase.mnist_run` (``repeat`` → ``generator``) as a JSON record (6 significant
    digits), ``{"diverged": False, ...}``, or ``{"diverged": True, "divergence": {...}}`` for a run that blew up."""
    try:
        run = mnist_run(width=width, keep_prob=keep_prob, generator=repeat, **params)
    except DivergenceError as err:
        return {"diverged": True, "keep_prob": keep_prob, "divergence": err.record.as_dict()}
    return {"diverged": False, **round_floats(asdict(run))}


def mnist_jobs(
    widths: Sequence[int], *, keep_probs: Sequence[float], repeats: int, **kwargs: Any
) -> list[dict[str, Any]]:
    """Jobs of the experiment: every width × keep rate × repeat, with :func:`mnist_run`'s keyword arguments (repeats
    outermost, so that an interrupted sweep has the same repeats at every keep rate)."""
    return [{"width": int(n), "keep_prob": float(q), "repeat": r, **kwargs}
            for r in range(repeats) for n in widths for q in keep_probs]  # fmt: skip


def run_mnist(
    widths: Sequence[int] = (1000,),
    *,
    keep_probs: Sequence[float] = tuple(round(1 - p, 3) for p in MNIST_DROP_RATES),
    repeats: int = 5,
    results_path: str | None = None,
    executor: Executor | None = None,
    max_workers: int | None = None,
    progress: bool = True,
    **kwargs: Any,
) -> dict[int, MnistSummary]:
    """Run the experiment through :func:`dropout_theory.experiments.run_jobs`; one summary per width (runs that
    diverged are left out of the summaries and kept in the results file)."""
    jobs = mnist_jobs(widths, keep_probs=keep_probs, repeats=repeats, **kwargs)
    results = run_jobs(mnist_job, jobs, results_path=results_path, executor=executor, max_workers=max_workers,
                       progress=progress, desc="mnist 4 vs 7")  # fmt: skip
    return mnist_summaries(list(zip(jobs, results, strict=True)))


def _cli(args: argparse.Namespace) -> None:
    if args.quick:
        widths, keep_probs, repeats, steps, every, curvature = (40,), (0.8,), 2, 20, 10, (20,)
    else:
        widths, keep_probs, repeats = args.widths, args.keep_prob, args.repeats
        steps, every = args.steps, args.record_every
        curvature = args.curvature_steps if args.curvature_steps is not None else (steps // 2, steps)
    kwargs = {"num_steps": steps, "record_every": min(every, steps), "tau": args.tau, "batch_size": args.batch_size,
              "curvature_steps": list(curvature), "sharpness_steps": [max(curvature)] if curvature else [],
              "dtype": args.dtype}  # fmt: skip
    summaries = run_mnist(
        widths,
        keep_probs=keep_probs,
        repeats=repeats,
        results_path=args.out,
        max_workers=args.workers,
        executor=args.pool,
        **kwargs,
    )
    for n, summary in summaries.items():
        print(f"width {n}")
        print(summary)
    print(f"results in {args.out}")


def register(subparsers: Any) -> None:
    """Add the ``mnist`` subcommand."""
    p = add_experiment(
        subparsers,
        "mnist",
        help="MNIST 4 vs 7: dropout, random metric, PN only, PN + RM, no dropout; risks and sharpness (part III)",
        description=__doc__.splitlines()[0],
        quick_help="width 40, keep 0.8, 2 repeats, 20 steps (smoke test; the size options are ignored)",
    )
    p.add_argument("--widths", type=positive_int, nargs="+", default=[1000], help="network widths")
    p.add_argument(
        "--keep-prob",
        type=probability,
        nargs="+",
        default=[0.9, 0.8, 0.7, 0.6],
        help="keep probabilities (drop rates 1 - q; the authors' 0.1 ... 0.4 by default)",
    )
    p.add_argument("--repeats", type=positive_int, default=5, help="repeats per keep rate (seeds 0, 1, ...)")
    p.add_argument("--steps", type=positive_int, default=1000, help="SGD steps per run")
    p.add_argument("--tau", type=positive_float, default=0.25, help="master learning rate (learning rate tau * width)")
    p.add_argument("--batch-size", type=positive_int, default=64, help="mini-batch size")
    p.add_argument("--record-every", type=positive_int, default=50, help="record risks every this many steps")
    p.add_argument(
        "--curvature-steps",
        type=int_at_least(0),
        nargs="*",
        default=None,
        help="steps with batch sharpness; Lanczos sharpness at the last of them (default: half and end)",
    )
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32", help="floating dtype of the runs")
    p.set_defaults(
        func=_cli, quick_ignores=("widths", "keep_prob", "repeats", "steps", "record_every", "curvature_steps")
    )
