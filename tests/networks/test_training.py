"""Noisy trainings of an ``nn.Module`` (gd / dropout / sgd / parametric) from an explicit generator."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from dropout_theory import DivergenceError
from dropout_theory.networks import dropout_mlp, half_mse, train_with_noise

N = 16


def _data(n=N, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 4, generator=g, dtype=torch.float64)
    y = torch.randn(n, 3, generator=g, dtype=torch.float64)
    return X, y


def _net(keep_prob=0.7, seed=1):
    return dropout_mlp((4, 6, 5, 3), keep_prob=keep_prob, generator=torch.Generator().manual_seed(seed))


def _flat(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def _run(net, noise, **kw):
    X, y = _data()
    curve = train_with_noise(
        net, half_mse, X, y, noise=noise, lr=0.2, num_steps=25, generator=torch.Generator().manual_seed(3), **kw
    )
    return _flat(net), curve


@pytest.mark.parametrize(
    ("noise", "keep_prob", "opts"),
    [("sgd", 0.7, {"batch_size": N}), ("parametric", 0.7, {"sigma": 0.0}), ("dropout", 1.0, {})],
)
def test_degenerate_noise_reproduces_gd_exactly(noise, keep_prob, opts):
    """B = n, σ = 0 and keep_prob = 1 give bit-for-bit the parameters and loss curve of full-batch GD."""
    ref, ref_curve = _run(_net(keep_prob), "gd")
    got, curve = _run(_net(keep_prob), noise, **opts)
    assert torch.equal(got, ref)
    assert torch.equal(curve.loss, ref_curve.loss) and torch.equal(curve.steps, ref_curve.steps)
    assert not torch.equal(ref, _flat(_net(keep_prob)))  # training did move the parameters


def test_noise_moves_away_from_gd_and_curve_is_recorded():
    ref, _ = _run(_net(), "gd")
    for noise, opts in (("sgd", {"batch_size": 4}), ("parametric", {"sigma": 0.1}), ("dropout", {})):
        got, curve = _run(_net(), noise, **opts)
        assert not torch.allclose(got, ref)
        assert curve.steps.tolist()[0] == 0 and curve.steps.tolist()[-1] == 25
        assert curve.loss.dtype == torch.float64 and bool(torch.isfinite(curve.loss).all())


def test_sgd_epoch_uses_every_example_once():
    """Linear loss mean_i t_i (w·x_i): per-example gradients t_i x_i do not depend on w, so one epoch of two
    batches of n/2 moves w by exactly −η·2·(mean gradient) — sampling WITHOUT replacement."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(10, 3, generator=g, dtype=torch.float64)
    t = torch.randn(10, generator=g, dtype=torch.float64)
    net = nn.Linear(3, 1, bias=False, dtype=torch.float64)
    w0 = net.weight.detach().clone()
    train_with_noise(
        net, lambda out, tt: (out[:, 0] * tt).mean(), X, t, noise="sgd", lr=0.1, num_steps=2, batch_size=5, generator=g
    )
    assert torch.allclose(net.weight.detach() - w0, -0.1 * 2 * (t[:, None] * X).mean(0), atol=1e-14)


class _Quartic(nn.Module):
    """L(θ) = Σ_j θ_j⁴ / 4 whatever the data: E_ε ∇L(θ + σε) = θ³ + 3σ²θ = ∇ E_ε L(θ + σε)."""

    def __init__(self, theta):
        super().__init__()
        self.theta = nn.Parameter(theta.clone())

    def forward(self, X):
        return self.theta.expand(X.shape[0], -1)


def test_parametric_gradient_is_unbiased_for_the_smoothed_loss():
    """2,000 one-step runs with η = 1 (step = −∇L(θ+σε)), σ = 0.5: the mean step matches −(θ³ + 3σ²θ) within
    4 standard errors per coordinate, and is > 8 s.e. away from the unsmoothed −θ³ in the largest coordinate."""
    theta0 = torch.tensor([0.5, -1.0, 1.5], dtype=torch.float64)
    model, sigma = _Quartic(theta0), 0.5
    X, y = torch.zeros(2, 1, dtype=torch.float64), torch.zeros(2, 1, dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    draws = []
    for _ in range(2000):
        with torch.no_grad():
            model.theta.copy_(theta0)
        train_with_noise(
            model,
            lambda out, t: (out**4).sum(1).mean() / 4,
            X,
            y,
            noise="parametric",
            lr=1.0,
            num_steps=1,
            sigma=sigma,
            generator=gen,
        )
        draws.append(theta0 - model.theta.detach())
    G = torch.stack(draws)
    mean, se = G.mean(0), G.std(0) / math.sqrt(G.shape[0])
    smoothed = theta0**3 + 3 * sigma**2 * theta0
    assert bool(((mean - smoothed).abs() < 4 * se).all())
    assert float((mean[2] - theta0[2] ** 3).abs()) > 8 * float(se[2])


def test_divergence_names_the_step():
    X, y = _data()
    with pytest.raises(DivergenceError, match="run diverged at step"):
        train_with_noise(
            _net(), lambda o, t: ((o - t) ** 2).sum(1).mean() * 1e6, X, y * 1e3, noise="gd", lr=10.0, num_steps=200
        )


def test_bad_input():
    X, y = _data()
    net = _net()
    with pytest.raises(ValueError, match="noise must be one of"):
        train_with_noise(net, half_mse, X, y, noise="adam", lr=0.1, num_steps=1)
    with pytest.raises(ValueError, match="needs batch_size"):
        train_with_noise(net, half_mse, X, y, noise="sgd", lr=0.1, num_steps=1)
    with pytest.raises(ValueError, match=r"batch_size must lie in \[1, n\] = \[1, 16\], got 17"):
        train_with_noise(net, half_mse, X, y, noise="sgd", lr=0.1, num_steps=1, batch_size=17)
    with pytest.raises(ValueError, match="needs sigma"):
        train_with_noise(net, half_mse, X, y, noise="parametric", lr=0.1, num_steps=1)
    with pytest.raises(ValueError, match="sigma must be finite"):
        train_with_noise(net, half_mse, X, y, noise="parametric", lr=0.1, num_steps=1, sigma=-1.0)
    with pytest.raises(ValueError, match="only used with noise='sgd'"):
        train_with_noise(net, half_mse, X, y, noise="gd", lr=0.1, num_steps=1, batch_size=4)
    with pytest.raises(ValueError, match="lr must be finite"):
        train_with_noise(net, half_mse, X, y, noise="gd", lr=0.0, num_steps=1)
    with pytest.raises(ValueError, match="num_steps must be an integer >= 1"):
        train_with_noise(net, half_mse, X, y, noise="gd", lr=0.1, num_steps=0)
    with pytest.raises(ValueError, match="same number of examples"):
        train_with_noise(net, half_mse, X, y[:5], noise="gd", lr=0.1, num_steps=1)
    plain = nn.Sequential(nn.Linear(4, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"nn\.Dropout"):
        train_with_noise(plain, half_mse, X, y, noise="dropout", lr=0.1, num_steps=1)
