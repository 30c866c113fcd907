"""Smoke test of the chapter's widget: it builds, and one redraw at small sizes runs the library end to end."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import ipywidgets
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from dropout_theory.two_layer import init_params
from dropout_theory.widgets import alignment as alignment_widgets


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _problem():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(30, 4, generator=g, dtype=torch.float64)
    y = torch.tanh(X[:, :2])
    a, W = init_params(3, 4, 2, generator=g)
    return a, W, X, y


def test_widget_builds_and_redraws():
    a, W, X, y = _problem()
    w = alignment_widgets.variance_flatness_widget(a, W, X, y, burn_in=20, window=12, num_components=5)
    assert isinstance(w, ipywidgets.interactive)
    names = [c.description for c in w.children if hasattr(c, "description")]
    assert "keep_prob" in names and "learning rate" in names
    w.children[0].value = 0.6  # triggers a redraw through the library
    ax, res, alpha = alignment_widgets.draw_variance_flatness(
        a, W, X, y, keep_prob=0.6, lr=0.2, burn_in=20, window=12, num_components=5
    )
    assert res.variances.shape == (5,) and np.all(np.diff(res.variances) <= 0)
    assert -1.0 <= alpha <= 1.0
    assert len(ax.lines) == 2


def test_window_must_exceed_components():
    a, W, X, y = _problem()
    with pytest.raises(ValueError, match="window"):
        alignment_widgets.draw_variance_flatness(
            a, W, X, y, keep_prob=0.6, lr=0.2, burn_in=5, window=3, num_components=5
        )


def test_minima_flatness_widget_builds_and_redraws():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(24, 5, generator=g, dtype=torch.float64)
    y = torch.tanh(X[:, :3])

    def mse(out, target):
        return 0.5 * ((out - target) ** 2).sum(1).mean()

    w = alignment_widgets.minima_flatness_widget(X, y, mse, widths=(5, 6, 3), num_steps=10)
    assert isinstance(w, ipywidgets.interactive)
    w.children[0].value = 0.7  # triggers a training + redraw through the library
    from dropout_theory.alignment import minima_flatness
    from dropout_theory.networks import dropout_mlp

    cmp = minima_flatness(
        dropout_mlp((5, 6, 3), keep_prob=0.7, generator=torch.Generator().manual_seed(0)),
        mse,
        X,
        y,
        lr=0.05,
        num_steps=10,
        num_probes=4,
        generator=torch.Generator().manual_seed(1),
    )
    left, right = alignment_widgets.draw_minima_flatness(cmp)
    assert len(left.lines) == 4  # one loss curve per strategy
    assert len(right.lines) == 5  # four end points + the 2/eta line
    assert right.lines[-1].get_ydata()[0] == pytest.approx(2 / 0.05)
