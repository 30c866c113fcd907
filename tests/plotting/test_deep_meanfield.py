"""Part II figures draw the library's numbers: map curves, fixed-point markers, depth scales, order–chaos lines,
trainability heatmaps with their bounds (checked on the plotted data, not on the picture)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import QuadMesh

from dropout_theory.deep_meanfield import (
    c_map,
    chi_1,
    critical_sigma_w2,
    depth_scales,
    fixed_point_c,
    fixed_point_q,
    q_map,
    trainable_depth_bound,
)
from dropout_theory.plotting import deep_meanfield as P


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _curves(ax):
    """Lines drawn with a line style, by label."""
    return {ln.get_label(): ln for ln in ax.lines if ln.get_linestyle() != "None"}


def _markers(ax):
    """Lines drawn as markers only, in drawing order."""
    return [ln for ln in ax.lines if ln.get_linestyle() == "None"]


@pytest.mark.parametrize(("activation", "sigma_w2", "sigma_b2"), [("tanh", 1.5, 0.05), ("linear", 0.5, 0.1)])
def test_q_map_curves_and_fixed_point_markers(activation, sigma_w2, sigma_b2):
    keeps = [1.0, 0.8, 0.6]
    ax = P.plot_q_map(activation, sigma_w2, sigma_b2, keeps)
    curves, markers = _curves(ax), _markers(ax)
    x, y = curves["identity"].get_data()
    np.testing.assert_array_equal(x, y)
    assert len(markers) == len(keeps)
    for r, marker in zip(keeps, markers, strict=True):
        curve = curves[f"keep_prob = {r:g}"]
        x, y = curve.get_data()
        np.testing.assert_allclose(y, q_map(activation, x, sigma_w2, sigma_b2, r), rtol=1e-12)
        q_star = fixed_point_q(activation, sigma_w2, sigma_b2, r)
        (mx,), (my,) = marker.get_data()
        assert mx == pytest.approx(q_star, rel=1e-9) and my == pytest.approx(q_star, rel=1e-9)
        assert q_map(activation, mx, sigma_w2, sigma_b2, r) == pytest.approx(my, rel=1e-6)  # on the drawn map
        assert marker.get_color() == curve.get_color()
        assert ax.get_xlim()[0] <= q_star <= ax.get_xlim()[1] and ax.get_ylim()[0] <= q_star <= ax.get_ylim()[1]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("$q^{l}$", "$q^{l+1}$")
    assert f"$\\sigma_w^2$={sigma_w2:g}" in ax.get_title()


def test_c_map_curves_and_fixed_points_below_one_with_dropout():
    keeps = [1.0, 0.95, 0.9]
    ax = P.plot_c_map("relu", 1.6, 0.05, keeps)
    curves, markers = _curves(ax), _markers(ax)
    for r, marker in zip(keeps, markers, strict=True):
        x, y = curves[f"keep_prob = {r:g}"].get_data()
        np.testing.assert_allclose(y, c_map("relu", x, 1.6, 0.05, r), rtol=1e-12)
        c_star = fixed_point_c("relu", 1.6, 0.05, r)
        (mx,), (my,) = marker.get_data()
        assert mx == pytest.approx(c_star, rel=1e-9) and my == pytest.approx(c_star, rel=1e-9)
        assert c_map("relu", mx, 1.6, 0.05, r) == pytest.approx(my, abs=1e-7)
        assert (mx == pytest.approx(1.0)) if r == 1.0 else (mx < 0.999)  # dropout moves c* below 1


def test_depth_scales_are_the_library_values_and_peak_at_the_transition():
    sw = np.linspace(0.8, 3.0, 221)
    ax = P.plot_depth_scales("tanh", sw, 0.05, [1.0, 0.9])
    curves = _curves(ax)
    assert ax.get_yscale() == "log"
    for r in (1.0, 0.9):
        d = depth_scales("tanh", sw, 0.05, r)
        xi_c = curves[f"$\\xi_c$, keep_prob = {r:g}"]
        xi_grad = curves[f"$|\\xi_\\nabla|$, keep_prob = {r:g}"]
        assert xi_c.get_linestyle() == "-" and xi_grad.get_linestyle() == ":"
        np.testing.assert_array_equal(xi_c.get_xdata(), sw)
        np.testing.assert_allclose(xi_c.get_ydata(), d["xi_c"], rtol=1e-12)
        np.testing.assert_allclose(xi_grad.get_ydata(), np.abs(d["xi_grad"]), rtol=1e-12)
    # without dropout the drawn ξ_c peaks at the order-to-chaos transition (σ_w² ≈ 1.761 for tanh, σ_b² = 0.05)
    x, y = _curves(ax)["$\\xi_c$, keep_prob = 1"].get_data()
    assert abs(x[np.argmax(y)] - critical_sigma_w2("tanh", 0.05, 1.0)) <= sw[1] - sw[0]


def test_order_chaos_lines_have_chi1_one():
    ax = P.plot_phase_diagram("tanh", [1.0, 0.5], point=(1.5, 0.05))
    curves = _curves(ax)
    for r in (1.0, 0.5):
        x, y = curves[f"keep_prob = {r:g}"].get_data()
        np.testing.assert_allclose(x, critical_sigma_w2("tanh", y, r), rtol=1e-12)
        for k in (10, 30, 60):  # σ_b² = 0.05, 0.15, 0.3
            assert chi_1("tanh", x[k], y[k], r) == pytest.approx(1.0, abs=1e-6)
    x, y = curves["keep_prob = 1"].get_data()
    assert y[10] == pytest.approx(0.05) and x[10] == pytest.approx(1.761, abs=2e-3)  # known critical point
    (star,) = _markers(ax)
    assert [v[0] for v in star.get_data()] == [1.5, 0.05]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("$\\sigma_w^2$", "$\\sigma_b^2$")


def test_trainable_heatmap_draws_the_accuracies_and_the_bounds():
    depths, sw = np.array([10.0, 20.0, 40.0]), np.array([1.0, 1.5, 2.0, 3.0])
    acc = np.arange(12, dtype=np.float64).reshape(3, 4) / 12
    fine = np.linspace(1.0, 3.0, 50)
    b = trainable_depth_bound("tanh", fine, 0.05, 0.9)
    bounds = {"$6\\xi_c$": (fine, b["xi_c_bound"]), "$6\\min$": (fine, b["combined_bound"])}
    ax = P.plot_trainable_heatmap(depths, sw, acc, bounds=bounds, title="keep 0.9")
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    np.testing.assert_array_equal(np.asarray(mesh.get_array()).reshape(3, 4), acc)
    assert mesh.get_clim() == (0.0, 1.0)
    for label, (x, y) in bounds.items():
        line = _curves(ax)[label]
        np.testing.assert_array_equal(line.get_xdata(), x)
        np.testing.assert_array_equal(line.get_ydata(), y)
    np.testing.assert_allclose(_curves(ax)["$6\\xi_c$"].get_ydata(), 6 * depth_scales("tanh", fine, 0.05, 0.9)["xi_c"])
    assert ax.get_ylim() == (9.5, 40.5)
    assert ax.figure.axes[-1].get_ylabel() == "training accuracy"
