"""Fits used to compare simulated ensembles with the theory: decay lengths and variance–mean power laws."""

from __future__ import annotations

import numpy as np


def fit_decay_length(values: np.ndarray, layers: np.ndarray | None = None) -> float:
    """Depth scale ξ of an exponential trend v_l ∝ e^{l/ξ}, by least squares on ln|v_l|.

    A quantity that shrinks as the layer index l decreases (a gradient decaying away from the output) gives
    ξ > 0 when fitted against l; pass ``layers`` = distance from the output to fit a decay forwards.

    Args:
        values: (n,) positive values (e.g. ensemble means per layer).
        layers: (n,) abscissae; default 0..n−1.

    Returns:
        ξ (float; +inf for a flat trend).

    Raises:
        ValueError: fewer than 2 points, or non-positive / non-finite values.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size < 2 or np.any(~np.isfinite(v)) or np.any(v <= 0):
        raise ValueError("values must hold at least 2 finite positive numbers")
    x = np.arange(v.size, dtype=np.float64) if layers is None else np.asarray(layers, dtype=np.float64).ravel()
    slope = np.polyfit(x, np.log(v), 1)[0]
    return float(np.inf) if slope == 0 else float(1.0 / slope)


def fit_power_law(mean: np.ndarray, var: np.ndarray) -> tuple[float, float, float]:
    """Fit Var = C · Mean^p by least squares in log–log coordinates.

    Args:
        mean: (n,) positive means.
        var: (n,) positive variances.

    Returns:
        ``(p, stderr_p, C)``: the power, its standard error from the regression residuals, and the prefactor.

    Raises:
        ValueError: fewer than 3 points or non-positive entries.
    """
    m = np.asarray(mean, dtype=np.float64).ravel()
    v = np.asarray(var, dtype=np.float64).ravel()
    if m.size != v.size or m.size < 3:
        raise ValueError(f"mean and var must have the same length >= 3, got {m.size} and {v.size}")
    if np.any(m <= 0) or np.any(v <= 0) or not (np.all(np.isfinite(m)) and np.all(np.isfinite(v))):
        raise ValueError("mean and var must be finite and positive")
    x, y = np.log(m), np.log(v)
    A = np.stack([x, np.ones_like(x)], 1)
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    resid = y - A @ coef
    dof = max(1, x.size - 2)
    s2 = float(resid @ resid) / dof
    se = float(np.sqrt(s2 / np.sum((x - x.mean()) ** 2)))
    return float(coef[0]), se, float(np.exp(coef[1]))


def layer_mean_var(samples: np.ndarray, *, positive_only: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance over networks of a per-layer metric.

    Args:
        samples: (n_networks, n_layers) values of a metric (one row per network).
        positive_only: drop layers whose mean is not positive (a power law needs positive means).

    Returns:
        ``(mean, var)`` arrays over the kept layers.
    """
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"samples must have shape (n_networks >= 2, n_layers), got {x.shape}")
    m, v = x.mean(0), x.var(0, ddof=1)
    keep = (m > 0) & (v > 0) if positive_only else np.ones_like(m, dtype=bool)
    return m[keep], v[keep]


def bootstrap_power_law(samples: list[np.ndarray], *, n_boot: int = 200, seed: int = 0) -> tuple[float, float]:
    """Power p of Var ∝ Mean^p fitted to several groups jointly, with a bootstrap over networks.

    Each group is an (n_networks, n_layers) array; every layer of every group contributes one (mean, var)
    point. Networks are resampled with replacement within each group.

    Returns:
        ``(p, bootstrap standard error of p)``.
    """
    rng = np.random.default_rng(seed)

    def fit(groups: list[np.ndarray]) -> float:
        mv = [layer_mean_var(g) for g in groups]
        return fit_power_law(np.concatenate([m for m, _ in mv]), np.concatenate([v for _, v in mv]))[0]

    p = fit(samples)
    boots = [fit([g[rng.integers(0, g.shape[0], g.shape[0])] for g in samples]) for _ in range(n_boot)]
    return p, float(np.std(boots, ddof=1))
