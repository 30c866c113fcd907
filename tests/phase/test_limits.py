"""Each limit simulator against a case with a closed-form answer.

Linear case ("scalar model"): one data point x = 1, target y = 1, frozen w_i = 1 and ReLU, so φ(X_i) = a_i and
the output is the mean f = ā. Random-features case: frozen random w_i, where the flows are linear ODEs solved
exactly with a matrix exponential.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch

from dropout_theory.phase import (
    bernoulli_jump_process,
    critical_corner_process,
    init_particles,
    penalized_flow,
    penalty_coefficient,
    poisson_jump_process,
    simulate_coupled,
    wasserstein_gradient_flow,
)

DT = torch.float64


def scalar_model(n, seed=0):
    a0 = torch.randn(n, generator=torch.Generator().manual_seed(seed), dtype=DT)
    return a0, torch.ones((n, 1), dtype=DT), torch.ones((1, 1), dtype=DT), torch.ones(1, dtype=DT)


def random_features(n=30, d=4, N=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    a, W = init_particles(n, d, generator=g)
    X = torch.randn((N, d), generator=g, dtype=DT)
    y = torch.randn(N, generator=g, dtype=DT)
    return a, W, X, y


@pytest.mark.parametrize("kappa", [0.0, 0.7])
def test_flows_match_matrix_exponential_on_random_features(kappa):
    """da/dt = −(H Hᵀ/(nN) + κ diag(mean h²)) a + H y/N, solved with expm of the augmented matrix."""
    a, W, X, y = random_features()
    n, N = a.shape[0], X.shape[0]
    H = torch.relu(W @ X.T).numpy()
    M = H @ H.T / (n * N) + kappa * np.diag((H * H).mean(1))
    bvec = H @ y.numpy() / N
    t = 1.5
    aug = np.zeros((n + 1, n + 1))
    aug[:n, :n], aug[:n, n] = -M, bvec
    exact = (scipy.linalg.expm(aug * t) @ np.append(a.numpy(), 1.0))[:n]
    kw = {"t_final": t, "dt": 0.01, "num_records": 4, "freeze_w": True}
    path = penalized_flow(a, W, X, y, penalty=kappa, **kw) if kappa else wasserstein_gradient_flow(a, W, X, y, **kw)
    np.testing.assert_allclose(path.a[-1].numpy(), exact, rtol=0, atol=1e-9)
    assert torch.equal(path.W[-1], W)


def test_gradient_flow_rk4_is_fourth_order_on_the_nonlinear_model():
    a, W, X, y = random_features(n=15, seed=1)
    ref = wasserstein_gradient_flow(a, W, X, y, t_final=1.0, dt=0.0125, num_records=2, activation="tanh")
    errs = []
    for dt in (0.2, 0.1):
        p = wasserstein_gradient_flow(a, W, X, y, t_final=1.0, dt=dt, num_records=2, activation="tanh")
        errs.append(float((p.W[-1] - ref.W[-1]).abs().max() + (p.a[-1] - ref.a[-1]).abs().max()))
    assert 10 < errs[0] / errs[1] < 22  # 2^4 = 16


def test_finite_n_dropout_with_small_steps_approaches_the_penalized_flow():
    """At fixed n and q, τ → 0: dropout → penalized flow with κ = (1−q)/(qn); coupled RMS distance ∝ √τ."""
    a, W, X, y = random_features(n=40, seed=2)
    q, t = 0.5, 0.5
    flow = penalized_flow(a, W, X, y, penalty=penalty_coefficient(q, 40), t_final=t, dt=0.005, num_records=2)
    dists = []
    for tau in (0.02, 0.005):
        run = simulate_coupled(
            a,
            W,
            X,
            y,
            tau=tau,
            keep_prob=q,
            num_steps=round(t / tau),
            variants=("dropout",),
            generator=torch.Generator().manual_seed(0),
            record_every=10**6,
        )
        d2 = (run.a[0, 0] - flow.a[-1]) ** 2 + ((run.W[0, 0] - flow.W[-1]) ** 2).sum(-1)
        dists.append(float(d2.mean().sqrt()))
    assert 1.4 < dists[0] / dists[1] < 2.8  # sqrt(4) = 2 expected


def test_poisson_jump_process_closed_form():
    """Scalar model: f(t) − y = (f0 − y)e^{−t}, jumps ~ Poisson(t/c), Var(displ.) = c(f0−y)²(1−e^{−2t})/2.

    n = 3000 particles; tolerances are 5 standard errors (counts) and 10 % (variance).
    """
    n, c, t = 3000, 0.5, 1.0
    a0, W, X, y = scalar_model(n)
    path = poisson_jump_process(
        a0,
        W,
        X,
        y,
        jump_size=c,
        t_final=t,
        num_records=3,
        generator=torch.Generator().manual_seed(1),
        freeze_w=True,
    )
    f0 = float(a0.mean())
    assert float(path.outputs[-1, 0]) == pytest.approx(1 + (f0 - 1) * math.exp(-t), abs=0.05)
    counts = path.jump_counts.to(DT)
    lam = t / c
    assert abs(float(counts.mean()) - lam) < 5 * math.sqrt(lam / n)
    assert abs(float(counts.var()) - lam) < 5 * math.sqrt(lam * (1 + 3 * lam) - lam**2) / math.sqrt(n)
    disp = path.a[-1] - a0
    assert float(disp.mean()) == pytest.approx(-(f0 - 1) * (1 - math.exp(-t)), abs=0.03)
    assert float(disp.var()) == pytest.approx(c * (f0 - 1) ** 2 * (1 - math.exp(-2 * t)) / 2, rel=0.1)


def test_bernoulli_jump_process_closed_form():
    """Scalar model, discrete time: f_k − y = (1 − τ)^k (f0 − y) (n → ∞), counts ~ Binomial(k, q),
    Var(displacement) = τ²(1 − q)/q (f0 − y)² Σ_j (1 − τ)^{2j}. n = 4000, 10 % / 5 standard errors."""
    n, tau, q, k = 4000, 0.2, 0.4, 8
    a0, W, X, y = scalar_model(n, seed=3)
    path = bernoulli_jump_process(
        a0,
        W,
        X,
        y,
        tau=tau,
        keep_prob=q,
        num_steps=k,
        generator=torch.Generator().manual_seed(2),
        freeze_w=True,
    )
    f0 = float(a0.mean())
    assert float(path.outputs[-1, 0]) == pytest.approx(1 + (f0 - 1) * (1 - tau) ** k, abs=0.03)
    counts = path.jump_counts.to(DT)
    assert abs(float(counts.mean()) - k * q) < 5 * math.sqrt(k * q * (1 - q) / n)
    var = tau**2 * (1 - q) / q * (f0 - 1) ** 2 * sum((1 - tau) ** (2 * j) for j in range(k))
    assert float((path.a[-1] - a0).var()) == pytest.approx(var, rel=0.1)
    np.testing.assert_allclose(path.times.numpy(), tau * np.arange(k + 1))


def test_critical_corner_mean_follows_the_penalized_ode():
    """Scalar model: dā/dt = −((1 + 1/ν)ā − y), so ā(t) = ā* + (ā0 − ā*)e^{−(1+1/ν)t}, ā* = y/(1 + 1/ν)."""
    n, c, nu, t = 2000, 0.5, 2.0, 1.0
    a0, W, X, y = scalar_model(n, seed=4)
    path = critical_corner_process(
        a0,
        W,
        X,
        y,
        jump_size=c,
        mean_kept=nu,
        t_final=t,
        num_records=3,
        generator=torch.Generator().manual_seed(3),
        freeze_w=True,
    )
    star = 1 / (1 + 1 / nu)
    f0 = float(a0.mean())
    assert float(path.outputs[-1, 0]) == pytest.approx(star + (f0 - star) * math.exp(-(1 + 1 / nu) * t), abs=0.05)
    # and a penalized flow with κ = 1/ν has the same mean
    pen = penalized_flow(a0, W, X, y, penalty=1 / nu, t_final=t, num_records=3, freeze_w=True)
    assert float(pen.outputs[-1, 0]) == pytest.approx(star + (f0 - star) * math.exp(-(1 + 1 / nu) * t), abs=1e-9)


def test_dropout_in_the_poisson_scaling_approaches_the_jump_limit():
    """Scalar model, τ = c·q with small q: the displacement variance approaches the Poisson-limit formula."""
    n, c, t, q = 2000, 0.5, 1.0, 0.05
    a0, W, X, y = scalar_model(n, seed=5)
    tau = c * q
    run = simulate_coupled(
        a0,
        W,
        X,
        y,
        tau=tau,
        keep_prob=q,
        num_steps=round(t / tau),
        variants=("dropout",),
        generator=torch.Generator().manual_seed(4),
        freeze_w=True,
        record_every=10**6,
    )
    f0 = float(a0.mean())
    disp = run.a[0, 0] - a0
    # Bernoulli clocks with q = 0.05 differ from Poisson clocks by a factor (1 − q) in the variance
    assert float(disp.var()) == pytest.approx(c * (f0 - 1) ** 2 * (1 - math.exp(-2 * t)) / 2, rel=0.15)


@pytest.mark.parametrize(
    ("fn", "kwargs", "match"),
    [
        (poisson_jump_process, {"jump_size": 0.0, "t_final": 1.0}, "jump_size"),
        (poisson_jump_process, {"jump_size": 1.0, "t_final": -1.0}, "t_final"),
        (critical_corner_process, {"jump_size": 1.0, "mean_kept": 0.0, "t_final": 1.0}, "mean_kept"),
        (bernoulli_jump_process, {"tau": 0.1, "keep_prob": 0.0, "num_steps": 2}, "keep_prob"),
        (penalized_flow, {"penalty": -1.0, "t_final": 1.0}, "penalty"),
        (wasserstein_gradient_flow, {"t_final": 1.0, "dt": 0.0}, "dt"),
    ],
)
def test_bad_input(fn, kwargs, match):
    a, W, X, y = random_features(n=5)
    with pytest.raises(ValueError, match=match):
        fn(a, W, X, y, **kwargs)
