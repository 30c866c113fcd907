"""Which limit the dropout particle system approaches: the phase map in the (a, b) plane (our derivation).

Scaling. Take τ_n = τ₀ n^(−a) (master learning rate) and q_n = q₀ n^(−b) (keep rate), with constants
τ₀ > 0, 0 < q₀ ≤ 1. Over a horizon of mean-field time t (k = t/τ steps) the three parts of the dropout update
(moments in :mod:`dropout_theory.symbolic.phase`) have these sizes:

* **random metric** — particle i jumps with probability q per step, by (τ/q)·(drift): about tq/τ jumps of
  size τ/q. Its accumulated fluctuation has variance t·τ(1 − q)/q, of order n^(b − a).
* **propagation noise** — the other neurons' masks in the forward pass: per jump a kick of variance
  (τ/q)²(1 − q)/(nq), over tq/τ jumps a total of order tτ/(nq²) = n^(2b − a − 1).
* **self term** — the neuron's own mask in the forward pass: per jump a deterministic kick
  (τ/q)(1 − q)/(nq)·Dφᵀφ, over tq/τ jumps a drift t(1 − q)/(nq) of order n^(b − 1): the penalty.

Reading the exponents (b ≥ 0 since q ≤ 1):

* b > min(a, 1) → **degenerate**: if b > a the jumps τ/q blow up (n^(b−a) → ∞); if b > 1 the self term
  blows up (1/(nq) → ∞, fewer than one neuron is kept in the forward pass). a < 0 (τ → ∞) falls here too.
* b < 1 and a > b → **gradient_flow**: jumps vanish, the noise vanishes (2b − a − 1 < 0 because b < 1 and
  b < a), the penalty vanishes: Wasserstein gradient flow.
* b < 1 and a = b > 0 → **poisson_jump**: τ/q → c = τ₀/q₀ and τ → 0; jumps of size c at Poisson rate 1/c.
* a = b = 0 → **bernoulli_jump**: τ and q fixed; discrete time, each neuron rings with probability q.
* b = 1 and a > 1 → **penalized_flow**: nq → ν = q₀, penalty κ = 1/ν survives, jumps and noise vanish
  (2b − a − 1 = 1 − a < 0).
* a = b = 1 → **critical**: τ ~ q ~ 1/n; jumps of size c = τ₀/q₀, penalty 1/q₀ and propagation noise
  (exponent 2b − a − 1 = 0) all of order one.

So the nondegenerate set is 0 ≤ b ≤ min(a, 1): the open region 0 ≤ b < 1, a > b (gradient flow), the ray
b = 1, a > 1 (penalized flow), the open segment a = b ∈ (0, 1) (Poisson jumps) and the two corners (0, 0)
(Bernoulli jumps) and (1, 1) (critical). The boundary tests use exact rational arithmetic
(:class:`fractions.Fraction`), so a = b = 1/3 given as ``"1/3"`` or ``Fraction(1, 3)`` is classified exactly.

Floats are rounded before the comparison (:func:`as_exponent`): a float x is replaced by the fraction p/r with the
smallest denominator among all fractions within 10⁻¹² of it, provided r ≤ 10⁶, and kept as its exact binary value
otherwise. So ``0.1 + 0.2`` (which is 0.30000000000000004) counts as 3/10 and ``1/3`` as 1/3: a float computed from
a rational lands on the boundary it was meant to be on, while exponents 10⁻⁹ apart stay apart. Pass a ``Fraction``
or a string like ``"3/10"`` to avoid any rounding.

The paper (arXiv:2510.07554) reports five nondegenerate phases depending on the relative sizes of the
dropout rate, learning rate and width; the map above is our reconstruction from the update rule.
"""

from __future__ import annotations

import math
import numbers
from fractions import Fraction
from typing import Any

from dropout_theory._checks import check_keep_prob, check_positive

#: A float is taken to be the simplest fraction within this distance of it (when its denominator is at most 10⁶).
FLOAT_TOLERANCE = 1e-12
_MAX_DENOMINATOR = 10**6

#: The possible answers of :func:`classify_phase`, nondegenerate phases first.
PHASES: tuple[str, ...] = (
    "gradient_flow",
    "penalized_flow",
    "poisson_jump",
    "bernoulli_jump",
    "critical",
    "degenerate",
)


def _simplest_between(lo: Fraction, hi: Fraction) -> Fraction:
    """The fraction with the smallest denominator in [lo, hi] (continued-fraction descent; lo <= hi)."""
    whole = math.floor(lo)
    if whole == lo or whole + 1 <= hi:
        return Fraction(whole if whole == lo else whole + 1)
    return whole + 1 / _simplest_between(1 / (hi - whole), 1 / (lo - whole))


