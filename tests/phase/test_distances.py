"""Distances between clouds against independent computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
import torch

from dropout_theory.phase import mmd, pack_particles, rms_distance, sliced_wasserstein

DT = torch.float64


def test_rms_distance_by_hand():
    P = torch.tensor([[0.0, 0.0], [1.0, 1.0]], dtype=DT)
    Q = torch.tensor([[3.0, 4.0], [1.0, 1.0]], dtype=DT)
    assert float(rms_distance(P, Q)) == pytest.approx(math.sqrt(25 / 2))
    with pytest.raises(ValueError, match="same shape"):
        rms_distance(P, Q[:1])


def test_pack_particles_shape():
    a, W = torch.zeros(2, 5), torch.ones(2, 5, 3)
    assert pack_particles(a, W).shape == (2, 5, 4)


def test_sliced_wasserstein_one_dimension_equals_scipy_for_unequal_sizes():
    g = np.random.default_rng(0)
    u, v = g.normal(size=37), g.normal(1.0, 2.0, size=53)
    # in 1-D every projection is ±1, so SW₂ = W₂; check W₂² against quadrature of the quantile functions
    levels = np.linspace(0, 1, 200001)[1:-1]
    w2 = np.sqrt(
        np.mean((np.quantile(u, levels, method="inverted_cdf") - np.quantile(v, levels, method="inverted_cdf")) ** 2)
    )
    sw = float(sliced_wasserstein(torch.tensor(u[:, None]), torch.tensor(v[:, None]), num_projections=3))
    assert sw == pytest.approx(w2, rel=1e-4)
    # W₁ from scipy is a lower bound of W₂
    assert scipy.stats.wasserstein_distance(u, v) <= sw + 1e-12


def test_sliced_wasserstein_of_a_translation():
    """For Q = P + m, SW₂² = ‖m‖²/p (E (θ·m)² over the sphere in R^p)."""
    P = torch.randn((500, 3), generator=torch.Generator().manual_seed(1), dtype=DT)
    m = torch.tensor([1.0, -2.0, 0.5], dtype=DT)
    sw = sliced_wasserstein(P, P + m, num_projections=4000, generator=torch.Generator().manual_seed(2))
    assert float(sw) ** 2 == pytest.approx(float(m @ m) / 3, rel=0.06)


def test_mmd_zero_for_equal_clouds_and_positive_otherwise():
    P = torch.randn((50, 2), generator=torch.Generator().manual_seed(3), dtype=DT)
    assert float(mmd(P, P)) == pytest.approx(0.0, abs=1e-7)
    assert float(mmd(P, P + 1.0)) > 0.3
    # two single points: MMD² = 2 − 2 exp(−|x−y|²/(2h²))
    x, y = torch.zeros((1, 1), dtype=DT), torch.ones((1, 1), dtype=DT)
    assert float(mmd(x, y, bandwidth=0.5)) ** 2 == pytest.approx(2 - 2 * math.exp(-2.0))
