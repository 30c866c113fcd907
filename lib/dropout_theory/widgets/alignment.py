"""Widgets of the alignment chapters.

* *Dropout noise and flat minima*: keep_prob and learning-rate sliders that retrain the two-layer net briefly
  and redraw the variance–flatness plot, with the alignment α at the end of the window
  (:func:`variance_flatness_widget`, drawing with :func:`draw_variance_flatness`).
* *Alignment and flat minima in deeper networks*: keep_prob and learning-rate sliders that retrain an MLP with
  GD, dropout, SGD and parametric noise from one start and redraw the loss curves and the sharpness of the end
  points (:func:`minima_flatness_widget`, drawing with :func:`draw_minima_flatness`).
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import HTML

from dropout_theory._checks import DivergenceError, check_positive_int
from dropout_theory.alignment import (
    FlatnessComparison,
    dropout_parameter_window,
    hessian_variance_alignment,
    minima_flatness,
    variance_flatness,
)
from dropout_theory.networks import dropout_mlp
from dropout_theory.plotting.style import BOOK_FIGURE_WIDTH
from dropout_theory.plotting.web_twin import web_twin
from dropout_theory.rng import GeneratorLike, torch_generator
from dropout_theory.two_layer import empirical_risk, train_dropout, unflatten_params
from dropout_theory.widgets._guard import short_errors


def draw_variance_flatness(
    a,
    W,
    X,
    y,
    *,
    keep_prob: float,
    lr: float,
    burn_in: int,
    window: int,
    num_components: int,
    generator: GeneratorLike = 0,
    ax=None,
):
    """Train ``burn_in`` dropout steps from (a, W), record ``window`` more, and draw variance against flatness.

    Args:
        a: (m, K) or (m,) initial output weights; W: (m, d); X: (n, d); y: targets.
        keep_prob: keep probability p in (0, 1).
        lr: learning rate η.
        burn_in: dropout steps before the window, >= 1.
        window: steps in the window, > ``num_components``.
        num_components: principal directions kept.
        generator: torch generator or int seed of the masks.
        ax: matplotlib axes (a new figure when ``None``).

    Returns:
        ``(ax, result, alpha)``: the axes, the :class:`dropout_theory.alignment.VarianceFlatness` and the exact α
        at the end of the window.
    """
    burn_in = check_positive_int(burn_in, "burn_in")
    window = check_positive_int(window, "window", minimum=num_components + 1)
    m, d = W.shape
    K = None if a.dim() == 1 else a.shape[1]
    gen = torch_generator(generator)
    opts = {"keep_prob": keep_prob, "lr": lr, "generator": gen}
    traj = train_dropout(a, W, X, y, num_steps=burn_in, record_every=burn_in, **opts)
    thetas = dropout_parameter_window(traj.a, traj.W, X, y, num_steps=window, **opts)
    res = variance_flatness(
        thetas, lambda t: empirical_risk(*unflatten_params(t, m, d, K), X, y), num_components=num_components
    )
    alpha = hessian_variance_alignment(*unflatten_params(thetas[-1], m, d, K), X, y, keep_prob=keep_prob).alpha
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
    a, W, X, y, *, burn_in: int = 2000, window: int = 300, num_components: int = 20, generator: int = 0
) -> widgets.Widget:
    """Sliders for keep_prob and the learning rate; each move retrains and redraws :func:`draw_variance_flatness`.

    Args:
        a: (m, K) or (m,) initial output weights; W: (m, d); X: (n, d); y: targets.
        burn_in: dropout steps before the window.
        window: steps in the PCA window.
        num_components: principal directions kept.
        generator: int seed of the masks (each redraw starts from it).

    Returns:
        An ``ipywidgets.interactive`` box.
    """
    opts = {"burn_in": burn_in, "window": window, "num_components": num_components, "generator": generator}

    def run(keep_prob: float = 0.7, lr: float = 0.5) -> None:
        _draw_variance_flatness_or_divergence(a, W, X, y, keep_prob=keep_prob, lr=lr, **opts)
        plt.show()

    return widgets.interactive(
        short_errors(run),
        keep_prob=widgets.FloatSlider(value=0.7, min=0.3, max=0.95, step=0.05, description="keep_prob"),
        lr=widgets.FloatLogSlider(
            value=0.5, base=10, min=-1.5, max=0, step=0.1, description="learning rate", style=_WIDE
        ),
    )


def _draw_variance_flatness_or_divergence(a, W, X, y, **kwargs):
    _, ax = plt.subplots(figsize=(5.0, 3.6))
    try:
        draw_variance_flatness(a, W, X, y, ax=ax, **kwargs)
    except DivergenceError as err:
        ax.text(0.02, 0.5, str(err), transform=ax.transAxes, fontsize=7, color="C3", wrap=True)
    return ax


def variance_flatness_twin(
    a,
    W,
    X,
    y,
    *,
    burn_in: int = 2000,
    window: int = 300,
    num_components: int = 20,
    generator: int = 0,
    keep_probs=(0.5, 0.7, 0.9),
    lrs=(0.2, 0.5),
) -> HTML:
    """Web twin of :func:`variance_flatness_widget` on a grid of keep_prob and the learning rate.

    Args:
        a, W, X, y, burn_in, window, num_components, generator: as for the widget.
        keep_probs: keep_prob values of the slider.
        lrs: learning rates (one value: the learning-rate control is shown disabled, other values run live).

    Returns:
        The twin's HTML.
    """
    opts = {"burn_in": burn_in, "window": window, "num_components": num_components, "generator": generator}
    return web_twin(
        lambda keep_prob, lr: _draw_variance_flatness_or_divergence(a, W, X, y, keep_prob=keep_prob, lr=lr, **opts),
        grid={"keep_prob": keep_probs, "lr": lrs},
        name="variance-flatness-twin",
        labels={"lr": "learning rate"},
        value={"keep_prob": 0.7, "lr": 0.5},
    )


# Wide enough for the whole description ("learning rate" was cut to "learning r…" by the default width).
_WIDE = {"description_width": "initial"}


def draw_minima_flatness(cmp: FlatnessComparison, *, axes=None):
    """Loss curves of each strategy (left) and top Hessian eigenvalue against final training loss (right),
    with the GD stability limit 2/η.

    Args:
        cmp: result of :func:`dropout_theory.alignment.minima_flatness`.
        axes: two matplotlib axes (a new figure when ``None``).

    Returns:
        The two axes.
    """
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(BOOK_FIGURE_WIDTH, 3.4))
    left, right = axes
    for i, row in enumerate(cmp.rows):
        label = row.strategy if row.setting == "-" else f"{row.strategy} ({row.setting})"
        left.semilogy(row.curve.steps, row.curve.loss, color=f"C{i}", label=label)
        right.plot(row.train_loss, row.top_eigenvalues[0], "o", ms=7, color=f"C{i}", label=label)
    right.axhline(2.0 / cmp.lr, ls="--", color="0.5", lw=1, label=r"$2/\eta$")
    left.set_xlabel("step")
    left.set_ylabel("training loss (dropout off)")
    left.legend(fontsize=7)
    right.set_xscale("log")
    right.set_xlabel("final training loss")
    right.set_ylabel(r"top Hessian eigenvalue $\lambda_{\max}$")
    right.set_ylim(0, 1.15 * max(2.0 / cmp.lr, *(r.top_eigenvalues[0] for r in cmp.rows)))
    right.legend(fontsize=7)
    return axes


def minima_flatness_widget(
    X: torch.Tensor,
    y: torch.Tensor,
    loss_fn,
    *,
    widths: tuple[int, ...] = (64, 20, 20, 10),
    num_steps: int = 500,
    generator: int = 0,
) -> widgets.Widget:
    """Sliders for keep_prob and the learning rate; each move trains GD, dropout, SGD and parametric noise from
    one initialization of ``dropout_mlp(widths, keep_prob)`` (noise levels matched at the start) and redraws
    :func:`draw_minima_flatness`.

    Args:
        X: (n, widths[0]) training inputs; y: (n, widths[-1]) targets.
        loss_fn: ``loss_fn(output, y)`` → scalar.
        widths: layer sizes of the MLP (dropout after the first hidden layer).
        num_steps: steps per strategy.
        generator: int seed s of the initialization (s) and of all the noise (s + 1).

    Returns:
        An ``ipywidgets.interactive`` box.
    """
    num_steps = check_positive_int(num_steps, "num_steps")

    def run(keep_prob: float = 0.8, lr: float = 0.05) -> None:
        _train_and_draw_minima_flatness(
            X, y, loss_fn, keep_prob=keep_prob, lr=lr, widths=widths, num_steps=num_steps, generator=generator
        )
        plt.show()

    return widgets.interactive(
        short_errors(run),
        keep_prob=widgets.FloatSlider(value=0.8, min=0.5, max=0.95, step=0.05, description="keep_prob"),
        lr=widgets.FloatLogSlider(
            value=0.05, base=10, min=-2, max=-0.7, step=0.1, description="learning rate", style=_WIDE
        ),
    )


def _train_and_draw_minima_flatness(X, y, loss_fn, *, keep_prob, lr, widths, num_steps, generator):
    fig, axes = plt.subplots(1, 2, figsize=(BOOK_FIGURE_WIDTH, 3.4))
    try:
        net = dropout_mlp(widths, keep_prob=keep_prob, generator=torch_generator(generator))
        cmp = minima_flatness(
            net,
            loss_fn,
            X,
            y,
            lr=lr,
            num_steps=num_steps,
            num_probes=16,
            generator=torch_generator(generator, offset=1),
        )
        draw_minima_flatness(cmp, axes=axes)
        fig.suptitle(f"keep_prob {keep_prob:.2f}, lr {lr:.3g}, {num_steps} steps", fontsize=9)
    except DivergenceError as err:
        axes[0].text(0.02, 0.5, str(err), transform=axes[0].transAxes, fontsize=7, color="C3", wrap=True)
    return fig


def minima_flatness_twin(
    X: torch.Tensor,
    y: torch.Tensor,
    loss_fn,
    *,
    widths: tuple[int, ...] = (64, 20, 20, 10),
    num_steps: int = 500,
    generator: int = 0,
    keep_probs=(0.6, 0.8, 0.95),
    lrs=(0.05,),
) -> HTML:
    """Web twin of :func:`minima_flatness_widget` on a grid of keep_prob and the learning rate.

    Args:
        X, y, loss_fn, widths, num_steps, generator: as for the widget.
        keep_probs: keep_prob values of the slider.
        lrs: learning rates (one value: the learning-rate control is shown disabled, other values run live).

    Returns:
        The twin's HTML.
    """
    num_steps = check_positive_int(num_steps, "num_steps")
    opts = {"widths": widths, "num_steps": num_steps, "generator": generator}
    return web_twin(
        lambda keep_prob, lr: _train_and_draw_minima_flatness(X, y, loss_fn, keep_prob=keep_prob, lr=lr, **opts),
        grid={"keep_prob": keep_probs, "lr": lrs},
        name="minima-flatness-twin",
        labels={"lr": "learning rate"},
        value={"keep_prob": 0.8, "lr": 0.05},
    )
