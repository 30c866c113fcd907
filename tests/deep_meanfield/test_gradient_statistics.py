"""Layer-by-layer statistics of the gradient metrics: fits against a model with known answers, storage, readout."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from dropout_theory.deep_meanfield import (
    GradientStatistics,
    gradient_rates,
    gradient_statistics_job,
    inputs_for,
    metric_statistics,
    simulate_ensemble,
    universality_table,
    width_exponent,
)
from dropout_theory.jobs import run_jobs


def _multiplicative(mu, v, num, L, seed):
    """Products of k independent factors mu(1 + √v ε): mean mu^k, Var/Mean² = (1 + v)^k − 1 exactly."""
    eps = np.random.default_rng(seed).standard_normal((num, L))
    eps[:, 0] = 0.0  # k = 0: the output, no factor yet
    return np.cumprod(mu * (1 + np.sqrt(v) * eps) / np.where(np.arange(L) == 0, mu, 1.0), axis=1)


def test_fits_recover_a_multiplicative_model():
    """Rate μ, relative-variance slope ≈ v and independent samples agree within 4 combined bootstrap errors."""
    mu, v, L = 0.8, 0.01, 21
    a = metric_statistics(_multiplicative(mu, v, 400, L, 1), window=(1, 20), power_windows=[(1, 10), (11, 20)],
                          num_boot=100, generator=0)  # fmt: skip
    b = metric_statistics(_multiplicative(mu, v, 400, L, 2), window=(1, 20), num_boot=100, generator=0)
    assert abs(a.rate.value - mu) < 4 * a.rate.stderr and a.rate_layers == 20
    slope = ((1 + v) ** 20 - (1 + v)) / 19  # the secant of (1 + v)^k − 1 over the window
    assert abs(a.rel_var_slope.value - slope) < 4 * a.rel_var_slope.stderr
    for fa, fb in ((a.rate, b.rate), (a.rel_var_slope, b.rel_var_slope), (a.power, b.power)):
        assert abs(fa.value - fb.value) < 4 * np.hypot(fa.stderr, fb.stderr)
    assert len(a.local_powers) == 2 and a.power.value < 2  # decaying: p = 2 − ln(1 + v)/a − … < 2


def test_a_job_survives_json_and_reads_back():
    params = dict(activation="tanh", sigma_w2=1.0, sigma_b2=0.05, keep_prob=0.9, depth=6, width=16, num_networks=8,
                  backward="gia", window=[1, 5], power_windows=[[1, 5]], num_boot=10, seed=3)  # fmt: skip
    (stored,) = run_jobs(gradient_statistics_job, [params], max_workers=1, progress=False)
    g = GradientStatistics.from_dict(json.loads(json.dumps(stored)))
    direct = gradient_statistics_job(**params)
    np.testing.assert_array_equal(g.metrics["single"].mean, direct["metrics"]["single"]["mean"])
    assert g.window == (1, 5) and g.metrics["norm"].mean.shape == (6,)


def test_a_random_readout_gives_the_gia_metrics_of_a_linear_network():
    """δ^L = g independent of the network: E‖δ^l‖²/N = (σ_w²/ρ)^k and E δ_a·δ_b/N = σ_w^{2k} exactly at any width
    (the realistic pass then computes the GIA values); 3,000 networks of width 24 within 4 standard errors."""
    sw2, r, L = 0.7, 0.8, 6
    x = inputs_for(0.5, 0.3, width=24, sigma_w2=sw2, sigma_b2=0.1)
    res = simulate_ensemble("linear", sw2, 0.1, r, depth=L, width=24, num_networks=3000, inputs=x,
                            backward="realistic", readout="random", generator=4, dtype=torch.float64)  # fmt: skip
    k = L - 1 - np.arange(L)
    for sims, exact in ((res.grad_single[:, :, 0], (sw2 / r) ** k), (res.grad_pair, sw2**k)):
        assert np.all(np.abs(sims.mean(0) - exact) < 4 * sims.std(0) / np.sqrt(3000))


def test_width_exponent_of_a_model_with_v_proportional_to_one_over_n():
    """Multiplicative models with v = 2/N at N = 100, 200, 400: α within 4 standard errors of −1, and the same numbers
    as numpy's weighted polynomial fit of log v on log N (weights v/s.e.(v), unscaled covariance)."""
    stats = []
    for N in (100, 200, 400):
        m = metric_statistics(_multiplicative(0.8, 2 / N, 400, 21, N), window=(1, 20), num_boot=100, generator=0)
        stats.append(SimpleNamespace(width=N, metrics={"single": m}))
    alpha = width_exponent(stats)
    assert abs(alpha.value + 1) < 4 * alpha.stderr and alpha.num_samples == 3
    v = np.array([g.metrics["single"].rel_var_slope.value for g in stats])
    se = np.array([g.metrics["single"].rel_var_slope.stderr for g in stats])
    coef, cov = np.polyfit(np.log([100, 200, 400]), np.log(v), 1, w=v / se, cov="unscaled")
    assert alpha.value == pytest.approx(coef[0], rel=1e-10)
    assert alpha.stderr == pytest.approx(np.sqrt(cov[0, 0]), rel=1e-10)
    with pytest.raises(ValueError, match="width_exponent"):
        width_exponent(stats[:1])


def test_the_pair_table_predicts_the_power_from_the_two_rates():
    """The pair metric gets its own table; its predicted power is 2 ln χ₁ / ln λ_ab (asymptotic rates) and
    2 ln λ_aa / ln λ_ab from the fitted rates, with the delta-method error of independent rates."""
    params = dict(activation="tanh", sigma_w2=1.0, sigma_b2=0.05, keep_prob=0.9, depth=8, width=32, num_networks=40,
                  backward="realistic", window=[1, 6], power_windows=[[1, 6]], num_boot=20, seed=5)  # fmt: skip
    (stored,) = run_jobs(gradient_statistics_job, [params], max_workers=1, progress=False)
    g = GradientStatistics.from_dict(stored)
    table = universality_table([g], metrics=("pair",))
    assert not table.rows and "pair metric" in str(table)
    ((*_, predicted, fitted),) = table.pair_rows
    rates = gradient_rates("tanh", 1.0, 0.05, 0.9)
    assert predicted == pytest.approx(2 * np.log(rates.parameters.chi_1) / np.log(rates.rate("pair", "realistic")))
    la, lb = g.metrics["single"].rate, g.metrics["pair"].rate
    assert fitted.value == pytest.approx(2 * np.log(la.value) / np.log(lb.value), rel=1e-12)
    rel = np.hypot(la.stderr / (la.value * np.log(la.value)), lb.stderr / (lb.value * np.log(lb.value)))
    assert fitted.stderr == pytest.approx(abs(fitted.value) * rel, rel=1e-12)
