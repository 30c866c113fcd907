"""Flatness tools on a quadratic with a known answer: L(θ) = L0 + ½ (θ − c)ᵀ Q (θ − c), Q = R diag(λ) Rᵀ.

Along eigenvector u_i the loss doubles (factor f) at |s| = √(2(f − 1)L0/λ_i): the width is twice that.
A Gaussian window with variances σ_i² = κ λ_i along u_i has σ² = κ (8(f − 1)L0)·F^(−2): exponent −2.
"""

from __future__ import annotations

import math

import pytest
import torch

from dropout_theory.alignment import dropout_parameter_window, loss_flatness, trajectory_pca, variance_flatness
from dropout_theory.two_layer import flatten_params, init_params, train_dropout

LAM = torch.tensor([1.0, 3.0, 9.0, 27.0], dtype=torch.float64)
L0, KAPPA = 0.5, 1e-3


def _quadratic(seed=0):
    g = torch.Generator().manual_seed(seed)
    R, _ = torch.linalg.qr(torch.randn(4, 4, generator=g, dtype=torch.float64))
    c = torch.randn(4, generator=g, dtype=torch.float64)
    Q = R @ torch.diag(LAM) @ R.T

    def loss(theta):
        e = theta - c
        return L0 + 0.5 * e @ Q @ e

    return loss, R, c, g


@pytest.mark.parametrize("factor", [1.5, 2.0, 4.0])
def test_loss_flatness_exact_widths(factor):
    loss, R, c, _ = _quadratic()
    for i in range(4):
        width = loss_flatness(loss, c, 3.0 * R[:, i], factor=factor)
        expected = 2 * math.sqrt(2 * (factor - 1) * L0 / float(LAM[i]))
        assert width == pytest.approx(expected, rel=1e-5)
    assert loss_flatness(lambda t: torch.tensor(1.0), c, R[:, 0], max_distance=10.0) == math.inf


def test_pca_and_inverse_power_law():
    """20,000 Gaussian points: PCA variances within 5 % of κλ_i, directions within 0.02 (|cos| > 0.98),
    fitted exponent −2 within 0.05 (the flatness is measured at the window mean, not at c: small offset)."""
    loss, R, c, g = _quadratic()
    xi = torch.randn(20_000, 4, generator=g, dtype=torch.float64)
    thetas = c + (xi * (KAPPA * LAM).sqrt()) @ R.T
    pca = trajectory_pca(thetas)
    order = torch.argsort(LAM, descending=True)
    torch.testing.assert_close(pca.variances, KAPPA * LAM[order], rtol=0.05, atol=0.0)
    cos = (pca.directions * R[:, order].T).sum(1).abs()
    assert float(cos.min()) > 0.98
    vf = variance_flatness(thetas, loss, factor=2.0, center=c)
    assert vf.fit.exponent == pytest.approx(-2.0, abs=0.05)
    assert vf.fit.prefactor == pytest.approx(KAPPA * 8 * L0, rel=0.1)
    assert vf.fit.r_squared > 0.99


def test_bad_input():
    loss, R, c, _ = _quadratic()
    with pytest.raises(ValueError, match="factor"):
        loss_flatness(loss, c, R[:, 0], factor=1.0)
    with pytest.raises(ValueError, match="direction"):
        loss_flatness(loss, c, torch.zeros(4, dtype=torch.float64))
    with pytest.raises(ValueError, match="> 0"):
        loss_flatness(lambda t: torch.tensor(0.0), c, R[:, 0])
    with pytest.raises(ValueError, match="2 time points"):
        trajectory_pca(torch.zeros(1, 4))
    with pytest.raises(ValueError, match="num_components"):
        trajectory_pca(torch.zeros(3, 4), num_components=3)


def _data(n=40, d=5, K=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.tanh(X @ torch.randn(d, K, generator=g, dtype=torch.float64))
    return X, y


@pytest.mark.parametrize("keep_prob", [1.0, 0.6])
def test_parameter_window_matches_one_run(keep_prob):
    X, y = _data()
    a, W = init_params(4, 5, 3, generator=torch.Generator().manual_seed(2))
    thetas = dropout_parameter_window(
        a, W, X, y, keep_prob=keep_prob, lr=0.2, num_steps=7, generator=torch.Generator().manual_seed(3)
    )
    assert thetas.shape == (7, 4 * (3 + 5))
    for k in (1, 7):
        ref = train_dropout(
            a, W, X, y, keep_prob=keep_prob, lr=0.2, num_steps=k, generator=torch.Generator().manual_seed(3)
        )
        torch.testing.assert_close(thetas[k - 1], flatten_params(ref.a, ref.W), rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="num_steps"):
        dropout_parameter_window(a, W, X, y, keep_prob=keep_prob, lr=0.2, num_steps=0)
