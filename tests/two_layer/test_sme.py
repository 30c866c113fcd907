"""Ensembles: batched dropout = single-run trainer, SME one-step moments, integrator orders, errors."""

from __future__ import annotations

import pytest
import torch

from dropout_theory import DivergenceError
from dropout_theory.two_layer import (
    dropout_gradient_covariance,
    flatten_params,
    init_params,
    modified_loss_gradient,
    order2_drift,
    simulate,
    train_dropout,
    weak_error_study,
)


def _problem(m=4, d=3, n=12, K=None, seed=0, scale_a=1.0):
    g = torch.Generator().manual_seed(seed)
    a, W = init_params(m, d, K, generator=g, scale_a=scale_a, scale_w=1.0)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.sin(X.sum(1)) if K is None else torch.randn(n, K, generator=g, dtype=torch.float64)
    return a, W, X, y


@pytest.mark.parametrize("K", [None, 2])
def test_single_run_dropout_matches_train_dropout(K):
    a, W, X, y = _problem(K=K)
    ens = simulate(
        a, W, X, y, method="dropout", keep_prob=0.6, lr=0.1, num_steps=15, generator=torch.Generator().manual_seed(5)
    )
    traj = train_dropout(a, W, X, y, keep_prob=0.6, lr=0.1, num_steps=15, generator=torch.Generator().manual_seed(5))
    # train_dropout is the single-run view of simulate: the same numbers, bit for bit
    assert torch.equal(ens.a[0], traj.a) and torch.equal(ens.W[0], traj.W)
    assert torch.equal(ens.train_loss[0], traj.train_loss)


def test_recorded_parameters_are_the_state_at_each_record():
    """theta_path at the last record equals the final theta; with record_every = N the path is (θ_0, θ_N)."""
    a, W, X, y = _problem(K=2)
    kw = dict(method="dropout", keep_prob=0.6, lr=0.1, num_runs=3, record_parameters=True)
    ens = simulate(a, W, X, y, num_steps=6, record_every=3, generator=1, **kw)
    assert ens.theta_path.shape == (3, 3, ens.theta.shape[1]) and ens.steps.tolist() == [0, 3, 6]
    assert torch.equal(ens.theta_path[:, -1], ens.theta)
    assert torch.equal(ens.theta_path[:, 0], flatten_params(a, W).expand(3, -1))
    short = simulate(a, W, X, y, num_steps=3, generator=1, **kw)
    assert torch.equal(ens.theta_path[:, 1], short.theta)


