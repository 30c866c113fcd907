"""Hessian-vector products of flat-parameter losses vs dense autograd Hessians."""

import pytest
import torch

from dropout_theory.alignment import flat_hvp
from dropout_theory.networks import dropout_mlp, module_flat_loss


def _net_and_loss():
    g = torch.Generator().manual_seed(0)
    net = dropout_mlp((5, 4, 3), keep_prob=0.5, generator=g)
    X = torch.randn(7, 5, generator=g, dtype=torch.float64)
    Y = torch.randn(7, 3, generator=g, dtype=torch.float64)
    return net, X, Y, lambda out, t: 0.5 * ((out - t) ** 2).sum(1).mean()


def test_flat_hvp_matches_dense_hessian():
    net, X, Y, mse = _net_and_loss()
    loss, theta = module_flat_loss(net, mse, X, Y)
    H = torch.autograd.functional.hessian(loss, theta)
    V = torch.randn(5, theta.numel(), generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    torch.testing.assert_close(flat_hvp(loss, theta)(V), V @ H, rtol=1e-12, atol=1e-12)


def test_module_flat_loss_switches_dropout_off_and_restores_mode():
    net, X, Y, mse = _net_and_loss()
    net.train()
    loss, theta = module_flat_loss(net, mse, X, Y)
    with torch.no_grad():
        net.eval()
        expected = mse(net(X), Y)
        net.train()
    assert float(loss(theta)) == pytest.approx(float(expected), rel=1e-14)
    assert float(loss(theta)) == float(loss(theta))  # no random masks
    assert net.training
    assert theta.numel() == sum(p.numel() for p in net.parameters())


def test_linear_loss_has_zero_hessian():
    theta = torch.ones(3, dtype=torch.float64)
    out = flat_hvp(lambda t: (t * torch.arange(3.0, dtype=torch.float64)).sum(), theta)(torch.eye(3))
    assert torch.equal(out, torch.zeros(3, 3, dtype=torch.float64))


def test_bad_input():
    net, X, Y, mse = _net_and_loss()
    loss, theta = module_flat_loss(net, mse, X, Y)
    with pytest.raises(ValueError, match="flat"):
        flat_hvp(loss, theta.reshape(1, -1))
    with pytest.raises(ValueError, match="V must be"):
        flat_hvp(loss, theta)(torch.ones(2, 3, dtype=torch.float64))
    frozen = torch.nn.Linear(2, 2)
    frozen.requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable"):
        module_flat_loss(frozen, mse, X, Y)
