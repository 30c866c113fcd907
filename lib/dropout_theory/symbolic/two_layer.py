"""SymPy derivations for the two-layer dropout network (SME paper §§3–5.1), displayed in part I.

* :func:`bernoulli_moments` — moments of the dropout multiplier δ ∈ {0, 1/p} and of ε = δ − 1, with the
  two-point identity ε² − v = ((1 − 2p)/p) ε that makes the noise sampler cheap.
* :func:`expectation_over_masks` — exact E_δ of a polynomial in independent multipliers δ_1, …, δ_m.
* :func:`modified_loss_derivation` — E_δ R^drop for a symbolic network equals L_S (eq. 7).
* :func:`covariance_blocks` — every block Σ_kr of the dropout-gradient covariance for a symbolic network
  (one data point, one input feature), derived by exact expectation and checked against the closed form
  Σ = v Σ_j S_j S_jᵀ + v² Σ_{k<r} T_kr T_krᵀ used by :mod:`dropout_theory.two_layer`.
* :func:`per_example_derivation` — the covariance and second moment of one example's dropout gradient under its
  own mask (the per-example convention), and what the paper's eq. 17 (Σ̃, §5.2) keeps of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from dropout_theory._checks import check_symbolic_size, check_sympy

p = sp.Symbol("p", positive=True)
#: v = Var δ = (1 − p)/p.
v = (1 - p) / p


def bernoulli_moments() -> dict[str, sp.Expr]:
    """Moments of δ (P(δ = 1/p) = p, P(δ = 0) = 1 − p) and of ε = δ − 1, simplified.

    Returns:
        ``{"E delta", "E delta^2", "Var", "mu3", "mu4", "identity"}``: the mean and second moment of δ,
        v = Var ε, the third and fourth central moments, and ε² − v − ((1 − 2p)/p)ε evaluated on both
        support points (a tuple of two zeros).
    """
    support = [(1 / p, p), (sp.Integer(0), 1 - p)]

    def E(f):
        return sp.simplify(sum(w * f(x) for x, w in support))

    var = E(lambda x: (x - 1) ** 2)
    identity = tuple(sp.simplify((x - 1) ** 2 - var - (1 - 2 * p) / p * (x - 1)) for x, _ in support)
    return {
        "E delta": E(lambda x: x),
        "E delta^2": E(lambda x: x**2),
        "Var": var,
        "mu3": sp.factor(E(lambda x: (x - 1) ** 3)),
        "mu4": sp.factor(E(lambda x: (x - 1) ** 4)),
        "identity": identity,
    }


def expectation_over_masks(expr: sp.Expr, deltas: list[sp.Symbol]) -> sp.Expr:
    """Exact E over independent δ_r ∈ {0, 1/p} of a polynomial in ``deltas`` (E δ^j = p^{1−j}, j ≥ 1)."""
    check_sympy(expr, "expr")
    if isinstance(deltas, str) or not isinstance(deltas, list | tuple) or not deltas:
        raise TypeError(f"deltas must be a non-empty list of SymPy symbols, got {deltas!r}")
    for dl in deltas:
        if not isinstance(dl, sp.Symbol):
            raise TypeError(f"deltas must hold SymPy symbols, got {type(dl).__name__} {dl!r}")
    poly = sp.Poly(sp.expand(expr), *deltas)
    total = sp.Integer(0)
    for powers, coeff in poly.terms():
        term = coeff
        for j in powers:
            if j > 0:
                term *= p ** (1 - j)
        total += term
    return sp.simplify(total)


@dataclass(frozen=True)
class ModifiedLossDerivation:
    """E_δ of the dropout risk of a symbolic network.

    Attributes:
        dropout_risk: R^drop for one data point, ½(Σ_r δ_r a_r h_r − y)².
        expectation: E_δ R^drop, simplified.
        modified_loss: L_S = ½(Σ_r a_r h_r − y)² + (1 − p)/(2p) Σ_r a_r² h_r² (eq. 7, one data point).
        difference: expectation − modified_loss, simplified (zero).
    """

    dropout_risk: sp.Expr
    expectation: sp.Expr
    modified_loss: sp.Expr
    difference: sp.Expr


def modified_loss_derivation(m: int = 3) -> ModifiedLossDerivation:
    m = check_symbolic_size(m, "m", maximum=6)  # 2^m mask terms
    """Derive L_S = E_δ R^drop for a width-``m`` network at one data point (h_r = σ(w_r·x))."""
    a = sp.symbols(f"a_1:{m + 1}", real=True)
    h = sp.symbols(f"h_1:{m + 1}", real=True)
    d = sp.symbols(f"delta_1:{m + 1}", positive=True)
    y = sp.Symbol("y", real=True)
    risk = sp.Rational(1, 2) * (sum(di * ai * hi for di, ai, hi in zip(d, a, h, strict=True)) - y) ** 2
    expectation = expectation_over_masks(risk, list(d))
    e = sum(ai * hi for ai, hi in zip(a, h, strict=True)) - y
    ls = sp.Rational(1, 2) * e**2 + (1 - p) / (2 * p) * sum(ai**2 * hi**2 for ai, hi in zip(a, h, strict=True))
    return ModifiedLossDerivation(risk, expectation, ls, sp.simplify(sp.expand(expectation - ls)))


@dataclass(frozen=True)
class CovarianceDerivation:
    """Blocks of Σ for a symbolic width-m network at one data point with one input feature x.

    Attributes:
        gradient: list of the 2m components of ∇_θ R^drop, ordered (a_1, w_1, …, a_m, w_m).
        sigma: the 2m×2m covariance matrix derived by exact expectation over δ.
        closed_form: the same matrix from Σ = v Σ_j S_j S_jᵀ + v² Σ_{k<r} T_kr T_krᵀ.
        difference: sigma − closed_form, simplified (zero matrix).
        symbols: the symbols used (a_r, h_r = σ(w_r x), s_r = σ'(w_r x), x, y).
    """

    gradient: list[sp.Expr]
    sigma: sp.Matrix
    closed_form: sp.Matrix
    difference: sp.Matrix
    symbols: dict[str, tuple[sp.Symbol, ...] | sp.Symbol]

    def block(self, k: int, r: int) -> sp.Matrix:
        """The 2×2 block Σ_kr (1-based neuron indices), factored entry by entry."""
        return self.sigma[2 * (k - 1) : 2 * k, 2 * (r - 1) : 2 * r].applyfunc(sp.factor)


def covariance_blocks(m: int = 3) -> CovarianceDerivation:
    """Derive Σ_kr = Cov(∇_{q_k} R^drop, ∇_{q_r} R^drop) symbolically and check it against the closed form.

    One data point (x, y), one input feature, scalar output: q_k = (a_k, w_k), h_k = σ(w_k x),
    s_k = σ'(w_k x). With e = Σ_r a_r h_r − y: E_k = (h_k e, a_k s_k x e) and G_kr = (h_k h_r a_r,
    s_k a_k a_r h_r x).
    """
    m = check_symbolic_size(m, "m", minimum=2, maximum=4)  # D² entries of 2^m mask terms each
    a = sp.symbols(f"a_1:{m + 1}", real=True)
    h = sp.symbols(f"h_1:{m + 1}", real=True)
    s = sp.symbols(f"s_1:{m + 1}", real=True)
    d = sp.symbols(f"delta_1:{m + 1}", positive=True)
    x, y = sp.symbols("x y", real=True)
    e_drop = sum(d[r] * a[r] * h[r] for r in range(m)) - y
    grad: list[sp.Expr] = []
    for k in range(m):
        grad += [d[k] * h[k] * e_drop, d[k] * a[k] * s[k] * x * e_drop]
    mean = [expectation_over_masks(g, list(d)) for g in grad]
    D = 2 * m
    sigma = sp.zeros(D, D)
    for i in range(D):
        for j in range(i, D):
            val = expectation_over_masks(grad[i] * grad[j], list(d)) - mean[i] * mean[j]
            sigma[i, j] = sigma[j, i] = sp.simplify(val)
    e = sum(a[r] * h[r] for r in range(m)) - y

    def G(k, r):
        return sp.Matrix([h[k] * h[r] * a[r], s[k] * a[k] * a[r] * h[r] * x])

    def E(k):
        return sp.Matrix([h[k] * e, a[k] * s[k] * x * e])

    closed = sp.zeros(D, D)
    for j in range(m):
        Sj = sp.zeros(D, 1)
        for k in range(m):
            Sj[2 * k : 2 * k + 2, 0] = E(k) + v * G(k, k) if k == j else G(k, j)
        closed += v * Sj * Sj.T
    for k in range(m):
        for r in range(k + 1, m):
            T = sp.zeros(D, 1)
            T[2 * k : 2 * k + 2, 0] = G(k, r)
            T[2 * r : 2 * r + 2, 0] = G(r, k)
            closed += v**2 * T * T.T
    diff = (sigma - closed).applyfunc(lambda z: sp.simplify(sp.expand(z)))
    return CovarianceDerivation(grad, sigma, closed, diff, {"a": a, "h": h, "s": s, "x": x, "y": y})


@dataclass(frozen=True)
class PerExampleDerivation:
    """The dropout gradient of ONE example with its own mask, and the paper's eq. 17 approximation of it.

    For a scalar output, example i's dropout gradient is g_r = e(δ) δ_r J_r, with e(δ) = e + Σ_k (δ_k − 1) c_k the
    masked residual, c_k = a_k σ(w_k·x_i) the contribution of neuron k and J_r = ∇_{q_r}(a_r σ(w_r·x_i)). Every
    moment is therefore a scalar coefficient times J_r J_sᵀ; these are m×m matrices of such coefficients. The
    closed forms are written with the symbols v, μ₃, μ₄ (variance, third and fourth central moments of δ) and
    Q = Σ_k c_k².

    Attributes:
        covariance: κ_rs = Cov(e(δ)δ_r, e(δ)δ_s), by exact expectation over the masks.
        covariance_closed_form: κ written out: r ≠ s: v e (c_r + c_s) + v Q + μ₃ (c_r² + c_s²) + v² c_r c_s;
            r = s: v e² + 2 e (v + μ₃) c_r + v (1 + v) Q + (2μ₃ + μ₄ − 2v²) c_r².
        second_moment: ω_rs = E[e(δ)² δ_r δ_s] (the covariance plus the outer product of the mean e + v c_r).
        eq17: the coefficients of the paper's Σ̃ for this example, l₁ + [r = s] v l₂ with l₁ = e² + v Q, l₂ = e².
        remainder: ω − eq17 written out: r ≠ s: 2 v e (c_r + c_s) + μ₃ (c_r² + c_s²) + 2 v² c_r c_s;
            r = s: 2 e (2v + μ₃) c_r + (2μ₃ + μ₄ − v²) c_r² + v² Q.
        checks: the three differences (exact covariance − its closed form, ω − eq17 − remainder, and
            ω − κ − mean meanᵀ) after substituting v, μ₃, μ₄, simplified: zero matrices.
        symbols: c_1..c_m, e, Q, v, mu_3, mu_4.
    """

    covariance: sp.Matrix
    covariance_closed_form: sp.Matrix
    second_moment: sp.Matrix
    eq17: sp.Matrix
    remainder: sp.Matrix
    checks: tuple[sp.Matrix, sp.Matrix, sp.Matrix]
    symbols: dict[str, tuple[sp.Symbol, ...] | sp.Symbol]


def per_example_derivation(m: int = 3) -> PerExampleDerivation:
    """Moments of one example's dropout gradient (its own mask) and their relation to eq. 17's Σ̃.

    With per-example masks the n examples' gradients are independent, so the covariance of the full-batch dropout
    gradient is Σ_pe = (1/n²) Σ_i κ^{(i)} ∘ (J_i J_iᵀ) (blockwise), while eq. 17 reads
    Σ̃ = (1/n) Σ_i [l_{i,1} J_i J_iᵀ + l_{i,2} v BD(J_i J_iᵀ)]. The remainder shows that Σ̃ keeps, of the second
    moment ω, exactly the terms in e² and Q = Σ_k c_k² at first order in v: it drops the terms carrying single
    contributions c_r (one neuron's share, small against Q for a wide layer) and the v² Q diagonal term, and, being
    a second moment rather than a covariance, it keeps the e² J Jᵀ of the mean gradient.
    """
    m = check_symbolic_size(m, "m", maximum=6)  # 2^m mask terms
    c = sp.symbols(f"c_1:{m + 1}", real=True)
    d = sp.symbols(f"delta_1:{m + 1}", positive=True)
    e, Q = sp.symbols("e Q", real=True)
    vs, m3, m4 = sp.symbols("v mu_3 mu_4", real=True)
    mom = bernoulli_moments()
    values = {vs: v, m3: mom["mu3"], m4: mom["mu4"]}
    e_drop = e + sum((d[k] - 1) * c[k] for k in range(m))
    factor = [e_drop * d[r] for r in range(m)]
    mean = sp.Matrix(m, 1, [expectation_over_masks(f, list(d)) for f in factor])
    second = sp.zeros(m, m)
    for r in range(m):
        for s in range(r, m):
            second[r, s] = second[s, r] = expectation_over_masks(factor[r] * factor[s], list(d))
    cov = (second - mean * mean.T).applyfunc(lambda z: sp.simplify(sp.expand(z)))

    def closed(r: int, s: int) -> sp.Expr:
        if r == s:
            return vs * e**2 + 2 * e * (vs + m3) * c[r] + vs * (1 + vs) * Q + (2 * m3 + m4 - 2 * vs**2) * c[r] ** 2
        return vs * e * (c[r] + c[s]) + vs * Q + m3 * (c[r] ** 2 + c[s] ** 2) + vs**2 * c[r] * c[s]

    def rest(r: int, s: int) -> sp.Expr:
        if r == s:
            return 2 * e * (2 * vs + m3) * c[r] + (2 * m3 + m4 - vs**2) * c[r] ** 2 + vs**2 * Q
        return 2 * vs * e * (c[r] + c[s]) + m3 * (c[r] ** 2 + c[s] ** 2) + 2 * vs**2 * c[r] * c[s]

    covariance_closed = sp.Matrix(m, m, closed)
    eq17 = sp.Matrix(m, m, lambda r, s: e**2 + vs * Q + (vs * e**2 if r == s else 0))
    remainder = sp.Matrix(m, m, rest)
    subs = {**values, Q: sum(ck**2 for ck in c)}

    def zero(mat: sp.Matrix) -> sp.Matrix:
        return mat.subs(subs).applyfunc(lambda z: sp.simplify(sp.expand(z)))

    checks = (
        zero(cov - covariance_closed),
        zero(second - eq17 - remainder),
        zero(second - cov - mean * mean.T),
    )
    names = {"c": c, "e": e, "Q": Q, "v": vs, "mu_3": m3, "mu_4": m4}
    return PerExampleDerivation(cov, covariance_closed, second, eq17, remainder, checks, names)
