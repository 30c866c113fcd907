"""Paper-scale runs of the chapter *Stochastic modified equations* (SME paper Figs. 1 and 2).

Four kinds of jobs, each a JSON-in/JSON-out call of :func:`sme_job`:

* ``"bands"`` — min/mean/max of the training risk over runs of dropout or the order-1 SME (Fig. 1a), on the
  8×8 digits (all 1,348 training images unless ``n_train`` is given, inputs scaled to average norm 1/2, K = 10,
  bias), width 50;
* ``"weak"`` — one point ‖E Θ_t − E θ_t‖ of a weak-order study (Fig. 1b,c), many runs, Heun-integrated SME with
  dt = η/2, on the chapter's teacher–student problem (``problem="toy"``: n = 20, d = 3, m = 4) or on the digits
  (``problem="digits"``: the first 100 training images, width 10, K = 10, D = 750);
* ``"test"`` — test loss and accuracy of dropout, the SME and GD on L_S at (η, p) = (0.005, 0.9) and (1, 0.3)
  (Fig. 2), same digits setting as "bands";
* ``"gap"`` — the distance between the mean of many dropout runs and gradient descent on L_S (and on R_S) at the
  time horizon t = ηN = 40, as in the chapter *The modified loss* (width 20, the first 300 training images, keep
  probability 0.5): the unbiased squared distance with its standard error
  (:func:`dropout_theory.stats.squared_distance_of_mean`), relative to ‖θ_GD‖².

In "bands" and "test" jobs the runs are simulated one by one, and a run that diverges is counted
(``num_diverged``, with its divergence record) rather than aborting the job; the summaries (mean, min and max
curves) and the per-run final values (``final``, for means with standard errors) cover the surviving runs. A
"weak" job whose ensemble diverges returns ``{"diverged": True, "method", "divergence"}``; the weak-order
fit leaves it out and counts it.

The science is :func:`dropout_theory.two_layer.simulate`; this module builds the jobs. CLI:
``dropout-experiments sme [--out runs/sme.jsonl] [--workers 2] [--quick] [--n-train N] [--fig2a-steps N]
[--toy-runs R1 R2] [--digits-runs R1 R2] [--gap-runs R]``. Results are JSON lines
(:func:`dropout_theory.jobs.load_results`); :func:`dropout_theory.two_layer.weak_order_table` fits the slopes from
them and :func:`dropout_theory.two_layer.gap_table` tabulates the modified-loss gaps (the chapters read stored runs
through those functions).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from typing import Any

import torch

from dropout_theory._checks import DivergenceError, check_choice
from dropout_theory.data import load_digits_regression
from dropout_theory.experiments.cli import add_experiment, int_at_least, positive_int
from dropout_theory.jobs import job_records, run_jobs
from dropout_theory.stats import squared_distance_of_mean
from dropout_theory.tables import Table
from dropout_theory.two_layer import init_params, simulate, weak_order_table

FIG1_CASES: tuple[tuple[float, float], ...] = ((0.1, 0.9), (0.1, 0.5), (0.5, 0.9), (0.5, 0.5))
FIG2_CASES: tuple[tuple[float, float, int, int], ...] = ((0.005, 0.9, 20000, 1), (1.0, 0.3, 2000, 8))
GAP_LRS: tuple[float, ...] = (0.05, 0.1, 0.2, 0.4)
#: The kinds of jobs (see the module docstring), in the order :func:`build_jobs` lists them.
KINDS: tuple[str, ...] = ("bands", "test", "gap", "weak")
#: Weak-order studies: (problem, order, keep probabilities, learning rates, runs per point) at paper scale.
WEAK_STUDIES: tuple[tuple[str, int, tuple[float, ...], tuple[float, ...], int], ...] = (
    ("toy", 1, (0.5, 0.7, 0.9, 0.97), (0.4, 0.2, 0.1, 0.05, 0.025), 20000),
    ("toy", 2, (0.5, 0.7, 0.9, 0.97), (0.4, 0.2, 0.1, 0.05), 100000),
    ("digits", 1, (0.5, 0.9), (0.4, 0.2, 0.1, 0.05), 20000),
    ("digits", 2, (0.9,), (0.4, 0.2, 0.1), 20000),
)


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


def _digits_weak(device: str | None = None):
    dg = load_digits_regression(input_norm=0.5, generator=0, device=device)
    X, y = dg.X_train[:100], dg.y_train[:100]
    a, W = init_params(10, X.shape[1], 10, generator=torch.Generator().manual_seed(0))  # on the CPU, then moved
    return a.to(device), W.to(device), X, y


def _gap_job(lr: float, keep_prob: float, num_runs: int, seed: int, device: str | None = None) -> dict[str, Any]:
    dg = load_digits_regression(input_norm=0.5, generator=0, device=device)
    X, y = dg.X_train[:300], dg.y_train[:300]
    a0, W0 = (t.to(device) for t in init_params(20, X.shape[1], 10, generator=torch.Generator().manual_seed(0)))
    N = round(40.0 / lr)
    common = {"keep_prob": keep_prob, "lr": lr, "num_steps": N, "record_every": N}
    try:
        drop = simulate(
            a0,
            W0,
            X,
            y,
            method="dropout",
            num_runs=num_runs,
            generator=torch.Generator(device=device or "cpu").manual_seed(seed),
            **common,
        )
    except DivergenceError as err:
        return {"diverged": True, "divergence": err.record.as_dict()}
    out: dict[str, Any] = {"diverged": False, "num_runs": num_runs, "num_steps": N}
    for name, method in (("modified", "gd_modified"), ("plain", "gd")):
        ref = simulate(a0, W0, X, y, method=method, **common).theta[0]
        sq = squared_distance_of_mean(drop.theta, ref)
        norm_sq = float(ref @ ref)
        plug_in = float((drop.theta.mean(0) - ref).norm()) / math.sqrt(norm_sq)
        out[name] = {"relative_sq": sq.value / norm_sq, "relative_sq_stderr": sq.stderr / norm_sq, "plug_in": plug_in}
    return out


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
    problem: str = "toy",
    device: str | None = None,
) -> dict[str, Any]:
    """One job of the sweep (see the module docstring for the kinds). Returns a JSON-serializable dict.

    ``device``: where the runs are simulated (the problem and the initialization are the same numbers on every
    device; masks and noise come from a generator on that device).
    """
    check_choice(kind, "kind", ("bands", "weak", "test", "gap"))
    dev = torch.device(device or "cpu")
    if kind == "gap":
        return _gap_job(lr, keep_prob, num_runs, seed, device)
    if kind == "weak":
        gen = torch.Generator(device=dev).manual_seed(seed)
        problem = check_choice(problem, "problem", ("toy", "digits"))
        a, W, X, y = _teacher_student(device) if problem == "toy" else _digits_weak(device)
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
    out["final"] = {"train_loss": cat([e.train_loss[:, -1] for e in kept]).tolist()}
    if kind == "test":
        out["test_loss"] = _summary(cat([e.test_loss for e in kept]))
        out["test_accuracy"] = _summary(cat([e.test_accuracy for e in kept]))
        out["final"] |= {q: cat([getattr(e, q)[:, -1] for e in kept]).tolist() for q in ("test_loss", "test_accuracy")}
    return out


def build_jobs(
    *,
    quick: bool = False,
    n_train: int | None = None,
    fig2a_steps: int | None = None,
    weak_runs: Mapping[str, int] | None = None,
    gap_runs: int = 300,
    kinds: Sequence[str] = KINDS,
) -> list[dict[str, Any]]:
    """The job list: paper scale, or a smoke-test version with ``quick``.

    Args:
        quick: tiny sizes (smoke test).
        n_train: training images of the "bands" and "test" jobs (default all 1,348).
        fig2a_steps: steps of Fig. 2(a) at η = 0.005 (default 20,000, t = 100).
        weak_runs: runs per point of the weak-order studies by ``"toy order 1"``, ``"toy order 2"``,
            ``"digits order 1"``, ``"digits order 2"`` (defaults in :data:`WEAK_STUDIES`).
        gap_runs: dropout runs per learning rate of the "gap" jobs.
        kinds: the kinds of jobs to list (a subset of :data:`KINDS`; default all).
    """
    for kind in kinds:
        check_choice(kind, "kinds", KINDS)
    jobs: list[dict[str, Any]] = []
    width, n_train, steps = (8, 100, 20) if quick else (50, n_train, 1000)
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
        if lr == 0.005 and fig2a_steps is not None:
            fig2_steps = fig2a_steps
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
    for lr in GAP_LRS[-2:] if quick else GAP_LRS:
        jobs.append({"kind": "gap", "lr": lr, "keep_prob": 0.5, "num_runs": 6 if quick else gap_runs, "seed": 4})
    if quick:
        weak = [("toy", 1, (0.9,), (0.2, 0.1), 200), ("toy", 2, (0.9,), (0.4, 0.2), 200)]
    else:
        runs = dict(weak_runs or {})
        weak = [(pr, o, kp, lrs, runs.get(f"{pr} order {o}", r)) for pr, o, kp, lrs, r in WEAK_STUDIES]
    for problem, order, keep_probs, lrs, runs in weak:
        for p in keep_probs:
            for lr in lrs:
                job = {
                    "kind": "weak",
                    "lr": lr,
                    "keep_prob": p,
                    "order": order,
                    "num_runs": runs,
                    "substeps": 2,
                    "horizon": 1.0,
                    "seed": 3,
                }
                if problem != "toy":
                    job["problem"] = problem
                jobs.append(job)
    return [job for job in jobs if job["kind"] in kinds]


def run(
    results_path: str | None,
    *,
    quick: bool = False,
    max_workers: int | None = None,
    executor: Executor | None = None,
    progress: bool = True,
    device: str | None = None,
    **sizes: Any,
) -> list[dict[str, Any]]:
    """Run (or resume) every job of :func:`build_jobs` (``sizes`` holds its keyword arguments) on ``device`` and
    return the weak-order table of this sweep's jobs."""
    jobs = build_jobs(quick=quick, **sizes)
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


