"""Paper-scale Hessian–variance alignment along dropout training (SME paper §5.3, Fig. 3).

The paper measures α(θ_t) = Tr(H_t Σ_t)/(‖H_t‖_F ‖Σ_t‖_F) along training for an FNN 784-50-50-10 on MNIST
(α > 0.85) and VGG16 on CIFAR-10 (α > 0.7), over a subset of the parameters, and compares it with a random-matrix
baseline (same spectra, random eigenvectors). Here, on the training images of the 8×8 digits (all 1,348 unless
``n_train`` is given; one-hot targets, :func:`dropout_theory.networks.half_mse`, full-batch dropout GD), under either
mask convention (``mask``: one mask per unit shared by the batch, or one per example and unit as ``nn.Dropout``; the
same convention for the training masks and the measured Σ):

* ``"fnn"``: :func:`dropout_theory.networks.dropout_mlp` 64-50-50-10 (tanh, dropout after the first hidden layer,
  6,310 parameters); the subset is the second hidden layer's weight ``"3.weight"`` (2,500 parameters);
* ``"conv"``: :func:`dropout_theory.networks.dropout_convnet` (VGG-style, tanh, 6,562 parameters); the subset is the
  last convolution's weight ``"11.weight"`` (2,304 parameters). It runs in float32 by default.

One job per (model, mask, lr, keep_prob, seed): :func:`alignment_job`, which runs
:func:`dropout_theory.alignment.alignment_along_training` (α over all parameters and over the subset every
``eval_every`` steps; training masks from seed ``seed + 1000``, measurements from ``seed + 2000``, initialization
from ``seed``) and at the end :func:`dropout_theory.alignment.subset_baseline` (dense α over the subset and the
random-eigenvector baseline). A run that diverges is recorded (its divergence record and the curve up to there),
not fatal. The grid, sample sizes and measured costs are in the book's appendix *Reproducing the papers*.

CLI: ``dropout-experiments alignment [--out runs/alignment.jsonl] [--workers 2] [--quick] [--models fnn conv]
[--masks shared per_example] [--grid fnn:0.05:0.8 ...] [--seeds 1] [--steps N] [--eval-every E] [--num-masks M]
[--n-train N] [--widths 64 50 50 10] [--channels 8 16] [--hidden 32]``; :func:`summary_table` summarises per
(model, mask, lr, keep_prob).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import asdict
from typing import Any

import torch
from torch import nn

from dropout_theory._checks import DivergenceError, check_choice, check_positive_int
from dropout_theory.alignment import AlignmentCurve, alignment_along_training, parameter_indices, subset_baseline
from dropout_theory.alignment.stored_runs import MODELS, summary_table
from dropout_theory.data import load_digits_regression
from dropout_theory.experiments.cli import add_experiment, int_at_least, positive_float, positive_int, probability
from dropout_theory.jobs import job_records, run_jobs
from dropout_theory.networks import dropout_convnet, dropout_mlp, half_mse
from dropout_theory.rng import MASK_CONVENTIONS
from dropout_theory.tables import Table

SUBSETS: dict[str, str] = {"fnn": "3.weight", "conv": "11.weight"}
DTYPES: dict[str, str] = {"fnn": "float64", "conv": "float32"}
PAPER_GRID: dict[str, tuple[tuple[float, float], ...]] = {
    "fnn": ((0.05, 0.8), (0.1, 0.8), (0.05, 0.5), (0.1, 0.5)),
    "conv": ((0.05, 0.8), (0.1, 0.8)),
}
PAPER_STEPS: dict[str, tuple[int, int]] = {"fnn": (4000, 800), "conv": (2000, 500)}
PAPER_SAMPLES: dict[str, int] = {"num_masks": 2048, "num_probes": 32, "num_hessian_masks": 8}
QUICK_SIZES: dict[str, dict[str, Any]] = {
    "fnn": {"widths": [64, 8, 8, 10]},
    "conv": {"channels": [2, 4], "hidden": 8},
}
QUICK_SAMPLES: dict[str, int] = {
    "num_masks": 16,
    "num_probes": 4,
    "num_hessian_masks": 2,
    "sketch_size": 4,
    "baseline_masks": 16,
    "baseline_samples": 2,
}


def build_model(
    model: str,
    *,
    keep_prob: float,
    seed: int,
    widths: Sequence[int] | None = None,
    channels: Sequence[int] | None = None,
    hidden: int | None = None,
    dtype: torch.dtype = torch.float64,
) -> nn.Module:
    """The network of one job: ``"fnn"`` (``widths``, default 64-50-50-10) or ``"conv"`` (``channels``, ``hidden``,
    default (8, 16) and 32), initialised from ``torch.Generator().manual_seed(seed)``."""
    model = check_choice(model, "model", MODELS)
    gen = torch.Generator().manual_seed(seed)
    if model == "fnn":
        return dropout_mlp(tuple(widths or (64, 50, 50, 10)), keep_prob=keep_prob, generator=gen, dtype=dtype)
    return dropout_convnet(
        keep_prob=keep_prob, channels=tuple(channels or (8, 16)), hidden=hidden or 32, generator=gen, dtype=dtype
    )


def _curve_dict(c: AlignmentCurve, subset_name: str) -> dict[str, list[float]]:
    return {
        "steps": c.steps.tolist(),
        "alpha": c.alpha.tolist(),
        "alpha_stderr": c.stderr.tolist(),
        "subset_alpha": c.subset_alpha[subset_name].tolist() if subset_name in c.subset_alpha else None,
        "subset_stderr": c.subset_stderr[subset_name].tolist() if subset_name in c.subset_alpha else None,
        "loss": c.loss.tolist(),
        "test_accuracy": c.test_accuracy.tolist(),
    }


def alignment_job(
    *,
    model: str,
    lr: float,
    keep_prob: float,
    seed: int,
    num_steps: int,
    eval_every: int,
    n_train: int | None = None,
    widths: Sequence[int] | None = None,
    channels: Sequence[int] | None = None,
    hidden: int | None = None,
    dtype: str = "float64",
    num_masks: int = 2048,
    num_probes: int = 32,
    num_hessian_masks: int = 8,
    sketch_size: int | None = None,
    baseline_masks: int = 2048,
    baseline_samples: int = 10,
    mask: str = "shared",
    measure_subset: bool = True,
    device: str | None = None,
) -> dict[str, Any]:
    """One training run with α measured along it (see the module docstring). Returns a JSON-serializable dict.

    Args:
        model: ``"fnn"`` or ``"conv"``.
        lr: learning rate of full-batch dropout GD.
        keep_prob: keep probability of every dropout layer.
        seed: initialization seed (training masks ``seed + 1000``, measurements ``seed + 2000``).
        num_steps: training steps.
        eval_every: measurement period in steps (the last step is always measured).
        n_train: first ``n_train`` training images (``None``: all 1,348).
        widths: FNN layer sizes (default 64-50-50-10).
        channels: conv-net channels of the two blocks (default (8, 16)).
        hidden: conv-net hidden width (default 32).
        dtype: ``"float64"`` or ``"float32"``.
        num_masks: dropout gradient draws per α (even).
        num_probes: Hutchinson probes for ‖H‖_F² per α.
        num_hessian_masks: masks in the estimate of H (even, >= 2; split into two halves).
        sketch_size: exact sketch width for ‖H‖_F² (``None``: the alignment function's default).
        baseline_masks: dropout gradient draws for Σ̂ in the final baseline (even; 0 skips the baseline).
        baseline_samples: random eigenvector bases in the final baseline.
        mask: dropout mask convention of training and measurements, ``"shared"`` or ``"per_example"``.
        measure_subset: also measure α over the subset at every measurement (``subset_alpha`` is ``None``
            otherwise; it doubles the cost of the curve).
        device: where the network trains (initialized on the CPU, so the same start on every device; masks and
            probes come from generators on that device).

    Returns:
        ``{"diverged": False, "num_params", "subset", "subset_size", "curve": {...}, "final": {...}}`` where the
        curve holds lists ``steps``, ``alpha``, ``alpha_stderr``, ``subset_alpha``, ``subset_stderr``, ``loss``,
        ``test_accuracy`` and ``final`` is :func:`dropout_theory.alignment.subset_baseline`'s record (``None`` when
        ``baseline_masks`` is 0); or
        ``{"diverged": True, "divergence": {...}, "curve"}`` with the curve up to the divergence. Both also hold
        ``wall_s``, the job's wall time.
    """
    dt = {"float64": torch.float64, "float32": torch.float32}[check_choice(dtype, "dtype", ("float64", "float32"))]
    num_steps = check_positive_int(num_steps, "num_steps")
    eval_every = check_positive_int(eval_every, "eval_every")
    dev = torch.device(device or "cpu")
    digits = load_digits_regression(generator=0, bias=False, dtype=dt, device=dev)
    n = digits.X_train.shape[0] if n_train is None else check_positive_int(n_train, "n_train")
    X, Y = digits.X_train[:n], digits.y_train[:n]
    net = build_model(model, keep_prob=keep_prob, seed=seed, widths=widths, channels=channels, hidden=hidden, dtype=dt)
    net = net.to(dev)
    subset_name = SUBSETS[model]
    idx = parameter_indices(net, subset_name)
    meas_gen = torch.Generator(device=dev).manual_seed(seed + 2000)
    start = time.perf_counter()
    try:
        c = alignment_along_training(
            net,
            half_mse,
            X,
            Y,
            lr=lr,
            num_steps=num_steps,
            eval_every=eval_every,
            generator=torch.Generator(device=dev).manual_seed(seed + 1000),
            measurement_generator=meas_gen,
            X_test=digits.X_test,
            y_test=digits.y_test,
            num_masks=num_masks,
            num_probes=num_probes,
            num_hessian_masks=num_hessian_masks,
            sketch_size=sketch_size,
            extra_subsets={subset_name: idx} if measure_subset else None,
            mask=mask,
        )
    except DivergenceError as err:
        return {
            "diverged": True,
            "divergence": err.record.as_dict(),
            "curve": None if err.partial is None else _curve_dict(err.partial, subset_name),
            "wall_s": time.perf_counter() - start,
        }
    curve = _curve_dict(c, subset_name)
    if not baseline_masks:
        return {
            "diverged": False,
            "num_params": sum(p.numel() for p in net.parameters()),
            "subset": subset_name,
            "subset_size": idx.numel(),
            "curve": curve,
            "final": None,
            "wall_s": time.perf_counter() - start,
        }
    final = subset_baseline(
        net,
        half_mse,
        X,
        Y,
        idx,
        num_masks=baseline_masks,
        num_hessian_masks=num_hessian_masks,
        num_samples=baseline_samples,
        generator=meas_gen,
        mask=mask,
    )
    return {
        "diverged": False,
        "num_params": sum(p.numel() for p in net.parameters()),
        "subset": subset_name,
        "subset_size": idx.numel(),
        "curve": curve,
        "final": asdict(final),
        "wall_s": time.perf_counter() - start,
    }


def build_jobs(
    *,
    quick: bool = False,
    models: Sequence[str] = MODELS,
    masks: Sequence[str] = ("shared",),
    seeds: int = 1,
    num_steps: int | None = None,
    eval_every: int | None = None,
    num_masks: int | None = None,
    num_hessian_masks: int | None = None,
    num_probes: int | None = None,
    sketch_size: int | None = None,
    baseline_masks: int | None = None,
    measure_subset: bool = True,
    grid: Mapping[str, Sequence[tuple[float, float]]] | None = None,
    n_train: int | None = None,
    widths: Sequence[int] | None = None,
    channels: Sequence[int] | None = None,
    hidden: int | None = None,
) -> list[dict[str, Any]]:
    """One job per (model, mask convention, (lr, keep_prob) in the grid, seed).

    ``quick``: tiny nets (FNN 64-8-8-10, conv channels (2, 4), hidden 8) on 60 images, 6 steps, α every 3 steps,
    16 gradient draws (seconds). Otherwise the paper-scale sizes of :data:`PAPER_STEPS` and :data:`PAPER_SAMPLES`,
    with ``n_train`` (training images), ``widths`` (FNN), ``channels`` and ``hidden`` (conv net) overriding the
    defaults of :func:`alignment_job` when given.
    """
    seeds = check_positive_int(seeds, "seeds")
    masks = [check_choice(mk, "masks", MASK_CONVENTIONS) for mk in masks]
    grid = PAPER_GRID if grid is None else grid
    sizes: dict[str, dict[str, Any]] = {"fnn": {}, "conv": {}}
    if widths is not None:
        sizes["fnn"]["widths"] = [check_positive_int(w, "widths") for w in widths]
    if channels is not None:
        sizes["conv"]["channels"] = [check_positive_int(c, "channels") for c in channels]
    if hidden is not None:
        sizes["conv"]["hidden"] = check_positive_int(hidden, "hidden")
    jobs = []
    for model in models:
        model = check_choice(model, "models", MODELS)
        n_steps, every = (6, 3) if quick else PAPER_STEPS[model]
        for mask in masks:
            for lr, p in grid.get(model, ()):
                for s in range(seeds):
                    job: dict[str, Any] = {
                        "model": model,
                        "mask": mask,
                        "lr": float(lr),
                        "keep_prob": float(p),
                        "seed": s,
                        "num_steps": num_steps or n_steps,
                        "eval_every": eval_every or every,
                        "dtype": DTYPES[model],
                    }
                    if quick:
                        job |= {"n_train": 60, **QUICK_SIZES[model], **QUICK_SAMPLES}
                    else:
                        job |= dict(PAPER_SAMPLES) | sizes[model]
                        if n_train is not None:
                            job["n_train"] = check_positive_int(n_train, "n_train")
                    if num_masks is not None:
                        job["num_masks"] = num_masks
                    for name, value in (
                        ("num_hessian_masks", num_hessian_masks),
                        ("num_probes", num_probes),
                        ("sketch_size", sketch_size),
                        ("baseline_masks", baseline_masks),
                    ):
                        if value is not None:
                            job[name] = value
                    if not measure_subset:
                        job["measure_subset"] = False
                    jobs.append(job)
    return jobs


def format_table(table: Sequence[Mapping[str, Any]]) -> Table:
    """The summary table (one row per (model, mask, lr, keep_prob)); ``print`` it."""
    rows = []
    for r in table:
        seeds = f"{r['num_seeds']} ({r['num_diverged']} diverged)"
        if not r["num_seeds"]:
            rows.append((r["model"], r["mask"], r["lr"], r["keep_prob"], *([None] * 13), seeds))
            continue
        rows.append(
            (
                r["model"], r["mask"], r["lr"], r["keep_prob"], r["alpha_min"], r["alpha_mean"], r["alpha_max"],
                r["subset_min"], r["subset_mean"], r["subset_max"], r["max_stderr"], r["final_subset_exact"],
                r["baseline_expected"], r["baseline_sampled"], r["final_loss"], r["final_test_accuracy"],
                r["wall_s"], seeds,
            )
        )  # fmt: skip
    headers = (
        "model", "mask", "lr", "keep", "alpha all: min", "mean", "max", "subset: min", "mean", "max", "max s.e.",
        "final exact", "baseline E", "sampled", "loss", "test acc", "job s", "seeds",
    )  # fmt: skip
    formats = ("", "", ".3g", ".3g", *([".3f"] * 8), ".2e", ".2e", ".4f", ".3f", ".0f", "")
    return Table.build(headers, rows, formats=formats)


def run(
    results_path: str | None,
    *,
    quick: bool = False,
    max_workers: int | None = None,
    executor: Executor | None = None,
    progress: bool = True,
    device: str | None = None,
    **sweep: Any,
) -> list[dict[str, Any]]:
    """Run (or resume) every job of :func:`build_jobs` (``sweep`` holds its keyword arguments) on ``device`` and
    return :func:`summary_table` of this sweep's jobs."""
    jobs = build_jobs(quick=quick, **sweep)
    results = run_jobs(
        alignment_job,
        jobs,
        results_path=results_path,
        executor=executor,
        max_workers=max_workers,
        progress=progress,
        desc="alignment",
        device=device,
    )
    return summary_table(job_records(jobs, results))


