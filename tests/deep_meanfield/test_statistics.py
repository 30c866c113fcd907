"""The variance–mean power law of per-layer metrics, with a bootstrap over networks."""

import numpy as np

from dropout_theory.deep_meanfield import bootstrap_power_law, layer_mean_var


def test_bootstrap_power_law_on_multiplicative_noise():
    """Metric = mean_l × (1 + 0.5 ξ): Var = 0.25 Mean² exactly in expectation, so p = 2 within 3 s.e."""
    rng = np.random.default_rng(1)
    means = np.exp(-np.arange(12) / 2.0)
    groups = [means * (1 + 0.5 * rng.standard_normal((300, 12))) for _ in range(2)]
    est = bootstrap_power_law(groups, num_boot=100)
    assert abs(est.value - 2.0) < 3 * est.stderr + 0.02 and est.stderr < 0.1 and est.num_samples == 100
    assert bootstrap_power_law(groups, num_boot=20, generator=3) == bootstrap_power_law(
        groups, num_boot=20, generator=np.random.default_rng(3)
    )
    m, v = layer_mean_var(groups[0])
    assert m.shape == (12,) and np.allclose(v / m**2, 0.25, rtol=0.3)
