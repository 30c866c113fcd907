"""The digits data set as regression on one-hot labels."""

import pytest
import torch

from dropout_theory.data import load_digits_regression


def test_digits_split_shapes_and_encoding():
    s = load_digits_regression(test_fraction=0.25, seed=0)
    assert s.X_train.shape[0] + s.X_test.shape[0] == 1797
    assert s.X_train.shape[1] == 65 and bool((s.X_train[:, -1] == 1).all())
    assert 0.0 <= float(s.X_train[:, :64].min()) and float(s.X_train[:, :64].max()) <= 1.0
    torch.testing.assert_close(s.y_train.argmax(1), s.labels_train)
    assert bool((s.y_train.sum(1) == 1).all())


def test_digits_seed_and_bias():
    a = load_digits_regression(seed=1, bias=False, test_fraction=0.0)
    b = load_digits_regression(seed=1, bias=False, test_fraction=0.0)
    assert a.X_train.shape == (1797, 64) and a.X_test.shape == (0, 64)
    torch.testing.assert_close(a.X_train, b.X_train)


def test_digits_bad_input():
    with pytest.raises(ValueError, match=r"test_fraction must lie in \[0, 1\), got 1.0"):
        load_digits_regression(test_fraction=1.0)
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        load_digits_regression(seed=-1)
