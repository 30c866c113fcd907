"""Figures of part I's chapters on the modified loss, the SMEs and the noise covariance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import torch
from matplotlib.axes import Axes

from dropout_theory.plotting.style import BOOK_FIGURE_WIDTH
from dropout_theory.two_layer import Ensemble, WeakErrorStudy


def plot_band(
    ens: Ensemble,
    *,
    lr: float,
    label: str,
    color: str,
    quantity: str = "train_loss",
    ls: str = "-",
    ax: Axes | None = None,
) -> Axes:
    """Mean over runs (line) and min–max over runs (band) of a recorded quantity against time t = lr·N.

    Args:
        ens: an :class:`~dropout_theory.two_layer.Ensemble`.
        lr: its learning rate (for the time axis).
        label: legend label.
        color: matplotlib colour.
        quantity: "train_loss", "test_loss" or "test_accuracy".
        ls: line style.
        ax: axes to draw into (a new figure when ``None``).

    Returns:
        The axes.
    """
    if ax is None:
        _, ax = plt.subplots()
    values = getattr(ens, quantity)
    if values is None:
        raise ValueError(f"the ensemble did not record {quantity!r}")
    t = ens.steps.numpy() * lr
    vals = values.numpy()
    ax.plot(t, vals.mean(0), color=color, ls=ls, label=label)
    ax.fill_between(t, vals.min(0), vals.max(0), color=color, alpha=0.2, lw=0)
    ax.set_xlabel(r"time $t=\eta N$")
    return ax


def _panel_grid(num_panels: int, ncols: int) -> tuple[plt.Figure, np.ndarray]:
    """A book-width figure with ``num_panels`` panels, ``ncols`` per row; the unused panels of the last row hidden."""
    nrows = -(-num_panels // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(min(BOOK_FIGURE_WIDTH, 3.4 * ncols), 2.8 * nrows), squeeze=False)
    for ax in list(axes.flat)[num_panels:]:
        ax.set_visible(False)
    return fig, axes


def plot_band_grid(
    cases: Mapping[str, Mapping[str, tuple[Ensemble, float]]], *, quantity: str = "train_loss", ncols: int = 2
) -> np.ndarray:
    """One panel per case (title = key), with one band per method (label → (ensemble, lr)).

    Returns:
        The array of axes.
    """
    fig, axes = _panel_grid(len(cases), ncols)
    for ax, (title, methods) in zip(axes.flat, cases.items(), strict=False):
        for i, (label, (ens, lr)) in enumerate(methods.items()):
            plot_band(ens, lr=lr, label=label, color=f"C{i}", quantity=quantity, ls="-" if i == 0 else "--", ax=ax)
        ax.set_title(title, fontsize=9)
        ax.set_ylabel(quantity.replace("_", " "))
        ax.legend(fontsize=8)
    fig.tight_layout()
    return axes


def plot_weak_errors(studies: Sequence[WeakErrorStudy], *, ax: Axes | None = None) -> Axes:
    """‖E Θ_t − E θ_t‖ against the learning rate on log–log axes, with the fitted slope in the legend.

    Error bars are ±2 Monte Carlo standard errors; a dotted reference line of slope = order is drawn per study.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 3.5))
    for i, st in enumerate(studies):
        c = f"C{i}"
        ax.errorbar(
            st.lrs,
            st.errors,
            yerr=2 * st.std_errors,
            fmt="o-",
            color=c,
            capsize=3,
            label=f"keep_prob {st.keep_prob:g}: slope {st.slope:.2f}",
        )
        ref = st.errors[0] * (st.lrs / st.lrs[0]) ** st.order
        ax.plot(st.lrs, ref, ":", color=c)
    ax.set_xscale("log")
    ax.set_yscale("log")
    # the learning rates as the only x tick labels (minor log labels such as 2×10⁻¹ 3×10⁻¹ collide)
    lrs = sorted({float(lr) for st in studies for lr in st.lrs})
    ax.set_xticks(lrs, [f"{lr:g}" for lr in lrs])
    ax.xaxis.set_minor_locator(mticker.NullLocator())
    ax.set_xlabel(r"learning rate $\eta$")
    ax.set_ylabel(r"$\|\mathbb{E}\Theta_t-\mathbb{E}\theta_t\|_2$")
    if studies:
        ax.set_title(f"order-{studies[0].order} SME", fontsize=10)
    ax.legend(fontsize=8)
    return ax


