"""Dropout or random geometry? The paper's teacher–student experiment and a penalty sweep (part III).

:func:`teacher_student_run` — a student of width n trained from one initialization with one mask stream as
four coupled variants ("dropout", "random_metric", "propagation_noise_random_metric", "no_dropout"); it
returns the RMS particle distance from dropout to each variant along the run. Paper scale (arXiv:2510.07554):
d = 20, 500 points, a 15-neuron ReLU teacher, widths 200…5000, master step τ = 0.5 (per-parameter learning
rate 0.5·n), keep 0.7, 1000 steps, 10 repeats. Our five widths are 200, 500, 1000, 2000, 5000.

:func:`penalty_point` — at width n and keep rate q, the ratio d(dropout, penalized)/d(dropout, no dropout)
at mean-field time t for a master step τ: near 1 when the penalty is invisible under the jump noise, near 0
when dropout follows the penalized flow.

CLI: ``dropout-experiments random-geometry [--out runs/random-geometry.jsonl] [--workers 2] [--quick]``.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from concurrent.futures import Executor
from typing import Any

import torch

from dropout_theory._checks import DivergenceError
from dropout_theory.experiments.cli import add_experiment
from dropout_theory.experiments.runner import run_jobs
from dropout_theory.phase.particles import simulate_coupled
from dropout_theory.phase.teacher_student import init_student, make_teacher_student

VARIANTS4: tuple[str, ...] = ("dropout", "random_metric", "propagation_noise_random_metric", "no_dropout")
PAPER_WIDTHS: tuple[int, ...] = (200, 500, 1000, 2000, 5000)
BOOK_WIDTHS: tuple[int, ...] = (50, 150, 500)

_DTYPES = {"float64": torch.float64, "float32": torch.float32}


def teacher_student_run(
    width: int,
    repeat: int = 0,
    tau: float = 0.5,
    keep_prob: float = 0.7,
    num_steps: int = 1000,
    record_every: int = 50,
    dtype: str = "float64",
    d: int = 20,
    num_points: int = 500,
    teacher_width: int = 15,
) -> dict[str, Any]:
    """One (width, repeat) job of the teacher–student experiment.

    Args:
        width: student width n.
        repeat: repeat index (seeds the initialization and the masks).
        tau: master learning rate τ.
        keep_prob: keep rate q.
        num_steps: number of steps.
        record_every: record the distances every this many steps.
        dtype: "float64" or "float32".
        d: input dimension.
        num_points: number of data points.
        teacher_width: teacher neurons.

    Returns:
        ``{"diverged": False, "steps": [...], "rms": {variant: [...]}, "loss": {variant: [...]}}`` (dropout is the
        reference), or ``{"diverged": True, "step", "quantity"}`` for a run that blew up.
    """
    dt = _DTYPES[dtype]
    data = make_teacher_student(d, num_points, teacher_width, seed=0, dtype=dt)
    a0, W0 = init_student(width, d, seed=1000 + repeat, dtype=dt)
    try:
        run = simulate_coupled(
            a0,
            W0,
            data.X,
            data.y,
            tau=tau,
            keep_prob=keep_prob,
            num_steps=num_steps,
            variants=VARIANTS4,
            generator=torch.Generator().manual_seed(2000 + repeat),
            record_every=record_every,
        )
    except DivergenceError as err:
        return {"diverged": True, "step": err.step, "quantity": err.quantity}
    return {
        "diverged": False,
        "steps": run.steps.tolist(),
        "rms": {v: run.rms_to_reference[i, 0].tolist() for i, v in enumerate(VARIANTS4) if v != "dropout"},
        "loss": {v: run.loss[i, 0].tolist() for i, v in enumerate(VARIANTS4)},
    }


def teacher_student_jobs(widths: Sequence[int] = BOOK_WIDTHS, repeats: int = 2, **kwargs: Any) -> list[dict[str, Any]]:
    """Jobs of the experiment: every width × repeat, with :func:`teacher_student_run`'s keyword arguments."""
    return [{"width": int(n), "repeat": r, **kwargs} for n in widths for r in range(repeats)]


def run_teacher_student(
    widths: Sequence[int] = BOOK_WIDTHS,
    repeats: int = 2,
    *,
    results_path: str | None = None,
    executor: Executor | None = None,
    max_workers: int | None = None,
    progress: bool = True,
    **kwargs: Any,
) -> dict[int, dict[str, Any]]:
    """Run the experiment through :func:`dropout_theory.experiments.run_jobs` and average over repeats.

    Returns:
        ``{width: {"steps": [...], "rms_mean": {variant: [...]}, "rms_sd": {...}, "final_loss": {...}}}``.
    """
    jobs = teacher_student_jobs(widths, repeats, **kwargs)
    results = run_jobs(
        teacher_student_run,
        jobs,
        results_path=results_path,
        executor=executor,
        max_workers=max_workers,
        progress=progress,
        desc="teacher-student",
    )
    return summarize_teacher_student(jobs, results)


def summarize_teacher_student(jobs: Sequence[dict[str, Any]], results: Sequence[dict[str, Any]]) -> dict[int, Any]:
    """Average the per-repeat curves of :func:`teacher_student_run` by width (diverged repeats are left out and
    counted in ``num_diverged``)."""
    out: dict[int, Any] = {}
    for n in sorted({j["width"] for j in jobs}):
        runs = [r for j, r in zip(jobs, results, strict=True) if j["width"] == n]
        rs = [r for r in runs if not r.get("diverged")]
        summary: dict[str, Any] = {"steps": rs[0]["steps"] if rs else [], "rms_mean": {}, "rms_sd": {}}
        summary |= {"final_loss": {}, "num_diverged": len(runs) - len(rs)}
        for v in rs[0]["rms"] if rs else ():
            curves = torch.tensor([r["rms"][v] for r in rs], dtype=torch.float64)
            summary["rms_mean"][v] = curves.mean(0).tolist()
            summary["rms_sd"][v] = (curves.std(0) if len(rs) > 1 else torch.zeros_like(curves[0])).tolist()
        for v in rs[0]["loss"] if rs else ():
            summary["final_loss"][v] = sum(r["loss"][v][-1] for r in rs) / len(rs)
        out[n] = summary
    return out


