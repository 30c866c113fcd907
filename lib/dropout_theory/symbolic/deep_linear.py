"""Gradient metrics of deep LINEAR dropout networks without the gradient-independence assumption (SymPy).

Set-up (as :mod:`dropout_theory.deep_meanfield.ensemble`): z^{l+1} = W^{l+1} D^l z^l + b^{l+1},
D^l = diag(m^l)/ρ, loss ½‖z^L‖², so the error at layer l is
δ^l = A_kᵀ z^L with A_k = W^L D^{L−1} ⋯ W^{l+1} D^l, k = L − l.
Writing z^L = A_k z^l + Σ_{j>l} A_{L←j} b^j, the metrics q̃^l = E‖δ^l‖²/N and q̃_ab^l = E δ_a^l·δ_b^l/N are
traces of products of the random matrices. In the wide limit the layers are asymptotically free, and the one
rule needed is the genus-zero Wick rule for a Gaussian W (variance s/N per entry) free from a, b, c, d:

    τ(W a Wᵀ b W c Wᵀ d) = s² [τ(a) τ(c) τ(bd) + τ(ac) τ(b) τ(d)].

Peeling one layer off the bottom of G_k = A_kᵀA_k (the induction from the last layer downwards) gives, with
E = D_a D_b (E = D² for one input, τ(E) = 1/ρ, τ(E²) = 1/ρ³; E = D_a D_b for two inputs with independent
masks, τ(E) = 1, τ(E²) = 1/ρ²) and τ(G_k) = (s/ρ)^k,

    T_{k+1} = s² [τ(E)² T_k + τ(E²) τ(G_k)²],   T_k = τ(G_{a,k} G_{b,k}),  T_0 = 1.

The functions below carry out this induction symbolically, solve the recursion in closed form, and assemble
the gradient metrics; :func:`linear_gradient_theory` evaluates them numerically, to compare with simulation.

**Finite width, exactly.** The assembly q̃^l = σ_b² Σ_m τ(P) T_{L−j} + q^l T_k holds at every width N with
T_k = E τ(G_{a,k} G_{b,k}) and q^l the ensemble mean (the bias vectors and z^l are independent of the layers above,
E BBᵀ is exactly τ(P)·I, and sign flips of W^{l+1}'s columns remove the off-diagonal terms). All finite-width
effects are in T_k, and Wick's theorem — all three pairings of the four W's of a peeled layer, not only the two
planar ones — gives an exact linear recursion for the pair (U_k, T_k) with U_k = E τ(G_{a,k}) τ(G_{b,k}):

    U_{k+1} = s² [E τ(D_a²)τ(D_b²) U_k + 2 E τ(E²) T_k / N²],
    T_{k+1} = s² [E τ(E²) U_k + (E τ(E)² + E τ(E²)/N) T_k],

with the exact mask moments at width N (one input: E τ(D²)² = ρ⁻² + (1 − ρ)/(ρ³N); a pair with independent masks:
E τ(D_a²)τ(D_b²) = ρ⁻², E τ(E)² = 1 + (ρ⁻² − 1)/N). :func:`finite_width_step` is this map,
:func:`T_finite_width` iterates it, and :func:`first_order_width_correction` solves its 1/N part in closed form:
T_k = T_k^∞ (1 + c_k/N + O(N⁻²)) with c_k growing linearly in k.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import sympy as sp

from dropout_theory._checks import (
    as_tensor,
    check_allocation,
    check_keep_prob,
    check_positive,
    check_positive_int,
    check_symbolic_size,
    check_sympy,
)

s, rho, sigma_b2, k = sp.symbols("sigma_w^2 rho sigma_b^2 k", positive=True)
N = sp.symbols("N", positive=True)  # the width


def mask_moments(pair: bool) -> tuple[sp.Expr, sp.Expr]:
    """(τ(E), τ(E²)) of E = D_a D_b: one input (E = D²) or two inputs with independent masks."""
    if pair:
        return sp.Integer(1), 1 / rho**2
    return 1 / rho, 1 / rho**3


def induction_step(T: sp.Expr, tau_G: sp.Expr, pair: bool) -> sp.Expr:
    """T_{k+1} from T_k and τ(G_k) by the free Wick rule (one layer peeled off the bottom)."""
    check_sympy(T, "T"), check_sympy(tau_G, "tau_G")
    tE, tE2 = mask_moments(pair)
    return sp.expand(s**2 * (tE**2 * T + tE2 * tau_G**2))


def induction_table(n_layers: int, pair: bool) -> list[sp.Expr]:
    """T_0, …, T_{n_layers} by explicit layer-by-layer induction (factored)."""
    n_layers = check_symbolic_size(n_layers, "n_layers", minimum=0, maximum=30)
    T, out = sp.Integer(1), [sp.Integer(1)]
    for j in range(n_layers):
        T = induction_step(T, (s / rho) ** j, pair)
        out.append(sp.factor(T))
    return out


def closed_form_T(pair: bool) -> sp.Expr:
    """The closed form of T_k: (s/ρ)^{2k}(1 + k/ρ) for one input, s^{2k} Σ_{i=0}^{k} ρ^{−2i} for a pair.

    Obtained by solving the induction with :func:`sympy.rsolve` (for ρ ≠ 1).
    """
    T = sp.Function("T")
    tE, tE2 = mask_moments(pair)
    rec = T(k + 1) - s**2 * (tE**2 * T(k) + tE2 * (s / rho) ** (2 * k))
    sol = sp.rsolve(rec, T(k), {T(0): 1})
    return sp.simplify(sol)


def check_closed_form(pair: bool, n_layers: int = 6) -> bool:
    """Whether the closed form reproduces the explicit induction for k = 0..n_layers (exact SymPy zero)."""
    n_layers = check_symbolic_size(n_layers, "n_layers", minimum=0, maximum=30)
    table = induction_table(n_layers, pair)
    cf = closed_form_T(pair)
    return all(sp.simplify(cf.subs(k, j) - table[j]) == 0 for j in range(n_layers + 1))


def T_numeric(k_max: int, sigma_w2: float, keep_prob: float, *, pair: bool, width: int | None = None) -> np.ndarray:
    """T_0..T_{k_max} as floats: the wide limit (``width=None``; by the recursion, valid also at ρ = 1) or exactly
    at a finite width (:func:`T_finite_width`)."""
    k_max = check_positive_int(k_max, "k_max", minimum=0)
    check_allocation(k_max + 1, "the (k_max + 1,) table", names=f"k_max = {k_max}")
    sigma_w2, keep_prob = check_positive(sigma_w2, "sigma_w2"), check_keep_prob(keep_prob)
    if width is not None:
        return T_finite_width(k_max, sigma_w2, keep_prob, width=width, pair=pair)
    tE, tE2 = (1.0, 1.0 / keep_prob**2) if pair else (1.0 / keep_prob, 1.0 / keep_prob**3)
    out = np.empty(k_max + 1)
    out[0] = 1.0
    for j in range(k_max):
        out[j + 1] = sigma_w2**2 * (tE**2 * out[j] + tE2 * (sigma_w2 / keep_prob) ** (2 * j))
    return out


def finite_width_step(pair: bool) -> sp.Matrix:
    """The exact one-layer map (U_k, T_k) ↦ (U_{k+1}, T_{k+1}) at width N (module docstring), as a 2×2 matrix.

    U_k = E τ(G_{a,k})τ(G_{b,k}) and T_k = E τ(G_{a,k}G_{b,k}) (a = b for one input); U_0 = T_0 = 1.
    """
    if pair:
        tDD, tE2, tE_sq = 1 / rho**2, 1 / rho**2, 1 + (1 / rho**2 - 1) / N
    else:
        tDD, tE2, tE_sq = 1 / rho**2 + (1 - rho) / (rho**3 * N), 1 / rho**3, 1 / rho**2 + (1 - rho) / (rho**3 * N)
    return s**2 * sp.Matrix([[tDD, 2 * tE2 / N**2], [tE2, tE_sq + tE2 / N]])


def T_finite_width(k_max: int, sigma_w2: float, keep_prob: float, *, width: int, pair: bool) -> np.ndarray:
    """T_0..T_{k_max} exactly at width N = ``width`` (all orders in 1/N), by iterating :func:`finite_width_step`."""
    k_max = check_positive_int(k_max, "k_max", minimum=0)
    check_allocation(k_max + 1, "the (k_max + 1,) table", names=f"k_max = {k_max}")
    sigma_w2, keep_prob = check_positive(sigma_w2, "sigma_w2"), check_keep_prob(keep_prob)
    width = check_positive_int(width, "width")
    M = np.array(finite_width_step(pair).subs({s: sigma_w2, rho: keep_prob, N: width}).evalf(), dtype=np.float64)
    out = np.empty(k_max + 1)
    v = np.ones(2)
    out[0] = 1.0
    for j in range(k_max):
        v = M @ v
        out[j + 1] = v[1]
    return out


@lru_cache(maxsize=2)
def first_order_width_correction(pair: bool) -> sp.Expr:
    """c_k in T_k = T_k^∞ (1 + c_k/N + O(N⁻²)), in closed form (the 1/N part of :func:`finite_width_step` solved
    with :func:`sympy.rsolve`, for ρ ≠ 1).

    Writing U_k = u_k + u'_k/N, T_k = t_k + t'_k/N, the order-1/N recursions are driven by the wide-limit solution
    (u_k = (s/ρ)^{2k} or s^{2k}, t_k = :func:`closed_form_T`); c_k = t'_k/t_k.
    """
    step = finite_width_step(pair)
    M0 = step.applyfunc(lambda e: sp.limit(e, N, sp.oo))
    M1 = step.applyfunc(lambda e: sp.limit(N * (e - sp.limit(e, N, sp.oo)), N, sp.oo))
    j = sp.Dummy("j", integer=True, nonnegative=True)

    def driven(lam: sp.Expr, f: sp.Expr) -> sp.Expr:  # y_{k+1} = λ y_k + f_k, y_0 = 0
        return sp.simplify(sp.summation(lam ** (k - 1 - j) * f.subs(k, j), (j, 0, k - 1)))

    u = (s / rho) ** (2 * k)  # E τ(G_a)τ(G_b) in the wide limit, for one input and for a pair
    t = closed_form_T(pair)
    u1 = driven(M0[0, 0], M1[0, 0] * u + M1[0, 1] * t)
    t1 = driven(M0[1, 1], M0[1, 0] * u1 + M1[1, 0] * u + M1[1, 1] * t)
    c = sp.simplify(t1 / t)
    if isinstance(c, sp.Piecewise):  # the sums are geometric in ρ^{-2}: keep the branch ρ ≠ 1
        c = c.args[-1][0]
    return sp.factor(sp.simplify(c))


def linear_gradient_theory(
    sigma_w2: float,
    sigma_b2: float,
    keep_prob: float,
    q_layers: np.ndarray,
    q_ab_layers: np.ndarray | None = None,
    *,
    width: int | None = None,
) -> dict[str, np.ndarray]:
    """Gradient metrics of a linear dropout network of depth L = len(q_layers), per layer: in the wide limit, or
    exactly at width ``width`` (the same assembly with :func:`T_finite_width`; ``q_layers`` are then the ensemble
    means, which the linear maps give exactly at any width).

    Realistic (same weights backward), with k = L − l and τ(P) = (s/ρ)^{j−l} (one input) or s^{j−l} (pair):

        q̃^l = σ_b² Σ_{j=l+1}^{L} τ(P_{j←l}) T_{L−j} + q^l T_{L−l},

    and under the gradient-independence assumption q̃^l = q^L (s/ρ)^{L−l}, q̃_ab^l = q_ab^L s^{L−l}.

    Args:
        sigma_w2, sigma_b2, keep_prob: network parameters.
        q_layers: (L,) lengths q^1..q^L of the input (theory or measured means).
        q_ab_layers: (L,) covariances q_ab^1..q_ab^L of the pair, or None.
        width: hidden width N, or None for the wide limit.

    Returns:
        Dict of (L,) arrays: "single" and "single_gia", plus "pair" and "pair_gia" when q_ab_layers is given.
    """
    sigma_w2, keep_prob = check_positive(sigma_w2, "sigma_w2"), check_keep_prob(keep_prob)
    sigma_b2 = check_positive(sigma_b2, "sigma_b2", allow_zero=True)
    q_layers = as_tensor(q_layers, "q_layers", ndim=1).cpu().numpy()
    if q_ab_layers is not None:
        q_ab_layers = as_tensor(q_ab_layers, "q_ab_layers", ndim=1).cpu().numpy()
        if q_ab_layers.shape != q_layers.shape:
            raise ValueError(f"q_ab_layers must match q_layers, got shapes {q_ab_layers.shape} and {q_layers.shape}")
    if q_layers.size == 0:
        raise ValueError("q_layers must hold at least one layer")
    L = q_layers.shape[0]
    out: dict[str, np.ndarray] = {}
    ks = L - 1 - np.arange(L)  # k = L − l for l = 1..L (index 0 ↔ l = 1)
    for name, qv, per_layer, pair in (
        ("single", q_layers, sigma_w2 / keep_prob, False),
        ("pair", q_ab_layers, sigma_w2, True),
    ):
        if qv is None:
            continue
        qv = np.asarray(qv, dtype=np.float64)
        T = T_numeric(L, sigma_w2, keep_prob, pair=pair, width=width)
        vals = np.empty(L)
        for i, kk in enumerate(ks):
            m = np.arange(kk)  # m = L − j for j = l+1..L
            vals[i] = sigma_b2 * np.sum(per_layer ** (kk - m) * T[m]) + qv[i] * T[kk]
        out[name] = vals
        out[f"{name}_gia"] = qv[-1] * per_layer**ks
    return out
