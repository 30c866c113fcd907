"""Seeds of the inverse variance–flatness relation and of the eigenvector overlaps (SME paper App. B).

One job per (keep_prob, mask convention, seed), on the two-layer network of the chapter *Dropout noise and flat
minima* (width 6, the first 100 training digits scaled to average norm 1/2, K = 10, bias feature, learning rate
0.5): ``burn_in`` steps of dropout GD, then a window of ``window`` steps
(:func:`dropout_theory.alignment.dropout_parameter_window`) whose principal directions give the variance–flatness
power law, fitted with and without removing each coordinate's linear drift
(:func:`dropout_theory.alignment.variance_flatness`, ``detrend``). At the end of the window it records the exact
alignment α and the overlaps of the leading eigenvectors (:func:`dropout_theory.alignment.eigenvector_overlap`)
of the Hessian H = ∇²L_S, the exact noise covariance Σ of the job's mask convention and the window's (detrended)
covariance C, against the overlap k/D of random subspaces. Initialization from ``seed``, masks from
``seed + 1000`` (burn-in) and ``seed + 2000`` (window).

CLI: ``dropout-experiments variance-flatness [--out runs/variance-flatness.jsonl] [--workers 1] [--quick]
[--seeds 8] [--keep-probs 0.9 0.7] [--masks shared per_example]``;
:func:`dropout_theory.alignment.variance_flatness_summary` averages over seeds.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from concurrent.futures import Executor
from typing import Any

import torch

from dropout_theory._checks import DivergenceError, check_choice, check_positive_int
from dropout_theory.alignment import (
    dropout_parameter_window,
    eigenvector_overlap,
    format_variance_flatness_summary,
    hessian_variance_alignment,
    modified_loss_hessian,
    variance_flatness,
    variance_flatness_summary,
)
from dropout_theory.data import load_digits_regression
from dropout_theory.experiments.cli import add_experiment, positive_int, probability
from dropout_theory.jobs import job_records, run_jobs
from dropout_theory.rng import MASK_CONVENTIONS
from dropout_theory.stats import fit_power_law
from dropout_theory.two_layer import (
    dropout_gradient_covariance,
    empirical_risk,
    init_params,
    train_dropout,
    unflatten_params,
)

OVERLAP_K: tuple[int, ...] = (3, 10)


def variance_flatness_job(
    *,
    keep_prob: float,
    seed: int,
    mask: str = "shared",
    width: int = 6,
    n_train: int = 100,
    lr: float = 0.5,
    burn_in: int = 20000,
    window: int = 500,
    num_components: int = 30,
) -> dict[str, Any]:
    """One burn-in, window and set of measurements (see the module docstring). Returns a JSON-serializable dict:
    ``fits`` (per ``"raw"``/``"detrended"``: exponent, its standard error, r², the exponent without the leading
    direction, the leading direction's variance and flatness), ``alpha`` and ``overlaps`` (per pair and k: the
    subspace overlap and the random baseline k/D), and the final training risk; or ``{"diverged": True,
    "divergence"}`` when dropout GD blew up."""
    mask = check_choice(mask, "mask", MASK_CONVENTIONS)
    digits = load_digits_regression(generator=0)
    scale = 0.5 / float(digits.X_train.norm(dim=1).mean())
    X, Y = scale * digits.X_train[:n_train], digits.y_train[:n_train]
    d = X.shape[1]
    a0, W0 = init_params(width, d, 10, generator=torch.Generator().manual_seed(seed), scale_a=2.0, scale_w=3.0)
    opts = {"keep_prob": keep_prob, "lr": lr, "mask": mask}
    try:
        burn = train_dropout(a0, W0, X, Y, num_steps=burn_in, generator=seed + 1000, record_every=burn_in, **opts)
        thetas = dropout_parameter_window(burn.a, burn.W, X, Y, num_steps=window, generator=seed + 2000, **opts)
    except DivergenceError as err:
        return {"diverged": True, "divergence": err.record.as_dict()}

    def risk(t: torch.Tensor) -> torch.Tensor:
        return empirical_risk(*unflatten_params(t, width, d, 10), X, Y)

    fits = {}
    for name, detrend in (("raw", False), ("detrended", True)):
        vf = variance_flatness(thetas, risk, num_components=num_components, detrend=detrend)
        rest = fit_power_law(vf.flatness[1:], vf.variances[1:], drop_invalid=True)
        fits[name] = {
            "exponent": vf.fit.exponent,
            "exponent_stderr": vf.fit.stderr,
            "r_squared": vf.fit.r_squared,
            "num_dropped": vf.fit.num_dropped,
            "exponent_without_first": rest.exponent,
            "leading_variance": float(vf.variances[0]),
            "leading_flatness": float(vf.flatness[0]),
        }
    a, W = unflatten_params(thetas[-1], width, d, 10)
    H = modified_loss_hessian(a, W, X, Y, keep_prob=keep_prob)
    sigma = dropout_gradient_covariance(a, W, X, Y, keep_prob=keep_prob, mask=mask)
    t = torch.arange(window, dtype=thetas.dtype)
    t = (t - t.mean()) / (t - t.mean()).norm()
    centred = thetas - thetas.mean(0)
    centred = centred - t[:, None] * (t @ centred)[None, :]
    C = centred.T @ centred / (window - 2)
    overlaps = {}
    for name, A, B in (("hessian_sigma", H, sigma), ("hessian_window", H, C), ("sigma_window", sigma, C)):
        for k in OVERLAP_K:
            ov = eigenvector_overlap(A, B, k=k)
            overlaps[f"{name}_{k}"] = {"subspace": ov.subspace, "random": ov.random_subspace}
    alpha = hessian_variance_alignment(a, W, X, Y, keep_prob=keep_prob, mask=mask).alpha
    final_risk = float(risk(thetas[-1]))
    return {"diverged": False, "fits": fits, "alpha": alpha, "overlaps": overlaps, "final_risk": final_risk}


def build_jobs(
    *,
    quick: bool = False,
    seeds: int = 8,
    keep_probs: Sequence[float] = (0.9, 0.7),
    masks: Sequence[str] = MASK_CONVENTIONS,
) -> list[dict[str, Any]]:
    """One job per (keep_prob, mask, seed); ``quick``: 300 burn-in steps, a 60-step window, 10 components."""
    seeds = check_positive_int(seeds, "seeds")
    jobs = []
    for p in keep_probs:
        for mask in masks:
            check_choice(mask, "masks", MASK_CONVENTIONS)
            for s in range(seeds):
                job: dict[str, Any] = {"keep_prob": float(p), "mask": mask, "seed": s}
                if quick:
                    job |= {"burn_in": 300, "window": 60, "num_components": 10}
                jobs.append(job)
    return jobs


def run(
    results_path: str | None,
    *,
    quick: bool = False,
    max_workers: int | None = None,
    executor: Executor | None = None,
    progress: bool = True,
    **sweep: Any,
) -> list[dict[str, Any]]:
    """Run (or resume) every job of :func:`build_jobs` and return
    :func:`dropout_theory.alignment.variance_flatness_summary` of this sweep's jobs."""
    jobs = build_jobs(quick=quick, **sweep)
    results = run_jobs(
        variance_flatness_job,
        jobs,
        results_path=results_path,
        executor=executor,
        max_workers=max_workers,
        progress=progress,
        desc="variance-flatness",
    )
    return variance_flatness_summary(job_records(jobs, results))


def _cli(args: argparse.Namespace) -> None:
    table = run(
        args.out,
        quick=args.quick,
        max_workers=args.workers,
        executor=args.pool,
        seeds=args.seeds,
        keep_probs=args.keep_probs,
        masks=args.masks,
    )
    print(format_variance_flatness_summary(table))
    print(f"results in {args.out}")


def register(subparsers: Any) -> None:
    """Add the ``variance-flatness`` subcommand."""
    p = add_experiment(
        subparsers,
        "variance-flatness",
        help="inverse variance-flatness relation and eigenvector overlaps over seeds (part I, App. B)",
        description=__doc__.splitlines()[0],
        quick_help="short burn-in and window (smoke test, seconds)",
    )
    p.add_argument("--seeds", type=positive_int, default=8, help="seeds per (keep_prob, mask) (default 8)")
    p.add_argument("--keep-probs", type=probability, nargs="+", default=[0.9, 0.7], help="keep probabilities")
    p.add_argument(
        "--masks", nargs="+", choices=MASK_CONVENTIONS, default=list(MASK_CONVENTIONS), help="mask conventions"
    )
    p.set_defaults(func=_cli)


__all__: Sequence[str] = ["build_jobs", "register", "run", "variance_flatness_job"]
