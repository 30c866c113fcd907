"""Noisy trainings (gd / dropout / sgd / parametric), the noise matching rule and the flatness comparison."""

from __future__ import annotations

import copy
import itertools
import json
import math

import pytest
import torch
from torch import nn

from dropout_theory._checks import DivergenceError
from dropout_theory.alignment.hvp import module_flat_loss
from dropout_theory.alignment.minima_flatness import (
    matched_noise_levels,
    minima_flatness,
    train_with_noise,
)
from dropout_theory.alignment.training import dropout_mlp

N = 16


def _half_mse(out, target):
    return 0.5 * ((out - target) ** 2).sum(1).mean()


def _data(n=N, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 4, generator=g, dtype=torch.float64)
    y = torch.randn(n, 3, generator=g, dtype=torch.float64)
    return X, y


def _net(keep_prob=0.7, seed=1):
    return dropout_mlp((4, 6, 5, 3), keep_prob, generator=torch.Generator().manual_seed(seed))


def _flat(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def _run(net, noise, **kw):
    X, y = _data()
    curve = train_with_noise(net, _half_mse, X, y, noise, 0.2, 25, generator=torch.Generator().manual_seed(3), **kw)
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
    train_with_noise(net, lambda out, tt: (out[:, 0] * tt).mean(), X, t, "sgd", 0.1, 2, batch_size=5, generator=g)
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
            model, lambda out, t: (out**4).sum(1).mean() / 4, X, y, "parametric", 1.0, 1, sigma=sigma, generator=gen
        )
        draws.append(theta0 - model.theta.detach())
    G = torch.stack(draws)
    mean, se = G.mean(0), G.std(0) / math.sqrt(G.shape[0])
    smoothed = theta0**3 + 3 * sigma**2 * theta0
    assert bool(((mean - smoothed).abs() < 4 * se).all())
    assert float((mean[2] - theta0[2] ** 3).abs()) > 8 * float(se[2])


def _dropout_trace_by_enumeration(net, X, y, keep_prob):
    """Exact Tr Cov of the dropout gradient over all 2⁶ masks of the 6 hidden units (one mask per unit)."""
    params = list(net.parameters())
    grads, probs = [], []
    for bits in itertools.product((0.0, 1.0), repeat=6):
        mask = torch.tensor(bits, dtype=torch.float64) / keep_prob
        h = torch.tanh(net[0](X)) * mask
        out = net[5](torch.tanh(net[3](h)))
        g = torch.autograd.grad(_half_mse(out, y), params)
        grads.append(torch.cat([gi.reshape(-1) for gi in g]))
        probs.append(keep_prob ** sum(bits) * (1 - keep_prob) ** (6 - sum(bits)))
    G, w = torch.stack(grads), torch.tensor(probs, dtype=torch.float64)
    mean = (w[:, None] * G).sum(0)
    return float((w * ((G - mean) ** 2).sum(1)).sum())


def test_matched_noise_levels_against_independent_computations():
    """Dropout trace (400 draws) vs exact enumeration of masks: within 4 s.e.; per-example variance vs a loop
    of per-example backward passes (1e-10); the SGD trace formula vs 4,000 random mini-batches (within 5 %);
    the measured parametric trace vs the first-order σ²‖H‖_F² (within 15 %, i.e. the linearisation holds)."""
    X, y = _data()
    net = _net()
    before = _flat(net)
    lv = matched_noise_levels(net, _half_mse, X, y, num_samples=400, generator=torch.Generator().manual_seed(0))
    assert torch.equal(_flat(net), before) and net.training
    exact = _dropout_trace_by_enumeration(net, X, y, 0.7)
    assert abs(lv.dropout_trace.value - exact) < 4 * lv.dropout_trace.stderr
    params = list(net.parameters())
    net.eval()
    per = torch.stack(
        [
            torch.cat([g.reshape(-1) for g in torch.autograd.grad(_half_mse(net(X[i : i + 1]), y[i : i + 1]), params)])
            for i in range(N)
        ]
    )
    s2 = float(((per - per.mean(0)) ** 2).sum(1).mean())
    assert lv.per_example_variance == pytest.approx(s2, rel=1e-10)
    B = lv.batch_size
    assert 1 <= B <= N
    g = torch.Generator().manual_seed(1)
    batch_means = torch.stack([per[torch.randperm(N, generator=g)[:B]].mean(0) for _ in range(4000)])
    mc = float(((batch_means - per.mean(0)) ** 2).sum(1).mean())
    assert lv.sgd_trace == pytest.approx(mc, rel=0.05)
    assert lv.sgd_trace == pytest.approx(s2 * (N - B) / (B * (N - 1)), rel=1e-12)
    assert lv.parametric_trace.value == pytest.approx(lv.sigma**2 * lv.hessian_frobenius_sq.value, rel=0.15)
    assert lv.keep_probs == pytest.approx((0.7,))


