"""Figures of part I's alignment chapters: the Hessian–variance alignment α along training."""

from __future__ import annotations

from collections.abc import Mapping

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
    ax.legend(fontsize=7, ncol=2)
    return ax
