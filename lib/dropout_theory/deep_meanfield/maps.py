"""The length (q) and correlation (c) maps of a deep dropout network, vectorized over parameter grids.

Convention (stated in the book's chapter *Signal propagation with dropout*): layer l computes
z^l = W^l (m^{l−1} ⊙ φ(z^{l−1}) / ρ) + b^l with W_ij ~ N(0, σ_w²/N), b_i ~ N(0, σ_b²) and a fresh Bernoulli(ρ)
mask m per unit **and per input** (ρ = keep_prob). For one input E[(m/ρ)²] = 1/ρ, hence the diagonal map

    q^{l+1} = (σ_w²/ρ) ∫Dz φ(√q^l z)² + σ_b²,

while two different inputs carry independent masks, E[m_a m_b]/ρ² = 1, so the off-diagonal map has no 1/ρ:

    q_ab^{l+1} = σ_w² E[φ(u_a) φ(u_b)] + σ_b²,   (u_a, u_b) ~ N(0, [[q_aa, q_ab], [q_ab, q_bb]]).

All functions broadcast over numpy arrays of parameters.
"""

from __future__ import annotations

import numpy as np

from dropout_theory._checks import check_allocation, check_finite_step, check_positive_int
from dropout_theory.deep_meanfield._validate import (
    check_activation,
    check_array,
    check_params,
    scalar_or_array,
)
from dropout_theory.deep_meanfield.quadrature import (
    DEFAULT_NODES,
    KINKS,
    activation_fn,
    bivariate_expectation,
    gaussian_expectation,
)


def q_map(
    activation: str,
    q: np.ndarray | float,
    sigma_w2: np.ndarray | float,
    sigma_b2: np.ndarray | float,
    keep_prob: np.ndarray | float,
    *,
    num_nodes: int = DEFAULT_NODES,
) -> float | np.ndarray:
    """One step of the length map q ↦ (σ_w²/ρ) ∫Dz φ(√q z)² + σ_b² (all arguments broadcast)."""
    check_activation(activation)
    s, b, r = check_params(sigma_w2, sigma_b2, keep_prob)
    q = check_array(q, "q", 0.0, low_open=False)
    phi = activation_fn(activation)
    return scalar_or_array(
        s / r * gaussian_expectation(lambda x: phi(x) ** 2, q, num_nodes=num_nodes, kinks=KINKS[activation]) + b
    )


def pair_map(
    activation: str,
    q_a: np.ndarray | float,
    q_b: np.ndarray | float,
    q_ab: np.ndarray | float,
    sigma_w2: np.ndarray | float,
    sigma_b2: np.ndarray | float,
    *,
    num_nodes: int = DEFAULT_NODES,
) -> float | np.ndarray:
    """One step of the covariance map q_ab ↦ σ_w² E[φ(u_a)φ(u_b)] + σ_b² (independent masks: no 1/ρ).

    Args:
        q_a, q_b: variances of the two inputs' pre-activations at layer l.
        q_ab: their covariance at layer l (``|q_ab| <= sqrt(q_a q_b)``).
    """
    check_activation(activation)
    s, b, _ = check_params(sigma_w2, sigma_b2, 1.0)
    qa = check_array(q_a, "q_a", 0.0, low_open=False)
    qb = check_array(q_b, "q_b", 0.0, low_open=False)
    qab = check_array(q_ab, "q_ab", -np.inf, low_open=False)
    denom = np.sqrt(qa * qb)
    c = np.divide(qab, denom, out=np.ones(np.broadcast(qab, denom).shape), where=denom > 0)
    if np.any(np.abs(c) > 1.0 + 1e-9):
        raise ValueError(f"q_ab must satisfy |q_ab| <= sqrt(q_a q_b), got correlation {float(np.max(np.abs(c)))!r}")
    phi = activation_fn(activation)
    return scalar_or_array(
        s * bivariate_expectation(phi, phi, qa, qb, c, num_nodes=num_nodes, kinks=KINKS[activation]) + b
    )


