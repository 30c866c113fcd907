"""Predicted rates of the gradient metrics and the linear surrogate, against the linear theorem."""

import numpy as np
import pytest

from dropout_theory.deep_meanfield import (
    fixed_point_c,
    fixed_point_q,
    gradient_rates,
    linear_surrogate,
    realistic_gia_ratio,
    surrogate_parameters,
)
from dropout_theory.symbolic.deep_linear import linear_gradient_theory


@pytest.mark.parametrize("sw2", [0.5, 0.7])
def test_the_surrogate_of_a_linear_network_is_the_theorem(sw2):
    L = 30
    qs, cs = fixed_point_q("linear", sw2, 0.1, 0.8), fixed_point_c("linear", sw2, 0.1, 0.8)
    th = linear_gradient_theory(sw2, 0.1, 0.8, np.full(L, qs), np.full(L, qs * cs))
    sur = linear_surrogate("linear", sw2, 0.1, 0.8, depth=L)
    for key in ("single", "pair", "single_gia", "pair_gia"):
        np.testing.assert_allclose(sur[key], th[key], rtol=1e-12)


@pytest.mark.parametrize(("sw2", "pair_rate"), [(0.5, 0.5), (0.7, (0.7 / 0.8) ** 2)])
def test_linear_rates_are_the_theorems_asymptotics(sw2, pair_rate):
    """σ_w² < ρ² = 0.64: the pair decays like σ_w^{2k}; σ_w² > ρ²: like (σ_w²/ρ)^{2k}. The theorem's own layer-to-layer
    ratio far from the output (k ≈ 300) approaches the tabulated rate."""
    table = gradient_rates("linear", sw2, 0.1, 0.8)
    assert table.rate("pair", "realistic") == pytest.approx(pair_rate, rel=1e-12)
    assert table.rate("pair", "gia") == pytest.approx(sw2, rel=1e-12)
    for metric in ("single", "norm"):
        assert table.rate(metric, "realistic") == pytest.approx(sw2 / 0.8, rel=1e-12)
    sur = linear_surrogate("linear", sw2, 0.1, 0.8, depth=300)
    assert sur["single"][0] / sur["single"][1] == pytest.approx(sw2 / 0.8, rel=2e-3)
    assert sur["pair"][0] / sur["pair"][1] == pytest.approx(pair_rate, rel=2e-2)
    assert ("sigma_w2 < rho^2" if sw2 < 0.64 else "sigma_w2 > rho^2") in str(table)


def test_realistic_to_gia_ratio_far_from_the_output():
    sur = linear_surrogate("relu", 1.8, 0.05, 0.95, depth=800)
    p = surrogate_parameters("relu", 1.8, 0.05, 0.95)
    assert p.kappa_1 == pytest.approx(2 / 0.95, rel=1e-10)  # φ' ∈ {0, 1}: E φ'⁴ = E φ'² = 1/2
    assert sur["single"][0] / sur["single_gia"][0] == pytest.approx(realistic_gia_ratio(p.chi_1, p.kappa_1), rel=1e-6)
    assert np.isinf(realistic_gia_ratio(1.1, 1.0))


def test_growing_single_metric_has_no_realistic_pair_rate():
    table = gradient_rates("tanh", 2.5, 0.05, 0.9)
    assert table.rate("single", "gia") > 1 and np.isnan(table.rate("pair", "realistic"))


def test_linear_pair_metric_at_sigma_w2_equal_rho_squared_decays_like_k_chi_c_to_the_k():
    """σ_w² = ρ² (0.64 = 0.8², not exactly equal in floating point): the table names the polynomial regime, and the
    theorem's pair metric divided by k σ_w^{2k} settles to a constant far from the output (k = 100 vs 200: 2 %)."""
    table = gradient_rates("linear", 0.64, 0.1, 0.8)
    assert "sigma_w2 = rho^2 (k chi_c^k)" in str(table)
    assert table.rate("pair", "realistic") == pytest.approx(0.64, rel=1e-12)
    L = 401
    qs, cs = fixed_point_q("linear", 0.64, 0.1, 0.8), fixed_point_c("linear", 0.64, 0.1, 0.8)
    th = linear_gradient_theory(0.64, 0.1, 0.8, np.full(L, qs), np.full(L, qs * cs))
    k = L - 1 - np.arange(L)
    scaled = th["pair"] / (np.maximum(k, 1) * 0.64**k)
    assert scaled[L - 1 - 200] == pytest.approx(scaled[L - 1 - 100], rel=2e-2)
    assert not th["pair"][L - 1 - 100] / th["pair"][L - 1 - 99] == pytest.approx(0.64, rel=2e-3)  # not pure χ_c^k