def weak_runs_option(toy_runs: Sequence[int] | None, digits_runs: Sequence[int] | None) -> dict[str, int]:
    """The ``weak_runs`` of :func:`build_jobs` from the ``--toy-runs R1 R2`` and ``--digits-runs R1 R2`` options
    (runs per point for order 1 and order 2; ``None`` keeps the defaults), as the command line and the run header
    hold them."""
    pairs = (("toy", toy_runs), ("digits", digits_runs))
    return {f"{problem} order {k + 1}": int(runs[k]) for problem, runs in pairs if runs for k in range(2)}


def _cli(args: argparse.Namespace) -> None:
    weak_runs = weak_runs_option(args.toy_runs, args.digits_runs)
    table = run(
        args.out,
        quick=args.quick,
        max_workers=args.workers,
        executor=args.pool,
        device=args.device,
        n_train=args.n_train,
        fig2a_steps=args.fig2a_steps,
        weak_runs=weak_runs,
        gap_runs=args.gap_runs,
        kinds=args.kinds,
    )
    rows = [
        (row["problem"], row["order"], row["keep_prob"], ", ".join(f"{e:.2e}" for e in row["errors"]),
         f"{row['slope']:.2f} ± {row['slope_stderr']:.2f}", row["num_diverged"])
        for row in table
    ]  # fmt: skip
    headers = ("problem", "order", "keep_prob", "weak errors", "slope", "diverged")
    print(Table.build(headers, rows, formats=("", "d", "g", "", "", "d")))
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
    p.add_argument(
        "--n-train", type=positive_int, default=None, help="training images of Figs. 1a and 2 (default: all 1,348)"
    )
    p.add_argument(
        "--fig2a-steps", type=positive_int, default=None, help="steps of Fig. 2(a) at lr 0.005 (default 20000)"
    )
    p.add_argument(
        "--toy-runs", type=positive_int, nargs=2, default=None, help="runs per weak-order point on the "
        "teacher-student problem, order 1 and order 2 (default 20000 100000)",
    )  # fmt: skip
    p.add_argument(
        "--digits-runs", type=positive_int, nargs=2, default=None, help="runs per weak-order point on the digits, "
        "order 1 and order 2 (default 20000 20000)",
    )  # fmt: skip
    p.add_argument(
        "--gap-runs", type=int_at_least(3), default=300, help="dropout runs per learning rate of the modified-loss "
        "gap (default 300)",
    )  # fmt: skip
    p.add_argument(
        "--kinds", nargs="+", choices=KINDS, default=list(KINDS), help="kinds of jobs to run: bands (Fig. 1a), "
        "test (Fig. 2), gap (modified-loss gaps), weak (weak orders); default all",
    )  # fmt: skip
    p.set_defaults(func=_cli)


__all__: Sequence[str] = [
    "KINDS",
    "build_jobs",
    "register",
    "run",
    "sme_job",
    "weak_runs_option",
]
