"""The particle system: update vs autograd, penalty vs finite differences and exact mask enumeration,
coupling of the variants, q = 1 agreement, divergence and bad input."""

from __future__ import annotations

import itertools

import pytest
import torch

from dropout_theory import DivergenceError
from dropout_theory.phase import (
    VARIANTS,
    bernoulli_jump_process,
    init_particles,
    network_output,
    particle_velocity,
    penalized_objective,
    penalty_coefficient,
    simulate_coupled,
)

DT = torch.float64


def small_problem(n=5, d=3, N=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    a, W = init_particles(n, d, generator=g)
    X = torch.randn((N, d), generator=g, dtype=DT)
    y = torch.randn(N, generator=g, dtype=DT)
    return a, W, X, y


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_dropout_step_is_gradient_descent_with_lr_tau_times_n(activation):
    """One dropout step equals GD on the masked loss with per-parameter learning rate τ·n (autograd)."""
    a, W, X, y = small_problem()
    n, tau = a.shape[0], 0.3
    mask = torch.tensor([2.0, 0.0, 2.0, 2.0, 0.0], dtype=DT)  # keep_prob 0.5
    aa, WW = a.clone().requires_grad_(), W.clone().requires_grad_()
    f = network_output(aa * mask, WW, X, activation=activation)
    loss = 0.5 * ((f - y) ** 2).mean()
    ga, gW = torch.autograd.grad(loss, (aa, WW))
    va, vW = particle_velocity(a, W, X, y, forward_mask=mask, activation=activation)
    # the backward mask multiplies the velocity; autograd already contains it through aa * mask
    torch.testing.assert_close(tau * mask * va, tau * n * ga, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(tau * mask[:, None] * vW, tau * n * gW, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("activation", ["tanh", "softplus"])
def test_penalized_velocity_is_n_times_gradient_of_penalized_objective(activation):
    """Penalized-flow velocity vs central finite differences of F (step 1e-6, tolerance 1e-7)."""
    a, W, X, y = small_problem(seed=1)
    q = 0.4
    n = a.shape[0]
    va, vW = particle_velocity(a, W, X, y, penalty=penalty_coefficient(q, n), activation=activation)
    theta = torch.cat([a, W.reshape(-1)])
    eps = 1e-6

    def F(th):
        return penalized_objective(th[:n], th[n:].reshape(W.shape), X, y, keep_prob=q, activation=activation).item()

    fd = torch.zeros_like(theta)
    for k in range(theta.numel()):
        e = torch.zeros_like(theta)
        e[k] = eps
        fd[k] = (F(theta + e) - F(theta - e)) / (2 * eps)
    torch.testing.assert_close(torch.cat([va, vW.reshape(-1)]), n * fd, rtol=0, atol=1e-7)


def test_penalized_objective_and_mean_update_by_exact_enumeration():
    """E_η L(f_η) = F and E_η[dropout update] = penalized update, averaging over all 2^n masks exactly."""
    a, W, X, y = small_problem(n=4, seed=2)
    q, n = 0.3, 4
    exp_loss = 0.0
    exp_va, exp_vW = torch.zeros_like(a), torch.zeros_like(W)
    for bits in itertools.product([0, 1], repeat=n):
        keep = torch.tensor(bits, dtype=DT)
        prob = float(torch.prod(torch.where(keep > 0, torch.tensor(q, dtype=DT), torch.tensor(1 - q, dtype=DT))))
        mask = keep / q
        f = network_output(a * mask, W, X, activation="relu")
        exp_loss += prob * 0.5 * float(((f - y) ** 2).mean())
        va, vW = particle_velocity(a, W, X, y, forward_mask=mask)
        exp_va += prob * mask * va
        exp_vW += prob * mask[:, None] * vW
    assert exp_loss == pytest.approx(float(penalized_objective(a, W, X, y, keep_prob=q)), rel=1e-13)
    pa, pW = particle_velocity(a, W, X, y, penalty=penalty_coefficient(q, n))
    torch.testing.assert_close(exp_va, pa, rtol=1e-12, atol=1e-13)
    torch.testing.assert_close(exp_vW, pW, rtol=1e-12, atol=1e-13)


def test_variants_agree_exactly_when_keep_prob_is_one():
    a, W, X, y = small_problem(n=20, seed=3)
    run = simulate_coupled(
        a,
        W,
        X,
        y,
        tau=0.2,
        keep_prob=1.0,
        num_steps=30,
        variants=VARIANTS,
        generator=torch.Generator().manual_seed(0),
    )
    for v in range(1, len(VARIANTS)):
        assert torch.equal(run.a[v], run.a[0]) and torch.equal(run.W[v], run.W[0])
    assert float(run.rms_to_reference.abs().max()) == 0.0


def test_variants_differ_and_share_one_random_stream():
    a, W, X, y = small_problem(n=20, seed=4)
    kw = {"tau": 0.2, "keep_prob": 0.6, "num_steps": 25, "record_every": 5}
    full = simulate_coupled(a, W, X, y, variants=VARIANTS, generator=torch.Generator().manual_seed(7), **kw)
    assert float(full.rms_to_reference[1:, :, -1].min()) > 1e-3  # the variants really differ
    for v in ("random_metric", "propagation_noise_random_metric", "penalized"):
        alone = simulate_coupled(a, W, X, y, variants=("dropout", v), generator=torch.Generator().manual_seed(7), **kw)
        assert torch.equal(alone.a[1], full.a[full.index(v)])
        assert torch.equal(alone.W[0], full.W[0])
    rm = bernoulli_jump_process(
        a, W, X, y, tau=0.2, keep_prob=0.6, num_steps=25, generator=torch.Generator().manual_seed(7)
    )
    torch.testing.assert_close(rm.a[-1], full.a[full.index("random_metric"), 0], rtol=1e-13, atol=1e-14)


def test_repeats_batch_equals_separate_runs_for_deterministic_variants():
    g = torch.Generator().manual_seed(5)
    a, W = init_particles(10, 3, repeats=3, generator=g)
    X = torch.randn((6, 3), generator=g, dtype=DT)
    y = torch.randn(6, generator=g, dtype=DT)
    kw = {"tau": 0.1, "keep_prob": 0.5, "num_steps": 10, "variants": ("no_dropout", "penalized")}
    both = simulate_coupled(a, W, X, y, **kw)
    for r in range(3):
        one = simulate_coupled(a[r], W[r], X, y, **kw)
        torch.testing.assert_close(one.a[:, 0], both.a[:, r], rtol=1e-13, atol=1e-14)


def test_divergence_is_reported_at_the_first_step_whatever_record_every():
    """Losses and parameters are checked at every step, so the reported step and quantity do not depend on
    record_every (the issue measured step 2 with record_every = 1 and step 50 with 50)."""
    a, W, X, y = small_problem(n=10, seed=6)
    records = []
    for every in (1, 50, 200):
        with pytest.raises(DivergenceError, match="step") as info:
            simulate_coupled(100 * a, W, 30 * X, y, tau=50.0, keep_prob=0.5, num_steps=200, generator=0,
                             record_every=every)  # fmt: skip
        records.append(info.value.record)
    assert records[0] == records[1] == records[2] and records[0].step <= 2 and "variant" in records[0].quantity


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"keep_prob": 0.0}, "keep_prob"),
        ({"keep_prob": 1.2}, "keep_prob"),
        ({"tau": 0.0}, "tau"),
        ({"tau": -1.0}, "tau"),
        ({"num_steps": 0}, "num_steps"),
        ({"variants": ("dropout", "nonsense")}, "variant"),
        ({"variants": ()}, "variants"),
    ],
)
def test_bad_input(kwargs, match):
    a, W, X, y = small_problem()
    args = {"tau": 0.1, "keep_prob": 0.5, "num_steps": 3, **kwargs}
    with pytest.raises(ValueError, match=match):
        simulate_coupled(a, W, X, y, **args)


