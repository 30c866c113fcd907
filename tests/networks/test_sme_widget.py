"""The App. C chapter's widget: it builds, redraws through the library, and names the SGD batch whose noise trace
is nearest to dropout's (checked against traces of Σ = FᵀF formed densely here)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import ipywidgets
import matplotlib.pyplot as plt
import pytest
import torch

from dropout_theory.networks import dropout_sme_coefficients, init_mlp, sgd_sme_coefficients
from dropout_theory.widgets.two_layer import deep_noise_scale_widget


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _problem():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(6, 3, generator=g, dtype=torch.float64)
    y = torch.sin(X @ torch.randn(3, generator=g, dtype=torch.float64))
    widths = (3, 3, 2, 1)
    return 2 * init_mlp(widths, generator=1), X, y, widths


@pytest.mark.parametrize("mask", ["shared", "per_example"])
def test_widget_redraws_and_names_the_nearest_batch(mask):
    theta, X, y, widths = _problem()
    w = deep_noise_scale_widget(theta, X, y, widths=widths, mask=mask)
    assert isinstance(w, ipywidgets.interactive)
    sliders = {c.description: c for c in w.children if hasattr(c, "description")}
    assert {"keep_prob", "batch B"} <= set(sliders) and sliders["batch B"].max == 6
    plt.close("all")
    sliders["keep_prob"].value = 0.85  # a redraw through the library
    title = plt.gcf()._suptitle.get_text()
    drop = dropout_sme_coefficients(theta, X, y, widths=widths, keep_prob=0.85, mask=mask)
    sgd = [
        float(torch.trace(sgd_sme_coefficients(theta, X, y, widths=widths, batch_size=B).covariance))
        for B in range(1, 7)
    ]
    trace = float(torch.trace(drop.covariance))
    nearest = 1 + min(range(6), key=lambda k: abs(sgd[k] - trace))
    assert title.startswith("keep 0.85") and title.endswith(f"B = {nearest}")
    assert sgd[-1] == pytest.approx(0.0, abs=1e-12)  # the full batch has no noise


def test_widget_needs_two_examples():
    theta, X, y, widths = _problem()
    with pytest.raises(ValueError, match="at least 2 examples"):
        deep_noise_scale_widget(theta, X[:1], y[:1], widths=widths)
