"""Widget of the chapter *Dropout noise and flat minima*: keep_prob and learning-rate sliders that retrain the
two-layer net briefly and redraw the variance–flatness plot, with the alignment α at the end of the window."""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch

from dropout_theory._checks import DivergenceError, check_positive_int
from dropout_theory.alignment import hessian_variance_alignment, variance_flatness
from dropout_theory.alignment.training import dropout_parameter_window
from dropout_theory.two_layer import empirical_risk, train_dropout, unflatten_params


def draw_variance_flatness(
    a, W, X, y, keep_prob: float, lr: float, *, burn_in: int, window: int, num_components: int, seed: int = 0, ax=None
):
    """Train ``burn_in`` dropout steps from (a, W), record ``window`` more, and draw variance against flatness.

    Args:
        a: (m, K) or (m,) initial output weights; W: (m, d); X: (n, d); y: targets.
        keep_prob: keep probability p in (0, 1).
        lr: learning rate η.
        burn_in: dropout steps before the window, >= 1.
        window: steps in the window, > ``num_components``.
        num_components: principal directions kept.
        seed: seed of the masks.
        ax: matplotlib axes (a new figure when ``None``).

    Returns:
        ``(ax, result, alpha)``: the axes, the :class:`dropout_theory.alignment.VarianceFlatness` and the exact α
        at the end of the window.
    """
    burn_in = check_positive_int(burn_in, "burn_in")
    window = check_positive_int(window, "window", minimum=num_components + 1)
    m, d = W.shape
    K = None if a.dim() == 1 else a.shape[1]
    gen = torch.Generator().manual_seed(seed)
    traj = train_dropout(a, W, X, y, keep_prob, lr, burn_in, generator=gen, record_every=burn_in)
    thetas = dropout_parameter_window(traj.a, traj.W, X, y, keep_prob, lr, window, generator=gen)
    res = variance_flatness(thetas, lambda t: empirical_risk(*unflatten_params(t, m, d, K), X, y), num_components)
    alpha = hessian_variance_alignment(*unflatten_params(thetas[-1], m, d, K), X, y, keep_prob).alpha
    if ax is None:
        _, ax = plt.subplots(figsize=(5.0, 3.6))
    ax.loglog(res.flatness, res.variances, "o", ms=4, label="principal directions")
    xs = np.geomspace(res.flatness.min(), res.flatness.max(), 20)
    fit = res.fit
    ax.loglog(xs, fit.prefactor * xs**fit.exponent, "--", color="0.4", label=f"fit: power {fit.exponent:.2f}")
    ax.set_xlabel("flatness $F_i$ (width where the loss doubles)")
    ax.set_ylabel(r"variance $\sigma_i^2$")
    ax.set_title(f"keep_prob {keep_prob:.2f}, lr {lr:.3g}: α = {alpha:.3f}", fontsize=9)
    ax.legend(fontsize=8)
    return ax, res, alpha


def variance_flatness_widget(
    a, W, X, y, *, burn_in: int = 2000, window: int = 300, num_components: int = 20, seed: int = 0
) -> widgets.Widget:
    """Sliders for keep_prob and the learning rate; each move retrains and redraws :func:`draw_variance_flatness`.

    Args:
        a: (m, K) or (m,) initial output weights; W: (m, d); X: (n, d); y: targets.
        burn_in: dropout steps before the window.
        window: steps in the PCA window.
        num_components: principal directions kept.
        seed: seed of the masks.

    Returns:
        An ``ipywidgets.interactive`` box.
    """

    def run(keep_prob: float = 0.7, lr: float = 0.5) -> None:
        _, ax = plt.subplots(figsize=(5.0, 3.6))
        try:
            draw_variance_flatness(
                a,
                W,
                X,
                y,
                keep_prob,
                lr,
                burn_in=burn_in,
                window=window,
                num_components=num_components,
                seed=seed,
                ax=ax,
            )
        except DivergenceError as err:
            ax.text(0.02, 0.5, str(err), transform=ax.transAxes, fontsize=7, color="C3", wrap=True)
        plt.show()

    return widgets.interactive(
        run,
        keep_prob=widgets.FloatSlider(value=0.7, min=0.3, max=0.95, step=0.05, description="keep_prob"),
        lr=widgets.FloatLogSlider(value=0.5, base=10, min=-1.5, max=0, step=0.1, description="learning rate"),
    )
