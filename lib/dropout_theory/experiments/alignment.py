"""Paper-scale Hessian–variance alignment along dropout training (SME paper §5.3, Fig. 3).

The paper measures α(θ_t) = Tr(H_t Σ_t)/(‖H_t‖_F ‖Σ_t‖_F) along training for an FNN 784-50-50-10 on MNIST
(α > 0.85) and VGG16 on CIFAR-10 (α > 0.7), over a subset of the parameters, and compares it with a random-matrix
baseline (same spectra, random eigenvectors: 7.8e-4). Here, on all 1,348 training images of the 8×8 digits
(one-hot targets, loss ½‖f(x) − y‖² averaged over examples, full-batch dropout GD with one mask per unit shared
by the batch):

* ``"fnn"``: :func:`dropout_theory.alignment.dropout_mlp` 64-50-50-10 (tanh, dropout after the first hidden
  layer, 6,310 parameters), stand-in for the paper's FNN; the subset is the second hidden layer's weight
  ``"3.weight"`` (50×50 = 2,500 parameters);
* ``"conv"``: :func:`dropout_theory.alignment.dropout_convnet` (VGG-style, tanh, 6,562 parameters, dropout placed
  as in VGG16), stand-in for VGG16 on CIFAR-10; the subset is the last convolution's weight ``"11.weight"``
  (16×16×3×3 = 2,304 parameters). It runs in float32 by default: its float64 convolutions (and their
  double-backward) were measured about 10× slower on CPU.

One job per (model, lr, keep_prob, seed). Training masks and measurements use separate generators (seeds
``seed + 1000`` and ``seed + 2000``; ``seed`` draws the initialization), so the trajectory does not depend on
the measurement sample sizes. Every ``eval_every`` steps (and at the last step) the job records α over ALL
parameters and over the subset, both matrix-free (:func:`dropout_theory.alignment.module_hessian_variance_alignment`,
H = Hessian of the expected dropout loss averaged over ``num_hessian_masks`` masks), with their standard errors,
the training loss (dropout off) and the test accuracy. At the end it forms the dense Hessian H over the subset
(one Hessian-vector product per coordinate) and Σ̂ = (1/K) Σ_k d_k d_kᵀ from K = ``baseline_masks``/2 paired
dropout gradients d_k = (g_{2k} − g_{2k+1})/√2 restricted to the subset, and records

* ``alpha_exact``: α over the subset with this dense H (unbiased Tr(HΣ) and ‖Σ‖_F² from the d_k, ‖H‖_F² from
  two independent halves of the Hessian masks, as the library does), to compare with the matrix-free value at
  the same parameters;
* ``baseline_expected``: E α over Haar-random eigenvectors with the spectra of H and Σ̂,
  Tr(H) Tr(Σ̂)/(S ‖H‖_F ‖Σ̂‖_F) (:func:`dropout_theory.alignment.expected_random_alignment`), and
  ``baseline_samples``: α of ``baseline_samples`` such random draws
  (:func:`dropout_theory.alignment.random_eigenvector_alignment`), as the paper did. Σ̂ has rank ≤ K, so its
  spectrum is the sample spectrum; ``baseline_unbiased`` uses the unbiased ‖Σ‖_F² instead of ‖Σ̂‖_F².

A run that diverges is recorded (step and quantity, with the curve up to there), not fatal.

Grid: full-batch dropout GD on all 1,348 digits trains the FNN at lr 0.05 and 0.1 with keep 0.8 and 0.5 and
diverges within 15 steps at lr 0.2; the conv net trains at lr 0.05 and 0.1 with keep 0.8, more slowly at keep
0.7 (loss 0.22–0.29 after 600 steps against 0.15–0.22) and stalls at keep 0.5 (lr 0.05: loss 0.46 after 600
steps, test accuracy 10 %). Sample sizes: 2,048 gradient draws per
α give standard errors 0.01–0.03 for the FNN. Cost on one CPU thread (measured components): about 9 min per
FNN job (the four-job FNN sweep took 38 min with ``--workers 2`` on two shared cores) and an estimated 70 min
per conv job (a float32 conv gradient costs ~10× an FNN one, a Hessian-vector product ~10×; the dense Hessian
over the 2,304-parameter subset alone is ~10 min).

CLI: ``dropout-experiments alignment [--out runs/alignment.jsonl] [--workers 2] [--quick] [--models fnn conv]
[--seeds 1] [--steps N] [--eval-every E] [--num-masks M]``; :func:`summary_table` summarises per
(model, lr, keep_prob).
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from typing import Any

import torch
from torch import nn

from dropout_theory._checks import check_choice, check_positive_int
from dropout_theory.alignment import (
    AlignmentCurve,
    TrainingDiverged,
    alignment_along_training,
    dropout_convnet,
    dropout_mlp,
    expected_random_alignment,
    module_alignment_matrices,
    parameter_indices,
    random_eigenvector_alignment,
)
from dropout_theory.data import load_digits_regression
from dropout_theory.experiments.cli import add_experiment, int_at_least, positive_int
from dropout_theory.experiments.runner import job_records, run_jobs

MODELS: tuple[str, ...] = ("fnn", "conv")
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

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _half_mse(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return 0.5 * ((out - target) ** 2).sum(1).mean()


def build_model(
    model: str,
    keep_prob: float,
    seed: int,
    *,
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
        return dropout_mlp(tuple(widths or (64, 50, 50, 10)), keep_prob, generator=gen, dtype=dtype)
    return dropout_convnet(
        keep_prob, channels=tuple(channels or (8, 16)), hidden=hidden or 32, generator=gen, dtype=dtype
    )


def _curve_dict(c: AlignmentCurve, subset_name: str) -> dict[str, list[float]]:
    return {
        "steps": c.steps.tolist(),
        "alpha": c.alpha.tolist(),
        "alpha_stderr": c.stderr.tolist(),
        "subset_alpha": c.subset_alpha[subset_name].tolist(),
        "subset_stderr": c.subset_stderr[subset_name].tolist(),
        "loss": c.loss.tolist(),
        "test_accuracy": c.test_accuracy.tolist(),
    }


def subset_baseline(
    model: nn.Module,
    loss_fn: LossFn,
    X: torch.Tensor,
    y: torch.Tensor,
    subset: torch.Tensor,
    *,
    num_masks: int = 2048,
    num_hessian_masks: int = 8,
    num_samples: int = 10,
    generator: torch.Generator | None = None,
) -> dict[str, Any]:
    """Dense α over a parameter subset and the random-eigenvector baseline with the same spectra.

    Draws ``num_masks`` dropout gradients first, then ``num_hessian_masks`` mask sets split into two halves A, B
    (H_A, H_B: Hessians of the loss averaged over each half's masks; H = (H_A + H_B)/2 and the unbiased
    ‖H‖_F² = ⟨H_A, H_B⟩_F), in the order of :func:`dropout_theory.alignment.module_hessian_variance_alignment`,
    so that with the same generator state ``alpha_exact`` equals its ``method="exact"`` value on ``subset``.
    The baselines use the spectra of (H_A + H_B)/2 and Σ̂ = (1/K) Σ_k d_k d_kᵀ (plug-in, as the paper);
    ``baseline_unbiased`` replaces their Frobenius norms by the unbiased estimates.

    Args:
        model: module with ``nn.Dropout`` layers, at the parameters to measure (not modified).
        loss_fn: ``loss_fn(model(X), y)`` → scalar.
        X: (n, …) inputs; y: targets.
        subset: (S,) indices into the flat trainable parameters (e.g. from
            :func:`dropout_theory.alignment.parameter_indices`).
        num_masks: dropout gradient draws (even, >= 4); K = num_masks/2 paired differences d_k.
        num_hessian_masks: masks in the estimate of H (even, >= 2).
        num_samples: Haar-random eigenvector bases for the sampled baseline.
        generator: torch generator of masks and random bases.

    Returns:
        JSON-serializable dict: ``num_params`` S, ``alpha_exact`` and ``alpha_exact_stderr``,
        ``baseline_expected`` (spectra of H and Σ̂), ``baseline_unbiased`` (unbiased ‖Σ‖_F), ``baseline_samples``
        (list), ``trace_h``, ``frob_h``, ``trace_sigma``, ``frob_sigma``, ``top_h_eigenvalue``,
        ``top_sigma_eigenvalue``.
    """
    num_samples = check_positive_int(num_samples, "num_samples")
    mats = module_alignment_matrices(
        model,
        loss_fn,
        X,
        y,
        num_masks=num_masks,
        num_hessian_masks=num_hessian_masks,
        subset=torch.as_tensor(subset, dtype=torch.int64),
        generator=generator,
    )
    res = mats.alignment()
    alpha, se, fh, fs = res.alpha, res.stderr, res.frob_h_sq, res.frob_sigma_sq
    Dd, H = mats.differences.double(), mats.hessian.double()
    K, S = Dd.shape
    lam_h = torch.linalg.eigvalsh(H)
    small = Dd @ Dd.T / K if K < S else Dd.T @ Dd / K  # same nonzero spectrum as Σ̂ = DdᵀDd/K
    lam_s = torch.linalg.eigvalsh(small).clamp_min(0.0)
    lam_s = torch.cat([lam_s, lam_s.new_zeros(S - lam_s.numel())])
    tr_s = float(lam_s.sum())
    ok = fs.value > 0 and fh.value > 0
    unbiased = float(lam_h.sum()) * tr_s / (S * math.sqrt(fh.value * fs.value)) if ok else math.nan
    samples = random_eigenvector_alignment(lam_h, lam_s, num_samples, generator)
    return {
        "num_params": S,
        "alpha_exact": alpha,
        "alpha_exact_stderr": se,
        "baseline_expected": expected_random_alignment(lam_h, lam_s),
        "baseline_unbiased": unbiased,
        "baseline_samples": samples.tolist(),
        "trace_h": float(lam_h.sum()),
        "frob_h": math.sqrt(max(fh.value, 0.0)),
        "trace_sigma": tr_s,
        "frob_sigma": math.sqrt(max(fs.value, 0.0)),
        "top_h_eigenvalue": float(lam_h[-1]),
        "top_sigma_eigenvalue": float(lam_s.max()),
    }


def alignment_job(
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
        baseline_masks: dropout gradient draws for Σ̂ in the final baseline (even).
        baseline_samples: random eigenvector bases in the final baseline.

    Returns:
        ``{"diverged": False, "num_params", "subset", "subset_size", "curve": {...}, "final": {...}}`` where the
        curve holds lists ``steps``, ``alpha``, ``alpha_stderr``, ``subset_alpha``, ``subset_stderr``, ``loss``,
        ``test_accuracy`` and ``final`` is :func:`subset_baseline`'s dict; or ``{"diverged": True, "step",
        "quantity", "curve"}`` with the curve up to the divergence. Both also hold ``wall_s``, the job's wall time.
    """
    dt = {"float64": torch.float64, "float32": torch.float32}[check_choice(dtype, "dtype", ("float64", "float32"))]
    num_steps = check_positive_int(num_steps, "num_steps")
    eval_every = check_positive_int(eval_every, "eval_every")
    digits = load_digits_regression(seed=0, bias=False, dtype=dt)
    n = digits.X_train.shape[0] if n_train is None else check_positive_int(n_train, "n_train")
    X, Y = digits.X_train[:n], digits.y_train[:n]
    net = build_model(model, keep_prob, seed, widths=widths, channels=channels, hidden=hidden, dtype=dt)
    subset_name = SUBSETS[model]
    idx = parameter_indices(net, subset_name)
    meas_gen = torch.Generator().manual_seed(seed + 2000)
    start = time.perf_counter()
    try:
        c = alignment_along_training(
            net,
            _half_mse,
            X,
            Y,
            lr,
            num_steps,
            eval_every,
            generator=torch.Generator().manual_seed(seed + 1000),
            measurement_generator=meas_gen,
            X_test=digits.X_test,
            y_test=digits.y_test,
            num_masks=num_masks,
            num_probes=num_probes,
            num_hessian_masks=num_hessian_masks,
            sketch_size=sketch_size,
            extra_subsets={subset_name: idx},
        )
    except TrainingDiverged as err:
        return {
            "diverged": True,
            "step": err.step,
            "quantity": err.quantity,
            "curve": _curve_dict(err.curve, subset_name),
            "wall_s": time.perf_counter() - start,
        }
    curve = _curve_dict(c, subset_name)
    final = subset_baseline(
        net,
        _half_mse,
        X,
        Y,
        idx,
        num_masks=baseline_masks,
        num_hessian_masks=num_hessian_masks,
        num_samples=baseline_samples,
        generator=meas_gen,
    )
    return {
        "diverged": False,
        "num_params": sum(p.numel() for p in net.parameters()),
        "subset": subset_name,
        "subset_size": idx.numel(),
        "curve": curve,
        "final": final,
        "wall_s": time.perf_counter() - start,
    }