def _rational_float(x: float) -> Fraction:
    """The simplest fraction within 10⁻¹² of x when its denominator is at most 10⁶, else x exactly."""
    exact = Fraction(x)
    tol = Fraction(FLOAT_TOLERANCE)
    near = _simplest_between(exact - tol, exact + tol)
    return near if near.denominator <= _MAX_DENOMINATOR else exact


def as_exponent(value: Any, name: str = "a") -> Fraction:
    """An exponent as an exact fraction, the way :func:`classify_phase` reads it.

    Args:
        value: an int, a ``Fraction`` or other exact rational (SymPy's too), a string such as ``"5/4"`` or ``"0.3"``
            (read exactly), or a float: the simplest fraction within 10⁻¹² of it when its denominator is at most
            10⁶ (so ``0.1 + 0.2`` is 3/10 and ``1/3`` is 1/3), else its exact binary value.
        name: the argument's name in error messages.

    Returns:
        The :class:`fractions.Fraction`.

    Raises:
        ValueError: a non-numeric, boolean or non-finite value.
    """
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    try:
        if isinstance(value, Fraction | numbers.Rational):
            return Fraction(int(value.numerator), int(value.denominator))
        if isinstance(value, str):
            return Fraction(value.strip())
        if hasattr(value, "p") and hasattr(value, "q"):  # sympy.Rational
            return Fraction(int(value.p), int(value.q))
        x = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        raise ValueError(f"{name} must be a real number (int, float, Fraction or 'p/q'), got {value!r}") from None
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x!r}")
    return _rational_float(x)


def classify_phase(a: Any, b: Any) -> str:
    """Phase of dropout training for τ_n = n^(−a), q_n = n^(−b) as the width n → ∞ (module docstring).

    Args:
        a: learning-rate exponent a = lim log(1/τ)/log n (any real; a < 0 means τ → ∞): an int, a ``Fraction`` or
            other exact rational (SymPy's too), a string such as ``"5/4"``, or a float (rounded to the nearest
            fraction within 10⁻¹² when its denominator is at most 10⁶, see :func:`as_exponent`).
        b: keep-rate exponent b = lim log(1/q)/log n, b >= 0 (q ≤ 1), given like ``a``.

    Returns:
        One of :data:`PHASES`: "gradient_flow", "penalized_flow", "poisson_jump", "bernoulli_jump",
        "critical" or "degenerate".

    Raises:
        ValueError: non-numeric or non-finite input, or b < 0 (a keep rate above 1).
    """
    A = as_exponent(a, "a")
    B = as_exponent(b, "b")
    if B < 0:
        raise ValueError(f"b must be >= 0 (q = n^(-b) is a keep rate in (0, 1]), got {b!r}")
    if B > min(A, Fraction(1)):
        return "degenerate"
    if B == 1:
        return "critical" if A == 1 else "penalized_flow"
    if A == B:
        return "bernoulli_jump" if A == 0 else "poisson_jump"
    return "gradient_flow"


def limit_parameters(a: Any, b: Any, *, tau0: float = 1.0, keep0: float = 1.0) -> dict[str, float | str]:
    """The phase and the constants of its limit for τ_n = τ₀ n^(−a), q_n = q₀ n^(−b).

    Args:
        a: learning-rate exponent.
        b: keep-rate exponent (>= 0).
        tau0: τ₀ > 0.
        keep0: q₀ in (0, 1].

    Returns:
        ``{"phase": ..., }`` plus, where they are finite and nonzero: ``"jump_size"`` c = lim τ/q (jump
        phases), ``"penalty"`` κ = lim (1 − q)/(qn) (penalized flow, critical corner), ``"mean_kept"``
        ν = lim nq (critical corner), ``"tau"`` and ``"keep_prob"`` (Bernoulli jumps, fixed).
    """
    tau0 = check_positive(tau0, "tau0")
    keep0 = check_keep_prob(keep0, "keep0")
    phase = classify_phase(a, b)
    out: dict[str, float | str] = {"phase": phase}
    if phase in ("poisson_jump", "bernoulli_jump", "critical"):
        out["jump_size"] = tau0 / keep0
    if phase in ("penalized_flow", "critical"):
        out["penalty"] = 1.0 / keep0
        out["mean_kept"] = keep0
    if phase == "bernoulli_jump":
        out["tau"] = tau0
        out["keep_prob"] = keep0
    return out
