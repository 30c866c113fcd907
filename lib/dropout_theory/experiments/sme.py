"""Paper-scale runs of the chapter *Stochastic modified equations* (SME paper Figs. 1 and 2).

Three kinds of jobs, each a JSON-in/JSON-out call of :func:`sme_job`:

* ``"bands"`` — min/mean/max of the training risk over runs of dropout or the order-1 SME (Fig. 1a), on the
  8×8 digits (all 1,347 training images, inputs scaled to average norm 1/2, K = 10, bias), width 50;
* ``"weak"`` — one point ‖E Θ_t − E θ_t‖ of a weak-order study (Fig. 1b,c) on the chapter's teacher–student
  problem (n = 20, d = 3, m = 4), many runs, Heun-integrated SME with dt = η/2;
* ``"test"`` — test loss and accuracy of dropout, the SME and GD on L_S at (η, p) = (0.005, 0.9) and (1, 0.3)
  (Fig. 2), same digits setting as "bands".

In "bands" and "test" jobs the runs are simulated one by one, and a run that diverges is counted
(``num_diverged``, with its divergence record) rather than aborting the job; the summaries cover the surviving
runs. A "weak" job whose ensemble diverges returns ``{"diverged": True, "method", "divergence"}``; the weak-order
fit leaves it out and counts it.

The science is :func:`dropout_theory.two_layer.simulate`; this module builds the jobs. CLI:
``dropout-experiments sme [--out runs/sme.jsonl] [--workers 2] [--quick]``. Results are JSON lines
(:func:`dropout_theory.experiments.load_results`); :func:`weak_order_table` fits the slopes from them.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from typing import Any

import numpy as np
import torch

from dropout_theory._checks import DivergenceError, check_choice
from dropout_theory.data import load_digits_regression
from dropout_theory.experiments.cli import add_experiment
from dropout_theory.jobs import job_records, run_jobs
from dropout_theory.stats import fit_power_law
from dropout_theory.tables import Table
from dropout_theory.two_layer import init_params, simulate

FIG1_CASES: tuple[tuple[float, float], ...] = ((0.1, 0.9), (0.1, 0.5), (0.5, 0.9), (0.5, 0.5))
FIG2_CASES: tuple[tuple[float, float, int, int], ...] = ((0.005, 0.9, 20000, 1), (1.0, 0.3, 2000, 8))


def _digits(n_train: int | None, device: str | None = None):
    dg = load_digits_regression(input_norm=0.5, generator=0, device=device)
    n = dg.X_train.shape[0] if n_train is None else n_train
    return dg.X_train[:n], dg.y_train[:n], dg.X_test, dg.y_test, dg.labels_test


def _teacher_student(device: str | None = None):
    g = torch.Generator().manual_seed(0)  # drawn on the CPU: the same problem on every device
    X = torch.randn(20, 3, generator=g, dtype=torch.float64)
    y = torch.sin(X @ torch.randn(3, generator=g, dtype=torch.float64))
    a, W = init_params(4, 3, generator=g, scale_a=3.0)
    return a.to(device), W.to(device), X.to(device), y.to(device)


def _summary(values: torch.Tensor) -> dict[str, list[float]]:
    return {"mean": values.mean(0).tolist(), "min": values.min(0).values.tolist(), "max": values.max(0).values.tolist()}


def sme_job(
    *,
    kind: str,
    lr: float,
    keep_prob: float,
    method: str = "dropout",
    order: int = 1,
    width: int = 50,
    n_train: int | None = None,
    num_steps: int = 200,
    num_runs: int = 6,
    substeps: int = 1,
    horizon: float = 1.0,
    seed: int = 0,
    device: str | None = None,
) -> dict[str, Any]:
    """One job of the sweep (see the module docstring for the kinds). Returns a JSON-serializable dict.

    ``device``: where the runs are simulated (the problem and the initialization are the same numbers on every
    device; masks and noise come from a generator on that device).
    """
    check_choice(kind, "kind", ("bands", "weak", "test"))
    dev = torch.device(device or "cpu")
    if kind == "weak":
        gen = torch.Generator(device=dev).manual_seed(seed)
        a, W, X, y = _teacher_student(device)
        N = max(1, round(horizon / lr))
        means, variances = [], []
        for name in ("dropout", "sme"):
            try:
                ens = simulate(
                    a,
                    W,
                    X,
                    y,
                    method=name,
                    keep_prob=keep_prob,
                    lr=lr,
                    num_steps=N,
                    num_runs=num_runs,
                    order=order,
                    substeps=substeps,
                    scheme="heun",
                    generator=gen,
                    record_every=N,
                )
            except DivergenceError as err:
                return {"diverged": True, "method": name, "divergence": err.record.as_dict()}
            means.append(ens.theta.mean(0))
            variances.append(ens.theta.var(0))
        err = float(torch.linalg.vector_norm(means[0] - means[1]))
        se = float(((variances[0] + variances[1]).sum() / num_runs).sqrt())
        return {"diverged": False, "error": err, "std_error": se}
    X, Y, Xt, Yt, labels = _digits(n_train, device)
    a0, W0 = (t.to(dev) for t in init_params(width, X.shape[1], 10, generator=torch.Generator().manual_seed(0)))
    runs = 1 if method == "gd_modified" else num_runs
    # one run at a time, so that a run that blows up is counted instead of discarding the ensemble
    kept, failures = [], []
    for r in range(runs):
        try:
            kept.append(
                simulate(
                    a0,
                    W0,
                    X,
                    Y,
                    method=method,
                    keep_prob=keep_prob,
                    lr=lr,
                    num_steps=num_steps,
                    substeps=substeps,
                    generator=torch.Generator(device=dev).manual_seed(1000 * seed + r),
                    record_every=max(1, num_steps // 100),
                    X_test=Xt,
                    y_test=Yt,
                    labels_test=labels,
                )
            )
        except DivergenceError as err:
            failures.append({"run": r, **err.record.as_dict()})
    out: dict[str, Any] = {"diverged": not kept, "num_runs": runs, "num_diverged": len(failures), "failures": failures}
    if not kept:
        return out
    cat = torch.cat
    out["steps"] = kept[0].steps.tolist()
    out["train_loss"] = _summary(cat([e.train_loss for e in kept]))
    if kind == "test":
        out["test_loss"] = _summary(cat([e.test_loss for e in kept]))
        out["test_accuracy"] = _summary(cat([e.test_accuracy for e in kept]))
    return out


def build_jobs(quick: bool = False) -> list[dict[str, Any]]:
    """The job list: paper scale, or a smoke-test version with ``quick``."""
    jobs: list[dict[str, Any]] = []
    width, n_train, steps = (8, 100, 20) if quick else (50, None, 1000)
    for lr, p in FIG1_CASES:
        for method in ("dropout", "sme"):
            jobs.append(
                {
                    "kind": "bands",
                    "lr": lr,
                    "keep_prob": p,
                    "method": method,
                    "width": width,
                    "n_train": n_train,
                    "num_steps": steps,
                    "num_runs": 6,
                    "seed": 1,
                }
            )
    for lr, p, fig2_steps, sub in FIG2_CASES:
        for method in ("dropout", "sme", "gd_modified"):
            jobs.append(
                {
                    "kind": "test",
                    "lr": lr,
                    "keep_prob": p,
                    "method": method,
                    "width": width,
                    "n_train": n_train,
                    "num_steps": 20 if quick else fig2_steps,
                    "num_runs": 6,
                    "substeps": sub,
                    "seed": 2,
                }
            )
    if quick:
        weak = [(1, (0.9,), (0.2, 0.1), 200), (2, (0.9,), (0.4, 0.2), 200)]
    else:
        weak = [
            (1, (0.5, 0.7, 0.9, 0.97), (0.4, 0.2, 0.1, 0.05, 0.025), 20000),
            (2, (0.5, 0.7, 0.9, 0.97), (0.4, 0.2, 0.1, 0.05), 100000),
        ]
    for order, keep_probs, lrs, runs in weak:
        for p in keep_probs:
            for lr in lrs:
                jobs.append(
                    {
                        "kind": "weak",
                        "lr": lr,
                        "keep_prob": p,
                        "order": order,
                        "num_runs": runs,
                        "substeps": 2,
                        "horizon": 1.0,
                        "seed": 3,
                    }
                )
    return jobs


def weak_order_table(results: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Fitted log–log slopes (with their standard errors, :func:`dropout_theory.stats.fit_power_law`) per
    (order, keep_prob) from a results mapping (:func:`load_results`, or :func:`dropout_theory.experiments.job_records`
    of one sweep). Diverged jobs are left out of the fit and counted (``num_diverged``); the slope is NaN with fewer
    than two learning rates."""
    groups: dict[tuple[int, float], list[tuple[float, float, float]]] = {}
    diverged: dict[tuple[int, float], int] = {}
    for rec in results.values():
        prm, res = rec["params"], rec["result"]
        if prm.get("kind") != "weak":
            continue
        key = (prm["order"], prm["keep_prob"])
        groups.setdefault(key, [])
        if res.get("diverged"):
            diverged[key] = diverged.get(key, 0) + 1
        else:
            groups[key].append((prm["lr"], res["error"], res["std_error"]))
    table = []
    for (order, p), pts in sorted(groups.items()):
        pts.sort()
        lrs, errs, ses = (np.asarray(c, dtype=np.float64) for c in (list(zip(*pts, strict=True)) or [(), (), ()]))
        fit = fit_power_law(lrs, errs) if len(pts) > 1 else None
        table.append(
            {
                "order": order,
                "keep_prob": p,
                "lrs": lrs.tolist(),
                "errors": errs.tolist(),
                "std_errors": ses.tolist(),
                "slope": math.nan if fit is None else fit.exponent,
                "slope_stderr": math.nan if fit is None else fit.stderr,
                "num_diverged": diverged.get((order, p), 0),
            }
        )
    return table


