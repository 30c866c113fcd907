"""The MNIST experiment's run and summary on a small stand-in split: what is recorded, and the statistics."""

from __future__ import annotations

from dataclasses import asdict

import pytest
import torch

from dropout_theory.data import Split
from dropout_theory.phase import MINIBATCH_VARIANTS, MnistSummary, mnist_run
from dropout_theory.stats import Estimate


def _split(N=60, d=12, seed=0):
    """A separable ±1 task in the format of mnist_pair (inputs in [0, 1], validation set)."""
    g = torch.Generator().manual_seed(seed)
    X = torch.rand((N, d), generator=g)
    y = torch.where(X[:, 0] > X[:, 1], 1.0, -1.0)
    lab = torch.where(y > 0, 4, 7)
    return Split(X[:40], y[:40], X[50:], y[50:], lab[:40], lab[50:], X_val=X[40:50], y_val=y[40:50],
                 labels_val=lab[40:50])  # fmt: skip


@pytest.fixture(scope="module")
def runs():
    kw = {"width": 6, "num_steps": 8, "batch_size": 8, "record_every": 4, "curvature_steps": (4, 8),
          "sharpness_steps": (8,), "num_curvature_batches": 2, "dtype": "float64", "data": _split()}  # fmt: skip
    return [mnist_run(keep_prob=q, generator=r, **kw) for q in (0.8, 0.5) for r in range(2)]


def test_run_records_every_metric_and_the_curvature(runs):
    r = runs[0]
    assert r.steps == [0, 4, 8] and r.curvature_steps == [4, 8]
    assert set(r.metrics) == {f"{s}_{m}" for s in ("train", "val", "test") for m in ("loss", "accuracy")}
    assert all(set(by_variant) == set(MINIBATCH_VARIANTS) for by_variant in r.metrics.values())
    assert r.rms["dropout"] == [0.0, 0.0, 0.0] and r.rms["no_dropout"][-1] > 0
    assert all(s[0] is None and s[1] > 0 for s in r.sharpness.values())  # Lanczos only at step 8
    assert all(len(b) == 2 and min(b) >= 0 for b in r.batch_sharpness_se.values())
    # the initial risk is the same for every variant, and repeat r's initialization is shared across keep rates
    assert len({x.metrics["train_loss"]["dropout"][0] for x in runs}) == 2
    assert runs[0].metrics["test_loss"]["no_dropout"] == runs[2].metrics["test_loss"]["no_dropout"]


def test_summary_statistics(runs):
    s = MnistSummary.from_runs([asdict(r) for r in runs])
    assert list(s.runs) == [0.8, 0.5] and [len(v) for v in s.runs.values()] == [2, 2]
    best = []
    for r in runs[2:]:  # keep 0.5: the test risk at each run's lowest validation risk
        val = r.metrics["val_loss"]["dropout"]
        best.append(r.metrics["test_loss"]["dropout"][val.index(min(val))])
    assert s.estimate(0.5, "test_loss", "dropout") == Estimate.from_samples(best)
    final = [r.metrics["train_loss"]["random_metric"][-1] for r in runs[:2]]
    assert s.estimate(0.8, "train_loss", "random_metric", at="final") == Estimate.from_samples(final)
    paired = torch.tensor(
        [r.sharpness["dropout"][-1] - r.sharpness["no_dropout"][-1] for r in runs[:2]], dtype=torch.float64
    )
    d = s.difference(0.8, "sharpness", "dropout", "no_dropout")
    assert d.value == pytest.approx(float(paired.mean()), rel=1e-12)
    assert d.stderr == pytest.approx(float(paired.std() / 2**0.5), rel=1e-10)
    steps, curve = s.curve(0.5, "val_accuracy", "dropout")
    assert steps == [0, 4, 8] and len(curve) == 3
    rms = [r.rms["no_dropout"][-1] for r in runs[:2]]
    assert s.estimate(0.8, "rms", "no_dropout", at="final") == Estimate.from_samples(rms)
    assert "variant minus dropout" in str(s.difference_table("test_loss"))
    text = str(s)
    assert "drop rate" in text and "PN only" in text and "±" in text