def c_map(
    activation: str,
    c: np.ndarray | float,
    sigma_w2: np.ndarray | float,
    sigma_b2: np.ndarray | float,
    keep_prob: np.ndarray | float,
    *,
    q: np.ndarray | float | None = None,
    num_nodes: int = DEFAULT_NODES,
) -> float | np.ndarray:
    """The correlation map at fixed length: c ↦ (σ_w² E[φ(u_a)φ(u_b)] + σ_b²) / q*.

    Both inputs are assumed to sit at the length fixed point q* (computed when ``q`` is None), where
    q_aa = q_bb = q* on every layer. With keep_prob < 1 the value at c = 1 is below 1, so c = 1 is no
    longer a fixed point.
    """
    from dropout_theory.deep_meanfield.fixed_points import fixed_point_q

    check_activation(activation)
    s, b, r = check_params(sigma_w2, sigma_b2, keep_prob)
    c = check_array(c, "c", -1.0, 1.0, low_open=False, high_open=False)
    if q is None:
        qs = fixed_point_q(activation, s, b, r, num_nodes=num_nodes)
    else:
        qs = check_array(q, "q", 0.0, low_open=True)
    phi = activation_fn(activation)
    return scalar_or_array(
        (s * bivariate_expectation(phi, phi, qs, qs, c, num_nodes=num_nodes, kinks=KINKS[activation]) + b) / qs
    )


#: A length (or covariance) beyond this, or non-finite, counts as a diverged deep map.
DIVERGENCE_LIMIT = 1e150


def q_trajectory(
    activation: str,
    q1: float,
    sigma_w2: float,
    sigma_b2: float,
    keep_prob: float,
    *,
    depth: int,
    num_nodes: int = DEFAULT_NODES,
) -> np.ndarray:
    """The lengths q^1, …, q^depth obtained by iterating :func:`q_map` from q^1.

    Returns:
        Array of shape (depth,).

    Raises:
        DivergenceError: q^l became non-finite or exceeded :data:`DIVERGENCE_LIMIT`; names the first such layer l.
    """
    depth = check_positive_int(depth, "depth")
    check_allocation(depth, "the (depth,) trajectory", names=f"depth = {depth}")
    out = np.empty(depth)
    out[0] = float(check_array(q1, "q1", 0.0, low_open=False))
    for l in range(1, depth):
        out[l] = q_map(activation, out[l - 1], sigma_w2, sigma_b2, keep_prob, num_nodes=num_nodes)
        check_finite_step(l + 1, "q", out[l], DIVERGENCE_LIMIT, unit="layer")
    return out


def pair_trajectory(
    activation: str,
    q_a1: float,
    q_b1: float,
    q_ab1: float,
    sigma_w2: float,
    sigma_b2: float,
    keep_prob: float,
    *,
    depth: int,
    num_nodes: int = DEFAULT_NODES,
) -> dict[str, np.ndarray]:
    """Iterate the joint maps of two inputs from layer 1 to ``depth``.

    Returns:
        Dict with arrays of shape (depth,): ``"q_a"``, ``"q_b"``, ``"q_ab"`` and ``"c"`` = q_ab/√(q_a q_b).

    Raises:
        DivergenceError: a length or the covariance became non-finite or exceeded :data:`DIVERGENCE_LIMIT`; names
            the first such layer.
    """
    depth = check_positive_int(depth, "depth")
    check_allocation(4 * depth, "the (depth,) trajectories", names=f"depth = {depth}")
    q_a1, q_b1 = (float(check_array(v, k, 0.0, low_open=False)) for v, k in ((q_a1, "q_a1"), (q_b1, "q_b1")))
    q_ab1 = float(check_array(q_ab1, "q_ab1", -np.inf, low_open=False))
    if abs(q_ab1) > (q_a1 * q_b1) ** 0.5 * (1 + 1e-9):
        raise ValueError(f"q_ab1 must satisfy |q_ab1| <= sqrt(q_a1 q_b1), got {q_ab1!r}, {q_a1!r}, {q_b1!r}")
    qa, qb, qab = np.empty(depth), np.empty(depth), np.empty(depth)
    qa[0], qb[0], qab[0] = q_a1, q_b1, q_ab1
    for l in range(1, depth):
        qab[l] = pair_map(activation, qa[l - 1], qb[l - 1], qab[l - 1], sigma_w2, sigma_b2, num_nodes=num_nodes)
        qa[l] = q_map(activation, qa[l - 1], sigma_w2, sigma_b2, keep_prob, num_nodes=num_nodes)
        qb[l] = q_map(activation, qb[l - 1], sigma_w2, sigma_b2, keep_prob, num_nodes=num_nodes)
        for name, value in (("q_a", qa[l]), ("q_b", qb[l]), ("q_ab", qab[l])):
            check_finite_step(l + 1, name, value, DIVERGENCE_LIMIT, unit="layer")
    return {"q_a": qa, "q_b": qb, "q_ab": qab, "c": qab / np.sqrt(qa * qb)}
