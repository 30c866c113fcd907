"""Widgets of part II (deep dropout networks at initialization), one per chapter.

Every callback calls the library (quadrature theory or a small batched simulation) and redraws; invalid
combinations (e.g. no finite fixed point) are reported in the figure instead of raising. Each widget draws with a
``draw_…`` function that the live widget (Jupyter) and its web twin (the website, precomputed over a grid of the
controls by :func:`dropout_theory.plotting.web_twin.web_twin`) share.
"""

from __future__ import annotations

from collections.abc import Mapping

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import HTML

from dropout_theory.deep_meanfield import (
    ACTIVATION_NAMES,
    DepthGrid,
    depth_scales,
    inputs_for,
    simulate_ensemble,
    trainable_depth_bound,
)
from dropout_theory.plotting.deep_meanfield import (
    plot_c_map,
    plot_depth_scales,
    plot_layer_curves,
    plot_phase_diagram,
    plot_q_map,
    plot_trainable_heatmap,
    plot_var_vs_mean,
)
from dropout_theory.plotting.style import BOOK_FIGURE_WIDTH
from dropout_theory.plotting.web_twin import web_twin
from dropout_theory.widgets._guard import short_errors


def _activation_dropdown(value: str = "tanh") -> widgets.Dropdown:
    return widgets.Dropdown(options=list(ACTIVATION_NAMES), value=value, description="activation")


def _keep_slider(value: float = 0.9) -> widgets.FloatSlider:
    return widgets.FloatSlider(value=value, min=0.3, max=1.0, step=0.05, description="keep_prob")


def _message(ax, err: Exception) -> None:
    ax.text(0.5, 0.5, str(err), ha="center", va="center", wrap=True, fontsize=8, color="C3", transform=ax.transAxes)


def draw_signal_propagation(*, activation: str, sigma_w2: float, sigma_b2: float, keep_prob: float, axes=None):
    """q-map, c-map (against keep_prob = 1) and the order–chaos diagram with the point (σ_w², σ_b²) marked.

    Args:
        activation: activation name; sigma_w2, sigma_b2: weight and bias variances; keep_prob: keep probability.
        axes: three matplotlib axes (a new figure when ``None``).

    Returns:
        The three axes.
    """
    if axes is None:  # two maps side by side, the phase diagram below them: the content column is narrow
        fig = plt.figure(figsize=(BOOK_FIGURE_WIDTH, 6.4))
        axes = [fig.add_subplot(2, 2, 1), fig.add_subplot(2, 2, 2), fig.add_subplot(2, 1, 2)]
    try:
        plot_q_map(activation, sigma_w2, sigma_b2, [keep_prob, 1.0], ax=axes[0])
        plot_c_map(activation, sigma_w2, sigma_b2, [keep_prob, 1.0], ax=axes[1])
    except ValueError as err:
        _message(axes[0], err)
    plot_phase_diagram(activation, [keep_prob, 1.0], point=(sigma_w2, sigma_b2), ax=axes[2])
    axes[0].figure.tight_layout()
    return axes


def signal_propagation_widget() -> widgets.Widget:
    """Sliders σ_w², σ_b², keep_prob and the activation: :func:`draw_signal_propagation`."""

    def run(activation: str = "tanh", sigma_w2: float = 1.5, sigma_b2: float = 0.05, keep_prob: float = 0.9):
        draw_signal_propagation(activation=activation, sigma_w2=sigma_w2, sigma_b2=sigma_b2, keep_prob=keep_prob)
        plt.show()

    return widgets.interactive(
        short_errors(run),
        activation=_activation_dropdown(),
        sigma_w2=widgets.FloatSlider(value=1.5, min=0.1, max=4.0, step=0.05, description="σ_w²"),
        sigma_b2=widgets.FloatSlider(value=0.05, min=0.0, max=0.3, step=0.01, description="σ_b²"),
        keep_prob=_keep_slider(),
    )


def signal_propagation_twin(*, sigma_w2s=(1.5, 2.5), sigma_b2s=(0.05, 0.2), keep_probs=(0.7, 0.9)) -> HTML:
    """Web twin of :func:`signal_propagation_widget`: every activation on a small grid of the three sliders.

    Returns:
        The twin's HTML (:func:`dropout_theory.plotting.web_twin.web_twin`).
    """
    return web_twin(
        draw_signal_propagation,
        grid={
            "activation": list(ACTIVATION_NAMES),
            "sigma_w2": sigma_w2s,
            "sigma_b2": sigma_b2s,
            "keep_prob": keep_probs,
        },
        name="signal-propagation-twin",
        labels={"sigma_w2": "σ_w²", "sigma_b2": "σ_b²"},
        value={"activation": "tanh", "sigma_w2": 1.5, "sigma_b2": 0.05, "keep_prob": 0.9},
    )