def penalty_point(
    width: int,
    tau: float,
    keep_prob: float,
    t_final: float = 1.0,
    repeats: int = 2,
    seed: int = 0,
    d: int = 5,
    num_points: int = 30,
) -> dict[str, Any]:
    """Is the dropout penalty visible at this master step? Coupled distances at mean-field time t.

    Args:
        width: n.
        tau: master learning rate τ.
        keep_prob: q.
        t_final: horizon; ceil(t/τ) steps.
        repeats: batched repeats.
        seed: seed.
        d: input dimension of the small teacher–student problem.
        num_points: data points.

    Returns:
        ``{"to_penalized", "to_no_dropout", "ratio", "steps"}`` (distances averaged over repeats).
    """
    steps = math.ceil(t_final / tau - 1e-9)
    data = make_teacher_student(d, num_points, teacher_width=4, seed=0)
    a0, W0 = init_student(width, d, repeats=repeats, seed=seed)
    run = simulate_coupled(
        a0,
        W0,
        data.X,
        data.y,
        tau=tau,
        keep_prob=keep_prob,
        num_steps=steps,
        variants=("dropout", "penalized", "no_dropout"),
        generator=torch.Generator().manual_seed(seed + 1),
        record_every=steps,
    )
    pen = float(run.rms_to_reference[1, :, -1].mean())
    nod = float(run.rms_to_reference[2, :, -1].mean())
    return {"to_penalized": pen, "to_no_dropout": nod, "ratio": pen / nod, "steps": steps}


def _cli(args: argparse.Namespace) -> None:
    if args.quick:
        widths, repeats, kwargs = (20, 40), 2, {"num_steps": 20, "record_every": 10}
    else:
        widths, repeats, kwargs = PAPER_WIDTHS, 10, {"num_steps": 1000, "record_every": 10}
    kwargs["dtype"] = args.dtype
    summary = run_teacher_student(
        widths, repeats, results_path=args.out, max_workers=args.workers, progress=True, **kwargs
    )
    for n, s in summary.items():
        final = ", ".join(f"{v}: {c[-1]:.4g}" for v, c in s["rms_mean"].items())
        lost = f" ({s['num_diverged']} diverged repeats left out)" if s["num_diverged"] else ""
        print(f"width {n}: final RMS distance of dropout to {final}{lost}")
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
    p.add_argument("--dtype", choices=sorted(_DTYPES), default="float64", help="floating dtype of the runs")
    p.set_defaults(func=_cli)


def digits_curves(
    width: int = 200,
    tau: float = 1.0,
    keep_prob: float = 0.5,
    num_steps: int = 300,
    record_every: int = 10,
    seed: int = 0,
    variants: Sequence[str] = ("dropout", "random_metric", "no_dropout"),
) -> dict[str, Any]:
    """Training curves on 8×8 digits (parity: y = +1 for even digits, −1 for odd) at a practical master step.

    The mean-field student (a_i ~ N(0, 1), w_i ~ N(0, I/d), ReLU) sees the 64 pixels scaled to [0, 1] and
    divided by 4 plus a constant feature, so that pre-activations are of order one.

    Args:
        width: n.
        tau: master learning rate τ (per-parameter learning rate τ·n).
        keep_prob: q.
        num_steps: steps.
        record_every: record every this many steps.
        seed: seed of the initialization and of the masks.
        variants: coupled variants to train.

    Returns:
        ``{"steps", "train_loss": {variant: [...]}, "test_loss": {...}, "test_accuracy": {...},
        "rms_to_dropout": {...}}``.
    """
    from dropout_theory.data import load_digits_regression
    from dropout_theory.phase.particles import init_particles, network_output

    split = load_digits_regression(bias=False, seed=0)

    def prep(X, labels):
        feats = torch.cat([X / 4.0, torch.ones((X.shape[0], 1), dtype=X.dtype)], dim=1)
        return feats, 1.0 - 2.0 * (labels % 2).to(X.dtype)

    Xtr, ytr = prep(split.X_train, split.labels_train)
    Xte, yte = prep(split.X_test, split.labels_test)
    a0, W0 = init_particles(width, Xtr.shape[1], generator=torch.Generator().manual_seed(seed))
    run = simulate_coupled(
        a0,
        W0,
        Xtr,
        ytr,
        tau=tau,
        keep_prob=keep_prob,
        num_steps=num_steps,
        variants=tuple(variants),
        generator=torch.Generator().manual_seed(seed + 1),
        record_every=record_every,
        record_particles=True,
    )
    f_test = network_output(run.a_path[:, 0], run.W_path[:, 0], Xte)  # (V, T, N_test)
    test_loss = 0.5 * ((f_test - yte) ** 2).mean(-1)
    acc = (torch.sign(f_test) == yte).to(torch.float64).mean(-1)
    return {
        "steps": run.steps.tolist(),
        "train_loss": {v: run.loss[i, 0].tolist() for i, v in enumerate(run.variants)},
        "test_loss": {v: test_loss[i].tolist() for i, v in enumerate(run.variants)},
        "test_accuracy": {v: acc[i].tolist() for i, v in enumerate(run.variants)},
        "rms_to_dropout": {v: run.rms_to_reference[i, 0].tolist() for i, v in enumerate(run.variants)},
    }