def test_gd_modified_is_gd_on_ls_and_sme_without_noise_is_gd():
    a, W, X, y = _problem(K=2)
    ens = simulate(a, W, X, y, method="gd_modified", keep_prob=0.7, lr=0.05, num_steps=3, num_runs=2)
    a_, W_ = a.clone(), W.clone()
    for _ in range(3):
        ga, gW = modified_loss_gradient(a_, W_, X, y, keep_prob=0.7)
        a_, W_ = a_ - 0.05 * ga, W_ - 0.05 * gW
    torch.testing.assert_close(ens.a[1], a_, rtol=1e-13, atol=1e-14)
    torch.testing.assert_close(ens.W[0], W_, rtol=1e-13, atol=1e-14)
    gd = simulate(a, W, X, y, method="gd", keep_prob=1.0, lr=0.05, num_steps=3)
    sme = simulate(
        a, W, X, y, method="sme", keep_prob=1.0, lr=0.05, num_steps=3
    )  # keep_prob 1: no noise, L_S = R_S, Euler = GD
    torch.testing.assert_close(gd.theta, sme.theta, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("order", [1, 2])
def test_sme_one_step_moments(order):
    """One Euler step from θ_0: mean −η b(θ_0)·(−1), covariance η²Σ; 60,000 runs, 5 standard errors / 3 %."""
    a, W, X, y = _problem(m=3, d=2, n=6, K=None, scale_a=2.0)
    p, eta, R = 0.5, 0.2, 60_000
    ens = simulate(
        a,
        W,
        X,
        y,
        method="sme",
        keep_prob=p,
        lr=eta,
        num_steps=1,
        num_runs=R,
        order=order,
        generator=torch.Generator().manual_seed(1),
    )
    theta0 = flatten_params(a, W)
    drift = (
        order2_drift(a, W, X, y, keep_prob=p, lr=eta)
        if order == 2
        else [-g for g in modified_loss_gradient(a, W, X, y, keep_prob=p)]
    )
    step = ens.theta - theta0
    sigma = dropout_gradient_covariance(a, W, X, y, keep_prob=p)
    se = eta * sigma.diagonal().sqrt() / R**0.5
    assert float(((step.mean(0) - eta * flatten_params(*drift)).abs() / se).max()) < 5.0
    emp = torch.cov(step.T)
    assert float((emp - eta**2 * sigma).norm() / (eta**2 * sigma).norm()) < 0.03


def test_ensemble_determinism_records_and_accuracy():
    a, W, X, y = _problem(K=3)
    labels = y.argmax(1)
    kw = {"num_runs": 3, "record_every": 2, "X_test": X, "y_test": y, "labels_test": labels}
    e1 = simulate(
        a, W, X, y, method="sme", keep_prob=0.5, lr=0.1, num_steps=5, generator=torch.Generator().manual_seed(2), **kw
    )
    e2 = simulate(
        a, W, X, y, method="sme", keep_prob=0.5, lr=0.1, num_steps=5, generator=torch.Generator().manual_seed(2), **kw
    )
    assert torch.equal(e1.theta, e2.theta)
    assert e1.steps.tolist() == [0, 2, 4, 5]
    assert e1.train_loss.shape == e1.test_loss.shape == e1.test_accuracy.shape == (3, 4)
    torch.testing.assert_close(e1.train_loss, e1.test_loss)  # test set = training set here
    assert float(e1.test_accuracy.min()) >= 0.0 and float(e1.test_accuracy.max()) <= 1.0
    assert not torch.equal(e1.theta[0], e1.theta[1])  # runs are independent


@pytest.mark.parametrize(("order", "target"), [(1, 1.0), (2, 2.0)])
def test_weak_order_of_the_integrated_sme_without_noise(order, target):
    """keep_prob = 1: dropout is GD and the SME is the (modified) gradient flow; slopes 1 and 2 within 0.1."""
    a, W, X, y = _problem()
    study = weak_error_study(
        a, W, X, y, keep_prob=1.0, lrs=[0.1, 0.05, 0.025], time=1.0, num_runs=1, order=order, substeps=2
    )
    assert abs(study.slope - target) < 0.1


def test_weak_error_order1_with_noise():
    """p = 0.7, 4,000 runs: the order-1 SME error at t = 1 shrinks linearly in η (slope in [0.7, 1.3])."""
    a, W, X, y = _problem(scale_a=3.0)
    study = weak_error_study(
        a,
        W,
        X,
        y,
        keep_prob=0.7,
        lrs=[0.4, 0.2, 0.1],
        time=1.0,
        num_runs=4000,
        order=1,
        substeps=2,
        generator=torch.Generator().manual_seed(0),
    )
    assert 0.7 < study.slope < 1.3
    assert (study.errors > 2 * study.std_errors).all()


@pytest.mark.parametrize("method", ["dropout", "gd", "sme"])
def test_divergence_is_reported_at_the_first_step_whatever_record_every(method):
    """The training loss is checked at every step: recording every step or once at the end reports the same step
    and quantity, and running one step fewer does not diverge."""
    a, W, X, y = _problem()
    kw = dict(method=method, keep_prob=0.7, lr=30.0, num_steps=200, generator=3)
    errors = []
    for every in (1, 200):
        with pytest.raises(DivergenceError) as info:
            simulate(a * 3, W * 3, X * 3, y, record_every=every, **kw)
        errors.append(info.value)
    assert errors[0].record == errors[1].record and errors[0].step >= 1
    if errors[0].quantity == "train loss":  # the loss at step k is that of θ_k: θ_0 … θ_{k−1} were fine
        simulate(a * 3, W * 3, X * 3, y, **{**kw, "num_steps": errors[0].step - 1})


def test_divergence_and_bad_input():
    a, W, X, y = _problem()
    with pytest.raises(DivergenceError, match="step"):
        simulate(a * 100, W * 10, X * 10, y, method="gd", keep_prob=1.0, lr=50.0, num_steps=200)
    with pytest.raises(ValueError, match="method"):
        simulate(a, W, X, y, method="adam", keep_prob=0.5, lr=0.1, num_steps=2)
    with pytest.raises(ValueError, match="order"):
        simulate(a, W, X, y, method="sme", keep_prob=0.5, lr=0.1, num_steps=2, order=3)
    with pytest.raises(ValueError, match="scheme"):
        simulate(a, W, X, y, method="sme", keep_prob=0.5, lr=0.1, num_steps=2, scheme="rk4")
    with pytest.raises(ValueError, match="num_runs"):
        simulate(a, W, X, y, method="sme", keep_prob=0.5, lr=0.1, num_steps=2, num_runs=0)
    with pytest.raises(ValueError, match="labels_test"):
        simulate(a, W, X, y, method="sme", keep_prob=0.5, lr=0.1, num_steps=2, labels_test=torch.zeros(3))
    with pytest.raises(ValueError, match="lrs"):
        weak_error_study(a, W, X, y, keep_prob=0.5, lrs=[0.1], time=1.0, num_runs=2)
