"""α along dropout training: reproducible, the same measurement as the alignment function, divergence reported
at the step of the whole run with the curve measured until then."""

from __future__ import annotations

import pytest
import torch

from dropout_theory import DivergenceError
from dropout_theory.alignment import alignment_along_training, module_hessian_variance_alignment, parameter_indices
from dropout_theory.networks import dropout_mlp


def _mse(out, y):
    return 0.5 * ((out - y) ** 2).sum(1).mean()


def _data(n=40, d=5, K=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.tanh(X @ torch.randn(d, K, generator=g, dtype=torch.float64))
    return X, y


def test_alignment_along_training_reproducible_and_descends():
    X, y = _data()
    curves = []
    for _ in range(2):
        net = dropout_mlp((5, 8, 8, 3), keep_prob=0.7, generator=torch.Generator().manual_seed(0))
        curves.append(
            alignment_along_training(
                net,
                _mse,
                X,
                y,
                lr=0.1,
                num_steps=30,
                eval_every=10,
                generator=torch.Generator().manual_seed(1),
                num_masks=32,
                num_probes=8,
            )
        )
    c0, c1 = curves
    assert c0.steps.tolist() == [0, 10, 20, 30]
    assert torch.equal(c0.alpha, c1.alpha) and torch.equal(c0.loss, c1.loss)
    assert float(c0.loss[-1]) < float(c0.loss[0])
    assert bool(((c0.alpha > -1.2) & (c0.alpha < 1.2)).all())
    assert bool((c0.stderr > 0).all())


def test_alignment_along_training_passes_subset_and_hessian_choice():
    """Step 0 of the curve is the alignment function called with the same generator seed and options, first
    for ``subset`` and then for each of ``extra_subsets``."""
    X, y = _data()
    idx = parameter_indices(dropout_mlp((5, 8, 8, 3), keep_prob=0.7), "0.weight")
    kw = dict(num_masks=32, num_probes=8, sketch_size=4, hessian="no_dropout")
    curve = alignment_along_training(
        dropout_mlp((5, 8, 8, 3), keep_prob=0.7, generator=torch.Generator().manual_seed(0)),
        _mse,
        X,
        y,
        lr=0.1,
        num_steps=1,
        eval_every=1,
        generator=torch.Generator().manual_seed(1),
        subset=idx,
        extra_subsets={"all": None, "first": idx},
        **kw,
    )
    g = torch.Generator().manual_seed(1)
    net = dropout_mlp((5, 8, 8, 3), keep_prob=0.7, generator=torch.Generator().manual_seed(0))
    first = module_hessian_variance_alignment(net, _mse, X, y, method="matrix_free", subset=idx, generator=g, **kw)
    full = module_hessian_variance_alignment(net, _mse, X, y, method="matrix_free", generator=g, **kw)
    assert float(curve.alpha[0]) == pytest.approx(first.alpha, rel=1e-12)
    assert float(curve.stderr[0]) == pytest.approx(first.stderr, rel=1e-12)
    assert float(curve.subset_alpha["all"][0]) == pytest.approx(full.alpha, rel=1e-12)
    assert set(curve.subset_alpha) == set(curve.subset_stderr) == {"all", "first"}
    assert curve.subset_alpha["first"].shape == curve.alpha.shape == (2,)
    with pytest.raises(ValueError, match="non-empty"):
        alignment_along_training(net, _mse, X, y, lr=0.1, num_steps=1, eval_every=1, extra_subsets={"": idx})


def test_alignment_along_training_divergence_and_bad_input():
    X, y = _data()
    net = dropout_mlp((5, 8, 8, 3), keep_prob=0.5, generator=torch.Generator().manual_seed(0))
    with pytest.raises(DivergenceError):
        alignment_along_training(
            net, _mse, 1e3 * X, y, lr=1e4, num_steps=50, eval_every=100, generator=torch.Generator().manual_seed(1)
        )
    with pytest.raises(ValueError, match="lr"):
        alignment_along_training(net, _mse, X, y, lr=-1.0, num_steps=5, eval_every=1)
    with pytest.raises(ValueError, match="eval_every"):
        alignment_along_training(net, _mse, X, y, lr=0.1, num_steps=5, eval_every=0)


def test_separate_measurement_generator_test_accuracy_and_partial_curve_on_divergence():
    """With its own measurement generator the trajectory (losses) does not depend on the measurement sample
    sizes; test accuracy is recorded at every measurement; a divergence in the second segment names the step of
    the whole run and carries the curve measured before it."""
    X, y = _data()
    Xt, yt = _data(n=20, seed=1)
    yt = torch.nn.functional.one_hot(yt.argmax(1), 3).double()
    losses = []
    for masks in (16, 32):
        c = alignment_along_training(
            dropout_mlp((5, 8, 8, 3), keep_prob=0.7, generator=torch.Generator().manual_seed(0)),
            _mse,
            X,
            y,
            lr=0.1,
            num_steps=20,
            eval_every=10,
            generator=torch.Generator().manual_seed(1),
            measurement_generator=torch.Generator().manual_seed(2),
            X_test=Xt,
            y_test=yt,
            num_masks=masks,
            num_probes=4,
        )
        losses.append(c.loss)
        assert c.test_accuracy.shape == (3,) and bool(((c.test_accuracy >= 0) & (c.test_accuracy <= 1)).all())
    assert torch.equal(losses[0], losses[1])
    net = dropout_mlp((5, 8, 8, 3), keep_prob=0.7, generator=torch.Generator().manual_seed(0))
    with pytest.raises(DivergenceError) as info:
        alignment_along_training(
            net,
            _mse,
            30 * X,
            y,
            lr=3.0,
            num_steps=40,
            eval_every=5,
            generator=torch.Generator().manual_seed(1),
            num_masks=8,
            num_probes=4,
        )
    err = info.value
    curve = err.partial
    assert err.step >= 5 and err.record.step == err.step
    assert curve.steps.tolist() == list(range(0, 5 * len(curve.steps), 5))
    assert int(curve.steps[-1]) <= err.step < int(curve.steps[-1]) + 5
    assert "alpha" in str(curve) and "| step |" in curve._repr_markdown_()
    with pytest.raises(ValueError, match="X_test"):
        alignment_along_training(net, _mse, X, y, lr=0.1, num_steps=5, eval_every=5, X_test=Xt)
