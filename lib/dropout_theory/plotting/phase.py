"""Figures of part III: the phase map, distances against width, limit clouds, RMS curves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from dropout_theory.phase import (
    VARIANT_NAMES,
    DigitsCurves,
    MnistSummary,
    PhaseDiagram,
    TeacherStudentSummary,
    classify_phase,
)
from dropout_theory.plotting.style import BOOK_FIGURE_WIDTH

PHASE_COLORS = {
    "gradient_flow": "C0",
    "penalized_flow": "C1",
    "poisson_jump": "C2",
    "bernoulli_jump": "C4",
    "critical": "C3",
    "degenerate": "0.6",
}
VARIANT_LABELS = {
    "random_metric": "random metric",
    "propagation_noise_random_metric": "propagation noise + random metric",
    "propagation_noise": "propagation noise only",
    "no_dropout": "no dropout",
    "penalized": "explicit penalty",
    "dropout": "dropout",
}
#: One colour per variant, the same in every Part III figure.
VARIANT_COLORS = {
    "dropout": "k",
    "random_metric": "C0",
    "propagation_noise_random_metric": "C1",
    "no_dropout": "C2",
    "propagation_noise": "C3",
    "penalized": "C4",
}


def plot_phase_map(
    points: Sequence[tuple[float, float]] | None = None,
    *,
    a_max: float = 2.0,
    b_max: float = 1.5,
    ax: Axes | None = None,
) -> Axes:
    """The derived phase map in the (a, b) plane (τ = n^(−a), q = n^(−b)), every region and boundary labelled.

    Args:
        points: optional (a, b) points to mark, coloured by :func:`classify_phase`.
        a_max: right end of the a axis.
        b_max: top of the b axis.
        ax: axes (a new figure when ``None``).

    Returns:
        The axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(BOOK_FIGURE_WIDTH, 4.6))
    a = np.linspace(-0.3, a_max, 400)
    ax.fill_between(a, np.minimum(np.maximum(a, 0), 1), b_max, color=PHASE_COLORS["degenerate"], alpha=0.35, lw=0)
    ax.fill_between(a, 0, np.minimum(np.maximum(a, 0), 1), color=PHASE_COLORS["gradient_flow"], alpha=0.25, lw=0)
    ax.plot([0, 1], [0, 1], color=PHASE_COLORS["poisson_jump"], lw=3.5)
    ax.plot([1, a_max], [1, 1], color=PHASE_COLORS["penalized_flow"], lw=3.5)
    ax.plot([0], [0], "o", ms=11, color=PHASE_COLORS["bernoulli_jump"], zorder=5)
    ax.plot([1], [1], "*", ms=16, color=PHASE_COLORS["critical"], zorder=5)
    ax.text(1.25, 0.35, "gradient flow\n(τ/q → 0, nq → ∞)", fontsize=9, color="C0")
    ax.text(0.2, 1.2, "degenerate (b > min(a, 1))", fontsize=9, color="0.25")
    ax.text(0.58, 0.4, "Poisson jumps\n(a = b ∈ (0, 1))", fontsize=9, color="C2", ha="left")
    ax.text(1.15, 1.04, "penalized flow (b = 1, a > 1)", fontsize=9, color="C1")
    ax.annotate("Bernoulli jumps (0, 0)", (0, 0), (0.12, -0.14), fontsize=9, color="C4")
    ax.annotate("critical (1, 1)", (1, 1), (0.62, 1.1), fontsize=9, color="C3")
    if points:
        for pa, pb in points:
            color = PHASE_COLORS[classify_phase(pa, pb)]
            ax.plot(eval_fraction(pa), eval_fraction(pb), "X", ms=9, mec="k", mfc=color, zorder=6)
    ax.set_xlim(-0.3, a_max)
    ax.set_ylim(-0.2, b_max)
    ax.set_xlabel(r"$a$  (learning rate $\tau = n^{-a}$)")
    ax.set_ylabel(r"$b$  (keep rate $q = n^{-b}$)")
    ax.set_title("Phases of dropout as the width n → ∞ (our derivation)")
    return ax