def draw_depth_scales(*, activation: str, sigma_b2: float, keep_prob: float, num_points: int = 120, ax=None):
    """ξ_c and abs(ξ_∇) against σ_w² for one activation, σ_b² and keep_prob (against keep_prob = 1).

    Args:
        activation: activation name; sigma_b2: bias variance; keep_prob: keep probability.
        num_points: σ_w² values on each curve.
        ax: matplotlib axes (a new figure when ``None``).

    Returns:
        The axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.8))
    sw = np.linspace(0.3, 4.0, num_points)
    if activation in ("linear", "relu"):
        sw = np.linspace(0.05, (0.99 if activation == "linear" else 1.98) * keep_prob, num_points)
    try:
        plot_depth_scales(activation, sw, max(sigma_b2, 1e-3), [keep_prob, 1.0], ax=ax)
    except ValueError as err:
        _message(ax, err)
    return ax


def depth_scales_widget() -> widgets.Widget:
    """ξ_c and abs(ξ_∇) against σ_w² for a chosen activation, σ_b² and keep_prob: :func:`draw_depth_scales`."""

    def run(activation: str = "tanh", sigma_b2: float = 0.05, keep_prob: float = 0.9):
        draw_depth_scales(activation=activation, sigma_b2=sigma_b2, keep_prob=keep_prob)
        plt.show()

    return widgets.interactive(
        short_errors(run),
        activation=_activation_dropdown(),
        sigma_b2=widgets.FloatSlider(value=0.05, min=0.01, max=0.3, step=0.01, description="σ_b²"),
        keep_prob=_keep_slider(),
    )


def depth_scales_twin(*, sigma_b2s=(0.05, 0.3), keep_probs=(0.7, 0.9)) -> HTML:
    """Web twin of :func:`depth_scales_widget`: every activation on a grid of σ_b² and keep_prob (40 σ_w² values
    per curve instead of the widget's 120, to keep the precomputation short).

    Returns:
        The twin's HTML.
    """
    return web_twin(
        lambda **params: draw_depth_scales(**params, num_points=40),
        grid={"activation": list(ACTIVATION_NAMES), "sigma_b2": sigma_b2s, "keep_prob": keep_probs},
        name="depth-scales-twin",
        labels={"sigma_b2": "σ_b²"},
        value={"activation": "tanh", "sigma_b2": 0.05, "keep_prob": 0.9},
    )


def draw_gradient_metrics(
    *, activation: str, sigma_w2: float, keep_prob: float, width: int = 200, num_networks: int = 20, depth: int = 15,
    ax=None,
):  # fmt: skip
    """A small ensemble: realistic vs GIA backward pass for the single-input and pair gradient metrics.

    Args:
        activation: activation name; sigma_w2: weight variance (σ_b² = 0.05); keep_prob: keep probability.
        width, num_networks, depth: the ensemble.
        ax: matplotlib axes (a new figure when ``None``).

    Returns:
        The axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.8))
    sb = 0.05
    try:
        d = depth_scales(activation, sigma_w2, sb, keep_prob)
        x = inputs_for(d["q_star"], d["c_star"], width=width, sigma_w2=sigma_w2, sigma_b2=sb)
        curves = {}
        for mode in ("realistic", "gia"):
            res = simulate_ensemble(
                activation,
                sigma_w2,
                sb,
                keep_prob,
                depth=depth,
                width=width,
                num_networks=num_networks,
                inputs=x,
                backward=mode,
                generator=0,
            )
            curves[f"single, {mode}"] = (res.grad_single[:, :, 0].mean(0), None)
            curves[f"pair, {mode}"] = (np.abs(res.grad_pair.mean(0)), None)
        plot_layer_curves(
            curves,
            ylabel="gradient metric",
            ax=ax,
            title=f"{activation}: ξ_c = {d['xi_c']:.3g}, ξ_∇ = {d['xi_grad']:.3g}",
        )
    except ValueError as err:
        _message(ax, err)
    return ax


def gradient_metrics_widget(width: int = 200, num_networks: int = 20, depth: int = 15) -> widgets.Widget:
    """Sliders for the activation, σ_w² and keep_prob: :func:`draw_gradient_metrics`."""
    size = {"width": width, "num_networks": num_networks, "depth": depth}

    def run(activation: str = "tanh", sigma_w2: float = 1.5, keep_prob: float = 0.9):
        draw_gradient_metrics(activation=activation, sigma_w2=sigma_w2, keep_prob=keep_prob, **size)
        plt.show()

    return widgets.interactive(
        short_errors(run),
        activation=_activation_dropdown(),
        sigma_w2=widgets.FloatSlider(value=1.5, min=0.2, max=3.0, step=0.1, description="σ_w²"),
        keep_prob=_keep_slider(),
    )


def gradient_metrics_twin(
    *,
    width: int = 200,
    num_networks: int = 20,
    depth: int = 15,
    activations=("relu", "tanh", "erf"),
    sigma_w2s=(1.5, 2.5),
    keep_probs=(0.7, 0.9),
) -> HTML:
    """Web twin of :func:`gradient_metrics_widget` on a grid of the activation, σ_w² and keep_prob.

    Returns:
        The twin's HTML.
    """
    size = {"width": width, "num_networks": num_networks, "depth": depth}
    return web_twin(
        lambda **params: draw_gradient_metrics(**params, **size),
        grid={"activation": list(activations), "sigma_w2": sigma_w2s, "keep_prob": keep_probs},
        name="gradient-metrics-twin",
        labels={"sigma_w2": "σ_w²"},
        value={"activation": "tanh", "sigma_w2": 1.5, "keep_prob": 0.9},
    )