def build_jobs(
    quick: bool = False,
    models: Sequence[str] = MODELS,
    seeds: int = 1,
    steps: int | None = None,
    eval_every: int | None = None,
    num_masks: int | None = None,
    grid: Mapping[str, Sequence[tuple[float, float]]] | None = None,
) -> list[dict[str, Any]]:
    """One job per (model, (lr, keep_prob) in the grid, seed).

    ``quick``: tiny nets (FNN 64-8-8-10, conv channels (2, 4), hidden 8) on 60 images, 6 steps, α every 3 steps,
    16 gradient draws (seconds). Otherwise the paper-scale sizes of :data:`PAPER_STEPS` and :data:`PAPER_SAMPLES`.
    """
    seeds = check_positive_int(seeds, "seeds")
    grid = PAPER_GRID if grid is None else grid
    jobs = []
    for model in models:
        model = check_choice(model, "models", MODELS)
        n_steps, every = (6, 3) if quick else PAPER_STEPS[model]
        for lr, p in grid[model]:
            for s in range(seeds):
                job: dict[str, Any] = {
                    "model": model,
                    "lr": float(lr),
                    "keep_prob": float(p),
                    "seed": s,
                    "num_steps": steps or n_steps,
                    "eval_every": eval_every or every,
                    "dtype": DTYPES[model],
                }
                if quick:
                    job |= {"n_train": 60, **QUICK_SIZES[model], **QUICK_SAMPLES}
                else:
                    job |= dict(PAPER_SAMPLES)
                if num_masks is not None:
                    job["num_masks"] = num_masks
                jobs.append(job)
    return jobs