def run(
    results_path: str | None,
    *,
    quick: bool = False,
    max_workers: int | None = None,
    executor: Executor | None = None,
    progress: bool = True,
    device: str | None = None,
) -> list[dict[str, Any]]:
    """Run (or resume) every job (on ``device``) and return the weak-order table of this sweep's jobs."""
    jobs = build_jobs(quick)
    results = run_jobs(
        sme_job,
        jobs,
        results_path=results_path,
        executor=executor,
        max_workers=max_workers,
        progress=progress,
        desc="sme",
        device=device,
    )
    return weak_order_table(job_records(jobs, results))


def _cli(args: argparse.Namespace) -> None:
    table = run(args.out, quick=args.quick, max_workers=args.workers, executor=args.pool, device=args.device)
    rows = [
        (row["order"], row["keep_prob"], ", ".join(f"{e:.2e}" for e in row["errors"]),
         f"{row['slope']:.2f} ± {row['slope_stderr']:.2f}", row["num_diverged"])
        for row in table
    ]  # fmt: skip
    headers = ("order", "keep_prob", "weak errors", "slope", "diverged")
    print(Table.build(headers, rows, formats=("d", "g", "", "", "d")))
    print(f"results in {args.out}")


def register(subparsers: Any) -> None:
    """Add the ``sme`` subcommand."""
    p = add_experiment(
        subparsers,
        "sme",
        help="dropout vs its SMEs at paper scale: loss bands, weak orders, test metrics (part I)",
        description=__doc__.splitlines()[0],
        quick_help="tiny sizes (smoke test, under a minute)",
    )
    p.set_defaults(func=_cli)


__all__: Sequence[str] = ["build_jobs", "register", "run", "sme_job", "weak_order_table"]
