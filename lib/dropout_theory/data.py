"""Data sets that install with the environment (nothing is downloaded at run time), and their preparation.

* :func:`load_digits_regression` — scikit-learn's 8×8 handwritten digits (1,797 images, shipped inside
  scikit-learn), as regression on one-hot labels, optionally rescaled to a given mean input norm. It stands in
  for MNIST in the book: same task, small enough that every chapter runs on a laptop CPU in seconds.
* :func:`standardized_digits` — the same images with every pixel standardized (Part II's deep networks).
* :func:`digits_parity` — the same images as a ±1 parity task for mean-field students (Part III).
* :func:`standardized_mnist1d` — the MNIST-1D benchmark, generated locally by the ``mnist1d`` package (never
  downloaded), standardized like :func:`standardized_digits`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from dropout_theory._checks import check_positive
from dropout_theory.rng import GeneratorLike, numpy_generator


@dataclass(frozen=True)
class Split:
    """A train/test split of a regression data set.

    Attributes:
        X_train: (n_train, d) inputs (the last column is the constant 1 when ``bias=True``).
        y_train: (n_train, K) one-hot targets (or (n_train,) scalar targets, see :func:`digits_parity`).
        X_test: (n_test, d) inputs.
        y_test: (n_test, K) one-hot targets (or (n_test,)).
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
    *,
    test_fraction: float = 0.25,
    bias: bool = True,
    input_norm: float | None = None,
    generator: GeneratorLike = 0,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> Split:
    """scikit-learn's 8×8 digits as regression on one-hot labels.

    Pixels (0..16) are scaled to [0, 1]; with ``bias=True`` a constant feature 1 is appended so that the
    two-layer model's bias is part of w_r (D = m(K + d) with d = 65).

    Args:
        test_fraction: fraction of the 1,797 images held out, in [0, 1).
        bias: append the constant input feature.
        input_norm: if given, multiply every input (bias feature included, training and test alike) by
            c = input_norm / (mean norm of the training inputs), so that the training inputs have that mean norm
            (the book uses 1/2, which keeps the SME paper's learning rates up to 1 stable).
        generator: numpy generator or int seed of the shuffling permutation (default: seed 0).
        dtype: floating dtype of the tensors.
        device: device of the tensors.

    Returns:
        A :class:`Split` with d = 64 (+1 with bias) and K = 10.
    """
    from sklearn.datasets import load_digits

    if not 0.0 <= float(test_fraction) < 1.0:
        raise ValueError(f"test_fraction must lie in [0, 1), got {test_fraction!r}")
    rng = numpy_generator(generator)
    if input_norm is not None:
        input_norm = check_positive(input_norm, "input_norm")
    digits = load_digits()
    X = digits.data.astype(np.float64) / 16.0
    labels = digits.target.astype(np.int64)
    if bias:
        X = np.hstack([X, np.ones((X.shape[0], 1))])
    perm = rng.permutation(X.shape[0])
    X, labels = X[perm], labels[perm]
    n_test = round(test_fraction * X.shape[0])
    Y = np.eye(10)[labels]

    def t(a: np.ndarray, dt: torch.dtype = dtype) -> torch.Tensor:
        return torch.as_tensor(a, dtype=dt, device=device)

    n_train = X.shape[0] - n_test
    X_train, X_test = t(X[:n_train]), t(X[n_train:])
    if input_norm is not None:
        scale = input_norm / float(X_train.norm(dim=1).mean())
        X_train, X_test = scale * X_train, scale * X_test
    return Split(
        X_train,
        t(Y[:n_train]),
        X_test,
        t(Y[n_train:]),
        t(labels[:n_train], torch.int64),
        t(labels[n_train:], torch.int64),
    )


def standardized_digits(
    *, generator: GeneratorLike = 0, dtype: torch.dtype = torch.float32
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The digits with every pixel standardized by the training mean and standard deviation (no bias feature).

    Args:
        generator: numpy generator or int seed of the train/test permutation (default: seed 0).
        dtype: floating dtype of the inputs.

    Returns:
        ``(X_train (1348, 64), labels_train, X_test (449, 64), labels_test)``, the data format of
        :func:`dropout_theory.deep_meanfield.train_deep_ensemble`.
    """
    sp = load_digits_regression(bias=False, generator=generator, dtype=torch.float64)
    mu = sp.X_train.mean(0)
    sd = sp.X_train.std(0).clamp_min(1e-8)
    return (
        ((sp.X_train - mu) / sd).to(dtype),
        sp.labels_train,
        ((sp.X_test - mu) / sd).to(dtype),
        sp.labels_test,
    )


def digits_parity(*, pixel_scale: float = 0.25, generator: GeneratorLike = 0) -> Split:
    """The digits as a parity task for mean-field students: y = +1 for even digits, −1 for odd ones.

    The 64 pixels (in [0, 1]) are multiplied by ``pixel_scale`` and a constant feature 1 is appended, so that a
    student with w_i ~ N(0, I/d) has pre-activations of order one.

    Args:
        pixel_scale: factor of the pixels, > 0.
        generator: numpy generator or int seed of the train/test permutation (default: seed 0).

    Returns:
        A :class:`Split` with d = 65, targets y of shape (n,) in {−1, +1} and the digit labels.
    """
    pixel_scale = check_positive(pixel_scale, "pixel_scale")
    sp = load_digits_regression(bias=False, generator=generator)

    def prep(X: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feats = torch.cat([X * pixel_scale, torch.ones((X.shape[0], 1), dtype=X.dtype)], dim=1)
        return feats, 1.0 - 2.0 * (labels % 2).to(X.dtype)

    X_train, y_train = prep(sp.X_train, sp.labels_train)
    X_test, y_test = prep(sp.X_test, sp.labels_test)
    return Split(X_train, y_train, X_test, y_test, sp.labels_train, sp.labels_test)


def standardized_mnist1d(*, generator: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """MNIST-1D generated locally (``mnist1d.data.make_dataset``), every feature standardized by the training mean and
    standard deviation.

    Args:
        generator: an int seed (mnist1d draws from its own seed argument, so a generator object cannot be used).

    Returns:
        ``(X_train, labels_train, X_test, labels_test)`` in float32, as :func:`standardized_digits`.
    """
    import mnist1d.data

    if isinstance(generator, bool) or not isinstance(generator, int):
        raise ValueError(f"generator must be an int seed for mnist1d, got {generator!r}")
    args = mnist1d.data.get_dataset_args()
    args.seed = generator
    d = mnist1d.data.make_dataset(args)  # generated locally; never downloads
    X, Xt = (torch.as_tensor(np.asarray(a), dtype=torch.float64) for a in (d["x"], d["x_test"]))
    mu, sd = X.mean(0), X.std(0).clamp_min(1e-8)
    y, yt = (torch.as_tensor(np.asarray(a), dtype=torch.int64) for a in (d["y"], d["y_test"]))
    return ((X - mu) / sd).float(), y, ((Xt - mu) / sd).float(), yt
