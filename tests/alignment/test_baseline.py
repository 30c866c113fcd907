"""Random-eigenvector baseline: Monte Carlo mean against the closed form Tr(H)Tr(Σ)/(D‖H‖‖Σ‖)."""

from __future__ import annotations

import pytest
import torch

from dropout_theory.alignment import expected_random_alignment, random_eigenvector_alignment


def test_monte_carlo_mean_matches_closed_form():
    """2,000 Haar bases, D = 6: sample mean within 4 standard errors of the closed form; aligned spectra
    (Q = I) would give α = 1, the random baseline is far below."""
    g = torch.Generator().manual_seed(0)
    lh = torch.tensor([5.0, 2.0, 1.0, 0.5, 0.1, -0.3], dtype=torch.float64)
    ls = torch.tensor([3.0, 1.0, 0.2, 0.1, 0.05, 0.0], dtype=torch.float64)
    samples = random_eigenvector_alignment(lh, ls, 2000, g)
    exp = expected_random_alignment(lh, ls)
    assert abs(float(samples.mean()) - exp) < 4 * float(samples.std()) / 2000**0.5
    assert float(samples.abs().max()) <= 1.0 + 1e-12


def test_bad_input():
    with pytest.raises(ValueError, match="same length"):
        random_eigenvector_alignment(torch.ones(3), torch.ones(4))
    with pytest.raises(ValueError, match="undefined"):
        random_eigenvector_alignment(torch.zeros(3), torch.ones(3))
    with pytest.raises(ValueError, match="num_samples"):
        random_eigenvector_alignment(torch.ones(3), torch.ones(3), 0)