def test_bad_width_and_shapes():
    with pytest.raises(ValueError, match="width"):
        init_particles(0, 3)
    with pytest.raises(ValueError, match="width"):
        penalty_coefficient(0.5, 0)
    a, W, X, y = small_problem()
    with pytest.raises(ValueError, match="features"):
        simulate_coupled(a, W, X[:, :2], y, tau=0.1, keep_prob=0.5, num_steps=2)
    with pytest.raises(ValueError, match="a0"):
        simulate_coupled(a[:3], W, X, y, tau=0.1, keep_prob=0.5, num_steps=2)


@pytest.mark.parametrize(
    ("activation", "freeze_w", "chunk_size"),
    [("relu", False, 7), ("relu", True, 5), ("tanh", False, 16), ("relu", False, 64)],
)
def test_chunked_step_equals_the_batched_step(activation, freeze_w, chunk_size):
    """The in-place chunked step (chunks of 5, 7 or 16 particles out of 37, a remainder chunk included; one chunk
    larger than the width) gives the batched kernel's trajectories for all five variants (the penalized one with
    κ > 0) to 1e-12: the same arithmetic, summed in another order."""
    g = torch.Generator().manual_seed(11)
    X = torch.randn(23, 4, generator=g, dtype=torch.float64)
    y = torch.sin(X[:, 0])
    a0, W0 = init_particles(37, 4, repeats=2, generator=g)
    kw = {"tau": 0.3, "keep_prob": 0.6, "num_steps": 25, "variants": VARIANTS, "activation": activation,
          "freeze_w": freeze_w, "record_every": 5}  # fmt: skip
    ref = simulate_coupled(a0, W0, X, y, generator=3, chunk_size=0, **kw)
    got = simulate_coupled(a0, W0, X, y, generator=3, chunk_size=chunk_size, **kw)
    torch.testing.assert_close(got.a, ref.a, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(got.W, ref.W, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(got.loss, ref.loss, rtol=1e-12, atol=1e-14)
    assert float((ref.a - a0).abs().max()) > 1e-2  # the particles moved


def test_chunking_is_chosen_by_size_and_checked():
    g = torch.Generator().manual_seed(12)
    X = torch.randn(10, 3, generator=g, dtype=torch.float64)
    a0, W0 = init_particles(8, 3, generator=g)
    with pytest.raises(ValueError, match="chunk_size must be an integer >= 0, got -1"):
        simulate_coupled(a0, W0, X, X[:, 0], tau=0.1, keep_prob=0.5, num_steps=1, chunk_size=-1)
