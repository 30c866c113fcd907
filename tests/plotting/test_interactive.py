"""Precomputed interactive (plotly) figures: offline HTML, slider logic, and the numbers they carry."""

from __future__ import annotations

import re

import numpy as np
import plotly.graph_objects as go
import pytest

from dropout_theory.plotting.interactive import (
    offline_html,
    order_chaos_explorer,
    phase_map_explorer,
    slider_figure,
    trajectory_explorer,
)


def test_offline_html_has_no_external_url_and_is_stable():
    fig = go.Figure(go.Scatter(x=[0.0, 1.0], y=[1 / 3, 2 / 3]))
    a = offline_html(fig, "my-fig").data
    assert a == offline_html(fig, "my-fig").data
    assert 'id="my-fig"' in a
    assert "window.Plotly && document.getElementById" in a
    assert not re.search(r"https?://(?!www\.w3\.org)", a), "offline HTML must not reference external hosts"
    assert "0.3333" in a and "0.33333" not in a  # rounded to 4 significant digits


def test_offline_html_rounds_numpy_data_so_round_off_cannot_change_the_bytes():
    # plotly >= 6 embeds numpy arrays as base64 typed arrays; those must be rounded too (they once were not, and
    # the stored explorer of the SME chapter changed with the BLAS configuration).
    rng = np.random.default_rng(0)
    x, y, z = np.linspace(0, 1, 200), rng.normal(size=200), rng.normal(size=(20, 30))

    def html(perturbation: float) -> str:
        fig = go.Figure(go.Scatter(x=x, y=y * (1 + perturbation * rng.uniform(-1, 1, size=200))))
        fig.add_trace(go.Heatmap(z=z * (1 + perturbation * rng.uniform(-1, 1, size=z.shape))))
        return offline_html(fig, "typed").data

    a = html(0.0)
    assert "bdata" not in a
    assert a == html(1e-12)
    assert f"{y[0]:.4g}" in a and f"{y[0]:.6g}" not in a
    assert f"[{float(f'{z[0, 0]:.4g}')!r}," in a  # 2-d data rounded row by row


def test_offline_html_writes_non_finite_values_as_gaps():
    a = offline_html(go.Figure(go.Scatter(x=np.arange(3.0), y=np.array([1.0, np.nan, np.inf]))), "gaps").data
    assert '"y":[1.0,null,null]' in a
    with pytest.raises(ValueError, match="digits"):
        offline_html(go.Figure(), "d", digits=0)


def test_offline_html_rejects_bad_ids():
    with pytest.raises(ValueError, match="div_id must be alphanumeric"):
        offline_html(go.Figure(), 'x" onload="alert(1)')


def test_slider_shows_exactly_one_step():
    steps = {"a": [go.Scatter(x=[0], y=[0]), go.Scatter(x=[1], y=[1])], "b": [go.Scatter(x=[2], y=[2])]}
    fig = slider_figure(steps, slider_label="s", title="t", xaxis={}, yaxis={}, active=1)
    assert [tr.visible for tr in fig.data] == [False, False, True]
    vis = [step["args"][0]["visible"] for step in fig.layout.sliders[0].steps]
    assert vis == [[True, True, False], [False, False, True]]
    with pytest.raises(ValueError, match="active must lie in"):
        slider_figure(steps, slider_label="s", title="t", xaxis={}, yaxis={}, active=2)


def test_order_chaos_explorer_matches_closed_forms():
    keeps = (1.0, 0.7)
    fig = order_chaos_explorer(activations=("relu", "tanh"), keep_probs=keeps, point=None)
    visible_per_step = [step["args"][0]["visible"] for step in fig.layout.sliders[0].steps]
    for k, rho in enumerate(keeps):
        relu, tanh = (fig.data[i] for i, v in enumerate(visible_per_step[k]) if v)
        # ReLU: E[relu'(z)^2] = 1/2, so chi_1 = 1 at sigma_w^2 = 2 rho for every sigma_b^2
        np.testing.assert_allclose(relu.y, 2 * rho, rtol=1e-10)
        # tanh, sigma_b^2 = 0.05 (grid point 4 of 41 on [0, 0.5]): 1.761 rho (Schoenholz et al.)
        assert tanh.x[4] == pytest.approx(0.05)
        assert tanh.y[4] == pytest.approx(1.761 * rho, abs=2e-3)


def test_phase_map_explorer_classifies_the_exact_grid():
    fig = phase_map_explorer()
    names = {tr.name: tr for tr in fig.data}
    crit = names["critical"]
    assert list(zip(crit.x, crit.y, strict=True)) == [(1.0, 1.0)]
    assert sum(len(tr.x) for tr in fig.data) == 41 * 31  # a in [0, 2], b in [0, 1.5], step 1/20
    bern = names["bernoulli jump"]
    assert list(zip(bern.x, bern.y, strict=True)) == [(0.0, 0.0)]


def test_trajectory_explorer_bands():
    x = np.arange(3.0)
    fig = trajectory_explorer(
        {"lr 0.1": {"dropout": (x, x + 1, x, x + 2)}}, slider_label="case", title="t", log_y=False
    )
    band, mean = fig.data
    np.testing.assert_allclose(band.y, [2, 3, 4, 2, 1, 0])
    np.testing.assert_allclose(mean.y, [1, 2, 3])
