"""Batched training of deep dropout networks: learns, models are independent, divergence is flagged."""

import numpy as np
import torch

from dropout_theory.data import standardized_digits
from dropout_theory.deep_meanfield import (
    DepthGrid,
    depth_scales,
    train_deep_ensemble,
    trainable_depth_bound,
    trainable_depth_grid,
)


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


def test_depth_grid_stacks_one_training_per_depth():
    """Each row of the grid is the batched training of that depth over the σ_w² grid (same generator seed)."""
    data = _small_data()
    kw = dict(width=8, lr=0.05, num_steps=5, batch_size=8, data=data)
    grid = trainable_depth_grid([2, 3], [1.0, 2.0], [0.9], **kw)[0.9]
    assert isinstance(grid, DepthGrid) and grid.accuracy.shape == (2, 2)
    row = train_deep_ensemble("tanh", [1.0, 2.0], 0.05, 0.9, depth=3, eval_every=5, **kw)
    np.testing.assert_array_equal(grid.accuracy[1], row.train_accuracy)
    assert "keep_prob 0.9" in str(grid)


def test_bounds_are_six_depth_scales():
    """The factor of Schoenholz et al.'s L ≲ 6ξ_c is pinned: the chapter's legend says 6ξ_c."""
    sw = np.array([1.2, 1.76, 2.5])
    for r in (1.0, 0.9):
        d = depth_scales("tanh", sw, 0.05, r)
        b = trainable_depth_bound("tanh", sw, 0.05, r)
        np.testing.assert_allclose(b["xi_c_bound"], 6.0 * d["xi_c"], rtol=1e-12)
        np.testing.assert_allclose(b["combined_bound"], 6.0 * np.minimum(d["xi_c"], np.abs(d["xi_grad"])), rtol=1e-12)
