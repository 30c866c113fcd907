"""Power-law and decay-length fits on synthetic data with known answers."""

import numpy as np
import pytest

from dropout_theory.deep_meanfield import fit_decay_length, fit_power_law


def test_power_law_recovers_exponent_and_error_shrinks_with_noise():
    m = np.logspace(-6, 0, 30)
    p, se, C = fit_power_law(m, 3.0 * m**2)
    assert np.isclose(p, 2.0, atol=1e-10) and se < 1e-8 and np.isclose(C, 3.0)
    rng = np.random.default_rng(0)
    noisy = 3.0 * m**2 * np.exp(0.2 * rng.standard_normal(30))
    p2, se2, _ = fit_power_law(m, noisy)
    assert abs(p2 - 2.0) < 4 * se2 and 0 < se2 < 0.05


def test_decay_length():
    layers = np.arange(10)
    assert np.isclose(fit_decay_length(np.exp(layers / 3.5)), 3.5)
    with pytest.raises(ValueError):
        fit_decay_length([1.0, -1.0])
    with pytest.raises(ValueError):
        fit_power_law([1, 2], [1, 4])


def test_bootstrap_power_law_on_multiplicative_noise():
    """Metric = mean_l × (1 + 0.5 ξ): Var = 0.25 Mean² exactly in expectation, so p = 2 within 3 s.e."""
    from dropout_theory.deep_meanfield.statistics import bootstrap_power_law, layer_mean_var

    rng = np.random.default_rng(1)
    means = np.exp(-np.arange(12) / 2.0)
    groups = [means * (1 + 0.5 * rng.standard_normal((300, 12))) for _ in range(2)]
    p, se = bootstrap_power_law(groups, n_boot=100)
    assert abs(p - 2.0) < 3 * se + 0.02 and se < 0.1
    m, v = layer_mean_var(groups[0])
    assert m.shape == (12,) and np.allclose(v / m**2, 0.25, rtol=0.3)
