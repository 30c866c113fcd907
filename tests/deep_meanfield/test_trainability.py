"""Batched training of deep dropout networks: learns, models are independent, divergence is flagged."""

import itertools

import numpy as np
import torch

from dropout_theory.data import standardized_digits
from dropout_theory.deep_meanfield import depth_scales, initial_weights, train_deep_ensemble, trainable_depth_bound


def _small_data():
    X, y, Xt, yt = standardized_digits()
    return X[:300], y[:300], Xt[:100], yt[:100]


def test_training_learns_and_flags_divergence():
    data = _small_data()
    res = train_deep_ensemble(
        "tanh",
        [1.5, 1.5],
        0.05,
        0.9,
        depth=3,
        width=32,
        lr=[0.05, 1e6],
        num_steps=60,
        batch_size=32,
        data=data,
        threshold=0.5,
        eval_every=20,
        dtype=torch.float64,
    )
    assert res.train_accuracy[0] > 0.6  # chance is 0.1
    assert res.steps_to_threshold[0] > 0
    assert res.diverged[1] and not res.diverged[0] and res.diverged_at[0] == -1
    assert res.train_accuracy[1] == 0.1 and res.accuracy_history.shape == (2, 3)


def test_divergence_is_reported_at_the_first_bad_step():
    """Re-running with the same seed for fewer steps: the diverging model is still alive after diverged_at − 1
    steps and flagged after exactly diverged_at steps (its loss is checked at every step)."""
    data = _small_data()
    kw = dict(depth=3, width=16, lr=[0.05, 3.0], batch_size=32, data=data, eval_every=5, dtype=torch.float64)
    first = int(train_deep_ensemble("relu", [1.5, 2.0], 0.05, 0.9, num_steps=40, **kw).diverged_at[1])
    assert first >= 2  # measured: step 18
    before = train_deep_ensemble("relu", [1.5, 2.0], 0.05, 0.9, num_steps=first - 1, **kw)
    at = train_deep_ensemble("relu", [1.5, 2.0], 0.05, 0.9, num_steps=first, **kw)
    assert before.diverged_at[1] == -1 and at.diverged_at[1] == first


def test_models_in_the_ensemble_do_not_interact():
    """Model 0 trained alone equals model 0 trained next to others only if the draws coincide; instead check
    that changing the OTHER model's learning rate leaves model 0's result unchanged (same seed, same masks)."""
    data = _small_data()
    kw = dict(num_steps=30, batch_size=16, data=data, eval_every=30, dtype=torch.float64)
    a = train_deep_ensemble("relu", [1.0, 2.0], 0.05, 0.8, depth=2, width=16, lr=[0.05, 0.01], **kw)
    b = train_deep_ensemble("relu", [1.0, 2.0], 0.05, 0.8, depth=2, width=16, lr=[0.05, 0.3], **kw)
    assert a.train_accuracy[0] == b.train_accuracy[0] and a.test_accuracy[0] == b.test_accuracy[0]


def test_bounds():
    d = trainable_depth_bound("tanh", np.array([1.2, 3.0]), 0.05, 1.0)
    assert np.all(d["combined_bound"] <= d["xi_c_bound"])
    assert d["xi_c_bound"][0] == d["combined_bound"][0]  # ordered side, ρ = 1: ξ_c = ξ_∇


def test_rmsprop_is_torchs_rule():
    """One model trained by the batched RMSProp equals torch.optim.RMSprop on the same network, masks and batches
    (float64, to 1e-10): the same draws come from the same generator, and the update is torch's."""
    data = _small_data()
    kw = dict(depth=2, width=6, num_steps=4, batch_size=8, data=data, eval_every=4, dtype=torch.float64)
    ours = train_deep_ensemble("tanh", [1.5], 0.05, 0.8, lr=[0.01], optimizer="rmsprop", **kw)
    # the reference: the same training loop with torch's optimizer on a (1, ...) copy of the parameters
    gen = torch.Generator().manual_seed(0)
    X, y = data[0].double(), data[1]
    sizes = [X.shape[1], 6, 6, 10]
    params = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        W = torch.randn(1, fan_out, fan_in, generator=gen, dtype=torch.float64) * np.sqrt(1.5 / fan_in)
        b = torch.randn(1, 1, fan_out, generator=gen, dtype=torch.float64) * np.sqrt(0.05)
        params += [W.requires_grad_(), b.requires_grad_()]
    opt = torch.optim.RMSprop(params, lr=0.01)
    for _ in range(4):
        idx = torch.randint(0, X.shape[0], (8,), generator=gen)
        h = X[idx][None]
        for i in range(3):
            if i > 0:
                h = torch.tanh(h) * (torch.rand(h.shape, generator=gen, dtype=torch.float64) < 0.8) / 0.8
            h = torch.baddbmm(params[2 * i + 1], h, params[2 * i].transpose(1, 2))
        loss = torch.nn.functional.cross_entropy(h[0], y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        h = X[None]
        for i in range(3):
            h = torch.baddbmm(params[2 * i + 1], torch.tanh(h) if i > 0 else h, params[2 * i].transpose(1, 2))
        acc = float((h[0].argmax(-1) == y).double().mean())
    assert abs(ours.train_accuracy[0] - acc) < 1e-10
    assert not np.array_equal(ours.train_accuracy, train_deep_ensemble("tanh", [1.5], 0.05, 0.8, lr=[0.01],
                                                                     **kw).train_accuracy)  # fmt: skip


def test_orthogonal_weights_are_scaled_isometries():
    """A square orthogonal layer has WᵀW = σ_w² I; rectangular ones have the Gaussian entry variance σ_w²/fan_in."""
    gen = torch.Generator().manual_seed(1)
    sw = torch.tensor([1.3, 2.0], dtype=torch.float64)[:, None, None].sqrt()
    W = initial_weights((2, 16, 16), sigma_w=sw, init="orthogonal", generator=gen, dtype=torch.float64)
    eye = torch.eye(16, dtype=torch.float64)
    assert torch.allclose(W.transpose(1, 2) @ W, sw**2 * eye, atol=1e-12)
    for fan_out, fan_in in ((64, 16), (10, 64)):
        Wr = initial_weights((2, fan_out, fan_in), sigma_w=sw, init="orthogonal", generator=gen, dtype=torch.float64)
        assert torch.allclose((Wr**2).sum((1, 2)) / (fan_out * fan_in), sw[:, 0, 0] ** 2 / fan_in, rtol=1e-12)
    other = initial_weights((2, 16, 16), sigma_w=sw, init="orthogonal", generator=gen, dtype=torch.float64)
    assert not torch.allclose(W[0], other[0])


def test_bounds_are_six_depth_scales():
    """The factor of Schoenholz et al.'s L ≲ 6ξ_c is pinned: the chapter's legend says 6ξ_c."""
    sw = np.array([1.2, 1.76, 2.5])
    for r in (1.0, 0.9):
        d = depth_scales("tanh", sw, 0.05, r)
        b = trainable_depth_bound("tanh", sw, 0.05, r)
        np.testing.assert_allclose(b["xi_c_bound"], 6.0 * d["xi_c"], rtol=1e-12)
        np.testing.assert_allclose(b["combined_bound"], 6.0 * np.minimum(d["xi_c"], np.abs(d["xi_grad"])), rtol=1e-12)
