"""The noise matching rule and the flatness comparison of the minima reached by noisy trainings."""

from __future__ import annotations

import copy
import itertools
import json
import math

import pytest
import torch
from torch import nn

from dropout_theory.alignment import matched_noise_levels, minima_flatness
from dropout_theory.networks import dropout_mlp, module_flat_loss, train_with_noise

N = 16


def _half_mse(out, target):
    return 0.5 * ((out - target) ** 2).sum(1).mean()


def _data(n=N, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 4, generator=g, dtype=torch.float64)
    y = torch.randn(n, 3, generator=g, dtype=torch.float64)
    return X, y


def _net(keep_prob=0.7, seed=1):
    return dropout_mlp((4, 6, 5, 3), keep_prob=keep_prob, generator=torch.Generator().manual_seed(seed))


def _flat(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


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
        net,
        _half_mse,
        X,
        y,
        lr=0.2,
        num_steps=30,
        X_test=Xt,
        y_test=yt,
        num_eigenvalues=2,
        num_probes=400,
        num_match_samples=16,
        tol=1e-10,
        generator=torch.Generator().manual_seed(0),
    )  # fmt: skip
    assert torch.equal(_flat(net), before)
    assert [r.strategy for r in res.rows] == ["gd", "dropout", "sgd", "parametric"]
    assert res.num_params == before.numel() and res.noise is not None
    ref = copy.deepcopy(net)
    train_with_noise(ref, _half_mse, X, y, noise="gd", lr=0.2, num_steps=30)
    loss, theta = module_flat_loss(ref, _half_mse, X, y)
    H = torch.autograd.functional.hessian(loss, theta)
    gd = res["gd"]
    assert gd.top_eigenvalues == pytest.approx(torch.linalg.eigvalsh(H).flip(0)[:2].tolist(), rel=1e-6)
    # Hutch++ with 400 products on this small network is exact up to round-off (its stderr is then ~0)
    assert abs(gd.trace.value - float(H.trace())) <= 4 * gd.trace.stderr + 1e-12 * abs(float(H.trace()))
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
        _net(),
        _half_mse,
        X,
        y,
        lr=0.2,
        num_steps=5,
        strategies=("sgd", "parametric"),
        batch_size=4,
        sigma=0.05,
        num_probes=4,
        generator=torch.Generator().manual_seed(0),
    )  # fmt: skip
    assert res.noise is None and res["parametric"].setting == "sigma 0.05"
    assert math.isnan(res["sgd"].test_loss) and math.isnan(res["sgd"].noise_trace)


def test_bad_input():
    X, y = _data()
    net = _net()
    plain = nn.Sequential(nn.Linear(4, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"nn\.Dropout"):
        minima_flatness(plain, _half_mse, X, y, lr=0.1, num_steps=1)
    with pytest.raises(ValueError, match="without repeats"):
        minima_flatness(net, _half_mse, X, y, lr=0.1, num_steps=1, strategies=("gd", "gd"))
    with pytest.raises(ValueError, match="X_test and y_test"):
        minima_flatness(net, _half_mse, X, y, lr=0.1, num_steps=1, strategies=("gd",), X_test=X)
    with pytest.raises(ValueError, match="num_samples must be even"):
        matched_noise_levels(net, _half_mse, X, y, num_samples=5)
