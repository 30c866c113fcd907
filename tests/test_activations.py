"""Activation derivatives against autograd."""

import pytest
import torch

from dropout_theory.activations import ACTIVATIONS, SMOOTH, get_activation


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


@pytest.mark.parametrize("name", sorted(n for n, act in ACTIVATIONS.items() if act.df_from_f is not None))
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_slope_from_the_stored_activation_is_bitwise_the_slope(name, dtype):
    """σ' from h = σ(z) (what the dropout-GD kernel uses) equals σ'(z) bit for bit, at the kinks (0, ±1), in the
    saturated tails and at 10,000 normal points of standard deviation 4."""
    act = ACTIVATIONS[name]
    normal = 4 * torch.randn(10_000, generator=torch.Generator().manual_seed(0))
    z = torch.cat([torch.tensor([0.0, -0.0, 1.0, -1.0, 30.0, -30.0]), normal]).to(dtype)
    assert torch.equal(act.slope(z, act.f(z)), act.df(z))
