"""Figures of part II (deep dropout networks at initialization). Each function draws on a given Axes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from dropout_theory.deep_meanfield import (
    c_map,
    critical_sigma_w2,
    depth_scales,
    fixed_point_c,
    fixed_point_q,
    q_map,
)
from dropout_theory.stats import fit_power_law


def _ax(ax: Axes | None) -> Axes:
    return plt.subplots()[1] if ax is None else ax


def plot_q_map(
    activation: str,
    sigma_w2: float,
    sigma_b2: float,
    keep_probs: Sequence[float],
    *,
    q_max: float | None = None,
    ax: Axes | None = None,
) -> Axes:
    """The length map q^{l} ↦ q^{l+1} for several keep_probs, the identity line and the fixed points q*."""
    ax = _ax(ax)
    qs = {r: fixed_point_q(activation, sigma_w2, sigma_b2, r) for r in keep_probs}
    q_max = q_max or 1.6 * max(qs.values())
    q = np.linspace(0.0, q_max, 200)
    ax.plot(q, q, "k--", lw=0.8, label="identity")
    for i, r in enumerate(keep_probs):
        ax.plot(q, q_map(activation, q, sigma_w2, sigma_b2, r), color=f"C{i}", label=f"keep_prob = {r:g}")
        ax.plot([qs[r]], [qs[r]], "o", color=f"C{i}")
    ax.set(
        xlabel="$q^{l}$",
        ylabel="$q^{l+1}$",
        title=f"{activation}: length map, $\\sigma_w^2$={sigma_w2:g}, $\\sigma_b^2$={sigma_b2:g}",
    )
    ax.legend(fontsize=8)
    return ax


def plot_c_map(
    activation: str, sigma_w2: float, sigma_b2: float, keep_probs: Sequence[float], *, ax: Axes | None = None
) -> Axes:
    """The correlation map at q* for several keep_probs, with the fixed points c* (c* < 1 when keep_prob < 1)."""
    ax = _ax(ax)
    c = np.linspace(-1.0, 1.0, 201)
    ax.plot(c, c, "k--", lw=0.8, label="identity")
    for i, r in enumerate(keep_probs):
        ax.plot(c, c_map(activation, c, sigma_w2, sigma_b2, r), color=f"C{i}", label=f"keep_prob = {r:g}")
        cs = fixed_point_c(activation, sigma_w2, sigma_b2, r)
        ax.plot([cs], [cs], "o", color=f"C{i}")
    ax.set(xlabel="$c^{l}$", ylabel="$c^{l+1}$", title=f"{activation}: correlation map")
    ax.legend(fontsize=8)
    return ax


def plot_phase_diagram(
    activation: str,
    keep_probs: Sequence[float],
    *,
    sigma_b2_max: float = 0.3,
    point: tuple[float, float] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Order–chaos lines χ₁ = 1 in the (σ_w², σ_b²) plane for each keep_prob (ordered phase on the left)."""
    ax = _ax(ax)
    sb = np.linspace(0.0, sigma_b2_max, 61)
    for i, r in enumerate(keep_probs):
        ax.plot(critical_sigma_w2(activation, sb, r), sb, color=f"C{i}", label=f"keep_prob = {r:g}")
    if point is not None:
        ax.plot([point[0]], [point[1]], "k*", ms=10, label="chosen $(\\sigma_w^2, \\sigma_b^2)$")
    ax.set(xlabel="$\\sigma_w^2$", ylabel="$\\sigma_b^2$", title=f"{activation}: order (left) / chaos (right)")
    ax.legend(fontsize=8)
    return ax


def plot_depth_scales(
    activation: str, sigma_w2: np.ndarray, sigma_b2: float, keep_probs: Sequence[float], *, ax: Axes | None = None
) -> Axes:
    """ξ_c (solid) and abs(ξ_∇) (dotted) against σ_w² for several keep_probs (log scale)."""
    ax = _ax(ax)
    for i, r in enumerate(keep_probs):
        d = depth_scales(activation, sigma_w2, sigma_b2, r)
        ax.semilogy(sigma_w2, d["xi_c"], color=f"C{i}", label=f"$\\xi_c$, keep_prob = {r:g}")
        ax.semilogy(sigma_w2, np.abs(d["xi_grad"]), ":", color=f"C{i}", label=f"$|\\xi_\\nabla|$, keep_prob = {r:g}")
    ax.set(xlabel="$\\sigma_w^2$", ylabel="depth scale", title=f"{activation}, $\\sigma_b^2$ = {sigma_b2:g}")
    ax.legend(fontsize=8, ncol=2)
    return ax


