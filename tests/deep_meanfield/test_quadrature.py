"""Gauss–Hermite / composite quadrature against closed forms and a high-sample Monte Carlo estimate."""

import numpy as np
import pytest

from dropout_theory.deep_meanfield.quadrature import (
    KINKS,
    activation_deriv,
    activation_fn,
    bivariate_expectation,
    gauss_hermite,
    gaussian_expectation,
)

Q = np.array([0.05, 0.3, 1.0, 2.5, 7.0])
C = np.array([-0.9, -0.2, 0.3, 0.7, 0.95])


def test_rule_integrates_gaussian_moments_exactly():
    z, w = gauss_hermite(21)
    for n, m in [(0, 1.0), (2, 1.0), (4, 3.0), (6, 15.0), (8, 105.0)]:
        assert np.isclose(w @ z**n, m, rtol=1e-12)


def test_linear_closed_forms():
    lin = activation_fn("linear")
    assert np.allclose(gaussian_expectation(lambda x: lin(x) ** 2, Q), Q, rtol=1e-12)
    got = bivariate_expectation(lin, lin, Q, 2 * Q, C)
    assert np.allclose(got, C * np.sqrt(2) * Q, rtol=1e-10, atol=1e-14)


def test_relu_arccos_kernel():
    """Cho & Saul's arc-cosine kernels: E[relu(u_a)relu(u_b)] and E[1(u_a>0)1(u_b>0)]."""
    f, df = activation_fn("relu"), activation_deriv("relu")
    k = KINKS["relu"]
    got = bivariate_expectation(f, f, Q, 1.3 * Q, C, kinks=k)
    exact = np.sqrt(1.3) * Q / (2 * np.pi) * (np.sqrt(1 - C**2) + (np.pi - np.arccos(C)) * C)
    assert np.allclose(got, exact, rtol=1e-10)
    got_d = bivariate_expectation(df, df, Q, Q, C, kinks=k)
    assert np.allclose(got_d, (np.pi - np.arccos(C)) / (2 * np.pi), rtol=1e-9)
    assert np.allclose(gaussian_expectation(lambda x: f(x) ** 2, Q, kinks=k), Q / 2, rtol=1e-12)


def test_plain_gauss_hermite_is_inaccurate_at_kinks():
    """Why the composite rule exists: 101² Gauss–Hermite nodes miss the ReLU derivative kernel by > 1e-3."""
    df = activation_deriv("relu")
    plain = bivariate_expectation(df, df, 1.0, 1.0, 0.3)
    assert abs(plain - (np.pi - np.arccos(0.3)) / (2 * np.pi)) > 1e-3


def test_erf_arcsin_kernel():
    f = activation_fn("erf")
    qa, qb = Q, 0.7 * Q
    got = bivariate_expectation(f, f, qa, qb, C)
    sab = C * np.sqrt(qa * qb)
    exact = 2 / np.pi * np.arcsin(2 * sab / np.sqrt((1 + 2 * qa) * (1 + 2 * qb)))
    # smooth integrand: machine precision for moderate q; erf(√q z) steepens with q (1e-6 at q = 7)
    assert np.allclose(got[:3], exact[:3], rtol=1e-12, atol=1e-14)
    assert np.allclose(got, exact, atol=5e-6)


def test_hard_tanh_closed_form():
    """E clip(√q z, −1, 1)² = q(2Φ(a)−1 − 2aφ(a)) + 2(1−Φ(a)) with a = 1/√q."""
    from scipy.stats import norm

    f = activation_fn("hard_tanh")
    a = 1 / np.sqrt(Q)
    exact = Q * (2 * norm.cdf(a) - 1 - 2 * a * norm.pdf(a)) + 2 * norm.sf(a)
    got = gaussian_expectation(lambda x: f(x) ** 2, Q, kinks=KINKS["hard_tanh"])
    assert np.allclose(got, exact, rtol=1e-11)


def test_tanh_against_monte_carlo():
    """2·10⁶ Gaussian pairs; tolerance 5 standard errors of the Monte Carlo mean."""
    rng = np.random.default_rng(0)
    n = 2_000_000
    z1, z2 = rng.standard_normal(n), rng.standard_normal(n)
    qa, qb, c = 1.7, 0.6, 0.45
    ua = np.sqrt(qa) * z1
    ub = np.sqrt(qb) * (c * z1 + np.sqrt(1 - c * c) * z2)
    for f in (activation_fn("tanh"), activation_deriv("tanh")):
        samples = f(ua) * f(ub)
        se = samples.std() / np.sqrt(n)
        assert abs(bivariate_expectation(f, f, qa, qb, c) - samples.mean()) < 5 * se


def test_unknown_activation_and_bad_node_count():
    with pytest.raises(ValueError, match="activation"):
        activation_fn("sigmoidal")
    with pytest.raises(ValueError, match="num_nodes"):
        gauss_hermite(1)