def grid_point(text: str) -> tuple[str, float, float]:
    """argparse ``type``: ``MODEL:LR:KEEP_PROB`` (e.g. ``fnn:0.05:0.8``)."""
    parts = text.split(":")
    if len(parts) != 3 or parts[0] not in MODELS:
        raise argparse.ArgumentTypeError(f"must be MODEL:LR:KEEP_PROB with MODEL in {list(MODELS)}, got {text!r}")
    return parts[0], positive_float(parts[1]), probability(parts[2])


def _cli(args: argparse.Namespace) -> None:
    grid = None
    if args.grid:
        grid = {}
        for model, lr, keep in args.grid:
            grid.setdefault(model, []).append((lr, keep))
    table = run(
        args.out,
        quick=args.quick,
        max_workers=args.workers,
        executor=args.pool,
        device=args.device,
        models=args.models,
        masks=args.masks,
        seeds=args.seeds,
        num_steps=args.steps,
        eval_every=args.eval_every,
        num_masks=args.num_masks,
        num_hessian_masks=args.num_hessian_masks,
        num_probes=args.num_probes,
        sketch_size=args.sketch_size,
        baseline_masks=args.baseline_masks,
        measure_subset=not args.no_subset,
        grid=grid,
        n_train=args.n_train,
        widths=args.widths,
        channels=args.channels,
        hidden=args.hidden,
    )
    print(format_table(table))
    print(f"results in {args.out}")


