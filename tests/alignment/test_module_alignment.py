"""General nn.Module path: the same two-layer net as a module agrees with the closed forms."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dropout_theory.alignment import (
    hessian_variance_alignment,
    modified_loss_hessian,
    module_hessian_variance_alignment,
)
from dropout_theory.two_layer import dropout_gradient_covariance, init_params

M, D_IN, N, K, P = 4, 3, 7, 2, 0.6


def _setup():
    g = torch.Generator().manual_seed(0)
    a, W = init_params(M, D_IN, K, generator=g, scale_a=2.0, scale_w=1.5)
    X = torch.randn(N, D_IN, generator=g, dtype=torch.float64)
    y = torch.randn(N, K, generator=g, dtype=torch.float64)
    net = nn.Sequential(
        nn.Linear(D_IN, M, bias=False), nn.Tanh(), nn.Dropout(1 - P), nn.Linear(M, K, bias=False)
    ).double()
    with torch.no_grad():
        net[0].weight.copy_(W)
        net[3].weight.copy_(a.T)
    return a, W, X, y, net


def _loss(out, target):
    return 0.5 * ((out - target) ** 2).sum() / target.shape[0]


def test_exact_path_matches_two_layer_closed_form():
    """4,000 gradient draws and H averaged over 300 masks: |α − α_closed| < 0.05 (measured ≈ 0.015).
    α is invariant under the reordering of parameters between the module and the neuron-major θ."""
    a, W, X, y, net = _setup()
    ref = hessian_variance_alignment(a, W, X, y, P).alpha
    res = module_hessian_variance_alignment(
        net, _loss, X, y, num_masks=4000, num_hessian_masks=300, generator=torch.Generator().manual_seed(1)
    )
    assert res.num_params == M * (K + D_IN)
    assert abs(res.alpha - ref) < 0.05
    assert net.training  # mode restored


def test_matrix_free_no_dropout_hessian_matches_closed_form():
    """H = ∇²R_S (no dropout, exact) with the closed-form Σ: matrix-free α within 4 reported standard errors
    + 0.01 (4,000 draws, 400 probes)."""
    a, W, X, y, net = _setup()
    HR = modified_loss_hessian(a, W, X, y, 1.0)
    S = dropout_gradient_covariance(a, W, X, y, P)
    ref = float((HR * S).sum() / (HR.norm() * S.norm()))
    res = module_hessian_variance_alignment(
        net,
        _loss,
        X,
        y,
        num_masks=4000,
        method="matrix_free",
        hessian="no_dropout",
        num_probes=400,
        generator=torch.Generator().manual_seed(2),
    )
    assert 0 < res.stderr < 0.05
    assert abs(res.alpha - ref) < 4 * res.stderr + 0.01


def test_bad_input():
    _, _, X, y, net = _setup()
    with pytest.raises(ValueError, match="no nn\\.Dropout"):
        module_hessian_variance_alignment(nn.Linear(D_IN, K).double(), _loss, X, y, num_masks=8)
    with pytest.raises(ValueError, match="even"):
        module_hessian_variance_alignment(net, _loss, X, y, num_masks=9)
    with pytest.raises(ValueError, match="hessian"):
        module_hessian_variance_alignment(net, _loss, X, y, num_masks=8, hessian="sgd")
    with pytest.raises(ValueError, match="method"):
        module_hessian_variance_alignment(net, _loss, X, y, num_masks=8, method="dense")
