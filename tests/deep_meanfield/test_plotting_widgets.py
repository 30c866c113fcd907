"""Smoke tests of part II figures and widgets: they draw what they claim and expose the documented controls."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from dropout_theory.deep_meanfield import DepthGrid
from dropout_theory.plotting import deep_meanfield as P
from dropout_theory.widgets import deep_meanfield as W


def test_map_and_phase_figures_mark_the_fixed_points():
    fig, axes = plt.subplots(1, 3)
    P.plot_q_map("tanh", 1.5, 0.05, [1.0, 0.8], ax=axes[0])
    P.plot_c_map("relu", 1.2, 0.05, [1.0, 0.9], ax=axes[1])
    P.plot_phase_diagram("erf", [1.0, 0.5], point=(1.0, 0.1), ax=axes[2])
    assert len(axes[0].lines) == 1 + 2 * 2  # identity + (curve, fixed point) per keep_prob
    x, _y = axes[2].lines[1].get_data()  # keep_prob 0.5 boundary is the keep 1 boundary scaled by 0.5
    assert np.allclose(x, 0.5 * axes[2].lines[0].get_data()[0])
    plt.close(fig)


def test_var_mean_and_heatmap_figures():
    m = np.logspace(-3, 0, 10)
    ax = P.plot_var_vs_mean({"a": (m, 0.3 * m**2)})
    assert "power 2.00" in ax.get_legend().get_texts()[-1].get_text()
    ax = P.plot_trainable_heatmap(
        np.array([2, 4]),
        np.array([1.0, 2.0]),
        np.full((2, 2), 0.5),
        bounds={"b": (np.array([1.0, 2.0]), np.array([3.0, 3.0]))},
        boundary=(np.array([1.0, 2.0]), np.array([3.0, 4.0]), np.array([0.5, np.nan])),
    )
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["b", "fitted $L^*$"] and len(ax.containers) == 1  # the censored point has no error bar
    plt.close("all")


def test_widgets_build_with_their_controls():
    w = W.signal_propagation_widget()
    assert [c.description for c in w.kwargs_widgets] == ["activation", "σ_w²", "σ_b²", "keep_prob"]
    g = DepthGrid(0.9, np.array([2.0, 4.0]), np.array([1.0, 2.0]), np.ones((2, 2)), np.ones((2, 2)), label="keep 0.9")
    w = W.trainable_depth_widget({g.label: g})
    assert [c.description for c in w.kwargs_widgets] == ["panel"]
    plt.close("all")