def draw_universality(
    *, activation: str, width: int, keep_prob: float, depth: int = 15, num_networks: int = 40, ax=None
):
    """Variance vs mean of the single-input gradient metric over networks, for one activation and width.

    Args:
        activation: activation name; width: layer width N; keep_prob: keep probability.
        depth, num_networks: the ensemble.
        ax: matplotlib axes (a new figure when ``None``).

    Returns:
        The axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.8))
    sw = {"linear": 0.7 * keep_prob, "relu": 1.4 * keep_prob}.get(activation, 1.5)
    try:
        d = depth_scales(activation, sw, 0.05, keep_prob)
        x = inputs_for(d["q_star"], None, width=width, sigma_w2=sw, sigma_b2=0.05)
        res = simulate_ensemble(
            activation,
            sw,
            0.05,
            keep_prob,
            depth=depth,
            width=width,
            num_networks=num_networks,
            inputs=x,
            backward="realistic",
            generator=0,
        )
        g = res.grad_single[:, :, 0]
        plot_var_vs_mean({f"{activation}, N = {width}": (g.mean(0), g.var(0))}, ax=ax)
    except ValueError as err:
        _message(ax, err)
    return ax


def universality_widget(depth: int = 15, num_networks: int = 40) -> widgets.Widget:
    """Sliders for the activation, the width and keep_prob: :func:`draw_universality`."""

    size = {"depth": depth, "num_networks": num_networks}

    def run(activation: str = "tanh", width: int = 100, keep_prob: float = 0.9):
        draw_universality(activation=activation, width=width, keep_prob=keep_prob, **size)
        plt.show()

    return widgets.interactive(
        short_errors(run),
        activation=_activation_dropdown(),
        width=widgets.IntSlider(value=100, min=50, max=400, step=50, description="width"),
        keep_prob=_keep_slider(),
    )


def universality_twin(*, depth: int = 15, num_networks: int = 40, widths=(50, 100, 200), keep_probs=(0.7, 0.9)) -> HTML:
    """Web twin of :func:`universality_widget` on a grid of the activation, width and keep_prob.

    Returns:
        The twin's HTML.
    """
    return web_twin(
        lambda **params: draw_universality(**params, depth=depth, num_networks=num_networks),
        grid={"activation": list(ACTIVATION_NAMES), "width": widths, "keep_prob": keep_probs},
        name="universality-twin",
        value={"activation": "tanh", "width": 100, "keep_prob": 0.9},
    )


def draw_trainable_depth(*, grid: DepthGrid, title: str, activation: str = "tanh", sigma_b2: float = 0.05, ax=None):
    """One trainable-depth heatmap with the depth-scale bounds 6ξ_c and 6 min(ξ_c, abs(ξ_∇)) overlaid.

    Args:
        grid: a :class:`dropout_theory.deep_meanfield.DepthGrid`.
        title: panel title.
        activation, sigma_b2: the networks' activation and bias variance (for the overlays).
        ax: matplotlib axes (a new figure when ``None``).

    Returns:
        The axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.0))
    sw = np.linspace(grid.sigma_w2.min(), grid.sigma_w2.max(), 200)
    b = trainable_depth_bound(activation, sw, sigma_b2, grid.keep_prob)
    plot_trainable_heatmap(
        grid.depths,
        grid.sigma_w2,
        grid.accuracy,
        ax=ax,
        bounds={"6ξ_c": (sw, b["xi_c_bound"]), "6 min(ξ_c, abs(ξ_∇))": (sw, b["combined_bound"])},
        title=title,
    )
    return ax


def trainable_depth_widget(
    results: Mapping[str, DepthGrid], *, activation: str = "tanh", sigma_b2: float = 0.05
) -> widgets.Widget:
    """Browse precomputed trainable-depth heatmaps by panel (no training happens in the callback).

    Args:
        results: panel label → :class:`dropout_theory.deep_meanfield.DepthGrid` (e.g. the grids of a
            :class:`dropout_theory.deep_meanfield.TrainableDepthSweep`).
        activation, sigma_b2: the networks' activation and bias variance (for the depth-scale overlays).
    """
    keys = list(results)

    def run(panel: str = keys[0]):
        draw_trainable_depth(grid=results[panel], title=panel, activation=activation, sigma_b2=sigma_b2)
        plt.show()

    return widgets.interactive(
        short_errors(run), panel=widgets.Dropdown(options=keys, value=keys[0], description="panel")
    )


def trainable_depth_twin(results: Mapping[str, DepthGrid], *, activation: str = "tanh", sigma_b2: float = 0.05) -> HTML:
    """Web twin of :func:`trainable_depth_widget`: one precomputed figure per panel.

    Returns:
        The twin's HTML.
    """
    return web_twin(
        lambda panel: draw_trainable_depth(grid=results[panel], title=panel, activation=activation, sigma_b2=sigma_b2),
        grid={"panel": list(results)},
        name="trainable-depth-twin",
    )
