"""Training runs behind the chapter: the MLP's layout, reproducible dropout GD with α, and the parameter window
(checked against train_dropout run in one go with the same generator seed)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dropout_theory._checks import DivergenceError
from dropout_theory.alignment import (
    TrainingDiverged,
    alignment_along_training,
    dropout_convnet,
    dropout_mlp,
    dropout_parameter_window,
    module_hessian_variance_alignment,
    parameter_indices,
)
from dropout_theory.two_layer import flatten_params, init_params, train_dropout


def _mse(out, y):
    return 0.5 * ((out - y) ** 2).sum(1).mean()


def _data(n=40, d=5, K=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.tanh(X @ torch.randn(d, K, generator=g, dtype=torch.float64))
    return X, y


def test_dropout_mlp_layout_and_seeding():
    net = dropout_mlp((5, 7, 6, 3), 0.8, generator=torch.Generator().manual_seed(0))
    kinds = [type(m) for m in net]
    assert kinds == [nn.Linear, nn.Tanh, nn.Dropout, nn.Linear, nn.Tanh, nn.Linear]
    assert net[2].p == pytest.approx(0.2)
    assert net[0].weight.dtype == torch.float64
    again = dropout_mlp((5, 7, 6, 3), 0.8, generator=torch.Generator().manual_seed(0))
    for p, q in zip(net.parameters(), again.parameters(), strict=True):
        assert torch.equal(p, q)
    # N(0, 1/fan_in) initialization: the empirical variance of a wide layer matches
    wide = dropout_mlp((400, 300, 2), 0.5, generator=torch.Generator().manual_seed(1))
    assert float(wide[0].weight.detach().var()) * 400 == pytest.approx(1.0, rel=0.02)  # 120,000 draws: 2 % ≈ 5 s.e.


def test_dropout_mlp_bad_input():
    with pytest.raises(ValueError, match="widths"):
        dropout_mlp((5, 3), 0.5)
    with pytest.raises(ValueError, match="keep_prob"):
        dropout_mlp((5, 4, 3), 1.5)


def test_alignment_along_training_reproducible_and_descends():
    X, y = _data()
    curves = []
    for _ in range(2):
        net = dropout_mlp((5, 8, 8, 3), 0.7, generator=torch.Generator().manual_seed(0))
        curves.append(
            alignment_along_training(
                net, _mse, X, y, 0.1, 30, 10, generator=torch.Generator().manual_seed(1), num_masks=32, num_probes=8
            )
        )
    c0, c1 = curves
    assert c0.steps.tolist() == [0, 10, 20, 30]
    assert torch.equal(c0.alpha, c1.alpha) and torch.equal(c0.loss, c1.loss)
    assert float(c0.loss[-1]) < float(c0.loss[0])
    assert bool(((c0.alpha > -1.2) & (c0.alpha < 1.2)).all())
    assert bool((c0.stderr > 0).all())


def test_dropout_convnet_layout_parameters_and_seeding():
    """Dropout after each of the four convolutions and the first linear layer (VGG16's placement); parameter
    count from the layer formulas; same seed, same weights; keep_prob 1 makes the masked forward the plain one."""
    net = dropout_convnet(0.8, channels=(3, 5), hidden=7, generator=torch.Generator().manual_seed(0))
    kinds = [type(m).__name__ for m in net]
    assert kinds == (
        ["Unflatten"]
        + ["Conv2d", "Tanh", "Dropout"] * 2
        + ["MaxPool2d"]
        + ["Conv2d", "Tanh", "Dropout"] * 2
        + ["MaxPool2d", "Flatten", "Linear", "Tanh", "Dropout", "Linear"]
    )
    assert all(m.p == pytest.approx(0.2) for m in net if isinstance(m, nn.Dropout))
    conv = lambda cin, cout: cin * cout * 9 + cout  # noqa: E731
    expected = conv(1, 3) + conv(3, 3) + conv(3, 5) + conv(5, 5) + (4 * 5 * 7 + 7) + (7 * 10 + 10)
    assert sum(p.numel() for p in net.parameters()) == expected
    assert sum(p.numel() for p in dropout_convnet(0.8).parameters()) == 6562
    again = dropout_convnet(0.8, channels=(3, 5), hidden=7, generator=torch.Generator().manual_seed(0))
    assert all(torch.equal(p, q) for p, q in zip(net.parameters(), again.parameters(), strict=True))
    X = torch.rand(6, 64, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert net(X).shape == (6, 10)
    full = dropout_convnet(1.0, channels=(3, 5), hidden=7, activation="relu", generator=torch.Generator())
    full.train()
    out_train = full(X)
    full.eval()
    assert torch.equal(out_train, full(X))
    with pytest.raises(ValueError, match="activation"):
        dropout_convnet(0.8, activation="gelu")
    with pytest.raises(ValueError, match="keep_prob"):
        dropout_convnet(0.0)
    with pytest.raises(ValueError, match="channels"):
        dropout_convnet(0.8, channels=(0, 4))


def test_alignment_along_training_passes_subset_and_hessian_choice():
    """Step 0 of the curve is the alignment function called with the same generator seed and options, first
    for ``subset`` and then for each of ``extra_subsets``."""
    X, y = _data()
    idx = parameter_indices(dropout_mlp((5, 8, 8, 3), 0.7), "0.weight")
    kw = dict(num_masks=32, num_probes=8, sketch_size=4, hessian="no_dropout")
    curve = alignment_along_training(
        dropout_mlp((5, 8, 8, 3), 0.7, generator=torch.Generator().manual_seed(0)),
        _mse,
        X,
        y,
        0.1,
        1,
        1,
        generator=torch.Generator().manual_seed(1),
        subset=idx,
        extra_subsets={"all": None, "first": idx},
        **kw,
    )
    g = torch.Generator().manual_seed(1)
    net = dropout_mlp((5, 8, 8, 3), 0.7, generator=torch.Generator().manual_seed(0))
    first = module_hessian_variance_alignment(net, _mse, X, y, method="matrix_free", subset=idx, generator=g, **kw)
    full = module_hessian_variance_alignment(net, _mse, X, y, method="matrix_free", generator=g, **kw)
    assert float(curve.alpha[0]) == pytest.approx(first.alpha, rel=1e-12)
    assert float(curve.stderr[0]) == pytest.approx(first.stderr, rel=1e-12)
    assert float(curve.subset_alpha["all"][0]) == pytest.approx(full.alpha, rel=1e-12)
    assert set(curve.subset_alpha) == set(curve.subset_stderr) == {"all", "first"}
    assert curve.subset_alpha["first"].shape == curve.alpha.shape == (2,)
    with pytest.raises(ValueError, match="non-empty"):
        alignment_along_training(net, _mse, X, y, 0.1, 1, 1, extra_subsets={"": idx})


def test_alignment_along_training_divergence_and_bad_input():
    X, y = _data()
    net = dropout_mlp((5, 8, 8, 3), 0.5, generator=torch.Generator().manual_seed(0))
    with pytest.raises(DivergenceError):
        alignment_along_training(net, _mse, 1e3 * X, y, 1e4, 50, 100, generator=torch.Generator().manual_seed(1))
    with pytest.raises(ValueError, match="lr"):
        alignment_along_training(net, _mse, X, y, -1.0, 5, 1)
    with pytest.raises(ValueError, match="eval_every"):
        alignment_along_training(net, _mse, X, y, 0.1, 5, 0)


@pytest.mark.parametrize("keep_prob", [1.0, 0.6])
def test_parameter_window_matches_one_run(keep_prob):
    X, y = _data()
    a, W = init_params(4, 5, 3, generator=torch.Generator().manual_seed(2))
    thetas = dropout_parameter_window(a, W, X, y, keep_prob, 0.2, 7, generator=torch.Generator().manual_seed(3))
    assert thetas.shape == (7, 4 * (3 + 5))
    for k in (1, 7):
        ref = train_dropout(a, W, X, y, keep_prob, 0.2, k, generator=torch.Generator().manual_seed(3))
        torch.testing.assert_close(thetas[k - 1], flatten_params(ref.a, ref.W), rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="num_steps"):
        dropout_parameter_window(a, W, X, y, keep_prob, 0.2, 0)


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
            dropout_mlp((5, 8, 8, 3), 0.7, generator=torch.Generator().manual_seed(0)),
            _mse,
            X,
            y,
            0.1,
            20,
            10,
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
    net = dropout_mlp((5, 8, 8, 3), 0.7, generator=torch.Generator().manual_seed(0))
    with pytest.raises(TrainingDiverged) as info:
        alignment_along_training(
            net, _mse, 30 * X, y, 3.0, 40, 5, generator=torch.Generator().manual_seed(1), num_masks=8, num_probes=4
        )
    err = info.value
    assert isinstance(err, DivergenceError) and err.step >= 5
    assert err.curve.steps.tolist() == list(range(0, 5 * len(err.curve.steps), 5))
    assert int(err.curve.steps[-1]) <= err.step < int(err.curve.steps[-1]) + 5
    with pytest.raises(ValueError, match="X_test"):
        alignment_along_training(net, _mse, X, y, 0.1, 5, 5, X_test=Xt)
