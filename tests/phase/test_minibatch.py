"""Mini-batch SGD with dropout on the mean-field network: the update against autograd, the coupling of the five
variants, the full-batch reduction to simulate_coupled, errors and divergence."""

from __future__ import annotations

import pytest
import torch

from dropout_theory import DivergenceError
from dropout_theory.phase import (
    MINIBATCH_VARIANTS,
    flatten_particles,
    init_particles,
    mean_field_loss,
    simulate_coupled,
    simulate_coupled_sgd,
)
from dropout_theory.phase.minibatch import minibatch_velocity


def _problem(n=7, d=5, N=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    a, W = init_particles(n, d, generator=g)
    X = torch.randn((N, d), generator=g, dtype=torch.float64)
    y = torch.where(torch.rand(N, generator=g, dtype=torch.float64) < 0.5, 1.0, -1.0).to(torch.float64)
    return a, W, X, y


@pytest.mark.parametrize("loss", ["logistic", "squared"])
def test_velocity_is_n_times_the_gradient_of_the_masked_loss(loss):
    """n·∂L_m/∂X_i by autograd of the loss as written (mean over the batch of ℓ(f_m)) equals m_i × the velocity."""
    a, W, X, y = _problem()
    m = (torch.rand(7, generator=torch.Generator().manual_seed(1), dtype=torch.float64) < 0.6) / 0.6
    v_a, v_W, mean_loss = minibatch_velocity(a, W, X, y, forward_mask=m, loss=loss)
    theta = flatten_particles(a, W).requires_grad_(True)
    value = mean_field_loss(theta, X, y, width=7, loss=loss, mask=m)
    (grad,) = torch.autograd.grad(value, theta)
    torch.testing.assert_close(7 * grad[:7], m * v_a, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(7 * grad[7:].reshape(7, 5), m[:, None] * v_W, rtol=1e-12, atol=1e-14)
    assert float(mean_loss) == pytest.approx(float(value.detach()), rel=1e-13)


def test_full_batch_squared_loss_is_simulate_coupled():
    """batch_size=None with the squared loss performs exactly the steps of simulate_coupled (same mask seed)."""
    a, W, X, _ = _problem(n=12, d=3, N=20)
    y = torch.randn(20, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    variants = ("dropout", "random_metric", "propagation_noise_random_metric", "propagation_noise", "no_dropout")
    kw = {"tau": 0.3, "keep_prob": 0.7, "num_steps": 15, "variants": variants, "generator": 5, "record_every": 5}
    ref = simulate_coupled(a, W, X, y, **kw)
    run = simulate_coupled_sgd(a, W, X, y, batch_size=None, loss="squared", **kw)
    assert torch.equal(run.W, ref.W[:, 0]) and torch.equal(run.a, ref.a[:, 0])
    torch.testing.assert_close(run.metrics["train_loss"], ref.loss[:, 0], rtol=1e-14, atol=0)
    torch.testing.assert_close(run.rms_to_reference, ref.rms_to_reference[:, 0], rtol=1e-14, atol=0)


def test_one_step_couples_the_variants_through_m1():
    """After one step: dropout moves by m₁ ⊙ (PN-only move) and random metric by m₁ ⊙ (no-dropout move), since the
    first pair shares the forward mask m₁ and the second the unmasked forward pass; the batch is shared."""
    a, W, X, y = _problem(n=9, N=30)
    run = simulate_coupled_sgd(a, W, X, y, tau=0.5, keep_prob=0.6, num_steps=1, batch_size=8, generator=3,
                               snapshot_steps=(0, 1))  # fmt: skip
    A0, W0 = run.snapshots[0]
    dA, dW = run.a - A0, run.W - W0
    i = {v: run.index(v) for v in MINIBATCH_VARIANTS}
    m1 = torch.where(dA[i["no_dropout"]] != 0, dA[i["random_metric"]] / dA[i["no_dropout"]], 0.0)
    assert set(torch.round(m1, decimals=9).tolist()) <= {0.0, round(1 / 0.6, 9)}
    torch.testing.assert_close(dA[i["dropout"]], m1 * dA[i["propagation_noise"]], rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(dW[i["dropout"]], m1[:, None] * dW[i["propagation_noise"]], rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(dW[i["random_metric"]], m1[:, None] * dW[i["no_dropout"]], rtol=1e-12, atol=1e-15)


def test_keep_one_makes_every_variant_plain_sgd_and_records_accuracy():
    a, W, X, y = _problem(n=10, N=40)
    run = simulate_coupled_sgd(a, W, X, y, tau=1.0, keep_prob=1.0, num_steps=6, batch_size=5, record_every=3,
                               evaluate={"test": (X[:10], y[:10])})  # fmt: skip
    assert run.steps.tolist() == [0, 3, 6] and float(run.rms_to_reference.max()) < 1e-14  # batched-matmul round-off
    assert set(run.metrics) == {"train_loss", "train_accuracy", "test_loss", "test_accuracy"}
    f = torch.relu(run.W[0] @ X.T).T @ run.a[0] / 10
    assert float(run.metrics["train_accuracy"][0, -1]) == pytest.approx(float((y * f > 0).double().mean()))
    assert float(run.metrics["train_loss"][0, -1]) == pytest.approx(float(torch.log1p(torch.exp(-y * f)).mean()))


def test_errors_and_divergence():
    a, W, X, y = _problem()
    kw = {"tau": 0.1, "keep_prob": 0.5, "num_steps": 2, "batch_size": 4}
    with pytest.raises(ValueError, match="targets y in"):
        simulate_coupled_sgd(a, W, X, 2 * y, **kw)
    with pytest.raises(ValueError, match="batch_size must be at most"):
        simulate_coupled_sgd(a, W, X, y, **{**kw, "batch_size": 13})
    with pytest.raises(ValueError, match="variant"):
        simulate_coupled_sgd(a, W, X, y, variants=("dropout", "penalized"), **kw)
    with pytest.raises(DivergenceError, match="variant"):
        simulate_coupled_sgd(a, W, 1e5 * X, y, tau=1e9, keep_prob=0.5, num_steps=5, loss="squared", batch_size=4)
