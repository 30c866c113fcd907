"""SymPy induction for deep linear dropout networks: closed forms, limits, and agreement with simulation."""

import numpy as np
import sympy as sp
import torch

from dropout_theory.deep_meanfield import fixed_point_c, fixed_point_q, inputs_for, simulate_ensemble
from dropout_theory.symbolic.deep_linear import (
    T_numeric,
    check_closed_form,
    closed_form_T,
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
