"""Paper-scale comparison of the minima reached by dropout, SGD noise and parametric noise injection.

SME paper, Appendix D (reproduced here with our own setting): from one initialization of the FNN 64-50-50-10
(tanh, dropout after the first hidden layer) on all 1,348 training images of the 8×8 digits (one-hot targets,
loss ½‖f(x) − y‖² averaged over examples), train four copies with the same learning rate and number of steps —
full-batch GD, full-batch dropout GD, mini-batch SGD and perturbed GD θ ← θ − η∇L(θ + σε) — with the SGD batch
size and σ matched so that all three noises have the same trace at the start
(:func:`dropout_theory.alignment.matched_noise_levels`). At each end point measure the training and test loss,
the test accuracy, the top Hessian eigenvalues (Lanczos) and the Hessian trace (Hutch++). One job per
(keep_prob, seed); a run that diverges is recorded (step and quantity), not fatal.

CLI: ``dropout-experiments minima-flatness [--out runs/minima-flatness.jsonl] [--workers 2] [--quick]
[--seeds 5] [--lr 0.1] [--steps 20000] [--keep-probs 0.8 0.5] [--masks shared per_example] [--n-train N]``;
:func:`dropout_theory.alignment.minima_flatness_summary` averages over seeds per (keep_prob, mask convention, strategy).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from concurrent.futures import Executor
from typing import Any

from dropout_theory._checks import DivergenceError, check_choice, check_positive_int
from dropout_theory.alignment import minima_flatness, minima_flatness_summary
from dropout_theory.data import load_digits_regression
from dropout_theory.experiments.cli import add_experiment, positive_float, positive_int, probability
from dropout_theory.jobs import job_records, run_jobs
from dropout_theory.networks import dropout_mlp, half_mse
from dropout_theory.rng import MASK_CONVENTIONS
from dropout_theory.stats import Estimate
from dropout_theory.tables import Table

PAPER_WIDTHS: tuple[int, ...] = (64, 50, 50, 10)
QUICK_WIDTHS: tuple[int, ...] = (64, 8, 8, 10)


def minima_flatness_job(
    *,
    seed: int,
    keep_prob: float,
    lr: float,
    num_steps: int,
    n_train: int | None = None,
    widths: Sequence[int] = PAPER_WIDTHS,
    num_eigenvalues: int = 3,
    num_probes: int = 100,
    mask: str = "shared",
    device: str | None = None,
) -> dict[str, Any]:
    """One comparison (all four strategies from one start). Returns a JSON-serializable dict.

    Args:
        seed: seed of the initialization (``seed``) and of all the noise (``seed + 1000``).
        keep_prob: keep probability of the dropout layer.
        lr: common learning rate.
        num_steps: common number of steps.
        n_train: first ``n_train`` training images (``None``: all 1,348).
        widths: layer widths of :func:`dropout_theory.alignment.dropout_mlp`.
        num_eigenvalues: top Hessian eigenvalues per end point.
        num_probes: Hessian-vector products per trace (Hutch++).
        mask: mask convention of the dropout run and of the noise matching, ``"shared"`` or ``"per_example"``.
        device: where the networks train (initialized on the CPU, so the same start on every device; the noise
            comes from a generator on that device).

    Returns:
        ``{"diverged": False, "num_params", "noise": {...}, "rows": [...], "curves": {...}}`` or
        ``{"diverged": True, "divergence": {...}}``.
    """
    digits = load_digits_regression(generator=0, bias=False, device=device)
    n = digits.X_train.shape[0] if n_train is None else n_train
    X, Y = digits.X_train[:n], digits.y_train[:n]
    net = dropout_mlp(tuple(widths), keep_prob=keep_prob, generator=seed).to(device)
    try:
        res = minima_flatness(
            net,
            half_mse,
            X,
            Y,
            lr=lr,
            num_steps=num_steps,
            X_test=digits.X_test,
            y_test=digits.y_test,
            num_eigenvalues=num_eigenvalues,
            num_probes=num_probes,
            generator=seed + 1000,
            mask=mask,
        )
    except DivergenceError as err:
        return {"diverged": True, "divergence": err.record.as_dict()}
    lv = res.noise
    noise = {
        "dropout_trace": lv.dropout_trace.value,
        "batch_size": lv.batch_size,
        "sgd_trace": lv.sgd_trace,
        "sigma": lv.sigma,
        "parametric_trace": lv.parametric_trace.value,
    }
    curves = {r.strategy: {"steps": r.curve.steps.tolist(), "loss": r.curve.loss.tolist()} for r in res.rows}
    return {"diverged": False, "num_params": res.num_params, "noise": noise, "rows": res.to_rows(), "curves": curves}


def build_jobs(
    *,
    quick: bool = False,
    seeds: int = 5,
    lr: float = 0.1,
    num_steps: int | None = None,
    keep_probs: Sequence[float] = (0.8, 0.5),
    masks: Sequence[str] = ("shared",),
    n_train: int | None = None,
) -> list[dict[str, Any]]:
    """The job list: one job per (keep_prob, mask convention, seed). ``quick``: a tiny net on 60 images, 30 steps;
    ``n_train`` (otherwise all 1,348 training images) sets the training images of every other job."""
    seeds = check_positive_int(seeds, "seeds")
    jobs = []
    for p in keep_probs:
        for mask in masks:
            check_choice(mask, "masks", MASK_CONVENTIONS)
            for s in range(seeds):
                job: dict[str, Any] = {"seed": s, "keep_prob": float(p), "lr": float(lr)}
                if mask != "shared":
                    job["mask"] = mask
                if quick:
                    job |= {"num_steps": num_steps or 30, "n_train": 60, "widths": list(QUICK_WIDTHS), "num_probes": 8}
                else:
                    job |= {"num_steps": num_steps or 20000}
                    if n_train is not None:
                        job["n_train"] = check_positive_int(n_train, "n_train")
                jobs.append(job)
    return jobs


def run(
    results_path: str | None,
    *,
    quick: bool = False,
    max_workers: int | None = None,
    executor: Executor | None = None,
    progress: bool = True,
    seeds: int = 5,
    lr: float = 0.1,
    num_steps: int | None = None,
    keep_probs: Sequence[float] = (0.8, 0.5),
    masks: Sequence[str] = ("shared",),
    n_train: int | None = None,
    device: str | None = None,
) -> list[dict[str, Any]]:
    """Run (or resume) every job (on ``device``) and return
    :func:`dropout_theory.alignment.minima_flatness_summary` of this sweep's jobs."""
    jobs = build_jobs(
        quick=quick, seeds=seeds, lr=lr, num_steps=num_steps, keep_probs=keep_probs, masks=masks, n_train=n_train
    )
    results = run_jobs(
        minima_flatness_job,
        jobs,
        results_path=results_path,
        executor=executor,
        max_workers=max_workers,
        progress=progress,
        desc="minima-flatness",
        device=device,
    )
    return minima_flatness_summary(job_records(jobs, results))


