"""Slopes χ and depth scales ξ: closed forms, finite-difference derivatives of the maps, known critical line."""

import numpy as np
import pytest

from dropout_theory.deep_meanfield import (
    c_map,
    chi_1,
    critical_sigma_w2,
    depth_scale,
    depth_scales,
    fixed_point_c,
    fixed_point_q,
    order_chaos_boundary,
    q_map,
)


def test_known_critical_point_tanh():
    s = critical_sigma_w2("tanh", 0.05, 1.0)
    assert abs(s - 1.761) < 5e-4
    assert np.isclose(chi_1("tanh", s, 0.05, 1.0), 1.0, atol=1e-9)


@pytest.mark.parametrize("act", ["tanh", "erf", "hard_tanh"])
def test_boundary_scales_with_keep_prob_and_has_chi1_one(act):
    sb = np.array([0.01, 0.05, 0.3])
    grid = order_chaos_boundary(act, sb, [1.0, 0.6])
    assert np.allclose(grid[1], 0.6 * grid[0], rtol=1e-12)
    assert np.allclose(chi_1(act, grid[1], sb, 0.6), 1.0, atol=1e-8)


def test_linear_and_relu_closed_forms():
    d = depth_scales("linear", 0.5, 0.1, 0.8)
    assert np.isclose(d["chi_1"], 0.5 / 0.8) and np.isclose(d["chi_c"], 0.5) and np.isclose(d["chi_q"], 0.5 / 0.8)
    assert np.isclose(d["xi_c"], -1 / np.log(0.5)) and np.isclose(d["xi_grad"], -1 / np.log(0.625))
    r = depth_scales("relu", 1.2, 0.1, 0.9)
    c = r["c_star"]
    assert np.isclose(r["chi_1"], 1.2 / 1.8)
    assert np.isclose(r["chi_c"], 1.2 * (np.pi - np.arccos(c)) / (2 * np.pi), rtol=1e-9)
    assert set(d) >= {"chi_1", "chi_c", "xi_q", "xi_c", "xi_grad"}


@pytest.mark.parametrize("act", ["tanh", "erf", "hard_tanh", "relu"])
def test_chis_are_slopes_of_the_maps(act):
    """χ_c = d c_map/dc at c*, χ_q = d q_map/dq at q* (central differences, h = 1e-5)."""
    s, b, r = 1.3, 0.1, 0.8
    d = depth_scales(act, s, b, r)
    q, c, h = d["q_star"], d["c_star"], 1e-5
    dc = (c_map(act, c + h, s, b, r, q=q) - c_map(act, c - h, s, b, r, q=q)) / (2 * h)
    dq = (q_map(act, q + h, s, b, r) - q_map(act, q - h, s, b, r)) / (2 * h)
    assert np.isclose(d["chi_c"], dc, rtol=1e-6)
    assert np.isclose(d["chi_q"], dq, rtol=1e-6)


def test_chi1_is_slope_of_c_map_at_one_without_dropout():
    s, b = 1.4, 0.05
    q = fixed_point_q("tanh", s, b, 1.0)
    h = 1e-5
    slope = (c_map("tanh", 1.0, s, b, 1.0, q=q) - c_map("tanh", 1.0 - h, s, b, 1.0, q=q)) / h
    assert np.isclose(slope, chi_1("tanh", s, b, 1.0), rtol=1e-4)
    assert fixed_point_c("tanh", s, b, 1.0) == 1.0


def test_depth_scale_edge_values():
    assert depth_scale(1.0) == np.inf
    assert depth_scale(0.0) == 0.0
    assert np.isclose(depth_scale(np.e**-0.5), 2.0)
    assert depth_scale(2.0) < 0
    with pytest.raises(ValueError):
        depth_scale(-0.1)


def test_vectorized_depth_scales_match_scalar():
    s = np.array([0.8, 1.5, 2.5])
    d = depth_scales("tanh", s, 0.05, 0.9)
    assert d["xi_c"].shape == (3,)
    one = depth_scales("tanh", 1.5, 0.05, 0.9)
    assert np.isclose(d["xi_c"][1], one["xi_c"], rtol=1e-12)
