"""Per-layer statistics of simulated ensembles and the variance–mean power law of the gradient metrics.

The fits themselves (power laws, decay lengths) are those of :mod:`dropout_theory.stats`.
"""

from __future__ import annotations

import numpy as np

from dropout_theory._checks import check_iterations
from dropout_theory.deep_meanfield._validate import check_array
from dropout_theory.rng import GeneratorLike, numpy_generator
from dropout_theory.stats import Estimate, fit_power_law


def layer_mean_var(samples: np.ndarray, *, positive_only: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance over networks of a per-layer metric.

    Args:
        samples: (num_networks, n_layers) values of a metric (one row per network).
        positive_only: drop layers whose mean is not positive (a power law needs positive means).

    Returns:
        ``(mean, var)`` arrays over the kept layers.
    """
    x = check_array(samples, "samples", -np.inf, low_open=False)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"samples must have shape (num_networks >= 2, n_layers), got {x.shape}")
    m, v = x.mean(0), x.var(0, ddof=1)
    keep = (m > 0) & (v > 0) if positive_only else np.ones_like(m, dtype=bool)
    return m[keep], v[keep]


def bootstrap_power_law(samples: list[np.ndarray], *, num_boot: int = 200, generator: GeneratorLike = 0) -> Estimate:
    """Power p of Var ∝ Mean^p fitted to several groups jointly, with a bootstrap over networks.

    Each group is an (num_networks, n_layers) array; every layer of every group contributes one (mean, var)
    point (:func:`layer_mean_var`), and the power is the slope of :func:`dropout_theory.stats.fit_power_law`.
    Networks are resampled with replacement within each group.

    Args:
        samples: the groups.
        num_boot: bootstrap resamples.
        generator: numpy generator or int seed of the resampling (default: seed 0).

    Returns:
        :class:`dropout_theory.stats.Estimate`: p and its bootstrap standard error (``num_samples`` = resamples).
    """
    if not isinstance(samples, list | tuple) or not samples:
        raise TypeError(f"samples must be a non-empty list of (num_networks, n_layers) arrays, got {samples!r}")
    num_boot = check_iterations(num_boot, "num_boot", minimum=2)
    rng = numpy_generator(generator)

    def fit(groups: list[np.ndarray]) -> float:
        mv = [layer_mean_var(g) for g in groups]
        return fit_power_law(np.concatenate([m for m, _ in mv]), np.concatenate([v for _, v in mv])).exponent

    p = fit(samples)
    boots = [fit([g[rng.integers(0, g.shape[0], g.shape[0])] for g in samples]) for _ in range(num_boot)]
    return Estimate(p, float(np.std(boots, ddof=1)), num_boot)
