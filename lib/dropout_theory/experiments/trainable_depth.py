"""How deep can a dropout network train? Trainable-depth heatmaps and training speed at paper scale (part II).

The science is :mod:`dropout_theory.deep_meanfield.trainability`; this module adds two subcommands:

* ``trainable-depth``: training accuracy after a fixed number of SGD steps over a (depth × σ_w²) grid for each
  keep_prob (the deep-dropout paper's Fig. 7), the jobs of :func:`dropout_theory.deep_meanfield.trainable_depth_grid`;
* ``training-speed``: steps to reach a training-accuracy threshold against the learning rate, at the critical σ_w²
  of each keep_prob (the paper's Fig. 6), the jobs of :func:`dropout_theory.deep_meanfield.training_speed`.

One job = one (keep_prob, depth) pair, a batched :func:`dropout_theory.deep_meanfield.train_deep_ensemble` over the
σ_w² grid (or the learning rates). Jobs run through :func:`dropout_theory.experiments.run_jobs` (any
``concurrent.futures.Executor``; resumable JSON-lines results; tqdm progress bar); :func:`run_trainable_depth` and
:func:`run_training_speed` take the same ``executor`` argument, so a Dask or Ray executor runs the same sweep on a
cluster.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from concurrent.futures import Executor
from functools import lru_cache
from typing import Any

import numpy as np

from dropout_theory.data import standardized_digits, standardized_mnist1d
from dropout_theory.deep_meanfield import (
    ACTIVATION_NAMES,
    DepthGrid,
    TrainingSpeed,
    critical_sigma_w2,
    train_deep_ensemble,
)
from dropout_theory.experiments.cli import (
    add_experiment,
    int_at_least,
    nonnegative_float,
    positive_float,
    probability,
)
from dropout_theory.experiments.runner import run_jobs

DATASETS = ("digits", "mnist1d")

#: Paper-scale defaults.
PAPER = {
    "depths": [10, 20, 30, 40, 50, 60, 80, 100],
    "sigma_w2": [round(x, 3) for x in np.linspace(0.5, 4.0, 15)],
    "keep_probs": [1.0, 0.99, 0.95, 0.9],
    "width": 128,
    "steps": 1000,
}
#: Book-scale (``--quick``) sizes: seconds on a laptop.
QUICK = {"depths": [6, 12, 24], "sigma_w2": [0.8, 1.6, 3.2], "keep_probs": [1.0, 0.9], "width": 24, "steps": 60}


@lru_cache(maxsize=2)
def _load(dataset: str, seed: int):
    if dataset == "digits":
        return standardized_digits(generator=seed)
    return standardized_mnist1d(generator=seed)


def train_grid_job(
    *,
    activation: str,
    depth: int,
    width: int,
    sigma_w2: Sequence[float] | str,
    sigma_b2: float,
    keep_prob: float,
    lr: float | Sequence[float],
    num_steps: int,
    batch_size: int,
    dataset: str,
    seed: int,
    threshold: float | None = None,
    eval_every: int = 50,
    device: str | None = None,
) -> dict[str, Any]:
    """One job: a batched :func:`dropout_theory.deep_meanfield.train_deep_ensemble` (``seed`` → ``generator``, on
    ``device``), JSON-serializable (accuracies rounded to 6 decimals).

    ``sigma_w2="critical"`` trains every model at σ²_w,crit(σ_b², keep_prob), computed here, so that the job is
    declared by its inputs (its key never depends on a computed float).
    """
    if sigma_w2 == "critical":
        num = len(lr) if isinstance(lr, Sequence) else 1
        sigma_w2 = [float(critical_sigma_w2(activation, sigma_b2, keep_prob))] * num
    res = train_deep_ensemble(
        activation, list(sigma_w2), sigma_b2, keep_prob, depth=depth, width=width, lr=lr, num_steps=num_steps,
        batch_size=batch_size, data=_load(dataset, 0), threshold=threshold, eval_every=eval_every, generator=seed,
        device=device,
    )  # fmt: skip
    return {
        "train_accuracy": [round(float(a), 6) for a in res.train_accuracy],
        "test_accuracy": [round(float(a), 6) for a in res.test_accuracy],
        "steps_to_threshold": [int(s) for s in res.steps_to_threshold],
        "diverged_at": [int(s) for s in res.diverged_at],
    }


def run_trainable_depth(
    depths: Sequence[int],
    sigma_w2: Sequence[float],
    keep_probs: Sequence[float],
    *,
    activation: str = "tanh",
    width: int = 48,
    sigma_b2: float = 0.05,
    lr: float = 0.02,
    num_steps: int = 200,
    batch_size: int = 64,
    dataset: str = "digits",
    seed: int = 0,
    results_path: str | None = None,
    executor: Executor | None = None,
    max_workers: int | None = None,
    progress: bool = True,
    device: str | None = None,
) -> dict[float, DepthGrid]:
    """:func:`dropout_theory.deep_meanfield.trainable_depth_grid` as resumable jobs through any Executor.

    Args:
        depths, sigma_w2, keep_probs: the grid.
        activation, width, sigma_b2, lr, num_steps, batch_size: network and SGD settings.
        dataset: "digits" (scikit-learn 8×8) or "mnist1d" (generated locally).
        seed: seed of initialization, minibatches and masks (shared by all jobs).
        results_path: JSON-lines file (resumable); None keeps results in memory.
        executor: any ``concurrent.futures.Executor``; None uses a local process pool (or this process when
            ``max_workers == 1``).
        max_workers: size of the default pool.
        progress: tqdm progress bar.
        device: torch device every job trains on (default CPU).

    Returns:
        keep_prob → :class:`dropout_theory.deep_meanfield.DepthGrid`.
    """
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}")
    sw = [float(s) for s in sigma_w2]
    jobs = [
        dict(activation=activation, depth=int(L), width=int(width), sigma_w2=sw, sigma_b2=float(sigma_b2),
             keep_prob=float(r), lr=float(lr), num_steps=int(num_steps), batch_size=int(batch_size),
             dataset=dataset, seed=int(seed), eval_every=int(num_steps))
        for r in keep_probs for L in depths
    ]  # fmt: skip
    results = run_jobs(train_grid_job, jobs, results_path=results_path, executor=executor,
                       max_workers=max_workers, progress=progress, desc="trainable depth", device=device)  # fmt: skip
    out: dict[float, DepthGrid] = {}
    for r in keep_probs:
        rows = [res for job, res in zip(jobs, results, strict=True) if job["keep_prob"] == float(r)]
        out[float(r)] = DepthGrid(
            float(r),
            np.asarray(depths, dtype=np.float64),
            np.asarray(sw),
            np.array([row["train_accuracy"] for row in rows]),
            np.array([row["test_accuracy"] for row in rows]),
        )
    return out


def run_training_speed(
    depths: Sequence[int],
    lrs: Sequence[float],
    keep_probs: Sequence[float],
    *,
    threshold: float = 0.8,
    activation: str = "tanh",
    width: int = 48,
    sigma_b2: float = 0.05,
    num_steps: int = 300,
    batch_size: int = 64,
    eval_every: int = 10,
    dataset: str = "digits",
    seed: int = 0,
    results_path: str | None = None,
    executor: Executor | None = None,
    max_workers: int | None = None,
    progress: bool = True,
    device: str | None = None,
) -> dict[float, TrainingSpeed]:
    """:func:`dropout_theory.deep_meanfield.training_speed` as resumable jobs through any Executor.

    Returns:
        keep_prob → :class:`dropout_theory.deep_meanfield.TrainingSpeed`.
    """
    lr_list = [float(x) for x in lrs]
    jobs = []
    for r in keep_probs:
        jobs += [
            dict(activation=activation, depth=int(L), width=int(width), sigma_w2="critical",
                 sigma_b2=float(sigma_b2), keep_prob=float(r), lr=lr_list, num_steps=int(num_steps),
                 batch_size=int(batch_size), dataset=dataset, seed=int(seed), threshold=float(threshold),
                 eval_every=int(eval_every))
            for L in depths
        ]  # fmt: skip
    results = run_jobs(train_grid_job, jobs, results_path=results_path, executor=executor,
                       max_workers=max_workers, progress=progress, desc="training speed", device=device)  # fmt: skip
    out: dict[float, TrainingSpeed] = {}
    for r in keep_probs:
        idx = [i for i, job in enumerate(jobs) if job["keep_prob"] == float(r)]
        out[float(r)] = TrainingSpeed(
            float(r),
            float(critical_sigma_w2(activation, sigma_b2, r)),
            np.asarray(depths),
            np.asarray(lr_list),
            np.array([results[i]["steps_to_threshold"] for i in idx]),
        )
    return out


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", choices=DATASETS, default="digits")
    p.add_argument("--activation", choices=ACTIVATION_NAMES, default="tanh")
    p.add_argument("--sigma-b2", type=nonnegative_float, default=0.05)
    p.add_argument("--seed", type=int_at_least(0), default=0)
    p.add_argument("--keep-probs", type=probability, nargs="+", default=None)


def _cmd_trainable_depth(args: argparse.Namespace) -> None:
    sizes = QUICK if args.quick else PAPER
    res = run_trainable_depth(
        sizes["depths"], sizes["sigma_w2"], args.keep_probs or sizes["keep_probs"], activation=args.activation,
        width=sizes["width"], sigma_b2=args.sigma_b2, lr=args.lr, num_steps=sizes["steps"],
        dataset=args.dataset, seed=args.seed, results_path=args.out, max_workers=args.workers, executor=args.pool,
        device=args.device,
    )  # fmt: skip
    for grid in res.values():
        print(grid)


def _cmd_training_speed(args: argparse.Namespace) -> None:
    quick = args.quick
    lrs = [float(f"{x:.3g}") for x in np.logspace(-3, -0.5, 4 if quick else 12)]  # job inputs as one writes them
    res = run_training_speed(
        [4, 8] if quick else [10, 20, 40, 60], lrs,
        args.keep_probs or ([1.0, 0.9] if quick else [1.0, 0.99, 0.98]), activation=args.activation,
        width=24 if quick else 128, sigma_b2=args.sigma_b2, num_steps=60 if quick else 1000, dataset=args.dataset,
        seed=args.seed, results_path=args.out, max_workers=args.workers, threshold=args.threshold,
        executor=args.pool, device=args.device,
    )  # fmt: skip
    for grid in res.values():
        print(grid)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``trainable-depth`` and ``training-speed`` subcommands."""
    quick = "book-scale sizes (a smoke test of seconds)"
    p = add_experiment(
        subparsers, "trainable-depth", help="Fig. 7: trainable depth heatmaps over (depth, sigma_w2)", quick_help=quick
    )
    _common(p)
    p.add_argument("--lr", "--learning-rate", dest="lr", type=positive_float, default=0.02, help="SGD learning rate")
    p.set_defaults(func=_cmd_trainable_depth)
    q = add_experiment(
        subparsers, "training-speed", help="Fig. 6: steps to a threshold accuracy vs learning rate", quick_help=quick
    )
    _common(q)
    q.add_argument("--threshold", type=probability, default=0.8)
    q.set_defaults(func=_cmd_training_speed)
