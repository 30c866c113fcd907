"""Trainable-depth and training-speed sweeps: jobs, stored runs read back and extended, boundary fits."""

from concurrent.futures import Executor

import numpy as np
import pytest

from dropout_theory.deep_meanfield import (
    Panel,
    TrainableDepthSweep,
    TrainingSpeedSweep,
    depth_crossing,
    train_deep_ensemble,
    trainable_depth_bound,
    trainable_depth_sweep,
    training_speed_sweep,
)
from dropout_theory.jobs import load_results

TINY = dict(width=8, num_steps=5, batch_size=8)


class RefusingExecutor(Executor):
    """An executor that fails if anything is submitted: reading a finished sweep must not train."""

    def submit(self, fn, /, *args, **kwargs):
        raise AssertionError("a finished sweep was recomputed")


def test_a_stored_sweep_is_read_back_and_extended_by_seeds(tmp_path):
    out = tmp_path / "td.jsonl"
    panels = [1.0, (0.9, "sgd", "gaussian", 2), (1.0, "rmsprop", "orthogonal")]
    kw = dict(seeds=[0], lr={"sgd": 0.05, "rmsprop": 1e-3}, results_path=str(out), progress=False, **TINY)
    first = trainable_depth_sweep([2, 3], [1.0, 2.0], panels, max_workers=1, **kw)
    assert first.accuracy.shape == (3, 1, 2, 2) and len(load_results(out)) == 5  # the keep-0.9 panel stops at depth 2
    assert np.isnan(first.accuracy[1, 0, 1]).all() and (first.diverged_at[1, 0, 1] == -2).all()
    again = trainable_depth_sweep([2, 3], [1.0, 2.0], panels, executor=RefusingExecutor(), **kw)
    np.testing.assert_array_equal(again.accuracy, first.accuracy)
    more = trainable_depth_sweep([2, 3], [1.0, 2.0], panels, max_workers=1, **(kw | {"seeds": [0, 1]}))
    assert len(load_results(out)) == 10
    np.testing.assert_array_equal(more.accuracy[:, :1], first.accuracy)
    # a job is the batched training of one (panel, seed, depth): row 1 of panel 0 is train_deep_ensemble at depth 3
    row = train_deep_ensemble("tanh", [1.0, 2.0], 0.05, 1.0, depth=3, lr=0.05, eval_every=5, generator=0, **TINY)
    np.testing.assert_allclose(first.accuracy[0, 0, 1], row.train_accuracy, atol=5e-7)
    assert "keep 0.9, sgd, gaussian" in str(first.grid(0.9)) and "rmsprop" in str(first)


def test_boundary_crossing_and_its_standard_error():
    """Interpolation in log depth between the bracketing depths; the delta-method standard error matches finite
    differences of the crossing in the two accuracies; censored ends are flagged."""
    depths = np.array([10.0, 20.0, 40.0])
    acc, se = np.array([0.9, 0.7, 0.3]), np.array([0.02, 0.05, 0.04])
    L, sL, cens = depth_crossing(depths, acc, stderr=se, threshold=0.5)
    assert cens == 0 and np.isclose(L, 20 * np.sqrt(2))
    h = 1e-6
    d1 = (depth_crossing(depths, acc + np.array([0, h, 0]), stderr=se, threshold=0.5)[0] - L) / h
    d2 = (depth_crossing(depths, acc + np.array([0, 0, h]), stderr=se, threshold=0.5)[0] - L) / h
    assert np.isclose(sL, np.hypot(d1 * se[1], d2 * se[2]), rtol=1e-4)
    assert depth_crossing(depths, np.array([0.9, 0.8, 0.7]), stderr=se, threshold=0.5)[2] == 1
    assert depth_crossing(depths, np.array([0.4, 0.3, 0.2]), stderr=se, threshold=0.5)[2] == -1


def test_boundary_and_agreement_on_a_constructed_sweep():
    """Accuracy 0.9 below a known depth and 0.1 beyond it: the boundary lies between the bracketing depths, and a
    bound equal to the true boundary agrees everywhere."""
    depths, sw = np.array([5, 10, 20, 40]), np.array([1.0, 1.76, 3.0])
    bound = trainable_depth_bound("tanh", sw, 0.05, 1.0)["xi_c_bound"]
    trains = depths[:, None] < bound[None, :]
    acc = np.where(trains, 0.9, 0.1)[None, None] + np.array([0.0, 0.01])[None, :, None, None]  # two seeds
    sweep = TrainableDepthSweep((Panel(1.0),), np.array([0, 1]), depths, sw, acc, acc, np.full(acc.shape, -1))
    assert sweep.agreement(1.0)["6 xi_c"].value == 1.0
    b = sweep.boundary(1.0)
    for j in range(3):
        inside = (depths < bound[j]).sum()
        if 0 < inside < len(depths):
            assert b.censored[j] == 0 and depths[inside - 1] < b.depth[j] < depths[inside]
    with pytest.raises(ValueError, match="not in this sweep"):
        sweep.index(0.5)


def test_training_speed_sweep_and_its_scaling_fit(tmp_path):
    s = training_speed_sweep([2], [0.01, 0.03, 0.1, 0.3], [1.0], seeds=[0, 1], width=8, num_steps=60, eval_every=5,
                             threshold=0.3, max_workers=1, progress=False,
                             results_path=str(tmp_path / "ts.jsonl"))  # fmt: skip
    assert s.steps.shape == (1, 2, 1, 4) and abs(s.sigma_w2[0] - 1.761) < 1e-3
    mean, _, n = s.mean_steps(1.0, 2)
    hit = s.steps[0, :, 0] >= 0
    reached = n > 0
    np.testing.assert_allclose(mean[reached], np.where(hit, s.steps[0, :, 0], 0).sum(0)[reached] / n[reached])
    fit = s.scaling(1.0, 2, min_steps=0)
    if (n == 2).sum() >= 3:
        assert fit is not None and fit.exponent < 0  # faster at larger learning rates
    assert "steps to 30% training accuracy" in str(s)


def test_the_scaling_fit_uses_the_decreasing_branch_reached_by_every_seed():
    """steps = 10/η on the lrs 0.01–0.2 (p = −1 exactly); 0.005 is missed by one seed, 0.4 is slower than the fastest
    lr (past the optimum), 0.8 never gets there: only 0.01–0.2 are fitted."""
    lrs = np.array([0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.8])
    seed0 = [-1, 1000, 500, 200, 100, 50, 80, -1]
    seed1 = [2000, 1000, 500, 200, 100, 50, 80, -1]
    s = TrainingSpeedSweep(np.array([1.0]), np.array([1.76]), np.array([0, 1]), np.array([10]), lrs,
                           np.array([seed0, seed1]).reshape(1, 2, 1, 8), threshold=0.8, eval_every=10)  # fmt: skip
    np.testing.assert_array_equal(s.fitted_lrs(1.0, 10), [False, True, True, True, True, True, False, False])
    assert s.scaling(1.0, 10).exponent == pytest.approx(-1.0, abs=1e-12)
    assert not s.fitted_lrs(1.0, 10, min_steps=60)[5]  # 50 steps: below the resolution floor asked for
    assert "0.01-0.2" in str(s)
