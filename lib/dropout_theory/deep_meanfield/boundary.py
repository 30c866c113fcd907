"""The order–chaos boundary χ₁ = 1 in the (σ_b², σ_w²) plane, for each keep_prob.

On the fixed point q* both χ₁ and q* depend on σ_w² and ρ only through σ_w²/ρ, so the boundary with dropout
is the ρ = 1 boundary scaled: σ_w²_crit(σ_b², ρ) = ρ · σ_w²_crit(σ_b², 1). It is computed parametrically in q:
χ₁ = 1 at q* = q means σ_w²/ρ = 1/∫Dz φ'(√q z)², and the fixed-point equation then gives
σ_b²(q) = q − ∫Dz φ(√q z)² / ∫Dz φ'(√q z)²; the requested σ_b² is matched by bisection in q.
For linear and ReLU, χ₁ does not depend on q: σ_w²_crit = ρ and 2ρ (where the length q* diverges).
"""

from __future__ import annotations

import numpy as np

from dropout_theory.deep_meanfield._validate import check_activation, check_array, scalar_or_array
from dropout_theory.deep_meanfield.fixed_points import HOMOGENEOUS, bisect
from dropout_theory.deep_meanfield.quadrature import (
    DEFAULT_NODES,
    KINKS,
    activation_deriv,
    activation_fn,
    gaussian_expectation,
)


def critical_sigma_w2(
    activation: str,
    sigma_b2: np.ndarray | float,
    keep_prob: np.ndarray | float = 1.0,
    *,
    num_nodes: int = DEFAULT_NODES,
) -> float | np.ndarray:
    """σ_w² on the order–chaos line χ₁ = 1 (broadcast over σ_b² and keep_prob).

    Known value: tanh, σ_b² = 0.05, keep_prob = 1 → 1.761 (to 4 digits).

    Raises:
        ValueError: invalid arguments.
    """
    check_activation(activation)
    b = check_array(sigma_b2, "sigma_b2", 0.0, low_open=False)
    r = check_array(keep_prob, "keep_prob", 0.0, 1.0, low_open=True, high_open=False)
    phi, dphi = activation_fn(activation), activation_deriv(activation)
    b, r = np.broadcast_arrays(b, r)
    if activation in HOMOGENEOUS:
        return scalar_or_array(
            r / float(gaussian_expectation(lambda x: dphi(x) ** 2, 1.0, num_nodes=num_nodes, kinks=KINKS[activation]))
            + 0.0 * b
        )

    def e_dphi2(q: np.ndarray) -> np.ndarray:
        return gaussian_expectation(lambda x: dphi(x) ** 2, q, num_nodes=num_nodes, kinks=KINKS[activation])

    def sigma_b2_of_q(q: np.ndarray) -> np.ndarray:
        return q - gaussian_expectation(
            lambda x: phi(x) ** 2, q, num_nodes=num_nodes, kinks=KINKS[activation]
        ) / e_dphi2(q)

    hi = np.full(b.shape, 1.0)
    for _ in range(60):  # grow the bracket: σ_b²(q) increases without bound for bounded φ
        short = sigma_b2_of_q(hi) < b
        if not short.any():
            break
        hi = np.where(short, 2.0 * hi, hi)
    q = bisect(lambda q: b - sigma_b2_of_q(q), np.zeros(b.shape), hi)
    q = np.where(b == 0.0, 0.0, q)
    return scalar_or_array(r / e_dphi2(q))


def order_chaos_boundary(
    activation: str,
    sigma_b2_grid: np.ndarray,
    keep_probs: tuple[float, ...] | list[float] | np.ndarray,
    *,
    num_nodes: int = DEFAULT_NODES,
) -> np.ndarray:
    """The critical σ_w² on a grid of σ_b² for several keep_probs.

    Returns:
        Array of shape (len(keep_probs), len(sigma_b2_grid)).
    """
    sb = check_array(sigma_b2_grid, "sigma_b2_grid", 0.0, low_open=False).ravel()
    kp = check_array(keep_probs, "keep_probs", 0.0, 1.0, low_open=True, high_open=False).ravel()
    return np.asarray(critical_sigma_w2(activation, sb[None, :], kp[:, None], num_nodes=num_nodes))
