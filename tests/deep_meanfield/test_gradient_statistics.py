"""Layer-by-layer statistics of the gradient metrics: fits against a model with known answers, storage, readout."""

import json

import numpy as np
import torch

from dropout_theory.deep_meanfield import (
    GradientStatistics,
    gradient_statistics_job,
    inputs_for,
    metric_statistics,
    simulate_ensemble,
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
