"""Structured exact sampler of N(0, Σ): exact second moment via the linear map, Monte Carlo, determinism."""

from __future__ import annotations

import pytest
import torch

from dropout_theory.two_layer import (
    dropout_gradient_covariance,
    noise_cost_model,
    sample_dropout_noise,
    structured_noise_map,
)
from tests.two_layer.problems import random_problem

_problem = random_problem


@pytest.mark.parametrize("K", [None, 3])
@pytest.mark.parametrize("p", [0.25, 0.8])
def test_linear_map_reproduces_sigma_exactly(K, p):
    """Σ over unit sources of image·imageᵀ equals Σ to rounding: the sampler is exact, not approximate."""
    a, W, X, y = _problem(m=5, K=K)
    m = 5
    units_z, units_zeta = [], []
    for j in range(m):
        z = torch.zeros(m, dtype=torch.float64)
        z[j] = 1.0
        units_z.append(z)
        units_zeta.append(torch.zeros(m, m, dtype=torch.float64))
    for k in range(m):
        for r in range(k + 1, m):
            zeta = torch.zeros(m, m, dtype=torch.float64)
            zeta[k, r] = zeta[r, k] = 1.0
            units_z.append(torch.zeros(m, dtype=torch.float64))
            units_zeta.append(zeta)
    images = structured_noise_map(a, W, X, y, torch.stack(units_z), torch.stack(units_zeta), keep_prob=p)
    assert images.shape[0] == m + m * (m - 1) // 2
    sigma = dropout_gradient_covariance(a, W, X, y, keep_prob=p)
    torch.testing.assert_close(images.T @ images, sigma, rtol=1e-12, atol=1e-12 * float(sigma.abs().max()))


@pytest.mark.parametrize("K", [None, 2])
def test_monte_carlo_covariance(K):
    """200,000 draws: relative Frobenius error of the sample covariance below 0.02 (expected ≈ 0.005)."""
    a, W, X, y = _problem(m=4, K=K)
    g = torch.Generator().manual_seed(7)
    Z = sample_dropout_noise(a, W, X, y, keep_prob=0.5, num_samples=200_000, generator=g)
    sigma = dropout_gradient_covariance(a, W, X, y, keep_prob=0.5)
    emp = Z.T @ Z / Z.shape[0]
    assert float((emp - sigma).norm() / sigma.norm()) < 0.02
    assert float(Z.mean(0).abs().max()) < 5 * float(sigma.diagonal().max().sqrt()) / 200_000**0.5


def test_determinism_shapes_and_bad_input():
    a, W, X, y = _problem(K=2)
    z1 = sample_dropout_noise(a, W, X, y, keep_prob=0.6, num_samples=5, generator=torch.Generator().manual_seed(3))
    z2 = sample_dropout_noise(a, W, X, y, keep_prob=0.6, num_samples=5, generator=torch.Generator().manual_seed(3))
    assert z1.shape == (5, 5 * (2 + 3))
    assert torch.equal(z1, z2)
    assert float(sample_dropout_noise(a, W, X, y, keep_prob=1.0, num_samples=3).abs().max()) == 0.0
    with pytest.raises(ValueError, match="num_samples"):
        sample_dropout_noise(a, W, X, y, keep_prob=0.6, num_samples=0)
    with pytest.raises(ValueError, match="keep_prob"):
        sample_dropout_noise(a, W, X, y, keep_prob=-0.1, num_samples=3)
    with pytest.raises(ValueError, match="zeta"):
        structured_noise_map(a, W, X, y, torch.zeros(2, 5), torch.zeros(2, 4, 4), keep_prob=0.5)
    cost = noise_cost_model(1797, 50, 65, 10)
    assert cost["D"] == 50 * 75
    assert cost["structured"] == 2 * 1797 * 50 * 50 + 1797 * 50 * 65 + 2 * 2500 * 10
    assert cost["dropout_step"] == 2 * 1797 * 50 * 65 + 3 * 1797 * 50 * 10
    # the SME step: a dropout step's products (forward pass and gradients), the penalty's w-part and one sample
    assert cost["sme_step"] == cost["dropout_step"] + 1797 * 50 * 65 + cost["structured"]


def test_float32_and_chunking_consistent():
    a, W, X, y = _problem(m=3)
    Z = sample_dropout_noise(
        a.float(),
        W.float(),
        X.float(),
        y.float(),
        keep_prob=0.5,
        num_samples=4,
        generator=torch.Generator().manual_seed(0),
    )
    assert Z.dtype == torch.float32
