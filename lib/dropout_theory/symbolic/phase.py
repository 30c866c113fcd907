"""SymPy derivation behind the phase map of dropout in the mean-field regime (part III; our derivation).

The multiplier of neuron i is ξ_i = 1 + η_i with P(ξ = 1/q) = q and P(ξ = 0) = 1 − q. Divided by τ, the update
of neuron i splits exactly into four parts (:func:`update_decomposition`):

    ξ_i Dφ_iᵀ[(1/n) Σ_j ξ_j φ_j − y] = g                                   (mean-field drift)
                                      + (ξ_i − 1) g                          (random metric)
                                      + ξ_i (1/n) Σ_{j≠i} (ξ_j − 1) Dφ_iᵀφ_j   (propagation noise)
                                      + ξ_i (ξ_i − 1)/n · Dφ_iᵀφ_i             (self term)

with g = Dφ_iᵀ(f − y). Their means and variances follow from the two-point law of ξ (:func:`part_moments`,
computed by exact expectation over the masks, :func:`expect`). Over a horizon t = kτ the means add up k times
(×τ: order t·mean) and the independent fluctuations add up in variance (×τ²: order tτ·variance); with
τ = n^(−a), q = n^(−b) each accumulated quantity is a power of n (:func:`horizon_exponents`), and the signs
of those exponents give the phase (:func:`phase_from_exponents`), which
:func:`dropout_theory.phase.classify_phase` must reproduce.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from typing import Any

import sympy as sp

from dropout_theory._checks import (
    check_allocation,
    check_finite_number,
    check_keep_prob,
    check_positive,
    check_positive_int,
    check_symbolic_size,
    check_sympy,
)
from dropout_theory.rng import GeneratorLike, numpy_generator

q, n, tau, t = sp.symbols("q n tau t", positive=True)
a_exp, b_exp = sp.symbols("a b", real=True)
g, c_self = sp.symbols("g c_ii", real=True)  # g = Dφ_iᵀ(f − y); c_ii = Dφ_iᵀ φ_i
xi_i, xi_j, xi_k = sp.symbols("xi_i xi_j xi_k", nonnegative=True)
c_ij, c_ik = sp.symbols("c_ij c_ik", real=True)  # Dφ_iᵀ φ_j for two other neurons
s2 = sp.symbols("s2", nonnegative=True)  # s² = (1/n) Σ_{j≠i} (Dφ_iᵀ φ_j)²

PARTS: tuple[str, ...] = ("random_metric", "propagation_noise", "self_term")


def expect(expr: sp.Expr, variables: tuple[sp.Symbol, ...] = (xi_i, xi_j, xi_k)) -> sp.Expr:
    """Exact expectation over independent two-point multipliers ξ ∈ {0, 1/q} with P(ξ = 1/q) = q."""
    check_sympy(expr, "expr")
    if isinstance(variables, str) or not isinstance(variables, tuple | list):
        raise TypeError(f"variables must be a tuple of SymPy symbols, got {variables!r}")
    out = sp.expand(expr)
    for v in variables:
        if out.has(v):
            out = sp.expand(q * out.subs(v, 1 / q) + (1 - q) * out.subs(v, 0))
    return sp.simplify(out)


def mask_moments(order: int = 4) -> dict[int, sp.Expr]:
    """E ξ^k for k = 1..order (E ξ^k = q^(1−k))."""
    order = check_symbolic_size(order, "order", maximum=24)
    return {k: expect(xi_i**k) for k in range(1, order + 1)}


def update_decomposition() -> dict[str, sp.Expr]:
    """The four parts of the (τ-divided) update of neuron i, with two representative other neurons j, k.

    The forward pass is written for neurons {i, j, k} with weights 1/n; the propagation-noise part keeps the
    j and k terms (the sum over j ≠ i has n − 1 such terms, handled in :func:`part_moments`).
    """
    return {
        "drift": g,
        "random_metric": (xi_i - 1) * g,
        "propagation_noise": xi_i * ((xi_j - 1) * c_ij + (xi_k - 1) * c_ik) / n,
        "self_term": xi_i * (xi_i - 1) * c_self / n,
    }


def check_decomposition() -> sp.Expr:
    """Full update minus the sum of the parts, for the three-neuron forward pass (simplifies to 0).

    The full update is ξ_i[g + (1/n)((ξ_i − 1)c_ii + (ξ_j − 1)c_ij + (ξ_k − 1)c_ik)], i.e. ξ_i Dφ_iᵀ[f_ξ − y]
    where f_ξ − f = (1/n) Σ_j (ξ_j − 1)φ_j.
    """
    full = xi_i * (g + ((xi_i - 1) * c_self + (xi_j - 1) * c_ij + (xi_k - 1) * c_ik) / n)
    return sp.simplify(full - sum(update_decomposition().values()))


def part_moments() -> dict[str, tuple[sp.Expr, sp.Expr]]:
    """(mean, variance) of each part of the update, exact in q and n.

    Propagation noise: the two-neuron computation shows the cross term (j ≠ k) has zero mean, so the
    variance of the sum over the n − 1 other neurons is ξ-moment × Σ_j c_ij²/n² = (1 − q)/(q² n) · s² with
    s² = (1/n) Σ_{j≠i} c_ij².
    """
    parts = update_decomposition()
    out: dict[str, tuple[sp.Expr, sp.Expr]] = {}
    for name in ("random_metric", "self_term"):
        m = expect(parts[name])
        out[name] = (sp.factor(m), sp.factor(expect(parts[name] ** 2) - m**2))
    prop = parts["propagation_noise"]
    m = expect(prop)
    second = sp.expand(expect(prop**2))
    if sp.simplify(second.coeff(c_ij, 1).coeff(c_ik, 1)) != 0:  # pragma: no cover - algebra guard
        raise ArithmeticError("the propagation-noise cross term should vanish")
    # Σ_{j≠i} coeff·c_ij² = coeff · n s²
    out["propagation_noise"] = (sp.factor(m), sp.factor(second.coeff(c_ij, 2) * n * s2))
    return out


def covariance_random_metric_self() -> sp.Expr:
    """Cov(random metric, self term) = E[(ξ−1) · ξ(ξ−1)/n] g c_ii (the only nonzero cross-covariance)."""
    parts = update_decomposition()
    return sp.factor(expect(parts["random_metric"] * parts["self_term"]))


def horizon_orders() -> dict[str, sp.Expr]:
    """Accumulated size over t = kτ: t·mean for the self term's mean, tτ·variance for each fluctuation.

    Also ``"jump_size"`` τ/q (the size of one random-metric jump).
    """
    mom = part_moments()
    return {
        "jump_size": tau / q,
        "random_metric_variance": sp.factor(t * tau * mom["random_metric"][1] / g**2),
        "propagation_noise_variance": sp.factor(t * tau * mom["propagation_noise"][1] / s2),
        "self_term_mean": sp.factor(t * mom["self_term"][0] / c_self),
        "self_term_variance": sp.factor(t * tau * mom["self_term"][1] / c_self**2),
    }


def _exponent(expr: sp.Expr) -> sp.Expr:
    """Leading power of n in expr after τ = n^(−a), q = n^(−b), b > 0 (so 1 − q → 1)."""
    sub = expr.subs({tau: n ** (-a_exp), q: n ** (-b_exp), t: 1})
    sub = sp.simplify(sub.subs(1 - n ** (-b_exp), 1))
    sub = sp.expand_power_base(sp.powsimp(sp.expand(sub), force=True), force=True)
    return sp.simplify(sp.expand_log(sp.log(sub), force=True) / sp.log(n))


def horizon_exponents() -> dict[str, sp.Expr]:
    """Exponents e with (accumulated quantity) ≍ n^e, linear in (a, b); e.g. jump size b − a."""
    return dict(_horizon_exponents())


@lru_cache(maxsize=1)
def _horizon_exponents() -> tuple[tuple[str, sp.Expr], ...]:
    orders = horizon_orders()
    return tuple(
        {k: sp.expand(_exponent(v.subs(1 - q, 1) if k != "jump_size" else v)) for k, v in orders.items()}.items()
    )


def _fraction(value: Any, name: str) -> Fraction:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a rational number, got {value!r}")
    try:
        return Fraction(value)
    except (TypeError, ValueError, ZeroDivisionError):
        raise ValueError(f"{name} must be a rational number (int, Fraction or 'p/q'), got {value!r}") from None


def phase_from_exponents(a, b) -> str:
    """Phase read from the signs of the exponents alone (independent of classify_phase's case analysis).

    degenerate if any exponent is > 0 (or b < 0 is rejected); otherwise jumps iff the jump-size exponent is
    0, penalty iff the self-term-mean exponent is 0, noise of order one iff the propagation exponent is 0;
    discrete time iff a = 0.
    """
    A, B = sp.Rational(_fraction(a, "a")), sp.Rational(_fraction(b, "b"))
    e = {k: v.subs({a_exp: A, b_exp: B}) for k, v in _horizon_exponents()}
    if B < 0:
        raise ValueError(f"b must be >= 0, got {b!r}")
    if any(v > 0 for v in e.values()):
        return "degenerate"
    jumps = e["jump_size"] == 0
    penalty = e["self_term_mean"] == 0
    noise = e["propagation_noise_variance"] == 0
    if jumps and penalty and noise:
        return "critical"
    if penalty:
        return "penalized_flow"
    if jumps:
        return "bernoulli_jump" if A == 0 else "poisson_jump"
    return "gradient_flow"


_MC_KEYS = ("q", "n", "g", "c_ii", "c_ij", "c_ik")


def monte_carlo_part_moments(
    values: dict[str, float], *, num_samples: int = 200_000, generator: GeneratorLike = 0
) -> dict:
    """Monte Carlo (mean, variance) of each part of the update from sampled masks, for numeric values.

    Args:
        values: numbers for q, n, g, c_ii, c_ij, c_ik (keys are the symbol names "q", "n", "g", "c_ii",
            "c_ij", "c_ik").
        num_samples: number of mask triples (ξ_i, ξ_j, ξ_k).
        generator: numpy generator or int seed (default: seed 0).

    Returns:
        ``{part: (mc_mean, mc_var, exact_mean, exact_var)}``; exact values use s² = (c_ij² + c_ik²)/n, the
        two-neuron version of s².
    """
    import numpy as np

    if not isinstance(values, dict):
        raise TypeError(f"values must be a dict of numbers keyed by {list(_MC_KEYS)}, got {values!r}")
    missing = sorted(set(_MC_KEYS) - set(values))
    if missing:
        raise ValueError(f"values lacks the keys {missing}")
    values = {k: check_finite_number(values[k], f"values[{k!r}]") for k in _MC_KEYS}
    check_keep_prob(values["q"], "values['q']")
    check_positive(values["n"], "values['n']")
    num_samples = check_positive_int(num_samples, "num_samples", minimum=2)
    check_allocation(6 * num_samples, "the sampled masks", names=f"num_samples = {num_samples}")
    subs = {
        q: values["q"],
        n: values["n"],
        g: values["g"],
        c_self: values["c_ii"],
        c_ij: values["c_ij"],
        c_ik: values["c_ik"],
    }
    s2v = (values["c_ij"] ** 2 + values["c_ik"] ** 2) / values["n"]
    rng = numpy_generator(generator)
    xi = (rng.random((3, num_samples)) < values["q"]) / values["q"]
    parts, mom, out = update_decomposition(), part_moments(), {}
    for name in PARTS:
        f = sp.lambdify((xi_i, xi_j, xi_k), parts[name].subs(subs), "numpy")
        x = np.broadcast_to(f(*xi), xi.shape[1:])
        m, v = (float(e.subs(subs).subs(s2, s2v)) for e in mom[name])
        out[name] = (float(x.mean()), float(x.var()), m, v)
    return out
