"""Slopes χ of the mean-field maps at their fixed points and the depth scales ξ = −1/ln χ.

* χ₁ = (σ_w²/ρ) ∫Dz φ'(√q* z)²: slope of the c-map at c = 1 for ρ = 1, and the per-layer factor of the
  squared gradient of one input under the gradient-independence assumption (GIA); ξ_∇ = −1/ln χ₁.
* χ_c = σ_w² E[φ'(u_a)φ'(u_b)] at (q*, c*): slope of the c-map at its fixed point, and the per-layer factor
  of the gradient inner product of two inputs under GIA; ξ_c = −1/ln χ_c.
* χ_q = (σ_w²/ρ) d/dq ∫Dz φ(√q z)² at q* = (σ_w²/ρ) ∫Dz (φ'² + φφ'')(√q* z), computed in the
  equivalent form (σ_w²/ρ) E[z φ(√q* z) φ'(√q* z)]/√q* that needs no second derivative (kinks allowed);
  ξ_q = −1/ln χ_q.

ξ is +inf where χ = 1 exactly and negative where χ > 1 (then |ξ| is the depth over which the quantity grows
by a factor e).
"""

from __future__ import annotations

import numpy as np

from dropout_theory.deep_meanfield._validate import check_activation, check_params, scalar_or_array
from dropout_theory.deep_meanfield.fixed_points import fixed_point_c, fixed_point_q
from dropout_theory.deep_meanfield.quadrature import (
    DEFAULT_NODES,
    KINKS,
    activation_deriv,
    activation_fn,
    bivariate_expectation,
    gaussian_expectation,
)


def depth_scale(chi: np.ndarray | float) -> float | np.ndarray:
    """ξ = −1/ln χ for χ ≥ 0 (+inf at χ = 1, 0 at χ = 0, negative for χ > 1)."""
    chi = np.asarray(chi, dtype=np.float64)
    if np.any(chi < 0) or not np.all(np.isfinite(chi)):
        raise ValueError(f"chi must be finite and >= 0, got {chi.ravel()[(chi < 0) | ~np.isfinite(chi)][0]!r}")
    with np.errstate(divide="ignore"):
        log = np.log(chi)
        xi = np.where(chi == 1.0, np.inf, np.where(chi == 0.0, 0.0, -1.0 / np.where(log == 0.0, 1.0, log)))
    return scalar_or_array(xi)


def chi_1(
    activation: str,
    sigma_w2,
    sigma_b2,
    keep_prob,
    *,
    q: np.ndarray | float | None = None,
    num_nodes: int = DEFAULT_NODES,
) -> float | np.ndarray:
    """χ₁ = (σ_w²/ρ) ∫Dz φ'(√q z)² at q = q* (default) or at the given q."""
    check_activation(activation)
    s, b, r = check_params(sigma_w2, sigma_b2, keep_prob)
    qs = fixed_point_q(activation, s, b, r, num_nodes=num_nodes) if q is None else np.asarray(q, dtype=np.float64)
    dphi = activation_deriv(activation)
    return scalar_or_array(
        s / r * gaussian_expectation(lambda x: dphi(x) ** 2, qs, num_nodes=num_nodes, kinks=KINKS[activation])
    )


def chi_c(
    activation: str, sigma_w2, sigma_b2, keep_prob, *, q=None, c=None, num_nodes: int = DEFAULT_NODES
) -> float | np.ndarray:
    """χ_c = σ_w² E[φ'(u_a)φ'(u_b)] at (q*, c*) (defaults) or at the given (q, c)."""
    check_activation(activation)
    s, b, r = check_params(sigma_w2, sigma_b2, keep_prob)
    qs = fixed_point_q(activation, s, b, r, num_nodes=num_nodes) if q is None else np.asarray(q, dtype=np.float64)
    cs = fixed_point_c(activation, s, b, r, num_nodes=num_nodes) if c is None else np.asarray(c, dtype=np.float64)
    dphi = activation_deriv(activation)
    return scalar_or_array(
        s * bivariate_expectation(dphi, dphi, qs, qs, cs, num_nodes=num_nodes, kinks=KINKS[activation])
    )


def chi_q(
    activation: str, sigma_w2, sigma_b2, keep_prob, *, q=None, num_nodes: int = DEFAULT_NODES
) -> float | np.ndarray:
    """χ_q = slope of the q-map at q* (default) or at the given q."""
    check_activation(activation)
    s, b, r = check_params(sigma_w2, sigma_b2, keep_prob)
    qs = fixed_point_q(activation, s, b, r, num_nodes=num_nodes) if q is None else np.asarray(q, dtype=np.float64)
    qe = np.maximum(qs, 1e-12)  # the q → 0 limit is φ'(0)² for our activations (φ(0) = 0)
    phi, dphi = activation_fn(activation), activation_deriv(activation)
    z_weighted = (
        gaussian_expectation(lambda x: x * phi(x) * dphi(x), qe, num_nodes=num_nodes, kinks=KINKS[activation]) / qe
    )  # E[zφφ'(√q z)]/√q
    return scalar_or_array(s / r * z_weighted)


def depth_scales(
    activation: str,
    sigma_w2: np.ndarray | float,
    sigma_b2: np.ndarray | float,
    keep_prob: np.ndarray | float,
    *,
    num_nodes: int = DEFAULT_NODES,
) -> dict[str, float | np.ndarray]:
    """All slopes and depth scales at the fixed points (broadcast over array arguments).

    Returns:
        Mapping with keys ``"chi_1"``, ``"chi_c"``, ``"chi_q"``, ``"xi_q"``, ``"xi_c"``, ``"xi_grad"``
        (= −1/ln χ₁), ``"q_star"`` and ``"c_star"``.

    Raises:
        ValueError: invalid parameters or no usable fixed point (see :func:`fixed_point_c`).
    """
    check_activation(activation)
    s, b, r = check_params(sigma_w2, sigma_b2, keep_prob)
    qs = fixed_point_q(activation, s, b, r, num_nodes=num_nodes)
    cs = fixed_point_c(activation, s, b, r, num_nodes=num_nodes)
    c1 = chi_1(activation, s, b, r, q=qs, num_nodes=num_nodes)
    cc = chi_c(activation, s, b, r, q=qs, c=cs, num_nodes=num_nodes)
    cq = chi_q(activation, s, b, r, q=qs, num_nodes=num_nodes)
    return {
        "chi_1": c1,
        "chi_c": cc,
        "chi_q": cq,
        "xi_q": depth_scale(cq),
        "xi_c": depth_scale(cc),
        "xi_grad": depth_scale(c1),
        "q_star": qs,
        "c_star": cs,
    }