def plot_layer_curves(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray | None]],
    *,
    theory: Mapping[str, np.ndarray] | None = None,
    log: bool = True,
    xlabel: str = "layer $l$",
    ylabel: str = "",
    title: str = "",
    ax: Axes | None = None,
) -> Axes:
    """Simulated per-layer means with error bars (markers) and theory curves (lines), matched by colour order.

    Args:
        curves: label → (mean (L,), standard error (L,) or None), layer l = 1..L.
        theory: label → (L,) theory values.
    """
    ax = _ax(ax)
    for i, (label, (mean, se)) in enumerate(curves.items()):
        layers = np.arange(1, len(mean) + 1)
        ax.errorbar(layers, mean, yerr=se, fmt="o", ms=3, color=f"C{i}", label=label, capsize=2)
    for i, (label, vals) in enumerate((theory or {}).items()):
        ax.plot(np.arange(1, len(vals) + 1), vals, "-", color=f"C{i}", lw=1.2, label=label)
    if log:
        ax.set_yscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend(fontsize=8)
    return ax


def plot_var_vs_mean(groups: Mapping[str, tuple[np.ndarray, np.ndarray]], *, ax: Axes | None = None) -> Axes:
    """Variance against mean (log–log) for several groups, with the power law fitted to all points together."""
    ax = _ax(ax)
    ms, vs = [], []
    for i, (label, (m, v)) in enumerate(groups.items()):
        ax.loglog(m, v, "o", ms=3, color=f"C{i}", label=label)
        ms.append(np.asarray(m))
        vs.append(np.asarray(v))
    m, v = np.concatenate(ms), np.concatenate(vs)
    fit = fit_power_law(m, v)
    x = np.logspace(np.log10(m.min()), np.log10(m.max()), 50)
    ax.loglog(x, fit.predict(x), "k-", lw=1, label=f"fit: power {fit.exponent:.2f} ± {fit.stderr:.2f}")
    ax.set(xlabel="mean over networks", ylabel="variance over networks")
    ax.legend(fontsize=8)
    return ax


def plot_trainable_heatmap(
    depths: np.ndarray,
    sigma_w2: np.ndarray,
    accuracy: np.ndarray,
    *,
    bounds: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
    boundary: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    title: str = "",
    ax: Axes | None = None,
) -> Axes:
    """Training accuracy over (σ_w², depth) with depth-bound curves overlaid.

    Args:
        depths: (n_depth,) network depths (rows of NaN accuracy, depths not trained, are left blank).
        sigma_w2: (n_sigma,) weight variances.
        accuracy: (n_depth, n_sigma) accuracies.
        bounds: label → (σ_w² grid, bound on depth) curves.
        boundary: (σ_w², L*, standard error) of a fitted boundary, drawn as points with error bars (NaN errors:
            censored points, drawn as open markers).
    """
    ax = _ax(ax)
    im = ax.pcolormesh(sigma_w2, depths, np.ma.masked_invalid(accuracy), shading="nearest", cmap="viridis",
                       vmin=0.0, vmax=1.0)  # fmt: skip
    for i, (label, (sw, L)) in enumerate((bounds or {}).items()):
        ax.plot(sw, L, ["w-", "w--", "r:"][i % 3], lw=1.5, label=label)
    if boundary is not None:
        sw, L, se = (np.asarray(v, dtype=np.float64) for v in boundary)
        fit = np.isfinite(se)
        ax.errorbar(sw[fit], L[fit], yerr=se[fit], fmt="o", color="orange", ms=4, capsize=2, label="fitted $L^*$")
        ax.plot(sw[~fit], L[~fit], "o", mfc="none", color="orange", ms=4)
    ax.set_ylim(depths.min() - 0.5, depths.max() + 0.5)
    ax.set(xlabel="$\\sigma_w^2$", ylabel="depth $L$", title=title)
    ax.figure.colorbar(im, ax=ax, label="training accuracy")
    if bounds:
        ax.legend(fontsize=8, loc="upper right")
    ax.grid(False)
    return ax