def plot_spectrum(eigenvalues: Mapping[str, torch.Tensor], *, ax: Axes | None = None) -> Axes:
    """Sorted eigenvalues (descending, log scale) of one or more symmetric matrices, e.g. Σ."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5.0, 3.5))
    for label, ev in eigenvalues.items():
        vals = torch.sort(ev.detach().cpu(), descending=True).values.clamp_min(1e-300).numpy()
        ax.semilogy(np.arange(1, len(vals) + 1), vals, ".", ms=3, label=label)
    ax.set_xlabel("index")
    ax.set_ylabel("eigenvalue")
    ax.legend(fontsize=8)
    return ax


def plot_summary_band(
    *,
    recorded_steps: Sequence[float],
    summary: Mapping[str, Sequence[float]],
    lr: float,
    label: str,
    color: str,
    ls: str = "-",
    ax: Axes | None = None,
) -> Axes:
    """A stored run summary, recorded at the steps ``recorded_steps``, against time t = lr·N: ``summary["mean"]``
    as a line, ``summary["min"]`` to ``summary["max"]`` as a band (the stored twin of :func:`plot_band`, e.g. for
    the records of ``dropout-experiments sme``).

    Returns:
        The axes.
    """
    if ax is None:
        _, ax = plt.subplots()
    t = np.asarray(recorded_steps, dtype=np.float64) * lr
    ax.plot(t, np.asarray(summary["mean"], dtype=np.float64), color=color, ls=ls, label=label)
    ax.fill_between(t, summary["min"], summary["max"], color=color, alpha=0.2, lw=0)
    ax.set_xlabel(r"time $t=\eta N$")
    return ax


#: Legend labels of the methods of :func:`dropout_theory.two_layer.simulate` in stored-run figures.
METHOD_LABELS: dict[str, str] = {"dropout": "dropout", "sme": "SME, order 1", "gd_modified": "GD on $L_S$"}


def _method_order(methods: Mapping[str, object]) -> list[str]:
    """The methods of a stored case in the order of :data:`METHOD_LABELS` (unknown ones last), so that each keeps
    its colour from figure to figure."""
    known = list(METHOD_LABELS)
    return sorted(methods, key=lambda m: known.index(m) if m in known else len(known))


def plot_stored_bands(
    curves: Mapping[tuple[float, float], Mapping[str, Mapping]], *, ncols: int = 2, log: bool = False
) -> np.ndarray:
    """The SME paper's Fig. 1a from stored runs: the training risk against time, one panel per (learning rate, keep
    probability), one mean line and min–max band per method (the stored twin of :func:`plot_band_grid`).

    Args:
        curves: :func:`dropout_theory.two_layer.curve_summaries` of the stored ``"bands"`` jobs
            (``{(lr, keep_prob): {method: {"steps", "train_loss", ...}}}``).
        ncols: panels per row.
        log: logarithmic loss axis (default linear).

    Returns:
        The array of axes (one per case, row by row; unused panels hidden).
    """
    if not curves:
        raise ValueError("curves is empty: no stored 'bands' jobs")
    fig, axes = _panel_grid(len(curves), ncols)
    for ax, ((lr, keep_prob), methods) in zip(axes.flat, curves.items(), strict=False):
        for i, method in enumerate(_method_order(methods)):
            entry = methods[method]
            plot_summary_band(
                recorded_steps=entry["steps"],
                summary=entry["train_loss"],
                lr=lr,
                label=METHOD_LABELS.get(method, method),
                color=f"C{i}",
                ls="-" if i == 0 else "--",
                ax=ax,
            )
        ax.set_title(f"lr {lr:g}, keep_prob {keep_prob:g}", fontsize=9)
        ax.set_ylabel("train loss $R_S$")
        if log:
            ax.set_yscale("log")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return axes


def plot_stored_test_curves(
    curves: Mapping[tuple[float, float], Mapping[str, Mapping]], *, axes: np.ndarray | None = None
) -> np.ndarray:
    """The SME paper's Fig. 2 from stored runs: test loss (top row) and test accuracy (bottom row) against time,
    one column per (learning rate, keep probability), one mean line and min–max band per method.

    Args:
        curves: :func:`dropout_theory.two_layer.curve_summaries` of the stored ``"test"`` jobs
            (``{(lr, keep_prob): {method: {"steps", "test_loss", "test_accuracy", ...}}}``).
        axes: a 2 × len(curves) array of Axes to draw on (default: a new figure).

    Returns:
        The 2 × len(curves) array of Axes.
    """
    if not curves:
        raise ValueError("curves is empty: no stored 'test' jobs")
    if axes is None:
        _, axes = plt.subplots(2, len(curves), figsize=(min(3.4 * len(curves), BOOK_FIGURE_WIDTH), 5.2), squeeze=False)
    axes = np.asarray(axes).reshape(2, len(curves))
    for col, ((lr, keep_prob), methods) in enumerate(curves.items()):
        for i, method in enumerate(_method_order(methods)):
            entry = methods[method]
            for row, quantity in enumerate(("test_loss", "test_accuracy")):
                plot_summary_band(
                    recorded_steps=entry["steps"],
                    summary=entry[quantity],
                    lr=lr,
                    label=METHOD_LABELS.get(method, method),
                    color=f"C{i}",
                    ax=axes[row, col],
                )
        axes[0, col].set_title(f"lr {lr:g}, keep_prob {keep_prob:g}")
    axes[0, 0].set_ylabel("test loss $R_S$")
    axes[1, 0].set_ylabel("test accuracy")
    axes[0, 0].legend()
    return axes
