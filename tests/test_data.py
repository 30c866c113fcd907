"""The digits data set as regression on one-hot labels."""

import pytest
import torch

from dropout_theory.data import digits_parity, load_digits_regression, standardized_digits


def test_digits_split_shapes_and_encoding():
    s = load_digits_regression(test_fraction=0.25, generator=0)
    assert s.X_train.shape[0] + s.X_test.shape[0] == 1797
    assert s.X_train.shape[1] == 65 and bool((s.X_train[:, -1] == 1).all())
    assert 0.0 <= float(s.X_train[:, :64].min()) and float(s.X_train[:, :64].max()) <= 1.0
    torch.testing.assert_close(s.y_train.argmax(1), s.labels_train)
    assert bool((s.y_train.sum(1) == 1).all())


def test_digits_seed_and_bias():
    a = load_digits_regression(generator=1, bias=False, test_fraction=0.0)
    b = load_digits_regression(generator=1, bias=False, test_fraction=0.0)
    assert a.X_train.shape == (1797, 64) and a.X_test.shape == (0, 64)
    torch.testing.assert_close(a.X_train, b.X_train)


def test_digits_bad_input():
    with pytest.raises(ValueError, match=r"test_fraction must lie in \[0, 1\), got 1.0"):
        load_digits_regression(test_fraction=1.0)
    with pytest.raises(ValueError, match="int seed >= 0, got -1"):
        load_digits_regression(generator=-1)
    with pytest.raises(ValueError, match="input_norm"):
        load_digits_regression(input_norm=0.0)


def test_input_norm_rescales_train_and_test_alike():
    raw = load_digits_regression(generator=0)
    s = load_digits_regression(generator=0, input_norm=0.5)
    assert float(s.X_train.norm(dim=1).mean()) == pytest.approx(0.5, rel=1e-12)
    c = 0.5 / float(raw.X_train.norm(dim=1).mean())
    assert torch.equal(s.X_train, c * raw.X_train) and torch.equal(s.X_test, c * raw.X_test)


def test_standardized_digits_and_parity():
    X, _, Xt, _ = standardized_digits()
    assert X.dtype == torch.float32 and X.shape == (1348, 64) and Xt.shape == (449, 64)
    used = X.std(0) > 0
    torch.testing.assert_close(X.mean(0), torch.zeros(64), atol=1e-5, rtol=0)
    torch.testing.assert_close(X.std(0)[used], torch.ones(int(used.sum())), atol=1e-5, rtol=0)
    p = digits_parity()
    assert p.X_train.shape == (1348, 65) and bool((p.X_train[:, -1] == 1).all())
    assert float(p.X_train[:, :64].max()) <= 0.25
    torch.testing.assert_close(p.y_train, 1.0 - 2.0 * (p.labels_train % 2).double())