def _stats(values: list[float | None]) -> tuple[float, float, float]:
    """Min, mean and max; a value stored as ``None`` (non-finite) makes them NaN."""
    t = torch.tensor([math.nan if v is None else v for v in values], dtype=torch.float64)
    return float(t.min()), float(t.mean()), float(t.max())


def summary_table(results: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per (model, lr, keep_prob), from :func:`load_results`'s mapping: min/mean/max of α over training (all
    measurements of all seeds pooled; all parameters and the subset), the largest standard error, and seed
    means of the final dense subset α, the random baselines, the final training loss and test accuracy."""
    groups: dict[tuple[str, float, float], list[dict[str, Any]]] = {}
    diverged: dict[tuple[str, float, float], int] = {}
    for rec in results.values():
        prm, res = rec["params"], rec["result"]
        key = (prm["model"], prm["lr"], prm["keep_prob"])
        groups.setdefault(key, [])
        if res["diverged"]:
            diverged[key] = diverged.get(key, 0) + 1
        else:
            groups[key].append(res)
    order = {m: i for i, m in enumerate(MODELS)}
    table = []
    for key in sorted(groups, key=lambda k: (order[k[0]], k[1], -k[2])):
        runs = groups[key]
        entry: dict[str, Any] = {
            "model": key[0],
            "lr": key[1],
            "keep_prob": key[2],
            "num_seeds": len(runs),
            "num_diverged": diverged.get(key, 0),
        }
        if runs:
            c = [r["curve"] for r in runs]
            f = [r["final"] for r in runs]
            entry["alpha_min"], entry["alpha_mean"], entry["alpha_max"] = _stats([a for x in c for a in x["alpha"]])
            entry["subset_min"], entry["subset_mean"], entry["subset_max"] = _stats(
                [a for x in c for a in x["subset_alpha"]]
            )
            entry["max_stderr"] = _stats([e for x in c for e in x["alpha_stderr"] + x["subset_stderr"]])[2]
            entry["subset"] = runs[0]["subset"]
            for name, vals in (
                ("final_subset_exact", [x["alpha_exact"] for x in f]),
                ("baseline_expected", [x["baseline_expected"] for x in f]),
                ("baseline_unbiased", [x["baseline_unbiased"] for x in f]),
                ("baseline_sampled", [_stats(x["baseline_samples"])[1] for x in f]),
                ("final_loss", [x["loss"][-1] for x in c]),
                ("final_test_accuracy", [x["test_accuracy"][-1] for x in c]),
                ("wall_s", [r.get("wall_s") for r in runs]),
            ):
                entry[name] = _stats(vals)[1]
        table.append(entry)
    return table


def format_table(table: Sequence[Mapping[str, Any]]) -> str:
    """The summary table as text (one line per (model, lr, keep_prob))."""
    lines = [
        f"{'model':<5}{'lr':>6}{'keep':>6}  {'alpha all min/mean/max':>23}  {'alpha subset min/mean/max':>26}"
        f"{'max s.e.':>9}{'final exact':>12}{'baseline E/sampled':>20}{'loss':>8}{'test acc':>9}{'job s':>7}"
    ]
    for r in table:
        head = f"{r['model']:<5}{r['lr']:>6.3g}{r['keep_prob']:>6.3g}  "
        tail = f"  ({r['num_seeds']} seeds, {r['num_diverged']} diverged)"
        if not r["num_seeds"]:
            lines.append(head + "-" + tail)
            continue
        lines.append(
            head
            + f"{r['alpha_min']:>7.3f}{r['alpha_mean']:>8.3f}{r['alpha_max']:>8.3f}  "
            + f"{r['subset_min']:>10.3f}{r['subset_mean']:>8.3f}{r['subset_max']:>8.3f}"
            + f"{r['max_stderr']:>9.3f}{r['final_subset_exact']:>12.3f}"
            + f"{r['baseline_expected']:>11.2e}{r['baseline_sampled']:>9.2e}"
            + f"{r['final_loss']:>8.4f}{r['final_test_accuracy']:>9.3f}{r['wall_s']:>7.0f}"
            + tail
        )
    return "\n".join(lines)


def run(
    out: str,
    quick: bool = False,
    workers: int | None = None,
    executor: Executor | None = None,
    progress: bool = True,
    models: Sequence[str] = MODELS,
    seeds: int = 1,
    steps: int | None = None,
    eval_every: int | None = None,
    num_masks: int | None = None,
) -> list[dict[str, Any]]:
    """Run (or resume) every job and return :func:`summary_table` of this sweep's jobs."""
    jobs = build_jobs(quick, models, seeds=seeds, steps=steps, eval_every=eval_every, num_masks=num_masks)
    results = run_jobs(
        alignment_job,
        jobs,
        results_path=out,
        executor=executor,
        max_workers=workers,
        progress=progress,
        desc="alignment",
    )
    return summary_table(job_records(jobs, results))


def _cli(args: argparse.Namespace) -> None:
    table = run(
        args.out,
        quick=args.quick,
        workers=args.workers,
        models=args.models,
        seeds=args.seeds,
        steps=args.steps,
        eval_every=args.eval_every,
        num_masks=args.num_masks,
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
    "subset_baseline",
    "summary_table",
]
