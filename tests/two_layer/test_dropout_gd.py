"""Dropout GD (SME paper eq. 6): closed-form gradients vs autograd, masks, training, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dropout_theory import DivergenceError
from dropout_theory.two_layer import (
    dropout_gradient,
    empirical_risk,
    flatten_params,
    forward,
    sample_mask,
    train_dropout,
    unflatten_params,
)
from tests.two_layer.problems import random_problem


def _problem(m=4, **kwargs):
    return random_problem(m=m, **kwargs)


@pytest.mark.parametrize("K", [None, 3])
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "softplus", "gelu", "relu"])
def test_closed_form_gradient_matches_autograd(K, activation):
    a, W, X, y = _problem(K=K)
    mask = torch.tensor([0.0, 2.0, 2.0, 0.0], dtype=torch.float64)
    ga, gW = dropout_gradient(a, W, X, y, mask, activation=activation)
    a_ = a.clone().requires_grad_()
    W_ = W.clone().requires_grad_()
    r = forward(a_, W_, X, activation=activation, mask=mask) - y
    (0.5 * (r * r).sum() / X.shape[0]).backward()
    torch.testing.assert_close(ga, a_.grad, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(gW, W_.grad, rtol=1e-12, atol=1e-12)


def test_unit_mask_gives_plain_gradient_and_loss_definition():
    a, W, X, y = _problem()
    ga, _ = dropout_gradient(a, W, X, y, torch.ones(4, dtype=torch.float64))
    # R_S = 1/(2n) Σ (f − y)², computed here independently with numpy
    f = np.tanh(X.numpy() @ W.numpy().T) @ a.numpy()
    assert float(empirical_risk(a, W, X, y)) == pytest.approx(0.5 * np.mean((f - y.numpy()) ** 2), rel=1e-13)
    h = np.tanh(X.numpy() @ W.numpy().T)
    np.testing.assert_allclose(ga.numpy(), h.T @ (f - y.numpy()) / X.shape[0], rtol=1e-12)


def test_mask_moments_monte_carlo():
    # E δ = 1 and Var δ = (1 − p)/p; 200,000 draws, standard error of the mean ≈ sqrt(0.667/2e5) ≈ 0.0018.
    p = 0.6
    delta = sample_mask(200_000, keep_prob=p, generator=torch.Generator().manual_seed(1))
    assert set(delta.unique().tolist()) == {0.0, 1.0 / p}
    assert float(delta.mean()) == pytest.approx(1.0, abs=0.01)
    assert float(delta.var()) == pytest.approx((1 - p) / p, rel=0.02)


def test_flatten_is_neuron_major_and_invertible():
    a, W, _, _ = _problem(K=2)
    theta = flatten_params(a, W)
    assert theta.shape == (4 * (2 + 3),)
    torch.testing.assert_close(theta[:5], torch.cat([a[0], W[0]]))
    a2, W2 = unflatten_params(theta, 4, 3, 2)
    torch.testing.assert_close(a2, a)
    torch.testing.assert_close(W2, W)
    a1, W1, _, _ = _problem()
    b, V = unflatten_params(flatten_params(a1, W1), 4, 3)
    torch.testing.assert_close(b, a1)
    torch.testing.assert_close(V, W1)


def test_training_is_deterministic_and_keep_one_is_gradient_descent():
    a, W, X, y = _problem(n=20)
    t1 = train_dropout(a, W, X, y, keep_prob=0.7, lr=0.1, num_steps=30, generator=torch.Generator().manual_seed(3))
    t2 = train_dropout(a, W, X, y, keep_prob=0.7, lr=0.1, num_steps=30, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(t1.W, t2.W, rtol=0, atol=0)
    gd = train_dropout(a, W, X, y, keep_prob=1.0, lr=0.1, num_steps=1)
    ga, gW = dropout_gradient(a, W, X, y, torch.ones(4, dtype=torch.float64))
    torch.testing.assert_close(gd.W, W - 0.1 * gW)
    torch.testing.assert_close(gd.a, a - 0.1 * ga)
    assert gd.train_loss.shape == (2,)


def test_plain_gd_decreases_the_loss_and_records_test_loss():
    a, W, X, y = _problem(n=30)
    tr = train_dropout(a, W, X, y, keep_prob=1.0, lr=0.05, num_steps=200, record_every=50, X_test=X[:5], y_test=y[:5])
    assert tr.steps.tolist() == [0, 50, 100, 150, 200]
    assert bool((tr.train_loss[1:] < tr.train_loss[:-1]).all())
    assert tr.test_loss is not None and tr.test_loss.shape == (5,)


def test_numpy_inputs_are_accepted():
    a, W, X, y = _problem()
    tr = train_dropout(
        a.numpy(), W.numpy(), X.numpy(), y.numpy(), keep_prob=0.5, lr=0.01, num_steps=3, generator=torch.Generator()
    )
    assert tr.a.dtype == torch.float64


def test_divergence_names_the_step():
    a, W, X, y = _problem(n=10)
    with pytest.raises(DivergenceError, match=r"diverged at step \d+") as info:
        train_dropout(
            a * 100, W * 10, X, y, keep_prob=0.5, lr=50.0, num_steps=500, generator=torch.Generator().manual_seed(0)
        )
    assert info.value.step >= 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"keep_prob": 0.0}, r"keep_prob must lie in \(0, 1\].*0\.0"),
        ({"keep_prob": 1.5}, r"keep_prob must lie in \(0, 1\].*1\.5"),
        ({"lr": -0.1}, r"lr must be finite and lie in \(0, inf\).*-0\.1"),
        ({"num_steps": 0}, r"num_steps must be an integer >= 1, got 0"),
        ({"activation": "swish"}, r"activation must be one of"),
    ],
)
def test_bad_arguments(kwargs, match):
    a, W, X, y = _problem()
    args = {"keep_prob": 0.5, "lr": 0.1, "num_steps": 2} | kwargs
    act = args.pop("activation", "tanh")
    with pytest.raises(ValueError, match=match):
        train_dropout(a, W, X, y, activation=act, **args)


def test_bad_shapes_and_values():
    a, W, X, y = _problem(K=2)
    with pytest.raises(ValueError, match="X has 5 features but W expects d = 3"):
        train_dropout(a, W, torch.ones(7, 5), y, keep_prob=0.5, lr=0.1, num_steps=1)
    with pytest.raises(ValueError, match="y has 6 rows but X has 7"):
        train_dropout(a, W, X, y[:6], keep_prob=0.5, lr=0.1, num_steps=1)
    with pytest.raises(ValueError, match="both be 1-D"):
        train_dropout(a, W, X, y[:, 0], keep_prob=0.5, lr=0.1, num_steps=1)
    bad = X.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="X must contain only finite values"):
        train_dropout(a, W, bad, y, keep_prob=0.5, lr=0.1, num_steps=1)
    with pytest.raises(ValueError, match=r"mask must have shape \(4,\)"):
        dropout_gradient(a, W, X, y, torch.ones(3))


@pytest.mark.parametrize("K", [None, 3])
def test_per_example_mask_gradient_matches_autograd(K):
    """An (n, m) mask multiplies neuron r of example i by δ_ir: autograd of
    (1/2n) Σ_i ‖Σ_r δ_ir a_r σ(w_r·x_i) − y_i‖²."""
    a, W, X, y = _problem(K=K)
    mask = sample_mask(4, keep_prob=0.5, shape=(X.shape[0],), generator=0)
    ga, gW = dropout_gradient(a, W, X, y, mask)
    a_ = a.clone().requires_grad_(True)
    W_ = W.clone().requires_grad_(True)
    h = torch.tanh(X @ W_.T) * mask
    out = h @ a_
    loss = 0.5 * ((out - y) ** 2).sum() / X.shape[0]
    ea, eW = torch.autograd.grad(loss, (a_, W_))
    assert torch.allclose(ga, ea, atol=1e-14) and torch.allclose(gW, eW, atol=1e-14)
    with pytest.raises(ValueError, match="mask must have shape"):
        dropout_gradient(a, W, X, y, mask[:, :2])


def test_per_example_training_and_its_limits():
    """Per-example dropout GD runs and differs from shared-mask runs; keep_prob = 1 is GD for both; the SME refuses
    per-example masks (its noise has the shared-mask covariance)."""
    from dropout_theory.two_layer import simulate

    a, W, X, y = _problem()
    kw = dict(method="dropout", lr=0.1, num_steps=5, num_runs=2, generator=0)
    shared = simulate(a, W, X, y, keep_prob=0.5, **kw).theta
    per = simulate(a, W, X, y, keep_prob=0.5, mask="per_example", **kw).theta
    assert not torch.allclose(shared, per)
    gd = simulate(a, W, X, y, method="gd", keep_prob=1.0, lr=0.1, num_steps=5).theta
    assert torch.allclose(simulate(a, W, X, y, keep_prob=1.0, mask="per_example", **kw).theta, gd.expand(2, -1))
    run = train_dropout(a, W, X, y, keep_prob=0.5, lr=0.1, num_steps=5, generator=0, mask="per_example")
    one = simulate(a, W, X, y, keep_prob=0.5, mask="per_example", **{**kw, "num_runs": 1}).theta[0]
    assert torch.equal(flatten_params(run.a, run.W), one)
    with pytest.raises(ValueError, match="per_example"):
        simulate(a, W, X, y, method="sme", keep_prob=0.5, lr=0.1, num_steps=2, mask="per_example")
