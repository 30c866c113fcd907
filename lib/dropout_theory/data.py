"""Data sets that install with the environment (nothing is downloaded at run time).

* :func:`load_digits_regression` — scikit-learn's 8×8 handwritten digits (1,797 images, shipped inside
  scikit-learn), as regression on one-hot labels. It stands in for MNIST in the book: same task, small
  enough that every chapter runs on a laptop CPU in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from dropout_theory._checks import check_positive_int


@dataclass(frozen=True)
class Split:
    """A train/test split of a regression data set.

    Attributes:
        X_train: (n_train, d) inputs (the last column is the constant 1 when ``bias=True``).
        y_train: (n_train, K) one-hot targets.
        X_test: (n_test, d) inputs.
        y_test: (n_test, K) one-hot targets.
        labels_train: (n_train,) integer class labels.
        labels_test: (n_test,) integer class labels.
    """

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    labels_train: torch.Tensor
    labels_test: torch.Tensor


def load_digits_regression(
    test_fraction: float = 0.25,
    *,
    bias: bool = True,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> Split:
    """scikit-learn's 8×8 digits as regression on one-hot labels.

    Pixels (0..16) are scaled to [0, 1]; with ``bias=True`` a constant feature 1 is appended so that the
    two-layer model's bias is part of w_r (DESIGN §4: D = m(K + d) with d = 65).

    Args:
        test_fraction: fraction of the 1,797 images held out, in [0, 1).
        bias: append the constant input feature.
        seed: seed of the shuffling permutation (numpy ``default_rng``).
        dtype: floating dtype of the tensors.
        device: device of the tensors.

    Returns:
        A :class:`Split` with d = 64 (+1 with bias) and K = 10.
    """
    from sklearn.datasets import load_digits

    if not 0.0 <= float(test_fraction) < 1.0:
        raise ValueError(f"test_fraction must lie in [0, 1), got {test_fraction!r}")
    check_positive_int(seed, "seed", minimum=0)
    digits = load_digits()
    X = digits.data.astype(np.float64) / 16.0
    labels = digits.target.astype(np.int64)
    if bias:
        X = np.hstack([X, np.ones((X.shape[0], 1))])
    perm = np.random.default_rng(seed).permutation(X.shape[0])
    X, labels = X[perm], labels[perm]
    n_test = round(test_fraction * X.shape[0])
    Y = np.eye(10)[labels]

    def t(a: np.ndarray, dt: torch.dtype = dtype) -> torch.Tensor:
        return torch.as_tensor(a, dtype=dt, device=device)

    n_train = X.shape[0] - n_test
    return Split(
        t(X[:n_train]),
        t(Y[:n_train]),
        t(X[n_train:]),
        t(Y[n_train:]),
        t(labels[:n_train], torch.int64),
        t(labels[n_train:], torch.int64),
    )