def _cli(args: argparse.Namespace) -> None:
    table = run(
        args.out,
        quick=args.quick,
        max_workers=args.workers,
        executor=args.pool,
        device=args.device,
        seeds=args.seeds,
        lr=args.lr,
        num_steps=args.steps,
        keep_probs=args.keep_probs,
        masks=args.masks,
        n_train=args.n_train,
    )
    rows = [
        (
            r["keep_prob"],
            r["mask"],
            r["strategy"],
            *(Estimate(r[f], r[f + "_stderr"]) for f in ("train_loss", "test_accuracy", "top_eigenvalue", "trace")),
            f"{r['num_seeds']} ({r['num_diverged']} diverged)",
        )
        for r in table
    ]
    headers = ("keep_prob", "mask", "strategy", "train loss", "test acc", "top eig", "Hessian trace", "seeds")
    print(Table.build(headers, rows, formats=(".3g", "", "", "", "", "", "", "")))
    print(f"results in {args.out}")


def register(subparsers: Any) -> None:
    """Add the ``minima-flatness`` subcommand."""
    p = add_experiment(
        subparsers,
        "minima-flatness",
        help="flatness of the minima reached by dropout, SGD noise and parametric noise injection (part I)",
        description=__doc__.splitlines()[0],
        quick_help="tiny net, 60 images, 30 steps (smoke test, seconds)",
    )
    p.add_argument("--seeds", type=positive_int, default=5, help="number of initializations per keep_prob (default 5)")
    p.add_argument("--lr", type=positive_float, default=0.1, help="common learning rate (default 0.1)")
    p.add_argument("--steps", type=positive_int, default=None, help="common number of steps (default 20000; quick 30)")
    p.add_argument("--keep-probs", type=probability, nargs="+", default=[0.8, 0.5], help="keep probabilities")
    p.add_argument(
        "--masks", nargs="+", choices=MASK_CONVENTIONS, default=["shared"], help="mask conventions (default: shared)"
    )
    p.add_argument("--n-train", type=positive_int, default=None, help="training images (default: all 1,348)")
    p.set_defaults(func=_cli)


__all__: Sequence[str] = ["build_jobs", "minima_flatness_job", "register", "run"]
