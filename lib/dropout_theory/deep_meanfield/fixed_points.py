"""Fixed points q* of the length map and c* of the correlation map, vectorized over parameter grids.

* Linear and ReLU are positively homogeneous, so the q-map is affine, q ↦ a q + σ_b² with
  a = (σ_w²/ρ) ∫Dz φ(z)² (1 for linear, 1/2 for ReLU): q* = σ_b²/(1 − a) exists only for a < 1.
* tanh, hard tanh and erf are bounded (|φ| ≤ 1), so the map sends [0, ∞) into [σ_b², σ_b² + σ_w²/ρ]; it is
  increasing and concave there, and q* is its unique root there, found by vectorized bisection (no
  iteration that could hang near criticality).
* c* is the root in [0, 1] of c ↦ c_map(c) − c, also by bisection. For keep_prob < 1 the map's value at
  c = 1 is (σ_w² E φ² + σ_b²)/q* < 1, so c* < 1.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dropout_theory.deep_meanfield._validate import (
    check_activation,
    check_params,
    scalar_or_array,
)
from dropout_theory.deep_meanfield.quadrature import (
    DEFAULT_NODES,
    KINKS,
    activation_deriv,
    activation_fn,
    bivariate_expectation,
    gaussian_expectation,
)

HOMOGENEOUS = ("linear", "relu")
BISECTION_STEPS = 200


def bisect(g: Callable[[np.ndarray], np.ndarray], lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Vectorized bisection for g(lo) ≥ 0 ≥ g(hi) (or the reverse orientation, fixed per entry)."""
    lo, hi = np.broadcast_arrays(np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64))
    lo, hi = lo.copy(), hi.copy()
    for _ in range(BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        pos = g(mid) >= 0.0
        lo = np.where(pos, mid, lo)
        hi = np.where(pos, hi, mid)
        if np.all(hi - lo <= 1e-15 * np.maximum(1.0, np.abs(hi))):
            break
    return 0.5 * (lo + hi)


def fixed_point_q(
    activation: str,
    sigma_w2: np.ndarray | float,
    sigma_b2: np.ndarray | float,
    keep_prob: np.ndarray | float,
    *,
    num_nodes: int = DEFAULT_NODES,
) -> float | np.ndarray:
    """The stable fixed point q* of the length map (broadcast over array arguments).

    Args:
        activation: "linear", "relu", "tanh", "hard_tanh" or "erf".
        sigma_w2: weight variance σ_w² > 0 (weights are N(0, σ_w²/N)).
        sigma_b2: bias variance σ_b² ≥ 0.
        keep_prob: probability ρ ∈ (0, 1] of keeping a unit.
        num_nodes: Gauss–Hermite nodes.

    Returns:
        q* (a float for scalar input, else an array of the broadcast shape). For σ_b² = 0 in the ordered
        regime this is the trivial fixed point 0.

    Raises:
        ValueError: invalid parameters, or no finite fixed point (linear/ReLU with a ≥ 1, where the length
            grows without bound).
    """
    check_activation(activation)
    s, b, r = check_params(sigma_w2, sigma_b2, keep_prob)
    s, b, r = np.broadcast_arrays(s, b, r)
    phi = activation_fn(activation)
    if activation in HOMOGENEOUS:
        a = (
            s
            / r
            * float(gaussian_expectation(lambda x: phi(x) ** 2, 1.0, num_nodes=num_nodes, kinks=KINKS[activation]))
        )
        bad = a >= 1.0 - 1e-12  # a = 1 up to quadrature rounding counts as divergent
        if np.any(bad):
            i = np.argmax(bad)
            raise ValueError(
                f"no finite fixed point of the length map for activation={activation!r}: the slope "
                f"(sigma_w2/keep_prob)*E[phi(z)^2] = {float(a.ravel()[i])!r} must be < 1 (sigma_w2="
                f"{float(s.ravel()[i])!r}, keep_prob={float(r.ravel()[i])!r}); the signal length diverges with depth"
            )
        return scalar_or_array(b / (1.0 - a))

    def g(q: np.ndarray) -> np.ndarray:
        return (
            s / r * gaussian_expectation(lambda x: phi(x) ** 2, q, num_nodes=num_nodes, kinks=KINKS[activation]) + b - q
        )

    upper = s / r + b + 1.0  # |φ| ≤ 1 bounds the map by σ_w²/ρ + σ_b²
    slope0 = s / r * float(activation_deriv(activation)(np.zeros(1))[0]) ** 2
    # With σ_b² = 0, q = 0 is a fixed point; the non-trivial one exists iff the slope at 0 exceeds 1.
    lower = np.where((b == 0.0) & (slope0 > 1.0), 1e-12, 0.0)
    q = bisect(g, lower, upper)
    q = np.where((b == 0.0) & (slope0 <= 1.0), 0.0, q)
    return scalar_or_array(q)


def fixed_point_c(
    activation: str,
    sigma_w2: np.ndarray | float,
    sigma_b2: np.ndarray | float,
    keep_prob: np.ndarray | float,
    *,
    num_nodes: int = DEFAULT_NODES,
) -> float | np.ndarray:
    """The stable fixed point c* ∈ [0, 1] of the correlation map of two inputs at length q*.

    Returns:
        c*; it is < 1 whenever keep_prob < 1, and equals 1 for keep_prob = 1 in the ordered phase (χ₁ ≤ 1).

    Raises:
        ValueError: invalid parameters, no finite q*, or q* = 0 (σ_b² = 0 in the ordered phase, where the
            correlation map is degenerate).
    """
    check_activation(activation)
    s, b, r = np.broadcast_arrays(*check_params(sigma_w2, sigma_b2, keep_prob))
    qs = np.asarray(fixed_point_q(activation, s, b, r, num_nodes=num_nodes))
    if np.any(qs <= 0.0):
        raise ValueError(
            "q* = 0 (sigma_b2 = 0 in the ordered phase): the correlation map is degenerate and c* is "
            "undefined; use sigma_b2 > 0"
        )
    phi = activation_fn(activation)
    dphi = activation_deriv(activation)

    def g(c: np.ndarray) -> np.ndarray:
        return (
            s * bivariate_expectation(phi, phi, qs, qs, c, num_nodes=num_nodes, kinks=KINKS[activation]) + b
        ) / qs - c

    chi1 = s / r * gaussian_expectation(lambda x: dphi(x) ** 2, qs, num_nodes=num_nodes, kinks=KINKS[activation])
    at_one = (r == 1.0) & (chi1 <= 1.0 + 1e-12)
    hi = np.where(r == 1.0, 1.0 - 1e-9, 1.0)
    # σ_b² = 0, odd φ: c = 0 is a fixed point; the stable one is positive iff the slope there exceeds 1.
    slope0 = s * bivariate_expectation(dphi, dphi, qs, qs, 0.0, num_nodes=num_nodes, kinks=KINKS[activation])
    odd = activation != "relu"
    trivial = odd & (b == 0.0) & (slope0 <= 1.0)
    lo = np.where(odd & (b == 0.0), 1e-9, 0.0)
    c = bisect(g, lo, hi)
    c = np.where(trivial, 0.0, c)
    c = np.where(at_one, 1.0, c)
    return scalar_or_array(c)
