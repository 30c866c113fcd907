"""Modified loss: E_δ R^drop = L_S, E_δ ∇R^drop = ∇L_S by enumeration; order-2 drift vs finite differences."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from dropout_theory.two_layer import (
    dropout_gradient,
    empirical_risk,
    flatten_params,
    forward,
    modified_loss,
    modified_loss_gradient,
    order2_drift,
)
from tests.two_layer.problems import random_problem

_problem = random_problem


def _enumerate(a, W, X, y, p, activation):
    """E over all 2^m masks of R^drop and of its gradient, via the mask-by-mask public functions."""
    m = W.shape[0]
    loss, grad = 0.0, 0.0
    for keep in itertools.product([0.0, 1.0], repeat=m):
        keep_t = torch.tensor(keep, dtype=torch.float64)
        w = p ** keep_t.sum() * (1 - p) ** (m - keep_t.sum())
        mask = keep_t / p
        r = forward(a, W, X, activation=activation, mask=mask) - y
        loss = loss + w * 0.5 * (r * r).sum() / X.shape[0]
        grad = grad + w * flatten_params(*dropout_gradient(a, W, X, y, mask, activation=activation))
    return loss, grad


@pytest.mark.parametrize("K", [None, 2])
@pytest.mark.parametrize("activation", ["tanh", "gelu", "relu"])
@pytest.mark.parametrize("p", [0.3, 0.75])
def test_modified_loss_and_gradient_equal_mask_average(K, activation, p):
    a, W, X, y = _problem(K=K)
    loss, grad = _enumerate(a, W, X, y, p, activation)
    torch.testing.assert_close(
        modified_loss(a, W, X, y, keep_prob=p, activation=activation), loss, rtol=1e-13, atol=1e-13
    )
    g = flatten_params(*modified_loss_gradient(a, W, X, y, keep_prob=p, activation=activation))
    torch.testing.assert_close(g, grad, rtol=1e-12, atol=1e-13)


def test_closed_form_gradient_matches_autograd_and_keep_one_is_risk():
    a, W, X, y = _problem(K=3)
    a_, W_ = a.clone().requires_grad_(), W.clone().requires_grad_()
    modified_loss(a_, W_, X, y, keep_prob=0.6).backward()
    ga, gW = modified_loss_gradient(a, W, X, y, keep_prob=0.6)
    torch.testing.assert_close(ga, a_.grad, rtol=1e-12, atol=1e-13)
    torch.testing.assert_close(gW, W_.grad, rtol=1e-12, atol=1e-13)
    torch.testing.assert_close(modified_loss(a, W, X, y, keep_prob=1.0), empirical_risk(a, W, X, y), rtol=0, atol=0)


@pytest.mark.parametrize("K", [None, 2])
def test_order2_drift_matches_finite_differences(K):
    """b_2 = −∇(L_S + η/4‖∇L_S‖²): central differences of that scalar, step 1e-5, tolerance 1e-7."""
    a, W, X, y = _problem(m=3, d=2, n=5, K=K, seed=1)
    p, eta = 0.7, 0.3
    ba, bW = order2_drift(a, W, X, y, keep_prob=p, lr=eta)

    def phi(a_, W_):
        ga, gW = modified_loss_gradient(a_, W_, X, y, keep_prob=p)
        return float(modified_loss(a_, W_, X, y, keep_prob=p) + eta / 4 * ((ga**2).sum() + (gW**2).sum()))

    h = 1e-5
    fd_a = torch.zeros_like(a)
    for idx in np.ndindex(*a.shape):
        e = torch.zeros_like(a)
        e[idx] = h
        fd_a[idx] = (phi(a + e, W) - phi(a - e, W)) / (2 * h)
    fd_W = torch.zeros_like(W)
    for idx in np.ndindex(*W.shape):
        e = torch.zeros_like(W)
        e[idx] = h
        fd_W[idx] = (phi(a, W + e) - phi(a, W - e)) / (2 * h)
    torch.testing.assert_close(ba, -fd_a, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(bW, -fd_W, rtol=1e-6, atol=1e-7)
    # and the order-2 correction is not negligible here (the check has teeth)
    _, gW = modified_loss_gradient(a, W, X, y, keep_prob=p)
    assert float((bW + gW).abs().max()) > 1e-3


def test_numpy_inputs_and_bad_input():
    a, W, X, y = _problem()
    val = modified_loss(a.numpy(), W.numpy(), X.numpy(), y.numpy(), keep_prob=0.5)
    torch.testing.assert_close(val, modified_loss(a, W, X, y, keep_prob=0.5))
    with pytest.raises(ValueError, match="keep_prob"):
        modified_loss(a, W, X, y, keep_prob=0.0)
    with pytest.raises(ValueError, match="keep_prob"):
        modified_loss(a, W, X, y, keep_prob=1.5)
    with pytest.raises(ValueError, match="lr"):
        order2_drift(a, W, X, y, keep_prob=0.5, lr=-1.0)
    with pytest.raises(ValueError, match="features"):
        modified_loss(a, W, X[:, :2], y, keep_prob=0.5)
    bad = X.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="finite"):
        modified_loss(a, W, bad, y, keep_prob=0.5)
