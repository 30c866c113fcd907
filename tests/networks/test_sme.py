"""SMEs of SGD and of deep dropout networks: exact coefficients against independent computations."""

from __future__ import annotations

import itertools

import pytest
import torch

from dropout_theory.networks import (
    dropout_sme_coefficients,
    init_mlp,
    mlp_loss,
    mlp_num_params,
    sgd_sme_coefficients,
    simulate_mlp,
)
from dropout_theory.two_layer import dropout_gradient_covariance, modified_loss_gradient


def _data(n=6, d=3, K=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64), torch.randn(n, K, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("mask", ["shared", "per_example"])
def test_one_hidden_layer_without_bias_is_the_two_layer_closed_form(mask):
    """Widths (d, m, K) without bias are the two-layer net with a = W₂ᵀ: the enumerated drift and covariance equal
    −∇L_S and the closed-form Σ of dropout_theory.two_layer (both conventions), after reordering θ, to 1e-12."""
    d, m, K = 3, 4, 2
    X, Y = _data(d=d, K=K)
    theta = init_mlp((d, m, K), generator=1, bias=False)
    W1, a = theta[: m * d].reshape(m, d), theta[m * d :].reshape(K, m).T
    coef = dropout_sme_coefficients(theta, X, Y, widths=(d, m, K), keep_prob=0.6, bias=False, mask=mask)
    # two-layer order: neuron-major (a_r, w_r); the MLP's: W₁ row-major, then W₂ (K, m)
    order = []
    for r in range(m):
        order += [m * d + k * m + r for k in range(K)] + [r * d + j for j in range(d)]
    order = torch.tensor(order)
    sigma = dropout_gradient_covariance(a, W1, X, Y, keep_prob=0.6, mask=mask)
    assert torch.allclose(coef.covariance[order][:, order], sigma, rtol=0, atol=1e-12 * float(sigma.abs().max()))
    ga, gW = modified_loss_gradient(a, W1, X, Y, keep_prob=0.6)
    expected = torch.cat([gW.reshape(-1), ga.T.reshape(-1)])
    assert torch.allclose(-coef.drift, expected, rtol=0, atol=1e-13)


def test_sgd_covariance_equals_the_enumeration_of_all_batches():
    """All C(6, 2) batches: mean and covariance of the batch gradient (autograd, one batch at a time)."""
    X, Y = _data(K=1)
    widths = (3, 3, 2, 1)
    theta = init_mlp(widths, generator=2)
    coef = sgd_sme_coefficients(theta, X, Y[:, 0], widths=widths, batch_size=2)
    grads = []
    for batch in itertools.combinations(range(6), 2):
        t = theta.clone().requires_grad_(True)
        grads.append(torch.autograd.grad(mlp_loss(t, X[list(batch)], Y[list(batch)], widths=widths), t)[0])
    G = torch.stack(grads)
    mean = G.mean(0)
    assert torch.allclose(coef.covariance, (G - mean).T @ (G - mean) / len(grads), atol=1e-14)
    assert torch.allclose(-coef.drift, mean, atol=1e-14)
    assert coef.factor.shape == (6, mlp_num_params(widths))


def test_deep_dropout_covariance_matches_sampled_dropout_gradients():
    """Three layers with dropout on both hidden layers (2^5 masks): 40,000 sampled masks give the enumerated mean
    and covariance within Monte Carlo error (relative Frobenius error < 0.05; about 0.01 expected)."""
    X, Y = _data(K=1)
    widths = (3, 3, 2, 1)
    theta = init_mlp(widths, generator=2)
    coef = dropout_sme_coefficients(theta, X, Y, widths=widths, keep_prob=0.7)
    masks = (torch.rand(40_000, 5, generator=torch.Generator().manual_seed(3), dtype=torch.float64) < 0.7) / 0.7
    G = torch.func.vmap(torch.func.grad(lambda t, m: mlp_loss(t, X, Y, widths=widths, mask=m)), in_dims=(None, 0))(
        theta, masks.double()
    )
    sigma = coef.covariance
    assert float((torch.cov(G.T) - sigma).norm() / sigma.norm()) < 0.05
    assert float((G.mean(0) + coef.drift).norm() / coef.drift.norm()) < 0.05


def test_without_noise_the_sme_and_the_discrete_process_are_gradient_descent():
    """keep_prob = 1 (no masks) and batch_size = n (every batch is the data): Euler with dt = η is GD for both."""
    X, Y = _data(K=1)
    widths = (3, 3, 2, 1)
    theta = init_mlp(widths, generator=2)
    gd = theta.clone()
    for _ in range(5):
        t = gd.clone().requires_grad_(True)
        gd = gd - 0.1 * torch.autograd.grad(mlp_loss(t, X, Y, widths=widths), t)[0]
    for noise, kw in (("dropout", {"keep_prob": 1.0}), ("sgd", {"batch_size": 6})):
        for method in ("discrete", "sme"):
            out = simulate_mlp(theta, X, Y, widths=widths, method=method, noise=noise, lr=0.1, num_steps=5, num_runs=2,
                               generator=0, **kw)  # fmt: skip
            assert torch.allclose(out, gd.expand(2, -1), atol=1e-13)


def test_bad_input():
    X, Y = _data(K=1)
    theta = init_mlp((3, 2, 1), generator=0)
    with pytest.raises(ValueError, match="theta"):
        dropout_sme_coefficients(theta[:-1], X, Y, widths=(3, 2, 1), keep_prob=0.5)
    with pytest.raises(ValueError, match="batch_size"):
        sgd_sme_coefficients(theta, X, Y, widths=(3, 2, 1), batch_size=7)
    with pytest.raises(ValueError, match="hidden units"):
        dropout_sme_coefficients(init_mlp((3, 15, 1), generator=0), X, Y, widths=(3, 15, 1), keep_prob=0.5)
    with pytest.raises(ValueError, match="mask"):
        dropout_sme_coefficients(theta, X, Y, widths=(3, 2, 1), keep_prob=0.5, mask="per_unit")
