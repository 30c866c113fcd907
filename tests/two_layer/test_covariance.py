"""Σ: dense closed form vs exact enumeration of all 2^m masks, for scalar and vector outputs."""

from __future__ import annotations

import itertools

import pytest
import torch

from dropout_theory.two_layer import (
    dropout_gradient,
    dropout_gradient_covariance,
    enumerate_mask_moments,
    flatten_params,
    modified_loss_gradient,
    sample_dropout_gradients,
)
from tests.two_layer.problems import random_problem

_problem = random_problem


def _loop_covariance(a, W, X, y, p, activation):
    """Cov over masks with a plain Python loop over the public per-mask gradient (independent path)."""
    m = W.shape[0]
    grads, weights = [], []
    for keep in itertools.product([0.0, 1.0], repeat=m):
        keep_t = torch.tensor(keep, dtype=torch.float64)
        weights.append(float(p ** keep_t.sum() * (1 - p) ** (m - keep_t.sum())))
        grads.append(flatten_params(*dropout_gradient(a, W, X, y, keep_t / p, activation=activation)))
    G = torch.stack(grads)
    w = torch.tensor(weights, dtype=torch.float64)
    mean = w @ G
    return mean, (G - mean).T @ ((G - mean) * w[:, None])


@pytest.mark.parametrize("K", [None, 3])
@pytest.mark.parametrize("activation", ["tanh", "softplus", "relu"])
@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_covariance_equals_enumeration(K, activation, p):
    a, W, X, y = _problem(m=6, K=K)
    mean, cov = _loop_covariance(a, W, X, y, p, activation)
    sigma = dropout_gradient_covariance(a, W, X, y, keep_prob=p, activation=activation)
    D = 6 * ((1 if K is None else K) + 3)
    assert sigma.shape == (D, D)
    scale = float(cov.abs().max())
    assert scale > 1e-3
    torch.testing.assert_close(sigma, cov, rtol=0, atol=1e-12 * scale)
    torch.testing.assert_close(sigma, sigma.T, rtol=0, atol=0)
    torch.testing.assert_close(
        flatten_params(*modified_loss_gradient(a, W, X, y, keep_prob=p, activation=activation)), mean
    )


def test_enumerate_mask_moments_matches_loop_for_m8():
    a, W, X, y = _problem(m=8, d=2, n=5, K=2, seed=3)
    mom = enumerate_mask_moments(a, W, X, y, keep_prob=0.4)
    mean, cov = _loop_covariance(a, W, X, y, 0.4, "tanh")
    torch.testing.assert_close(mom.mean, mean, rtol=1e-12, atol=1e-13)
    torch.testing.assert_close(mom.covariance, cov, rtol=1e-11, atol=1e-13)
    torch.testing.assert_close(dropout_gradient_covariance(a, W, X, y, keep_prob=0.4), cov, rtol=1e-11, atol=1e-13)


def test_keep_one_gives_zero_and_psd():
    a, W, X, y = _problem()
    assert float(dropout_gradient_covariance(a, W, X, y, keep_prob=1.0).abs().max()) == 0.0
    eig = torch.linalg.eigvalsh(dropout_gradient_covariance(a, W, X, y, keep_prob=0.5))
    assert float(eig.min()) > -1e-12 * float(eig.max())
    with pytest.raises(ValueError, match="m <= 16"):
        enumerate_mask_moments(*_problem(m=17), keep_prob=0.5)


def test_sampled_dropout_gradients_match_trainer_masks_and_sigma():
    """Batched gradients equal dropout_gradient for the same masks; 100,000 samples: covariance within 2 %."""
    from dropout_theory.two_layer import sample_dropout_gradients

    a, W, X, y = _problem(m=4, K=2)
    G = sample_dropout_gradients(a, W, X, y, keep_prob=0.6, num_samples=3, generator=torch.Generator().manual_seed(0))
    u = torch.rand((3, 4), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    for s in range(3):
        mask = (u[s] < 0.6).double() / 0.6
        torch.testing.assert_close(G[s], flatten_params(*dropout_gradient(a, W, X, y, mask)))
    G = sample_dropout_gradients(
        a, W, X, y, keep_prob=0.6, num_samples=100_000, generator=torch.Generator().manual_seed(1)
    )
    sigma = dropout_gradient_covariance(a, W, X, y, keep_prob=0.6)
    assert float((torch.cov(G.T) - sigma).norm() / sigma.norm()) < 0.02


@pytest.mark.parametrize("K", [None, 3])
def test_per_example_covariance_equals_enumeration_and_sampled_gradients(K):
    """mask="per_example": the closed form (1/n²) Σ_i Σ^(i) equals a brute-force enumeration of the joint masks of
    two examples (2^(2m) of them, plain loop over the public per-mask gradient with (n, m) masks), and 100,000
    sampled per-example dropout gradients within Monte Carlo error (relative Frobenius error < 0.03)."""
    a, W, X, y = _problem(m=3, n=2, K=K)
    p, m = 0.6, 3
    sigma = dropout_gradient_covariance(a, W, X, y, keep_prob=p, mask="per_example")
    grads, weights = [], []
    for keep in itertools.product([0.0, 1.0], repeat=2 * m):
        k = torch.tensor(keep, dtype=torch.float64).reshape(2, m)
        weights.append(float(p ** k.sum() * (1 - p) ** (2 * m - k.sum())))
        grads.append(flatten_params(*dropout_gradient(a, W, X, y, k / p)))
    G, w = torch.stack(grads), torch.tensor(weights, dtype=torch.float64)
    mean = w @ G
    assert torch.allclose(sigma, (G - mean).T @ ((G - mean) * w[:, None]), atol=1e-13)
    enumerated = enumerate_mask_moments(a, W, X, y, keep_prob=p, mask="per_example").covariance
    assert torch.allclose(enumerated, sigma, atol=1e-13)
    draws = sample_dropout_gradients(a, W, X, y, keep_prob=p, num_samples=100_000, generator=0, mask="per_example")
    assert float((torch.cov(draws.T) - sigma).norm() / sigma.norm()) < 0.03


def test_conventions_share_the_mean_not_the_covariance():
    """Same E_δ ∇R^drop (= ∇L_S) under both conventions; with several examples the covariances differ."""
    a, W, X, y = _problem(m=4, n=5)
    shared = enumerate_mask_moments(a, W, X, y, keep_prob=0.5)
    per = enumerate_mask_moments(a, W, X, y, keep_prob=0.5, mask="per_example")
    assert torch.allclose(shared.mean, per.mean, atol=1e-14) and shared.mean_loss == per.mean_loss
    assert float((shared.covariance - per.covariance).norm()) > 0.1 * float(shared.covariance.norm())
    with pytest.raises(ValueError, match="mask"):
        dropout_gradient_covariance(a, W, X, y, keep_prob=0.5, mask="per_batch")
