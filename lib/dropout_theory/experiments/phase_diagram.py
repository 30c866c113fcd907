"""A numerical phase diagram: finite-n dropout along τ = τ₀ n^(−a), q = q₀ n^(−b), measured against its limits.

For every grid point (a, b) and width n the job :func:`phase_point` runs coupled variants from one
initialization with one mask stream and reports, at the horizon t, the RMS particle distance from dropout to

* ``"no_dropout"`` — gradient descent at the same step τ (→ Wasserstein gradient flow as τ → 0);
* ``"random_metric"`` — the same masks applied only to the gradients (Bernoulli clocks with jumps τ/q: the
  jump limits);
* ``"penalized"`` — no mask, explicit penalty κ = (1 − q)/(qn) (→ penalized flow);

and the sliced Wasserstein distance from the dropout cloud to a cloud of the PREDICTED limit (simulated from
the same initial particles with its own random stream). The distance to the right limit should shrink as n
grows; the others should not.

CLI: ``dropout-experiments phase-diagram [--out runs/phase-diagram.jsonl] [--workers 2] [--quick]``.
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
from dropout_theory.phase.classify import classify_phase, limit_parameters
from dropout_theory.phase.distances import sliced_wasserstein
from dropout_theory.phase.limits import (
    bernoulli_jump_process,
    critical_corner_process,
    penalized_flow,
    poisson_jump_process,
    wasserstein_gradient_flow,
)
from dropout_theory.phase.particles import pack_particles, simulate_coupled
from dropout_theory.phase.teacher_student import init_student, make_teacher_student

#: Book-scale grid: one point per phase plus a degenerate one (a, b as strings: exact rationals).
BOOK_POINTS: tuple[tuple[str, str], ...] = (
    ("0", "0"),
    ("1/4", "1/4"),
    ("1", "1/4"),
    ("5/4", "1"),
    ("1", "1"),
    ("1/4", "1/2"),
)
BOOK_WIDTHS: tuple[int, ...] = (20, 60, 200)
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
COMPARED: tuple[str, ...] = ("no_dropout", "random_metric", "penalized")


def phase_point(
    a: str,
    b: str,
    width: int,
    tau0: float = 0.1,
    keep0: float = 0.5,
    t_final: float = 1.0,
    repeats: int = 2,
    seed: int = 0,
    d: int = 5,
    num_points: int = 30,
    activation: str = "relu",
) -> dict[str, Any]:
    """One finite-n measurement (a job of the sweep; JSON in, JSON out).

    Args:
        a: learning-rate exponent (string "p/q" or number), τ = τ₀ n^(−a).
        b: keep-rate exponent, q = min(1, q₀ n^(−b)).
        width: n.
        tau0: τ₀.
        keep0: q₀.
        t_final: horizon in mean-field time; the run has ceil(t/τ) steps.
        repeats: independent initializations/mask streams, batched.
        seed: base seed (data use seed 0 always).
        d: input dimension of the small teacher–student problem.
        num_points: number of data points.
        activation: activation name.

    Returns:
        ``{"phase", "tau", "keep_prob", "steps", "rms": {variant: mean over repeats}, "rms_sd": {...},
        "loss", "sw_to_limit": float or None, "sw_to_gradient_flow", "diverged_at": step or None}``; a run
        that diverges (a :class:`~dropout_theory.DivergenceError`) is reported with ``diverged_at`` and
        ``None`` distances instead of raising, so a sweep over degenerate points completes.
    """
    from fractions import Fraction

    A, B = Fraction(a), Fraction(b)
    n = int(width)
    tau = tau0 * n ** (-float(A))
    q = min(1.0, keep0 * n ** (-float(B)))
    steps = math.ceil(t_final / tau - 1e-9)
    data = make_teacher_student(d, num_points, teacher_width=4, seed=0)
    a0, W0 = init_student(n, d, repeats=repeats, seed=seed)
    phase = classify_phase(A, B)
    try:
        run = simulate_coupled(
            a0,
            W0,
            data.X,
            data.y,
            tau=tau,
            keep_prob=q,
            num_steps=steps,
            variants=("dropout", *COMPARED),
            generator=torch.Generator().manual_seed(seed + 1),
            activation=activation,
            record_every=max(1, steps // 20),  # a divergence is caught within 5 % of the run
        )
    except DivergenceError as err:
        none = dict.fromkeys(COMPARED)
        return {
            "phase": phase,
            "tau": tau,
            "keep_prob": q,
            "steps": steps,
            "rms": none,
            "rms_sd": none,
            "loss": None,
            "sw_to_limit": None,
            "sw_to_gradient_flow": None,
            "diverged_at": err.step,
        }
    final = run.rms_to_reference[:, :, -1]
    out: dict[str, Any] = {
        "phase": phase,
        "tau": tau,
        "keep_prob": q,
        "steps": steps,
        "rms": {v: float(final[run.index(v)].mean()) for v in COMPARED},
        "rms_sd": {v: float(final[run.index(v)].std()) if repeats > 1 else 0.0 for v in COMPARED},
        "loss": float(run.loss[0, :, -1].mean()),
    }
    out["sw_to_limit"] = _sw_to_limit(A, B, tau0, keep0, a0[0], W0[0], data, run, steps, seed, activation)
    out["sw_to_gradient_flow"] = _sw_to_limit(
        0, 0, tau0, keep0, a0[0], W0[0], data, run, steps, seed, activation, force="gradient_flow"
    )
    out["diverged_at"] = None
    return out


def simulate_limit(
    a: Any,
    b: Any,
    tau0: float,
    keep0: float,
    a0,
    W0,
    X,
    y,
    t_run: float,
    steps: int,
    seed: int = 0,
    activation: str = "relu",
    force: str | None = None,
):
    """Simulate the limit predicted for (a, b) (or the phase named by ``force``) from particles (a0, W0).

    Returns:
        A :class:`~dropout_theory.phase.LimitPath`, or ``None`` for the degenerate phase.
    """
    params = limit_parameters(a, b, tau0, keep0)
    phase = force or params["phase"]
    g = torch.Generator().manual_seed(seed + 2)
    kw = {"activation": activation}
    if phase == "gradient_flow":
        return wasserstein_gradient_flow(a0, W0, X, y, t_final=t_run, dt=0.02, num_records=2, **kw)
    if phase == "penalized_flow":
        return penalized_flow(a0, W0, X, y, penalty=params["penalty"], t_final=t_run, dt=0.02, num_records=2, **kw)
    if phase == "poisson_jump":
        return poisson_jump_process(
            a0, W0, X, y, jump_size=params["jump_size"], t_final=t_run, num_records=2, generator=g, **kw
        )
    if phase == "bernoulli_jump":
        return bernoulli_jump_process(a0, W0, X, y, tau=tau0, keep_prob=keep0, num_steps=steps, generator=g, **kw)
    if phase == "critical":
        return critical_corner_process(
            a0,
            W0,
            X,
            y,
            jump_size=params["jump_size"],
            mean_kept=params["mean_kept"],
            t_final=t_run,
            num_records=2,
            generator=g,
            **kw,
        )
    return None


def _sw_to_limit(A, B, tau0, keep0, a0, W0, data, run, steps, seed, activation, force=None) -> float | None:
    lim = simulate_limit(A, B, tau0, keep0, a0, W0, data.X, data.y, steps * run.tau, steps, seed, activation, force)
    if lim is None:
        return None
    ours = pack_particles(run.a[0, 0], run.W[0, 0])
    theirs = pack_particles(lim.a[-1], lim.W[-1])
    return float(sliced_wasserstein(ours, theirs, num_projections=128, generator=torch.Generator().manual_seed(3)))


def dropout_and_limit(
    a: str,
    b: str,
    width: int,
    tau0: float = 0.1,
    keep0: float = 0.5,
    t_final: float = 1.0,
    seed: int = 0,
    d: int = 5,
    num_points: int = 30,
    activation: str = "relu",
) -> dict[str, Any]:
    """Finite-n dropout next to a cloud of its predicted limit and of the gradient flow (same initial particles).

    Returns:
        ``{"phase", "tau", "keep_prob", "steps", "clouds": {"dropout", "limit", "gradient flow"} ((n, 1 + d)
        tensors), "sw_to_limit", "sw_to_gradient_flow", "loss": {...}, "unmoved": {cloud: fraction of
        particles still at their initial position}, "unmoved_theory": the limit's value (:func:`unmoved_fraction`)}``.
    """
    from fractions import Fraction

    n = int(width)
    tau = tau0 * n ** (-float(Fraction(a)))
    q = min(1.0, keep0 * n ** (-float(Fraction(b))))
    steps = math.ceil(t_final / tau - 1e-9)
    data = make_teacher_student(d, num_points, teacher_width=4, seed=0)
    a0, W0 = init_student(n, d, seed=seed)
    run = simulate_coupled(
        a0,
        W0,
        data.X,
        data.y,
        tau=tau,
        keep_prob=q,
        num_steps=steps,
        variants=("dropout",),
        generator=torch.Generator().manual_seed(seed + 1),
        activation=activation,
        record_every=steps,
    )
    ours = pack_particles(run.a[0, 0], run.W[0, 0])
    start = pack_particles(a0, W0)
    out: dict[str, Any] = {"phase": classify_phase(a, b), "tau": tau, "keep_prob": q, "steps": steps}
    clouds, losses = {"dropout": ours}, {"dropout": float(run.loss[0, 0, -1])}
    for label, force in (("limit", None), ("gradient flow", "gradient_flow")):
        lim = simulate_limit(a, b, tau0, keep0, a0, W0, data.X, data.y, steps * tau, steps, seed, activation, force)
        if lim is None:
            continue
        clouds[label] = pack_particles(lim.a[-1], lim.W[-1])
        losses[label] = float(lim.loss[-1])
    sw = {
        k: float(sliced_wasserstein(ours, v, num_projections=128, generator=torch.Generator().manual_seed(3)))
        for k, v in clouds.items()
        if k != "dropout"
    }
    unmoved = {k: float((v == start).all(-1).to(torch.float64).mean()) for k, v in clouds.items()}
    out.update(
        clouds=clouds,
        loss=losses,
        sw_to_limit=sw.get("limit"),
        sw_to_gradient_flow=sw["gradient flow"],
        unmoved=unmoved,
        unmoved_theory=unmoved_fraction(a, b, tau0, keep0, steps * tau),
    )
    return out


def unmoved_fraction(a: Any, b: Any, tau0: float, keep0: float, t: float) -> float:
    """Fraction of particles of the LIMIT that have not jumped by time t: the signature of the clocks.

    Flows move every particle (0); Poisson clocks of rate 1/c leave e^(−t/c) unmoved (also at the critical
    corner); Bernoulli clocks leave (1 − q)^(t/τ).
    """
    p = limit_parameters(a, b, tau0, keep0)
    if p["phase"] in ("poisson_jump", "critical"):
        return math.exp(-t / p["jump_size"])
    if p["phase"] == "bernoulli_jump":
        return (1.0 - keep0) ** round(t / tau0)
    if p["phase"] == "degenerate":
        return float("nan")
    return 0.0


def fit_slopes(records: Sequence[dict[str, Any]]) -> dict[tuple[str, str], dict[str, float]]:
    """Least-squares slope of log(distance) against log(n) for each grid point and each distance.

    Returns:
        ``{(a, b): {"no_dropout": s, "random_metric": s, "penalized": s, "sw_to_limit": s}}`` (NaN where a
        distance is missing).
    """
    import numpy as np

    out: dict[tuple[str, str], dict[str, float]] = {}
    for key in dict.fromkeys((r["a"], r["b"]) for r in records):
        rs = sorted((r for r in records if (r["a"], r["b"]) == key), key=lambda r: r["width"])
        x = np.log([r["width"] for r in rs])
        slopes = {}
        for name in (*COMPARED, "sw_to_limit"):
            vals = [r["rms"][name] if name in COMPARED else r["sw_to_limit"] for r in rs]
            ok = all(v is not None and v > 0 for v in vals)
            slopes[name] = float(np.polyfit(x, np.log(vals), 1)[0]) if ok and len(vals) > 1 else float("nan")
        out[key] = slopes
    return out


def phase_jobs(
    points: Sequence[tuple[str, str]] = BOOK_POINTS, widths: Sequence[int] = BOOK_WIDTHS, **kwargs: Any
) -> list[dict[str, Any]]:
    """The job list of a sweep: every (a, b) × width, with the extra keyword arguments of :func:`phase_point`."""
    return [{"a": a, "b": b, "width": int(n), **kwargs} for a, b in points for n in widths]


def run_phase_diagram(
    points: Sequence[tuple[str, str]] = BOOK_POINTS,
    widths: Sequence[int] = BOOK_WIDTHS,
    *,
    results_path: str | None = None,
    executor: Executor | None = None,
    max_workers: int | None = None,
    progress: bool = True,
    **kwargs: Any,
) -> list[dict[str, Any]]:
    """Run the sweep through :func:`dropout_theory.experiments.run_jobs` (resumable, any Executor).

    Returns:
        One record per job: the job's parameters merged with its result.
    """
    jobs = phase_jobs(points, widths, **kwargs)
    results = run_jobs(
        phase_point,
        jobs,
        results_path=results_path,
        executor=executor,
        max_workers=max_workers,
        progress=progress,
        desc="phase diagram",
    )
    return [{**j, **r} for j, r in zip(jobs, results, strict=True)]


def _cli(args: argparse.Namespace) -> None:
    points = BOOK_POINTS if args.quick else FULL_POINTS
    widths = (20, 40) if args.quick else FULL_WIDTHS
    kwargs = {"repeats": 2 if args.quick else 8}
    records = run_phase_diagram(points, widths, results_path=args.out, max_workers=args.workers, **kwargs)
    print(f"{len(records)} results in {args.out}")


def register(subparsers: Any) -> None:
    """Add the ``phase-diagram`` subcommand."""
    p = add_experiment(
        subparsers,
        "phase-diagram",
        help="finite-n dropout along tau = n^-a, q = n^-b vs its limits (part III)",
        description=__doc__.splitlines()[0],
        quick_help="book-scale grid and small widths (smoke test)",
    )
    p.set_defaults(func=_cli)
