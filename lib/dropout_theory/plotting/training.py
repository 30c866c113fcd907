"""Loss curves of training runs (chapter *Two-layer networks and dropout*)."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from dropout_theory.two_layer import Trajectory


def plot_loss_curves(runs: Mapping[str, Trajectory], *, title: str | None = None, ax: Axes | None = None) -> Axes:
    """Training (solid) and test (dashed, when recorded) loss R_S against the step, log scale.

    Args:
        runs: label → :class:`~dropout_theory.two_layer.Trajectory`.
        title: optional title.
        ax: axes to draw into (a new figure when ``None``).

    Returns:
        The axes.
    """
    if ax is None:
        _, ax = plt.subplots()
    for i, (label, tr) in enumerate(runs.items()):
        color = f"C{i}"
        ax.plot(tr.steps, tr.train_loss, color=color, label=f"{label} (train)")
        if tr.test_loss is not None:
            ax.plot(tr.steps, tr.test_loss, color=color, ls="--", label=f"{label} (test)")
    ax.set_yscale("log")
    ax.set_xlabel("step $N$")
    ax.set_ylabel(r"empirical risk $R_S$ (no mask)")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    return ax
