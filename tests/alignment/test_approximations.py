"""Eq. 17: where the approximation is exact (interpolating targets), and the dropped terms elsewhere."""

from __future__ import annotations

import pytest
import torch

from dropout_theory.alignment import (
    approximate_hessian_and_covariance,
    compare_eq17,
    frobenius_cosine,
    modified_loss_hessian,
)
from dropout_theory.two_layer import enumerate_mask_moments, forward, init_params, train_dropout


def _problem(seed=0, interpolate=True):
    g = torch.Generator().manual_seed(seed)
    a, W = init_params(4, 3, generator=g, scale_a=2.0, scale_w=1.5)
    X = torch.randn(9, 3, generator=g, dtype=torch.float64)
    y = forward(a, W, X) if interpolate else torch.randn(9, generator=g, dtype=torch.float64)
    return a, W, X, y


def test_gauss_newton_exact_at_interpolation_without_dropout():
    """e_i = 0 and p = 1: H = (1/n) Σ J Jᵀ exactly (the residual term of the Hessian vanishes)."""
    a, W, X, y = _problem()
    H_approx, _ = approximate_hessian_and_covariance(a, W, X, y, keep_prob=1.0)
    torch.testing.assert_close(H_approx, modified_loss_hessian(a, W, X, y, keep_prob=1.0), rtol=1e-10, atol=1e-12)


def test_hessian_dropped_term_at_interpolation():
    """e_i = 0, p = 0.6: H − H̃ equals exactly the dropped term v/n Σ_i Σ_r g_ir ∇²g_ir, g_ir = a_r σ(w_r·x_i),
    computed independently with torch.func.hessian of θ ↦ Σ c_ir g_ir(θ) at frozen c_ir = g_ir."""
    a, W, X, y = _problem()
    p, m, n = 0.6, 4, X.shape[0]
    v = (1 - p) / p
    H_approx, S_approx = approximate_hessian_and_covariance(a, W, X, y, keep_prob=p)
    c = (a * torch.tanh(X @ W.T)).detach()  # (n, m)

    def weighted(theta):
        q = theta.reshape(m, -1)
        return (c * q[:, 0] * torch.tanh(X @ q[:, 1:].T)).sum()

    theta = torch.cat([a[:, None], W], dim=1).reshape(-1)
    dropped = v / n * torch.func.hessian(weighted)(theta)
    torch.testing.assert_close(
        modified_loss_hessian(a, W, X, y, keep_prob=p) - H_approx, dropped, rtol=1e-9, atol=1e-12
    )
    torch.testing.assert_close(S_approx, S_approx.T)
    assert float(torch.linalg.eigvalsh(S_approx).min()) > -1e-12


def test_bad_input():
    g = torch.Generator().manual_seed(0)
    a, W = init_params(4, 3, 2, generator=g)
    with pytest.raises(ValueError, match="scalar output"):
        approximate_hessian_and_covariance(
            a, W, torch.zeros(5, 3, dtype=torch.float64), torch.zeros(5, 2), keep_prob=0.5
        )


def test_eq17_comparison_against_independent_matrices():
    """compare_eq17's rows are Frobenius cosines of Σ̃ with matrices built independently here: the shared-mask Σ
    and n Σ_pe by enumerating masks (per example, 2^m each), and the per-example second moment
    Ω = (1/n) Σ_i E[g_i g_iᵀ] by enumeration too. Near a minimum Σ̃ is far closer to Ω than to the shared Σ."""
    a0, W0, X, y = _problem(interpolate=False)
    run = train_dropout(a0, W0, X, y, keep_prob=0.7, lr=0.3, num_steps=150, generator=0)
    a, W = run.a, run.W
    cmp = compare_eq17(a, W, X, y, keep_prob=0.7)
    _, S_t = approximate_hessian_and_covariance(a, W, X, y, keep_prob=0.7)
    n = X.shape[0]
    singles = [enumerate_mask_moments(a, W, X[i : i + 1], y[i : i + 1], keep_prob=0.7) for i in range(n)]
    per = sum(s.covariance for s in singles) / n
    omega = sum(s.covariance + torch.outer(s.mean, s.mean) for s in singles) / n
    shared = enumerate_mask_moments(a, W, X, y, keep_prob=0.7).covariance
    cosines = [r[1] for r in cmp.rows[:3]]
    assert cosines == pytest.approx([frobenius_cosine(S_t, M) for M in (shared, per, omega)], rel=1e-10)
    assert cmp.trace_ratio == pytest.approx(float(shared.trace() * n / per.trace()), rel=1e-10)
    assert cmp.cosine("Sigma~ vs per-example second") > 0.95 > cmp.cosine("Sigma~ vs shared") + 0.2
