"""SymPy induction for deep linear dropout networks: closed forms, limits, and agreement with simulation."""

import numpy as np
import sympy as sp
import torch

from dropout_theory.deep_meanfield import fixed_point_c, fixed_point_q, inputs_for, simulate_ensemble
from dropout_theory.symbolic.deep_linear import (
    T_finite_width,
    T_numeric,
    check_closed_form,
    closed_form_T,
    finite_width_step,
    first_order_width_correction,
    induction_table,
    k,
    linear_gradient_theory,
    rho,
    s,
)


def test_closed_forms_reproduce_induction():
    assert check_closed_form(pair=False)
    assert check_closed_form(pair=True)
    assert sp.simplify(closed_form_T(False) - (s / rho) ** (2 * k) * (1 + k / rho)) == 0


def test_no_dropout_limit_and_numeric_recursion():
    """At ρ = 1 both reduce to (k+1) s^{2k} (Fuss–Catalan second moment of a product of k Wishart factors)."""
    for pair in (False, True):
        t3 = induction_table(3, pair)[3].subs(rho, 1)
        assert sp.simplify(t3 - 4 * s**6) == 0
    assert np.allclose(
        T_numeric(5, 0.7, 0.8, pair=True), [float(closed_form_T(True).subs({s: 0.7, rho: 0.8, k: j})) for j in range(6)]
    )


def test_theory_matches_simulation_without_gia():
    """40 linear networks, N = 400, L = 10, float64: single-input metric within 6 %, pair within 4 standard errors.

    The realistic metric differs from the GIA prediction by a factor > 1.5 at the bottom layer, so the test
    separates the two theories.
    """
    sw2, sb2, r, L, N = 0.5, 0.1, 0.8, 10, 400
    qs, cs = fixed_point_q("linear", sw2, sb2, r), fixed_point_c("linear", sw2, sb2, r)
    x = inputs_for(qs, cs, width=N, sigma_w2=sw2, sigma_b2=sb2)
    res = simulate_ensemble(
        "linear",
        sw2,
        sb2,
        r,
        depth=L,
        width=N,
        num_networks=40,
        inputs=x,
        backward="realistic",
        generator=0,
        dtype=torch.float64,
    )
    th = linear_gradient_theory(sw2, sb2, r, np.full(L, qs), np.full(L, qs * cs))
    single = res.grad_single[:, :, 0].mean(0)
    assert np.allclose(single, th["single"], rtol=0.06)
    assert single[0] / th["single_gia"][0] > 1.5
    pair, se = res.grad_pair.mean(0), res.grad_pair.std(0) / np.sqrt(40)
    assert np.all(np.abs(pair - th["pair"]) < 4 * se + 0.02 * np.abs(th["pair"]))


def _one_layer_monte_carlo(N, sw2, r, pair, num, gen):
    """E τ(G_1 G_1') and E τ(G_1)τ(G_1') for G = D W^T W D (G_0 = I), by direct sampling at width N."""
    W = torch.randn(num, N, N, generator=gen, dtype=torch.float64) * np.sqrt(sw2 / N)
    ma = (torch.rand(num, N, generator=gen, dtype=torch.float64) < r).double() / r
    mb = (torch.rand(num, N, generator=gen, dtype=torch.float64) < r).double() / r if pair else ma
    WtW = W.transpose(1, 2) @ W
    Ga = ma[:, :, None] * WtW * ma[:, None, :]
    Gb = mb[:, :, None] * WtW * mb[:, None, :]
    T = torch.einsum("bij,bji->b", Ga, Gb) / N
    U = torch.diagonal(Ga, dim1=1, dim2=2).mean(-1) * torch.diagonal(Gb, dim1=1, dim2=2).mean(-1)
    return T, U


def test_finite_width_step_is_exact_at_width_three():
    """One peeled layer at N = 3, where the non-planar Wick pairing and the mask fluctuations are O(1): the exact
    recursion matches 400,000 sampled networks to 4 standard errors (its wide-limit value is 10-40 % off)."""
    gen = torch.Generator().manual_seed(0)
    for pair in (False, True):
        sw2, r, N = 0.7, 0.6, 3
        T, U = _one_layer_monte_carlo(N, sw2, r, pair, 400_000, gen)
        M = np.array(finite_width_step(pair).subs({s: sw2, rho: r, sp.Symbol("N", positive=True): N}), dtype=float)
        U1, T1 = M @ np.ones(2)
        for sample, exact in ((T, T1), (U, U1)):
            se = float(sample.std()) / np.sqrt(sample.numel())
            assert abs(float(sample.mean()) - exact) < 4 * se
        assert abs(T1 / T_numeric(1, sw2, r, pair=pair)[1] - 1) > 0.1


def test_first_order_correction_is_the_expansion_of_the_exact_recursion():
    """N·(T_k^(N)/T_k^∞ − 1) → c_k: at N = 10^6 they agree to 1e-4 (k = 1..12); c_k grows linearly for one input."""
    for pair in (False, True):
        c = first_order_width_correction(pair)
        exact = T_finite_width(12, 0.6, 0.85, width=10**6, pair=pair) / T_numeric(12, 0.6, 0.85, pair=pair)
        for j in range(1, 13):
            assert abs(1e6 * (exact[j] - 1) - float(c.subs({s: 0.6, rho: 0.85, k: j}))) < 1e-4 * max(1, j)
    single = first_order_width_correction(False)
    assert sp.simplify(sp.limit(single / k, k, sp.oo) - (3 - 2 * rho) / (2 * rho)) == 0


def test_finite_width_theory_matches_narrow_networks():
    """Width 8, depth 8, 20,000 linear networks (float64): the exact finite-width metrics agree with the ensemble
    means within 4 standard errors at every layer, while the wide-limit theorem is off at the bottom layer by more
    than 6 (one input) and 3 (the pair) standard errors (measured: 9 and 4.7)."""
    sw2, sb2, r, L, N, B = 0.7, 0.1, 0.8, 8, 8, 20_000
    qs, cs = fixed_point_q("linear", sw2, sb2, r), fixed_point_c("linear", sw2, sb2, r)
    x = inputs_for(qs, cs, width=N, sigma_w2=sw2, sigma_b2=sb2)
    res = simulate_ensemble("linear", sw2, sb2, r, depth=L, width=N, num_networks=B, inputs=x, backward="realistic",
                            generator=5)  # fmt: skip
    q, qab = np.full(L, qs), np.full(L, qs * cs)
    finite = linear_gradient_theory(sw2, sb2, r, q, qab, width=N)
    wide = linear_gradient_theory(sw2, sb2, r, q, qab)
    for name, sims, margin in (("single", res.grad_single[:, :, 0], 6), ("pair", res.grad_pair, 3)):
        mean, se = sims.mean(0), sims.std(0) / np.sqrt(B)
        assert np.all(np.abs(mean - finite[name]) < 4 * se)
        assert abs(mean[0] - wide[name][0]) > margin * se[0]
