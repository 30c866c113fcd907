"""Figures of part I's alignment chapters: the Hessian–variance alignment α along training, computed in the chapter
(:func:`plot_alignment_curves`) or read from stored runs (:func:`plot_stored_alignment`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from dropout_theory.alignment import AlignmentCurve


def plot_alignment_curves(
    curves: Mapping[str, AlignmentCurve],
    *,
    subset: str | None = None,
    subset_label: str = "subset",
    offset: float = 0.0,
    reference: float | None = None,
    ax: Axes | None = None,
) -> Axes:
    """α against the training step with ±1 standard-error bars, one colour per curve.

    Over all parameters: circles and solid lines, labelled ``"all, LABEL"``. With ``subset``, the α over that
    parameter subset of each curve: squares and dashed lines, shifted right by ``offset`` steps so that the two
    sets of bars do not hide each other, labelled ``"SUBSET_LABEL, LABEL"``.

    Args:
        curves: label → :class:`~dropout_theory.alignment.AlignmentCurve` (e.g. from
            :func:`~dropout_theory.alignment.alignment_along_training`).
        subset: name of an extra subset recorded in every curve (``None``: all parameters only).
        subset_label: legend text of the subset.
        offset: horizontal shift of the subset's points, in steps.
        reference: a level to mark with a dotted grey line (e.g. a paper's reported α), or ``None``.
        ax: axes (a new figure when ``None``).

    Returns:
        The axes (y from 0, or below 0 if some α minus its error is negative, to 1.1).
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 3.4))
    lowest = 0.0
    for i, (label, c) in enumerate(curves.items()):
        steps = np.asarray(c.steps, dtype=np.float64)
        series = [(steps, c.alpha, c.stderr, "o", "-", 1.0, f"all, {label}")]
        if subset is not None:
            sub_alpha, sub_se = c.subset_alpha[subset], c.subset_stderr[subset]
            series.append((steps + offset, sub_alpha, sub_se, "s", "--", 0.6, f"{subset_label}, {label}"))
        for x, alpha, se, marker, ls, opacity, text in series:
            alpha, se = np.asarray(alpha, dtype=np.float64), np.asarray(se, dtype=np.float64)
            ax.errorbar(x, alpha, yerr=se, marker=marker, ls=ls, capsize=2, color=f"C{i}", alpha=opacity, label=text)
            lowest = min(lowest, float(np.min(alpha - se)))
    if reference is not None:
        ax.axhline(reference, color="0.5", lw=1, ls=":")
    ax.set(xlabel="step", ylabel=r"alignment $\alpha$", ylim=(lowest - 0.05 if lowest < 0 else 0.0, 1.1))
    ax.legend(fontsize=8, ncol=2)
    return ax


def plot_stored_alignment(
    runs: Sequence[Mapping[str, Any]],
    *,
    reference: float | None = None,
    subset: bool = False,
    ax: Axes | None = None,
) -> Axes:
    """α along training from stored runs: the mean over seeds with ±1 standard-error bars (none for a single
    seed), one line per row.

    Args:
        runs: summary rows of ``dropout-experiments alignment``
            (:func:`dropout_theory.alignment.stored_alignment_summary`), each with ``steps``, ``alpha_curve``,
            ``alpha_curve_stderr`` (and ``subset_curve``, ``subset_curve_stderr``), ``mask``, ``keep_prob`` and
            ``num_seeds``. Rows with the same keep probability share a colour; per-example masks
            are drawn solid with circles, shared masks dashed with squares.
        reference: a level to mark with a dotted grey line (e.g. a paper's reported α), or ``None``.
        subset: plot the α over the subset (``subset_curve``) instead of all parameters.
        ax: axes (a new figure when ``None``).

    Returns:
        The axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 3.4))
    keeps = sorted({r["keep_prob"] for r in runs}, reverse=True)
    field = "subset_curve" if subset else "alpha_curve"
    for r in runs:
        if not r["num_seeds"] or r.get(field) is None:
            continue
        color = f"C{keeps.index(r['keep_prob'])}"
        per_example = r["mask"] == "per_example"
        n = r["num_seeds"]
        ax.errorbar(
            np.asarray(r["steps"], dtype=np.float64),
            np.asarray(r[field], dtype=np.float64),
            yerr=np.asarray(r[field + "_stderr"], dtype=np.float64) if n > 1 else None,  # one seed: no error bar
            marker="o" if per_example else "s",
            ls="-" if per_example else "--",
            capsize=2,
            color=color,
            label=f"keep {r['keep_prob']:g}, {r['mask'].replace('_', '-')} masks ({n} seed{'s' if n > 1 else ''})",
        )
    if reference is not None:
        ax.axhline(reference, color="0.5", lw=1, ls=":")
    ax.set(xlabel="step", ylabel=r"alignment $\alpha$ (mean $\pm$ s.e. over seeds)", ylim=(0.0, 1.05))
    ax.legend(fontsize=8)
    return ax


def plot_stored_minima_flatness(
    table: Sequence[Mapping[str, Any]],
    *,
    fields: Sequence[str] = ("top_eigenvalue", "train_loss"),
    axes: Sequence[Axes] | None = None,
) -> Sequence[Axes]:
    """The minima reached by each noise, from stored runs: one panel per field, the mean over seeds with ±2
    standard-error bars, one group of points per (keep probability, mask convention) and one colour per strategy.

    Args:
        table: :func:`dropout_theory.alignment.minima_flatness_summary` rows (``keep_prob``, ``mask``,
            ``strategy``, ``num_seeds`` and, per field, its mean and ``<field>_stderr``).
        fields: the summary fields to plot, one panel each (e.g. ``"top_eigenvalue"``, ``"trace"``,
            ``"train_loss"``, ``"test_accuracy"``).
        axes: one Axes per field (default: a new row of panels).

    Returns:
        The axes, one per field; on each, one errorbar container per strategy, its points in the order of the
        groups (the x tick labels).
    """
    if not table:
        raise ValueError("table is empty: no stored minima-flatness runs")
    if axes is None:
        _, axes = plt.subplots(1, len(fields), figsize=(3.6 * len(fields), 3.4), squeeze=False)
        axes = list(np.asarray(axes).ravel())
    if len(axes) != len(fields):
        raise ValueError(f"need one Axes per field: got {len(axes)} for {len(fields)} fields")
    groups = list(dict.fromkeys((r["keep_prob"], r["mask"]) for r in table))
    strategies = list(dict.fromkeys(r["strategy"] for r in table))
    width = 0.7 / max(len(strategies), 1)
    labels = {"top_eigenvalue": "top Hessian eigenvalue", "trace": "Hessian trace", "train_loss": "training loss",
              "test_accuracy": "test accuracy"}  # fmt: skip
    for ax, field in zip(axes, fields, strict=True):
        for i, strategy in enumerate(strategies):
            rows = {(r["keep_prob"], r["mask"]): r for r in table if r["strategy"] == strategy}
            xs = [g + (i - (len(strategies) - 1) / 2) * width for g, key in enumerate(groups) if key in rows]
            ys = [rows[key][field] for key in groups if key in rows]
            errs = [2 * rows[key][field + "_stderr"] for key in groups if key in rows]
            ax.errorbar(xs, ys, yerr=errs, fmt="o", capsize=2, color=f"C{i}", label=strategy)
        ax.set_xticks(range(len(groups)), [f"keep {p:g}\n{m.replace('_', '-')}" for p, m in groups])
        ax.set_ylabel(labels.get(field, field))
    axes[0].legend()
    return axes
