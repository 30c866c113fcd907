"""The statistics module: estimates with standard errors and log-linear fits, checked on data with known answers."""

import math

import numpy as np
import pytest
import torch

from dropout_theory.stats import Estimate, fit_exponential, fit_power_law, squared_distance_of_mean


def test_power_law_exact_noisy_and_stderr_calibrated():
    """Exact data: exponent, prefactor and r² exact, stderr ~0. Noisy data (lognormal noise of scale 0.2, 30 points):
    over 400 data sets the mean exponent is within 3 standard errors of the truth and the reported stderr matches
    the spread of the fitted exponents within 15 %."""
    m = np.logspace(-6, 0, 30)
    exact = fit_power_law(m, 3.0 * m**2)
    assert exact.exponent == pytest.approx(2.0, abs=1e-10) and exact.stderr < 1e-8
    assert exact.prefactor == pytest.approx(3.0) and exact.r_squared == pytest.approx(1.0)
    assert exact.kind == "power" and exact.num_points == 30 and exact.num_dropped == 0
    rng = np.random.default_rng(0)
    fits = [fit_power_law(m, 3.0 * m**2 * np.exp(0.2 * rng.standard_normal(30))) for _ in range(400)]
    slopes = np.array([f.exponent for f in fits])
    assert abs(slopes.mean() - 2.0) < 3 * slopes.std() / math.sqrt(400)
    assert np.mean([f.stderr for f in fits]) == pytest.approx(slopes.std(), rel=0.15)


def test_power_law_with_two_points_has_no_stderr_and_invalid_points():
    fit = fit_power_law([1.0, 4.0], [2.0, 8.0])
    assert fit.exponent == pytest.approx(1.0) and math.isnan(fit.stderr)
    with pytest.raises(ValueError, match="drop_invalid"):
        fit_power_law([1.0, 2.0, 3.0], [1.0, -1.0, 3.0])
    kept = fit_power_law([1.0, 2.0, 3.0, 4.0], [1.0, math.inf, 9.0, 16.0], drop_invalid=True)
    assert kept.num_points == 3 and kept.num_dropped == 1 and kept.exponent == pytest.approx(2.0)
    with pytest.raises(ValueError, match="at least 2 points"):
        fit_power_law([1.0, -1.0], [1.0, 1.0], drop_invalid=True)
    with pytest.raises(ValueError, match="same length"):
        fit_power_law([1.0, 2.0], [1.0])


def test_exponential_fit_gives_the_decay_length():
    layers = np.arange(10)
    fit = fit_exponential(layers, 2.0 * np.exp(layers / 3.5))
    assert fit.length == pytest.approx(3.5) and fit.prefactor == pytest.approx(2.0) and fit.kind == "exponential"
    assert abs(fit_exponential(layers, np.full(10, 2.0)).length) > 1e12  # a flat trend: no finite scale
    np.testing.assert_allclose(fit.predict(layers), 2.0 * np.exp(layers / 3.5))
    with pytest.raises(ValueError):
        fit_exponential([0.0, 1.0], [1.0, -1.0])


def test_estimate_from_samples_difference_and_format():
    """Mean and s.e. of a known sample; the s.e. of a difference of independent means adds in quadrature."""
    x = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)
    e = Estimate.from_samples(x)
    assert e.value == 2.5 and e.stderr == pytest.approx(float(x.std()) / 2) and e.num_samples == 4
    assert Estimate.from_samples(np.array([1.0, 2.0, 3.0, 4.0])) == e
    assert math.isinf(Estimate.from_samples([1.0]).stderr)
    d = Estimate(3.0, 0.3, 10) - Estimate(1.0, 0.4, 20)
    assert d.value == 2.0 and d.stderr == pytest.approx(0.5) and d.num_samples == 10
    assert str(Estimate(0.123456, 0.0123)) == "0.1235 ± 0.012" and str(Estimate.exact(2.0)) == "2"
    assert float(e) == 2.5
    with pytest.raises(ValueError, match="at least one"):
        Estimate.from_samples([])


def test_squared_distance_of_mean_is_the_pair_average_and_its_jackknife():
    """The U-statistic equals the mean of d_r·d_s over ordered pairs r ≠ s (brute force), and its standard error
    the jackknife over leave-one-out pair averages (brute force)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(7, 3, generator=g, dtype=torch.float64) + 0.3
    ref = torch.tensor([0.1, -0.2, 0.0], dtype=torch.float64)
    d = x - ref

    def pairs(rows):
        return sum(float(d[r] @ d[s]) for r in rows for s in rows if r != s) / (len(rows) * (len(rows) - 1))

    est = squared_distance_of_mean(x, ref)
    assert est.value == pytest.approx(pairs(range(7)), rel=1e-12) and est.num_samples == 7
    loo = np.array([pairs([s for s in range(7) if s != r]) for r in range(7)])
    assert est.stderr == pytest.approx(np.sqrt(6 / 7 * ((loo - loo.mean()) ** 2).sum()), rel=1e-10)
    with pytest.raises(ValueError, match="R >= 3"):
        squared_distance_of_mean(x[:2], ref)


def test_squared_distance_of_mean_is_unbiased_where_the_plug_in_is_not():
    """2,000 repetitions of 50 draws of N(μ, I₂₀), ‖μ‖² = 0.04: the U-statistic averages to 0.04 within 4 standard
    errors of the repetition mean; the plug-in ‖x̄‖² averages to 0.04 + 20/50 = 0.44."""
    g = torch.Generator().manual_seed(1)
    mu = torch.zeros(20, dtype=torch.float64)
    mu[0] = 0.2
    vals, plug = [], []
    for _ in range(2000):
        x = torch.randn(50, 20, generator=g, dtype=torch.float64) + mu
        vals.append(squared_distance_of_mean(x, torch.zeros(20)).value)
        plug.append(float(x.mean(0) @ x.mean(0)))
    v = np.array(vals)
    assert abs(v.mean() - 0.04) < 4 * v.std() / np.sqrt(v.size)
    assert np.mean(plug) == pytest.approx(0.44, abs=0.02)


def test_ratio_of_independent_estimates_matches_monte_carlo():
    """Delta-method standard error of a ratio against the spread of 20,000 simulated ratios (2 % relative error
    of the standard deviation of a sample of that size: a 10 % tolerance is about 5 of its standard errors)."""
    a, b = Estimate(3.0, 0.1, 50), Estimate(2.0, 0.05, 80)
    r = a / b
    assert r.value == pytest.approx(1.5) and r.num_samples == 50
    g = np.random.default_rng(0)
    ratios = g.normal(3.0, 0.1, 20_000) / g.normal(2.0, 0.05, 20_000)
    assert r.stderr == pytest.approx(ratios.std(), rel=0.1)
    assert (Estimate(0.0, 0.2) / Estimate(-4.0, 1.0)).stderr == pytest.approx(0.05)
    with pytest.raises(ValueError, match="value is 0"):
        a / Estimate(0.0, 1.0)
