"""Part I figures draw the library's numbers: weak-order errors, error bars and fitted slopes; loss bands; spectra."""

from __future__ import annotations

import dataclasses

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from dropout_theory.plotting.two_layer import plot_band, plot_spectrum, plot_weak_errors
from dropout_theory.two_layer import init_params, simulate, weak_error_study


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _problem():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(20, 3, generator=g, dtype=torch.float64)
    y = torch.sin(X @ torch.randn(3, generator=g, dtype=torch.float64))
    a, W = init_params(4, 3, generator=g, scale_a=3.0)
    return a, W, X, y


@pytest.fixture(scope="module")
def order_one_studies():
    a, W, X, y = _problem()
    return [
        weak_error_study(a, W, X, y, keep_prob=p, lrs=[0.4, 0.2, 0.1], time=1.0, num_runs=100, order=1, substeps=2,
                         generator=torch.Generator().manual_seed(k))
        for k, p in enumerate((0.9, 0.7))
    ]  # fmt: skip


@pytest.mark.parametrize("order", [1, 2])
def test_weak_error_figure_draws_the_errors_their_bars_and_the_fitted_slope(order_one_studies, order):
    # the figure reads only the study's fields: an order-1 study relabelled as order 2 checks the order-2 drawing
    studies = [dataclasses.replace(st, order=order) for st in order_one_studies]
    ax = plot_weak_errors(studies)
    assert (ax.get_xscale(), ax.get_yscale(), ax.get_title()) == ("log", "log", f"order-{order} SME")
    assert len(ax.containers) == len(studies)
    lrs = sorted({float(lr) for st in studies for lr in st.lrs})  # the only x tick labels: none collide
    assert list(ax.get_xticks()) == lrs and not ax.xaxis.get_minorticklocs().size
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"{lr:g}" for lr in lrs]
    refs = [ln for ln in ax.lines if ln.get_linestyle() == ":"]
    for st, bars, ref in zip(studies, ax.containers, refs, strict=True):
        data, _, (segments,) = bars
        x, e = data.get_data()
        np.testing.assert_array_equal(x, st.lrs)
        np.testing.assert_array_equal(e, st.errors)
        for (x0, lo), (x1, hi), lr, err, se in zip(*zip(*segments.get_segments(), strict=True), st.lrs, st.errors,
                                                   st.std_errors, strict=True):  # fmt: skip
            assert x0 == x1 == lr
            assert (lo, hi) == pytest.approx((err - 2 * se, err + 2 * se), rel=1e-12)  # ±2 standard errors
        slope = np.polyfit(np.log(x), np.log(e), 1)[0]  # the fit of the points as drawn
        assert bars.get_label() == f"keep_prob {st.keep_prob:g}: slope {slope:.2f}"
        rx, ry = ref.get_data()
        assert ry[0] == pytest.approx(e[0]) and np.polyfit(np.log(rx), np.log(ry), 1)[0] == pytest.approx(order)
        assert ref.get_color() == data.get_color()


def test_band_is_the_mean_and_the_min_max_over_runs_against_time():
    a, W, X, y = _problem()
    lr = 0.1
    ens = simulate(a, W, X, y, method="dropout", keep_prob=0.7, lr=lr, num_steps=40, num_runs=5, record_every=5,
                   generator=torch.Generator().manual_seed(3))  # fmt: skip
    _, ax = plt.subplots()
    assert plot_band(ens, lr=lr, label="dropout", color="C1", ax=ax) is ax
    (line,) = ax.lines
    t, vals = ens.steps.numpy() * lr, ens.train_loss.numpy()
    np.testing.assert_allclose(line.get_xdata(), t, rtol=1e-15)
    np.testing.assert_allclose(line.get_ydata(), vals.mean(0), rtol=1e-12)
    verts = ax.collections[0].get_paths()[0].vertices
    for ti, lo, hi in zip(t, vals.min(0), vals.max(0), strict=True):
        ys = verts[np.isclose(verts[:, 0], ti), 1]
        assert ys.min() == pytest.approx(lo, rel=1e-12) and ys.max() == pytest.approx(hi, rel=1e-12)
    assert ax.get_xlabel() == r"time $t=\eta N$" and line.get_label() == "dropout"


def test_spectrum_is_sorted_descending():
    ev = torch.tensor([0.5, 3.0, 1e-3, 2.0], dtype=torch.float64)
    ax = plot_spectrum({"Σ": ev})
    (line,) = ax.lines
    np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3, 4])
    np.testing.assert_array_equal(line.get_ydata(), [3.0, 2.0, 0.5, 1e-3])
    assert ax.get_yscale() == "log" and line.get_label() == "Σ"