def test_minima_flatness_rows_and_measurements():
    """Tiny comparison: the gd row's top eigenvalues match eigvalsh of the dense Hessian at the GD end point
    (recomputed independently, rel. 1e-6), its trace is within 4 s.e.; the start model is untouched."""
    X, y = _data()
    Xt, yt = _data(8, seed=5)
    yt = torch.eye(3, dtype=torch.float64)[yt.argmax(1)]
    net = _net()
    before = _flat(net)
    res = minima_flatness(
        net, _half_mse, X, y, 0.2, 30, X_test=Xt, y_test=yt, num_eigenvalues=2, num_probes=400,
        num_match_samples=16, tol=1e-10, generator=torch.Generator().manual_seed(0),
    )  # fmt: skip
    assert torch.equal(_flat(net), before)
    assert [r.strategy for r in res.rows] == ["gd", "dropout", "sgd", "parametric"]
    assert res.num_params == before.numel() and res.noise is not None
    ref = copy.deepcopy(net)
    train_with_noise(ref, _half_mse, X, y, "gd", 0.2, 30)
    loss, theta = module_flat_loss(ref, _half_mse, X, y)
    H = torch.autograd.functional.hessian(loss, theta)
    gd = res["gd"]
    assert gd.top_eigenvalues == pytest.approx(torch.linalg.eigvalsh(H).flip(0)[:2].tolist(), rel=1e-6)
    assert abs(gd.trace.value - float(H.trace())) < 4 * gd.trace.stderr
    assert gd.noise_trace == 0.0 and gd.train_loss == pytest.approx(float(loss(theta)), rel=1e-12)
    assert res["sgd"].setting == f"batch {res.noise.batch_size}"
    assert res["dropout"].noise_trace == res.noise.dropout_trace.value
    for row in res.rows:
        assert 0.0 <= row.test_accuracy <= 1.0 and row.test_loss > 0
    table = str(res)
    assert all(s in table for s in ("gd", "dropout", "sgd", "parametric", "top eig"))
    rows = json.loads(json.dumps(res.to_rows()))
    assert len(rows) == 4 and rows[2]["strategy"] == "sgd" and len(rows[0]["top_eigenvalues"]) == 2
    with pytest.raises(KeyError):
        res["adam"]


def test_explicit_levels_skip_matching_and_no_test_data_gives_nan():
    X, y = _data()
    res = minima_flatness(
        _net(), _half_mse, X, y, 0.2, 5, strategies=("sgd", "parametric"), batch_size=4, sigma=0.05,
        num_probes=4, generator=torch.Generator().manual_seed(0),
    )  # fmt: skip
    assert res.noise is None and res["parametric"].setting == "sigma 0.05"
    assert math.isnan(res["sgd"].test_loss) and math.isnan(res["sgd"].noise_trace)


def test_divergence_names_the_step():
    X, y = _data()
    with pytest.raises(DivergenceError, match="run diverged at step"):
        train_with_noise(_net(), lambda o, t: ((o - t) ** 2).sum(1).mean() * 1e6, X, y * 1e3, "gd", 10.0, 200)


def test_bad_input():
    X, y = _data()
    net = _net()
    with pytest.raises(ValueError, match="noise must be one of"):
        train_with_noise(net, _half_mse, X, y, "adam", 0.1, 1)
    with pytest.raises(ValueError, match="needs batch_size"):
        train_with_noise(net, _half_mse, X, y, "sgd", 0.1, 1)
    with pytest.raises(ValueError, match=r"batch_size must lie in \[1, n\] = \[1, 16\], got 17"):
        train_with_noise(net, _half_mse, X, y, "sgd", 0.1, 1, batch_size=17)
    with pytest.raises(ValueError, match="needs sigma"):
        train_with_noise(net, _half_mse, X, y, "parametric", 0.1, 1)
    with pytest.raises(ValueError, match="sigma must be finite"):
        train_with_noise(net, _half_mse, X, y, "parametric", 0.1, 1, sigma=-1.0)
    with pytest.raises(ValueError, match="only used with noise='sgd'"):
        train_with_noise(net, _half_mse, X, y, "gd", 0.1, 1, batch_size=4)
    with pytest.raises(ValueError, match="lr must be finite"):
        train_with_noise(net, _half_mse, X, y, "gd", 0.0, 1)
    with pytest.raises(ValueError, match="num_steps must be an integer >= 1"):
        train_with_noise(net, _half_mse, X, y, "gd", 0.1, 0)
    with pytest.raises(ValueError, match="same number of examples"):
        train_with_noise(net, _half_mse, X, y[:5], "gd", 0.1, 1)
    plain = nn.Sequential(nn.Linear(4, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"nn\.Dropout"):
        train_with_noise(plain, _half_mse, X, y, "dropout", 0.1, 1)
    with pytest.raises(ValueError, match=r"nn\.Dropout"):
        minima_flatness(plain, _half_mse, X, y, 0.1, 1)
    with pytest.raises(ValueError, match="without repeats"):
        minima_flatness(net, _half_mse, X, y, 0.1, 1, strategies=("gd", "gd"))
    with pytest.raises(ValueError, match="X_test and y_test"):
        minima_flatness(net, _half_mse, X, y, 0.1, 1, strategies=("gd",), X_test=X)
    with pytest.raises(ValueError, match="num_samples must be even"):
        matched_noise_levels(net, _half_mse, X, y, num_samples=5)
