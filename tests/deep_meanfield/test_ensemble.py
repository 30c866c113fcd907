"""Batched ensemble simulation: explicit backprop vs autograd, forward statistics vs the mean-field maps."""

import math

import numpy as np
import pytest
import torch

from dropout_theory import DivergenceError
from dropout_theory.deep_meanfield import (
    fixed_point_c,
    fixed_point_q,
    inputs_for,
    pair_trajectory,
    simulate_ensemble,
)
from dropout_theory.deep_meanfield.ensemble import torch_activation


@pytest.mark.parametrize("act", ["tanh", "relu", "hard_tanh", "erf", "linear"])
def test_realistic_backward_equals_autograd(act):
    """Redraw the same weights/biases/masks (same generator order) and differentiate ½Σ‖z^L‖² with autograd."""
    s, b, r, L, N, B = 1.3, 0.1, 0.7, 4, 12, 3
    x = torch.randn(2, 5, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    res = simulate_ensemble(
        act, s, b, r, depth=L, width=N, num_networks=B, inputs=x, backward="realistic", generator=11
    )
    gen = torch.Generator().manual_seed(11)
    phi, _ = torch_activation(act)
    h, zs = x.expand(B, 2, 5), []
    for l in range(L):
        W = torch.randn(B, N, h.shape[-1], generator=gen, dtype=torch.float64) * math.sqrt(s / h.shape[-1])
        bias = torch.randn(B, 1, N, generator=gen, dtype=torch.float64) * math.sqrt(b)
        z = (h @ W.transpose(1, 2) + bias).requires_grad_()
        zs.append(z)
        if l < L - 1:
            m = (torch.rand(B, 2, N, generator=gen, dtype=torch.float64) < r).double() / r
            h = phi(z) * m
    loss = 0.5 * (zs[-1] ** 2).sum()
    grads = torch.autograd.grad(loss, zs)
    for l, g in enumerate(grads):
        assert np.allclose(res.grad_single[:, l], (g**2).mean(-1).numpy(), rtol=1e-12)
        assert np.allclose(res.grad_pair[:, l], (g[:, 0] * g[:, 1]).mean(-1).numpy(), rtol=1e-10, atol=1e-15)
        assert np.allclose(res.q[:, l], (zs[l].detach() ** 2).mean(-1).numpy(), rtol=1e-12)


def test_chunking_does_not_change_results():
    x = inputs_for(0.5, 0.3, width=16, sigma_w2=1.5, sigma_b2=0.05)
    kw = dict(depth=5, width=16, num_networks=6, inputs=x, backward="gia", generator=2)
    a = simulate_ensemble("tanh", 1.5, 0.05, 0.8, chunk_size=6, **kw)
    b = simulate_ensemble("tanh", 1.5, 0.05, 0.8, chunk_size=6, **kw)
    assert np.array_equal(a.grad_single, b.grad_single)  # same seed, same numbers
    c = simulate_ensemble("tanh", 1.5, 0.05, 0.8, chunk_size=4, **kw)
    assert c.grad_single.shape == (6, 5, 2)


def test_forward_statistics_match_maps_with_independent_masks():
    """q^l and c^l: ensemble means (40 networks, N = 400, float64) vs the maps; c* < 1 shows up in simulation.

    Tolerances: 3 % on q and 0.02 on c (finite-width fluctuations are O(1/√N) per network).
    """
    act, s, b, r, L = "tanh", 1.5, 0.05, 0.8, 12
    qs = fixed_point_q(act, s, b, r)
    x = inputs_for(qs, 0.2, width=400, sigma_w2=s, sigma_b2=b)
    res = simulate_ensemble(act, s, b, r, depth=L, width=400, num_networks=40, inputs=x, generator=0)
    th = pair_trajectory(act, qs, qs, 0.2 * qs, s, b, r, depth=L)
    assert np.allclose(res.q.mean(0)[:, 0], th["q_a"], rtol=0.03)
    assert np.allclose(res.c.mean(0), th["c"], atol=0.02)
    assert abs(res.c.mean(0)[-1] - fixed_point_c(act, s, b, r)) < 0.02


def test_same_masks_would_not_reproduce_the_map():
    """Sanity of the convention: with ρ < 1, inputs that start identical decorrelate (c^l < 1)."""
    x = inputs_for(0.6, 1.0 - 1e-12, width=300, sigma_w2=1.5, sigma_b2=0.05)
    res = simulate_ensemble("tanh", 1.5, 0.05, 0.6, depth=6, width=300, num_networks=10, inputs=x, generator=1)
    assert res.c.mean(0)[-1] < 0.9


def test_gia_single_input_decays_with_chi1():
    """Under GIA, E q̃^l = q̃^{l+1} χ₁ per layer for the linear network (up to O(1/N)); 60 networks, 5 %."""
    s, b, r, L = 0.6, 0.1, 0.8, 8
    qs = fixed_point_q("linear", s, b, r)
    x = inputs_for(qs, None, width=300, sigma_w2=s, sigma_b2=b)
    res = simulate_ensemble(
        "linear", s, b, r, depth=L, width=300, num_networks=60, inputs=x, backward="gia", generator=5
    )
    g = res.grad_single.mean(0)[:, 0]
    pred = res.q.mean(0)[-1, 0] * (s / r) ** np.arange(L - 1, -1, -1)
    assert np.allclose(g, pred, rtol=0.05)


def test_validation_and_divergence():
    x = inputs_for(0.5, None, width=8, sigma_w2=1.0, sigma_b2=0.1)
    with pytest.raises(ValueError, match="backward"):
        simulate_ensemble("tanh", 1.0, 0.1, 0.9, depth=2, width=8, num_networks=2, inputs=x, backward="both")
    with pytest.raises(ValueError, match="inputs"):
        simulate_ensemble("tanh", 1.0, 0.1, 0.9, depth=2, width=8, num_networks=2, inputs=torch.ones(8))
    with pytest.raises(ValueError, match="width"):
        simulate_ensemble("tanh", 1.0, 0.1, 0.9, depth=2, width=0, num_networks=2, inputs=x)
    with pytest.raises(ValueError, match="q1"):
        inputs_for(0.05, None, width=8, sigma_w2=1.0, sigma_b2=0.1)
    with pytest.raises(ValueError, match="unreachable"):
        inputs_for(0.5, -0.9, width=8, sigma_w2=1.0, sigma_b2=0.45)
    with pytest.raises(DivergenceError, match="pre-activation") as info:
        simulate_ensemble("linear", 1e4, 0.0, 1.0, depth=100, width=8, num_networks=2, inputs=x)
    # |z^l| grows by about √(σ_w²) = 100 per layer from |z^1| ~ 1: past 1e150 near layer 76, reported as a layer
    assert info.value.unit == "layer" and 60 < info.value.step < 90 and "at layer" in str(info.value)


def test_backward_divergence_names_the_error_signal():
    """Forward lengths stay below the limit (|z^L| ~ 1e80) while δ^1 ~ 1e158 overflows the 1e150 threshold."""
    x = inputs_for(0.5, None, width=8, sigma_w2=1.0, sigma_b2=0.1)
    with pytest.raises(DivergenceError, match="error signal delta"):
        simulate_ensemble(
            "linear", 1e4, 0.0, 1.0, depth=40, width=8, num_networks=2, inputs=x, backward="realistic", generator=0
        )