def register(subparsers: Any) -> None:
    """Add the ``alignment`` subcommand."""
    p = add_experiment(
        subparsers,
        "alignment",
        help="Hessian-variance alignment along dropout training, all parameters vs one layer (part I, Fig. 3)",
        description=__doc__.splitlines()[0],
        quick_help="tiny nets, 60 images, 6 steps (smoke test, seconds)",
    )
    p.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS), help="models (default: fnn conv)")
    p.add_argument(
        "--seeds", type=positive_int, default=1, help="initializations per (model, lr, keep_prob) (default 1)"
    )
    p.add_argument(
        "--steps", type=positive_int, default=None, help="training steps (default fnn 4000, conv 2000; quick 6)"
    )
    p.add_argument(
        "--eval-every", type=positive_int, default=None, help="steps between α measurements (fnn 800, conv 500)"
    )
    p.add_argument(
        "--num-masks", type=int_at_least(4, even=True), default=None, help="dropout gradient draws per α (default 2048)"
    )
    p.add_argument(
        "--num-hessian-masks",
        type=int_at_least(2, even=True),
        default=None,
        help="masks in the Monte Carlo Hessian of each α and of the final baseline (default 8)",
    )
    p.add_argument("--num-probes", type=int_at_least(2), default=None, help="Hutchinson probes per α (default 32)")
    p.add_argument(
        "--sketch-size", type=int_at_least(0), default=None, help="exact sketch width of ‖H‖_F² (default 32)"
    )
    p.add_argument(
        "--baseline-masks",
        type=int_at_least(0, even=True),
        default=None,
        help="dropout gradients of the final random-eigenvector baseline over the subset (default 2048; 0: none)",
    )
    p.add_argument(
        "--no-subset", action="store_true", help="measure α over all parameters only (not also over the layer)"
    )
    p.add_argument(
        "--masks",
        nargs="+",
        choices=MASK_CONVENTIONS,
        default=["shared"],
        help="mask conventions, each a separate set of jobs (default: shared)",
    )
    p.add_argument(
        "--grid",
        nargs="+",
        type=grid_point,
        default=None,
        help="(learning rate, keep probability) points as MODEL:LR:KEEP_PROB, e.g. fnn:0.05:0.8 (default: the "
        "paper-scale grid: fnn at lr 0.05 and 0.1 with keep 0.8 and 0.5, conv at lr 0.05 and 0.1 with keep 0.8)",
    )
    p.add_argument("--n-train", type=positive_int, default=None, help="training images (default: all 1,348)")
    p.add_argument("--widths", type=positive_int, nargs="+", default=None, help="FNN widths (default 64 50 50 10)")
    p.add_argument("--channels", type=positive_int, nargs=2, default=None, help="conv-net channels (default 8 16)")
    p.add_argument("--hidden", type=positive_int, default=None, help="conv-net hidden width (default 32)")
    p.set_defaults(func=_cli)


__all__: Sequence[str] = [
    "MODELS",
    "PAPER_GRID",
    "SUBSETS",
    "alignment_job",
    "build_jobs",
    "build_model",
    "format_table",
    "register",
    "run",
    "summary_table",
]
