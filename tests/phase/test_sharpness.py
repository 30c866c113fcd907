"""Sharpness (Lanczos on HVPs) and batch sharpness of the mean-field loss against dense Hessians."""

from __future__ import annotations

import pytest
import torch

from dropout_theory.phase import batch_sharpness, flatten_particles, init_particles, mean_field_loss, sharpness
from dropout_theory.rng import bernoulli_mask, torch_generator


def _problem(n=4, d=3, N=16):
    g = torch.Generator().manual_seed(0)
    a, W = init_particles(n, d, generator=g)
    X = torch.randn((N, d), generator=g, dtype=torch.float64)
    y = torch.where(torch.rand(N, generator=g, dtype=torch.float64) < 0.5, 1.0, -1.0).to(torch.float64)
    return a, W, X, y


def _dense_hessian(theta, X, y, n, mask=None, loss="logistic"):
    return torch.autograd.functional.hessian(lambda t: mean_field_loss(t, X, y, width=n, loss=loss, mask=mask), theta)


@pytest.mark.parametrize("loss", ["logistic", "squared"])
def test_sharpness_is_the_top_eigenvalue_of_the_dense_hessian(loss):
    a, W, X, y = _problem()
    H = _dense_hessian(flatten_particles(a, W), X, y, 4, loss=loss)
    top = float(torch.linalg.eigvalsh(H)[-1])
    assert sharpness(a, W, X, y, loss=loss, tol=1e-10) == pytest.approx(top, rel=1e-8)


@pytest.mark.parametrize("keep_prob", [1.0, 0.6])
def test_batch_sharpness_is_the_mean_directional_curvature_of_the_draws(keep_prob):
    """Replaying the same draws (batches from the seed, masks from seed + 1), the dense gᵀHg/gᵀg averages to the
    estimate, and the standard error is that of those draws."""
    a, W, X, y = _problem()
    est = batch_sharpness(a, W, X, y, batch_size=5, keep_prob=keep_prob, num_batches=6, generator=7)
    bg, mg = torch_generator(7), torch_generator(7, offset=1)
    theta = flatten_particles(a, W)
    values = []
    for _ in range(6):
        idx = torch.randperm(16, generator=bg)[:5]
        m = None if keep_prob == 1.0 else bernoulli_mask((4,), keep_prob=keep_prob, generator=mg)
        t = theta.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(mean_field_loss(t, X[idx], y[idx], width=4, mask=m), t)
        H = _dense_hessian(theta, X[idx], y[idx], 4, mask=m)
        values.append(0.0 if float(g @ g) == 0.0 else float(g @ H @ g / (g @ g)))  # every neuron dropped: g = 0
    vals = torch.tensor(values, dtype=torch.float64)
    assert est.num_samples == 6
    assert est.value == pytest.approx(float(vals.mean()), rel=1e-10)
    assert est.stderr == pytest.approx(float(vals.std() / 6**0.5), rel=1e-8)


def test_bad_batch_size():
    a, W, X, y = _problem()
    with pytest.raises(ValueError, match="batch_size must be at most"):
        batch_sharpness(a, W, X, y, batch_size=17)
