"""The MLP and the VGG-style convnet with dropout layers: layout, seeding, initialization variance."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dropout_theory.networks import dropout_convnet, dropout_mlp


def test_dropout_mlp_layout_and_seeding():
    net = dropout_mlp((5, 7, 6, 3), keep_prob=0.8, generator=torch.Generator().manual_seed(0))
    kinds = [type(m) for m in net]
    assert kinds == [nn.Linear, nn.Tanh, nn.Dropout, nn.Linear, nn.Tanh, nn.Linear]
    assert net[2].p == pytest.approx(0.2)
    assert net[0].weight.dtype == torch.float64
    again = dropout_mlp((5, 7, 6, 3), keep_prob=0.8, generator=torch.Generator().manual_seed(0))
    for p, q in zip(net.parameters(), again.parameters(), strict=True):
        assert torch.equal(p, q)
    # N(0, 1/fan_in) initialization: the empirical variance of a wide layer matches
    wide = dropout_mlp((400, 300, 2), keep_prob=0.5, generator=torch.Generator().manual_seed(1))
    assert float(wide[0].weight.detach().var()) * 400 == pytest.approx(1.0, rel=0.02)  # 120,000 draws: 2 % ≈ 5 s.e.


def test_dropout_mlp_bad_input():
    with pytest.raises(ValueError, match="widths"):
        dropout_mlp((5, 3), keep_prob=0.5)
    with pytest.raises(ValueError, match="keep_prob"):
        dropout_mlp((5, 4, 3), keep_prob=1.5)


def test_dropout_convnet_layout_parameters_and_seeding():
    """Dropout after each of the four convolutions and the first linear layer (VGG16's placement); parameter
    count from the layer formulas; same seed, same weights; keep_prob 1 makes the masked forward the plain one."""
    net = dropout_convnet(keep_prob=0.8, channels=(3, 5), hidden=7, generator=torch.Generator().manual_seed(0))
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
    assert sum(p.numel() for p in dropout_convnet(keep_prob=0.8).parameters()) == 6562
    again = dropout_convnet(keep_prob=0.8, channels=(3, 5), hidden=7, generator=torch.Generator().manual_seed(0))
    assert all(torch.equal(p, q) for p, q in zip(net.parameters(), again.parameters(), strict=True))
    X = torch.rand(6, 64, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert net(X).shape == (6, 10)
    full = dropout_convnet(keep_prob=1.0, channels=(3, 5), hidden=7, activation="relu", generator=torch.Generator())
    full.train()
    out_train = full(X)
    full.eval()
    assert torch.equal(out_train, full(X))
    with pytest.raises(ValueError, match="activation"):
        dropout_convnet(keep_prob=0.8, activation="gelu")
    with pytest.raises(ValueError, match="keep_prob"):
        dropout_convnet(keep_prob=0.0)
    with pytest.raises(ValueError, match="channels"):
        dropout_convnet(keep_prob=0.8, channels=(0, 4))
