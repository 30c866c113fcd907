"""Activation derivatives against autograd."""

import pytest
import torch

from dropout_theory.activations import SMOOTH, get_activation


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "softplus", "gelu", "relu"])
def test_derivatives_match_autograd(name):
    act = get_activation(name)
    z = torch.linspace(-4, 4, 101, dtype=torch.float64).requires_grad_()
    (d1,) = torch.autograd.grad(act.f(z).sum(), z, create_graph=True)
    torch.testing.assert_close(act.df(z), d1, rtol=1e-10, atol=1e-12)
    if name != "relu":
        (d2,) = torch.autograd.grad(d1.sum(), z)
        torch.testing.assert_close(act.d2f(z), d2, rtol=1e-10, atol=1e-12)


def test_relu_is_outside_the_theorem():
    assert "relu" not in SMOOTH
    assert {"tanh", "sigmoid", "softplus", "gelu"} <= SMOOTH


def test_unknown_activation():
    with pytest.raises(ValueError, match=r"activation must be one of .*got 'elu'"):
        get_activation("elu")
