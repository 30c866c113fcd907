"""Asymptotic rates of the gradient metrics, with their conditions, and the linear surrogate of a nonlinear network.

With k = L − l the distance from the output, each gradient metric behaves like C·λ^k far from the output. The
rates (per layer, λ < 1: decay away from the output, λ > 1: growth):

* one input, q̃_aa: λ = χ₁ with either backward pass (GIA: the recursion q̃^l = χ₁ q̃^{l+1}; realistic, linear
  networks: the theorem of :mod:`dropout_theory.symbolic.deep_linear`, whose T_k term decays like χ₁^{2k});
* a pair, q̃_ab: λ = χ_c under GIA; with the forward weights reused, λ = max(χ_c, χ₁²) for a linear network
  (σ_w² < ρ²: χ_c = σ_w²; σ_w² > ρ²: χ₁² = (σ_w²/ρ)²; σ_w² = ρ²: k·χ_c^k);
* the paper's eq. 13 norm metric ‖∂(E_a+E_b)/∂W^l‖²_F = ‖δ_a‖²‖x_a‖² + ‖δ_b‖²‖x_b‖² + 2(δ_a·δ_b)(x_a·x_b): the
  slower of its two parts, λ = χ₁ (χ_c ≤ ρχ₁ ≤ χ₁ by Cauchy–Schwarz).

Near criticality (χ₁ → 1) the realistic single-input metric carries a polynomial prefactor for about ξ_∇ layers: its
ratio to the GIA metric grows from 1 at the output to 1 + κ₁χ₁/(1 − χ₁) (κ₁ = 1/ρ for a linear network).

:func:`linear_surrogate` evaluates the linear theorem's assembly with a nonlinear network's χ₁, χ_c, q*, c* and
derivative moments (κ₁ = E φ'⁴/(ρ (E φ'²)²), κ_c = E φ'(u_a)²φ'(u_b)²/(E φ'²)²): exact for linear networks, a
free-independence heuristic for ReLU (a linear network with input-dependent masks), tested by simulation
(:mod:`.gradient_statistics`); saturating activations follow the GIA rates instead.
:func:`gradient_rates` tabulates the predicted rates at one parameter point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dropout_theory._checks import check_allocation, check_finite_number, check_positive, check_positive_int
from dropout_theory.deep_meanfield._validate import check_activation, check_params
from dropout_theory.deep_meanfield.depth_scales import depth_scale, depth_scales
from dropout_theory.deep_meanfield.quadrature import (
    KINKS,
    activation_deriv,
    bivariate_expectation,
    gaussian_expectation,
)
from dropout_theory.tables import Table, TabularResult

#: The gradient metrics: one input q̃_aa, a pair q̃_ab, and the paper's eq. 13 norm ‖∂(E_a+E_b)/∂W^l‖²_F / N².
METRICS = ("single", "pair", "norm")
#: Activations with φ(z) = φ'(z)·z, for which the network is a linear one with input-dependent masks.
HOMOGENEOUS = ("linear", "relu")


@dataclass(frozen=True)
class SurrogateParameters:
    """The numbers the linear surrogate needs at one parameter point.

    Attributes:
        chi_1, chi_c: the slopes χ₁ and χ_c at the fixed points.
        q_star, c_star: the fixed points.
        kappa_1: E φ'⁴ / (ρ (E φ'²)²) at q* (1/ρ for a linear network).
        kappa_c: E φ'(u_a)²φ'(u_b)² / (E φ'²)² at (q*, c*) (1 for a linear network).
    """

    chi_1: float
    chi_c: float
    q_star: float
    c_star: float
    kappa_1: float
    kappa_c: float


def surrogate_parameters(activation: str, sigma_w2: float, sigma_b2: float, keep_prob: float) -> SurrogateParameters:
    """χ₁, χ_c, q*, c*, κ₁ and κ_c by Gauss–Hermite quadrature (:class:`SurrogateParameters`)."""
    check_activation(activation)
    check_params(sigma_w2, sigma_b2, keep_prob)
    d = depth_scales(activation, sigma_w2, sigma_b2, keep_prob)
    dphi, kinks = activation_deriv(activation), KINKS[activation]
    qs, cs = float(d["q_star"]), float(d["c_star"])
    m2 = float(gaussian_expectation(lambda x: dphi(x) ** 2, qs, kinks=kinks))
    m4 = float(gaussian_expectation(lambda x: dphi(x) ** 4, qs, kinks=kinks))
    m22 = float(bivariate_expectation(lambda x: dphi(x) ** 2, lambda x: dphi(x) ** 2, qs, qs, cs, kinks=kinks))
    return SurrogateParameters(float(d["chi_1"]), float(d["chi_c"]), qs, cs, m4 / (keep_prob * m2**2), m22 / m2**2)


def linear_surrogate(
    activation: str, sigma_w2: float, sigma_b2: float, keep_prob: float, *, depth: int
) -> dict[str, np.ndarray]:
    """The linear theorem's gradient metrics with a nonlinear network's parameters, per layer (index 0 ↔ l = 1).

    With k = L − l, T_k = χ₁^{2k}(1 + κ₁k) (one input), T_{k+1} = χ_c² T_k + κ_c χ₁^{2k+2} (a pair), and the
    effective bias variances q*(1 − χ₁) and q*c*(1 − χ_c) (σ_b² for a linear network):

        q̃_aa = q*(1 − χ₁) Σ_{m<k} χ₁^{k−m} T_m + q* T_k,
        q̃_ab = q*c*(1 − χ_c) Σ_{m<k} χ_c^{k−m} T^pair_m + q*c* T^pair_k.

    For a linear network this is :func:`dropout_theory.symbolic.deep_linear.linear_gradient_theory` at the fixed
    points.

    Returns:
        ``{"single", "pair", "single_gia", "pair_gia"}``: (depth,) arrays; the GIA entries are q* χ₁^k and
        q*c* χ_c^k.
    """
    p = surrogate_parameters(activation, sigma_w2, sigma_b2, keep_prob)
    L = check_positive_int(depth, "depth")
    check_allocation(6 * L, "the (depth,) metrics", names=f"depth = {L}")
    ks = np.arange(L)
    T1 = p.chi_1 ** (2 * ks) * (1.0 + p.kappa_1 * ks)
    Tc = np.empty(L)
    Tc[0] = 1.0
    for j in range(L - 1):
        Tc[j + 1] = p.chi_c**2 * Tc[j] + p.kappa_c * p.chi_1 ** (2 * j + 2)
    qab = p.q_star * p.c_star
    single = np.array([p.q_star * (1 - p.chi_1) * np.sum(p.chi_1 ** (k - ks[:k]) * T1[:k]) + p.q_star * T1[k]
                       for k in ks])  # fmt: skip
    pair = np.array([qab * (1 - p.chi_c) * np.sum(p.chi_c ** (k - ks[:k]) * Tc[:k]) + qab * Tc[k] for k in ks])
    rev = slice(None, None, -1)  # k = L − l: layer index 0 is k = L − 1
    return {
        "single": single[rev],
        "pair": pair[rev],
        "single_gia": (p.q_star * p.chi_1**ks)[rev],
        "pair_gia": (qab * p.chi_c**ks)[rev],
    }


def realistic_gia_ratio(chi_1: float, kappa_1: float) -> float:
    """The far-from-output ratio of the realistic to the GIA single-input metric, 1 + κ₁χ₁/(1 − χ₁) (χ₁ < 1;
    ``inf`` for χ₁ >= 1, where the realistic metric does not decay)."""
    chi_1 = check_positive(chi_1, "chi_1", allow_zero=True)
    kappa_1 = check_finite_number(kappa_1, "kappa_1")
    return math.inf if chi_1 >= 1 else 1.0 + kappa_1 * chi_1 / (1.0 - chi_1)


@dataclass(frozen=True)
class RateRow:
    """One predicted rate.

    Attributes:
        metric: "single", "pair" or "norm".
        backward: "gia" or "realistic".
        rate: λ per layer away from the output (NaN where no mean rate is predicted).
        condition: the regime that selects it.
        basis: where it comes from (derivation or conjecture).
    """

    metric: str
    backward: str
    rate: float
    condition: str
    basis: str

    @property
    def xi(self) -> float:
        """The depth scale −1/ln λ (negative for growth)."""
        return float(depth_scale(self.rate)) if math.isfinite(self.rate) else math.nan


@dataclass(frozen=True)
class RateTable(TabularResult):
    """The predicted asymptotic rates of the gradient metrics at one parameter point (:func:`gradient_rates`).

    Attributes:
        activation, sigma_w2, sigma_b2, keep_prob: the parameter point.
        parameters: :class:`SurrogateParameters` there.
        rows: the rates.
    """

    activation: str
    sigma_w2: float
    sigma_b2: float
    keep_prob: float
    parameters: SurrogateParameters
    rows: tuple[RateRow, ...]

    def rate(self, metric: str, backward: str) -> float:
        """The predicted λ of one metric and backward pass."""
        return next(r.rate for r in self.rows if r.metric == metric and r.backward == backward)

    def table(self) -> Table:
        p = self.parameters
        title = (f"{self.activation}, sigma_w2 = {self.sigma_w2:g}, sigma_b2 = {self.sigma_b2:g}, "
                 f"keep_prob = {self.keep_prob:g}: chi_1 = {p.chi_1:.4f}, chi_c = {p.chi_c:.4f}, "
                 f"chi_1^2 = {p.chi_1**2:.4f}")  # fmt: skip
        rows = [(r.metric, r.backward, r.rate, r.xi, r.condition, r.basis) for r in self.rows]
        return Table.build(("metric", "backward", "rate per layer", "xi", "condition", "basis"), rows,
                           formats=("s", "s", ".4f", ".3g", "s", "s"), title=title)  # fmt: skip


def gradient_rates(activation: str, sigma_w2: float, sigma_b2: float, keep_prob: float) -> RateTable:
    """The predicted rate of every gradient metric under both backward passes at one parameter point.

    Linear networks get the theorem's rates. ReLU networks (φ(z) = φ'(z) z: a linear network with input-dependent
    masks) get the same formulas in χ₁ and χ_c, the linear surrogate's asymptotics, as a conjecture. Saturating
    activations (tanh, erf, hard tanh) get the GIA rates for the realistic pass too: what the book's simulations
    measure there (the surrogate, which assumes z^L = J z^l, does not describe them). Where χ₁ > 1 no mean rate is
    predicted for the realistic pair metric (its mean falls below its own noise).
    """
    p = surrogate_parameters(activation, sigma_w2, sigma_b2, keep_prob)
    c1, cc = p.chi_1, p.chi_c
    if activation in HOMOGENEOUS and c1 < 1:
        basis = "theorem (SymPy induction)" if activation == "linear" else "conjecture: linear surrogate"
        if activation == "linear":
            cond = ("sigma_w2 = rho^2 (k chi_c^k)" if math.isclose(sigma_w2, keep_prob**2, rel_tol=1e-12) else
                    "sigma_w2 < rho^2" if sigma_w2 < keep_prob**2 else "sigma_w2 > rho^2")  # fmt: skip
        else:
            cond = "chi_c > chi_1^2" if cc > c1**2 else "chi_c < chi_1^2"
        single = RateRow("single", "realistic", c1, "chi_1 < 1", basis)
        pair = RateRow("pair", "realistic", max(cc, c1**2), cond, basis)
    elif c1 < 1:
        single = RateRow("single", "realistic", c1, "saturating, chi_1 < 1", "simulation: as GIA")
        pair = RateRow("pair", "realistic", cc, "saturating, chi_1 < 1", "simulation: as GIA")
    else:
        single = RateRow("single", "realistic", c1, "chi_1 > 1 (growth)", "simulation: as GIA")
        pair = RateRow("pair", "realistic", math.nan, "chi_1 > 1: no mean rate", "simulation")
    rows = (
        RateRow("single", "gia", c1, "all", "GIA recursion"),
        single,
        RateRow("pair", "gia", cc, "all", "GIA recursion"),
        pair,
        RateRow("norm", "gia", c1, "all", "slower part (single)"),
        RateRow("norm", "realistic", c1, "all", "slower part (single)"),
    )
    return RateTable(activation, float(sigma_w2), float(sigma_b2), float(keep_prob), p, rows)
