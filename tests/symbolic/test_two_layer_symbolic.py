"""SymPy derivations of part I: Bernoulli moments, L_S = E_δ R^drop, Σ blocks vs the closed form."""

from __future__ import annotations

import sympy as sp
import torch

from dropout_theory.symbolic import two_layer as sym
from dropout_theory.two_layer import dropout_gradient_covariance


def test_bernoulli_moments():
    mom = sym.bernoulli_moments()
    p = sym.p
    assert mom["E delta"] == 1
    assert sp.simplify(mom["E delta^2"] - 1 / p) == 0
    assert sp.simplify(mom["Var"] - (1 - p) / p) == 0
    assert sp.simplify(mom["mu3"] - (1 - p) * (1 - 2 * p) / p**2) == 0
    assert sp.simplify(mom["mu4"] - (1 - p) * (p**3 + (1 - p) ** 3) / p**3) == 0
    assert mom["identity"] == (0, 0)


def test_expectation_over_masks_small_cases():
    d1, d2 = sp.symbols("d1 d2", positive=True)
    assert sym.expectation_over_masks(d1 * d2, [d1, d2]) == 1
    assert sp.simplify(sym.expectation_over_masks(d1**3 + 2 * d2, [d1, d2]) - (1 / sym.p**2 + 2)) == 0


def test_modified_loss_is_expected_dropout_risk():
    der = sym.modified_loss_derivation(3)
    assert der.difference == 0
    # a wrong penalty (1/p instead of (1 − p)/p) would be detected
    assert sp.simplify(der.expectation - der.modified_loss - der.modified_loss / 7) != 0


def test_covariance_blocks_match_closed_form_and_numerics():
    der = sym.covariance_blocks(2)
    assert der.difference == sp.zeros(4, 4)
    # numerical values: the symbolic Σ at a point equals the library's dense Σ (one data point, d = 1)
    a = torch.tensor([0.7, -1.3], dtype=torch.float64)
    W = torch.tensor([[0.4], [-0.9]], dtype=torch.float64)
    X = torch.tensor([[1.5]], dtype=torch.float64)
    y = torch.tensor([0.2], dtype=torch.float64)
    z = (W @ X.T)[:, 0]
    S = der.symbols
    subs = {sym.p: sp.Rational(3, 10), S["x"]: 1.5, S["y"]: 0.2}
    for r in range(2):
        subs[S["a"][r]] = float(a[r])
        subs[S["h"][r]] = float(torch.tanh(z[r]))
        subs[S["s"][r]] = float(1 - torch.tanh(z[r]) ** 2)
    num = torch.tensor(sp.matrix2numpy(der.sigma.subs(subs), dtype=float))
    torch.testing.assert_close(num, dropout_gradient_covariance(a, W, X, y, keep_prob=0.3), rtol=1e-12, atol=1e-14)


def test_per_example_covariance_and_what_eq17_keeps():
    """One example under its own mask (width 2): the exact covariance equals its closed form, the second moment is
    eq. 17's coefficients plus the stated remainder, and second moment = covariance + mean meanᵀ (all symbolic);
    numerically, κ ∘ (J Jᵀ) is the per-example covariance of dropout_theory.two_layer for a one-example batch."""
    der = sym.per_example_derivation(2)
    assert all(c == sp.zeros(2, 2) for c in der.checks)
    g = torch.Generator().manual_seed(0)
    a, w, x = torch.randn(2, generator=g, dtype=torch.float64), torch.randn(2, 1, generator=g, dtype=torch.float64), 0.7
    y, p = 0.3, 0.6
    h, s = torch.tanh(w[:, 0] * x), 1 - torch.tanh(w[:, 0] * x) ** 2
    c, e = a * h, float((a * h).sum() - y)
    J = torch.stack([torch.stack([h[r], a[r] * s[r] * x]) for r in range(2)])  # (m, 2): (∂/∂a_r, ∂/∂w_r)
    syms = der.symbols
    values = {syms["c"][0]: float(c[0]), syms["c"][1]: float(c[1]), syms["e"]: e, sym.p: p}
    kappa = [[float(der.covariance[r, t].subs(values)) for t in range(2)] for r in range(2)]
    kappa = torch.tensor(kappa, dtype=torch.float64)
    expected = torch.einsum("rt,rp,tq->rptq", kappa, J, J).reshape(4, 4)  # neuron-major blocks
    X1, y1 = torch.tensor([[x]], dtype=torch.float64), torch.tensor([y], dtype=torch.float64)
    sigma = dropout_gradient_covariance(a, w, X1, y1, keep_prob=p, mask="per_example")
    torch.testing.assert_close(sigma, expected, rtol=1e-10, atol=1e-12)
