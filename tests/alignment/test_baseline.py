"""Random-eigenvector baseline: Monte Carlo mean against the closed form Tr(H)Tr(Σ)/(D‖H‖‖Σ‖)."""

from __future__ import annotations

import math

import pytest
import torch

from dropout_theory.alignment import (
    expected_random_alignment,
    module_hessian_variance_alignment,
    parameter_indices,
    random_eigenvector_alignment,
    subset_baseline,
)
from dropout_theory.data import load_digits_regression
from dropout_theory.networks import dropout_mlp


def test_monte_carlo_mean_matches_closed_form():
    """2,000 Haar bases, D = 6: sample mean within 4 standard errors of the closed form; aligned spectra
    (Q = I) would give α = 1, the random baseline is far below."""
    g = torch.Generator().manual_seed(0)
    lh = torch.tensor([5.0, 2.0, 1.0, 0.5, 0.1, -0.3], dtype=torch.float64)
    ls = torch.tensor([3.0, 1.0, 0.2, 0.1, 0.05, 0.0], dtype=torch.float64)
    samples = random_eigenvector_alignment(lh, ls, num_samples=2000, generator=g)
    exp = expected_random_alignment(lh, ls)
    assert abs(float(samples.mean()) - exp) < 4 * float(samples.std()) / 2000**0.5
    assert float(samples.abs().max()) <= 1.0 + 1e-12


def test_bad_input():
    with pytest.raises(ValueError, match="same length"):
        random_eigenvector_alignment(torch.ones(3), torch.ones(4))
    with pytest.raises(ValueError, match="undefined"):
        random_eigenvector_alignment(torch.zeros(3), torch.ones(3))
    with pytest.raises(ValueError, match="num_samples"):
        random_eigenvector_alignment(torch.ones(3), torch.ones(3), num_samples=0)


def test_subset_baseline_matches_the_library_exact_alignment():
    """Same generator state → same draws as module_hessian_variance_alignment(method="exact") on the subset, so the
    dense α must agree to rounding; the spectra must reproduce Tr H and ‖H‖_F of the dense subset Hessian."""
    digits = load_digits_regression(generator=0, bias=False)
    X, Y = digits.X_train[:80], digits.y_train[:80]
    net = dropout_mlp((64, 6, 6, 10), keep_prob=0.7, generator=3)
    idx = parameter_indices(net, "3.weight")

    def loss_fn(out, target):
        return 0.5 * ((out - target) ** 2).sum(1).mean()

    ref = module_hessian_variance_alignment(
        net, loss_fn, X, Y, num_masks=64, num_hessian_masks=4, subset=idx, generator=torch.Generator().manual_seed(9)
    )
    res = subset_baseline(
        net,
        loss_fn,
        X,
        Y,
        idx,
        num_masks=64,
        num_hessian_masks=4,
        num_samples=200,
        generator=torch.Generator().manual_seed(9),
    )
    assert res.num_params == 36
    assert res.alpha_exact == pytest.approx(ref.alpha, rel=1e-9)
    assert res.alpha_exact_stderr == pytest.approx(ref.stderr, rel=1e-9)
    assert res.frob_h**2 == pytest.approx(ref.frob_h_sq.value, rel=1e-9)
    # E α_random from the spectra vs the mean of 200 Haar samples (Monte Carlo, 6 standard errors)
    samples = torch.tensor(res.baseline_samples, dtype=torch.float64)
    assert abs(float(samples.mean()) - res.baseline_expected) < 6 * float(samples.std()) / math.sqrt(200)
    assert res.baseline_expected < res.alpha_exact
    assert "random eigenvectors" in str(res)