def eval_fraction(x: Any) -> float:
    """A float from a number or a string like "5/4"."""
    from fractions import Fraction

    return float(Fraction(x)) if isinstance(x, str) else float(x)


def plot_distances_vs_width(diagram: PhaseDiagram, *, ncols: int = 3) -> Figure:
    """One panel per (a, b): coupled RMS distances of dropout and SW distance to the predicted limit vs n.

    Args:
        diagram: measurements of :func:`dropout_theory.phase.phase_diagram`.
        ncols: panels per row.

    Returns:
        The figure.
    """
    records = diagram.points
    keys = list(dict.fromkeys((r.a, r.b) for r in records))
    nrows = int(np.ceil(len(keys) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(BOOK_FIGURE_WIDTH, 2.6 * nrows), squeeze=False, sharey=True)
    for ax, (pa, pb) in zip(axes.flat, keys, strict=False):
        rs = sorted((r for r in records if (r.a, r.b) == (pa, pb)), key=lambda r: r.width)
        n = [r.width for r in rs]
        for i, v in enumerate(("no_dropout", "random_metric", "penalized")):
            vals = [r.rms[v] if r.rms[v] is not None else np.nan for r in rs]
            ax.plot(n, vals, "o-", color=f"C{i}", label=f"RMS to {VARIANT_LABELS[v]}")
        sw = [r.sw_to_limit if r.sw_to_limit is not None else np.nan for r in rs]
        ax.plot(n, sw, "k^--", label="SW to the predicted limit")
        ax.set_xscale("log")
        ax.set_yscale("log")
        # The measured widths (at most four of them, the last included) as the only x ticks: log-axis minor
        # labels like 2×10¹ 3×10¹ would collide.
        ticks = n[::-1][:: -(-len(n) // 4)][::-1]
        ax.set_xticks(ticks, [str(w) for w in ticks])
        ax.xaxis.set_minor_locator(mticker.NullLocator())
        ax.set_title(f"({pa}, {pb}): {rs[0].phase.replace('_', ' ')}", fontsize=9)
        ax.set_xlabel("width n")
    for ax in axes.flat[len(keys) :]:
        ax.axis("off")
    axes[0, 0].set_ylabel("distance at time t")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_clouds(clouds: Mapping[str, Any], *, coords: tuple[int, int] = (0, 1), ax: Axes | None = None) -> Axes:
    """Scatter of particle clouds in two coordinates (0 = a_i, 1 = first entry of w_i).

    Args:
        clouds: label → (n, 1 + d) particles (tensor or array).
        coords: the two coordinates shown.
        ax: axes.

    Returns:
        The axes.
    """
    if ax is None:
        _, ax = plt.subplots()
    for i, (label, P) in enumerate(clouds.items()):
        P = np.asarray(P)
        ax.scatter(P[:, coords[0]], P[:, coords[1]], s=6, alpha=0.5, color=f"C{i}", label=label)
    ax.set_xlabel("$a_i$" if coords[0] == 0 else f"coordinate {coords[0]}")
    ax.set_ylabel("$w_{i,1}$" if coords[1] == 1 else f"coordinate {coords[1]}")
    ax.legend(fontsize=8, markerscale=2)
    return ax


def plot_rms_curves(summary: TeacherStudentSummary, *, axes: Sequence[Axes] | None = None) -> Figure:
    """Teacher–student: RMS distance of dropout to each variant against the step, one panel per variant, one curve
    per width (mean over the repeats, band ± one standard error).

    Args:
        summary: output of :func:`dropout_theory.phase.teacher_student_experiment` (or a stored run).
        axes: optional axes, one per variant.

    Returns:
        The figure.
    """
    widths = summary.widths
    variants = summary.variants
    if axes is None:
        fig, grid = plt.subplots(1, len(variants), figsize=(BOOK_FIGURE_WIDTH, 3.0), sharey=True, squeeze=False)
        axes = list(grid[0])
    else:
        fig = axes[0].figure
    for ax, v in zip(axes, variants, strict=True):
        for i, (n, s) in enumerate(widths.items()):
            color = plt.cm.viridis(i / max(1, len(widths) - 1))
            m, sd = np.asarray(s.rms_mean[v]), np.asarray(s.rms_sd[v])
            se = sd / np.sqrt(max(1, s.num_repeats))
            ax.plot(s.steps, m, color=color, label=f"n = {n}")
            ax.fill_between(s.steps, m - se, m + se, color=color, alpha=0.25)
        ax.set_title(f"dropout vs\n{VARIANT_LABELS[v]}", fontsize=9)  # two lines: three panels share the row
        ax.set_xlabel("step k")
    axes[0].set_ylabel("RMS particle distance")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_rms_vs_width(summary: TeacherStudentSummary, step: int, *, ax: Axes | None = None) -> Axes:
    """The phase paper's headline figure: RMS distance of dropout to each variant at one step against the width,
    log–log, mean ± standard error over the repeats, with the least-squares power law and its slope ± s.e.

    Args:
        summary: the experiment (e.g. a stored run).
        step: a recorded step.
        ax: axes.

    Returns:
        The axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(5.0, 3.8))
    fits = summary.slopes(step)
    for v, by_width in summary.rms_at(step).items():
        n = np.array(list(by_width), dtype=float)
        m = np.array([e.value for e in by_width.values()])
        se = np.array([e.stderr for e in by_width.values()])
        fit = fits[v]
        color = VARIANT_COLORS[v]
        ax.errorbar(n, m, yerr=se, fmt="o", color=color, ms=4, capsize=2,
                    label=f"{VARIANT_LABELS[v]}: slope {fit.exponent:+.2f} ± {fit.stderr:.1g}")  # fmt: skip
        ax.plot(n, fit.predict(n), "--", color=color, lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    widths = sorted({n for by_width in summary.rms_at(step).values() for n in by_width})
    ax.set_xticks(widths, [str(n) for n in widths])
    ax.xaxis.set_minor_formatter(plt.NullFormatter())
    ax.set_xlabel("width n")
    ax.set_ylabel(f"RMS distance to dropout at step {step}")
    ax.legend(fontsize=8)
    return ax


def plot_part_sizes(scalings: Mapping[str, tuple[float, float]], *, t: float = 1.0, ax: Axes | None = None) -> Axes:
    """Accumulated sizes of the update's parts over the horizon t against n, for τ = n^(−a), q = min(1, n^(−b)/2).

    Solid: random-metric variance tτ(1−q)/q; dashed: propagation-noise variance tτ(1−q)/(q²n); dotted:
    self-term drift t(1−q)/(qn) (the penalty). One colour per scaling.

    Args:
        scalings: label → (a, b).
        t: horizon.
        ax: axes.

    Returns:
        The axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(BOOK_FIGURE_WIDTH, 4.0))
    n = np.logspace(1, 6, 60)
    for i, (label, (a, b)) in enumerate(scalings.items()):
        tau = n ** (-float(a))
        q = np.minimum(1.0, 0.5 * n ** (-float(b)))
        c = f"C{i}"
        ax.plot(n, t * tau * (1 - q) / q, "-", color=c, label=f"{label}: random metric")
        ax.plot(n, t * tau * (1 - q) / (q * q * n), "--", color=c, label="  propagation noise")
        ax.plot(n, t * (1 - q) / (q * n), ":", color=c, label="  self term (penalty)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("width n")
    ax.set_ylabel("accumulated size over t")
    ax.legend(fontsize=8, ncol=2)
    return ax


def plot_penalty_sweep(rows: Mapping[str, Sequence[tuple[float, float]]], *, ax: Axes | None = None) -> Axes:
    """Ratio d(dropout, penalized)/d(dropout, no dropout) against τ·n, one curve per keep-rate setting.

    Args:
        rows: label → [(τ·n, ratio), ...].
        ax: axes.

    Returns:
        The axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(BOOK_FIGURE_WIDTH, 3.6))
    for i, (label, pts) in enumerate(rows.items()):
        x, r = zip(*pts, strict=True)
        ax.plot(x, r, "o-", color=f"C{i}", label=label)
    ax.axvline(1.0, color="k", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel(r"$\tau \cdot n$ (master step × width)")
    ax.set_ylabel("d(dropout, penalized) / d(dropout, no dropout)")
    ax.legend(fontsize=8)
    return ax


def plot_digits_curves(res: DigitsCurves, *, axes: Sequence[Axes] | None = None) -> Figure:
    """Train/test loss and test accuracy of the coupled variants on 8×8 digits (parity task,
    :func:`dropout_theory.phase.digits_parity_curves`)."""
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(BOOK_FIGURE_WIDTH, 3.0))
    else:
        fig = axes[0].figure
    for i, v in enumerate(res.train_loss):
        axes[0].plot(res.steps, res.train_loss[v], color=f"C{i}", label=f"{v} (train)")
        axes[0].plot(res.steps, res.test_loss[v], color=f"C{i}", ls="--", label=f"{v} (test)")
        axes[1].plot(res.steps, res.test_accuracy[v], color=f"C{i}", label=v)
    axes[0].set_ylabel("loss")
    axes[1].set_ylabel("test accuracy (parity)")
    for ax in axes:
        ax.set_xlabel("step k")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_mnist_curves(
    summary: MnistSummary, *, keep_prob: float, metric: str = "test_loss", ax: Axes | None = None
) -> Axes:
    """One metric of the MNIST experiment along training, one curve per variant (mean ± s.e. over the repeats).

    Args:
        summary: the experiment (e.g. a stored run).
        keep_prob: the keep rate of the runs shown.
        metric: a recorded metric (``"test_loss"``, ``"val_accuracy"``, ...).
        ax: axes.

    Returns:
        The axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(5.0, 3.4))
    for v in summary.variants:
        steps, est = summary.curve(keep_prob, metric, v)
        m = np.array([e.value for e in est])
        se = np.array([e.stderr for e in est])
        ax.plot(steps, m, color=VARIANT_COLORS[v], label=VARIANT_NAMES[v], lw=1.2)
        ax.fill_between(steps, m - se, m + se, color=VARIANT_COLORS[v], alpha=0.2)
    ax.set_xlabel("SGD step")
    ax.set_ylabel(metric.replace("_", " ").replace("loss", "risk"))
    ax.set_title(f"drop rate {1 - keep_prob:.1f}", fontsize=9)
    ax.legend(fontsize=8)
    return ax


def plot_mnist_by_drop_rate(
    summary: MnistSummary, *, metric: str, at: str = "best_val", scale: float = 1.0, ax: Axes | None = None
) -> Axes:
    """One end-of-run quantity of the MNIST experiment against the drop rate, one series per variant (mean ± s.e.).

    Args:
        summary: the experiment.
        metric: as in :meth:`dropout_theory.phase.MnistSummary.estimate` (e.g. ``"test_loss"``, ``"sharpness"``).
        at: ``"best_val"`` or ``"final"``.
        scale: factor applied to the values (e.g. the learning rate τ·n to show η·λ_max).
        ax: axes.

    Returns:
        The axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(5.0, 3.4))
    rates = np.array([1 - q for q in summary.runs])
    offsets = np.linspace(-0.012, 0.012, len(summary.variants))
    for dx, v in zip(offsets, summary.variants, strict=True):
        est = [summary.estimate(q, metric, v, at=at) for q in summary.runs]
        ax.errorbar(rates + dx, [scale * e.value for e in est], yerr=[scale * e.stderr for e in est], fmt="o-",
                    color=VARIANT_COLORS[v], ms=4, capsize=2, lw=1, label=VARIANT_NAMES[v])  # fmt: skip
    ax.set_xlabel("drop rate 1 − q")
    ax.legend(fontsize=8)
    return ax
