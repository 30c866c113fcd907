"""SymPy moments of the dropout update against Monte Carlo and against the exact mask enumeration of the
particle system; the exponent-based phase map against classify_phase."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
import torch

from dropout_theory.phase import classify_phase, init_particles, particle_velocity
from dropout_theory.symbolic import phase as sym


def test_mask_moments():
    assert sym.mask_moments(4) == {1: 1, 2: 1 / sym.q, 3: sym.q**-2, 4: sym.q**-3}


def test_decomposition_is_exact():
    assert sym.check_decomposition() == 0


def test_part_moments_closed_forms():
    q, n = sym.q, sym.n
    mom = sym.part_moments()
    assert sp.simplify(mom["random_metric"][1] - (1 - q) / q * sym.g**2) == 0
    assert sp.simplify(mom["self_term"][0] - (1 - q) / (q * n) * sym.c_self) == 0
    assert sp.simplify(mom["self_term"][1] - (1 - q) ** 3 / (q * n) ** 2 / q * sym.c_self**2) == 0
    assert sp.simplify(mom["propagation_noise"][1] - (1 - q) / (q**2 * n) * sym.s2) == 0
    assert mom["random_metric"][0] == 0 and mom["propagation_noise"][0] == 0


def test_part_moments_against_monte_carlo():
    """400,000 draws of three independent masks at q = 0.3; tolerance 5 standard errors of each estimate."""
    qv, nv, gv, cii, cij, cik = 0.3, 5.0, 0.7, -1.3, 0.4, 0.9
    rng = np.random.default_rng(0)
    xi = (rng.random((3, 400_000)) < qv) / qv
    parts = sym.update_decomposition()
    subs = {sym.q: qv, sym.n: nv, sym.g: gv, sym.c_self: cii, sym.c_ij: cij, sym.c_ik: cik}
    mom = sym.part_moments()
    for name in ("random_metric", "self_term", "propagation_noise"):
        f = sp.lambdify((sym.xi_i, sym.xi_j, sym.xi_k), parts[name].subs(subs), "numpy")
        x = np.broadcast_to(f(*xi), xi.shape[1:])
        mean, var = mom[name]
        s2v = (cij**2 + cik**2) / nv  # the two-neuron version of s²
        mean_v = float(mean.subs(subs).subs(sym.s2, s2v))
        var_v = float(var.subs(subs).subs(sym.s2, s2v))
        se = x.std() / np.sqrt(x.size)
        assert abs(x.mean() - mean_v) < 5 * se + 1e-12
        assert abs(x.var() - var_v) < 5 * np.sqrt(np.mean((x - x.mean()) ** 4) / x.size) + 1e-12


def test_self_term_mean_matches_the_particle_system():
    """Exact enumeration of the masks of a 4-neuron network: E[ξ_i Dφᵀ(f_ξ − y)] − Dφᵀ(f − y) = κ Dφᵀφ_i."""
    g = torch.Generator().manual_seed(0)
    a, W = init_particles(4, 2, generator=g)
    X = torch.randn((5, 2), generator=g, dtype=torch.float64)
    y = torch.randn(5, generator=g, dtype=torch.float64)
    qv = 0.4
    mean_va = torch.zeros(4, dtype=torch.float64)
    for bits in itertools.product([0, 1], repeat=4):
        keep = torch.tensor(bits, dtype=torch.float64)
        prob = float(np.prod([qv if b else 1 - qv for b in bits]))
        mask = keep / qv
        va, _ = particle_velocity(a, W, X, y, forward_mask=mask)
        mean_va += prob * mask * va
    plain, _ = particle_velocity(a, W, X, y)
    phi_sq = (a[:, None] * torch.relu(W @ X.T)) ** 2  # Dφ_aᵀ φ_i = a_i mean h_i² = mean φ_i² / a_i
    c_ii = (phi_sq.mean(-1) / a).numpy()
    kappa = float(sym.part_moments()["self_term"][0].subs({sym.q: qv, sym.n: 4, sym.c_self: 1}))
    np.testing.assert_allclose((mean_va - plain).numpy(), kappa * c_ii, rtol=1e-11, atol=1e-13)


def test_exponents():
    a, b = sym.a_exp, sym.b_exp
    e = sym.horizon_exponents()
    assert sp.simplify(e["jump_size"] - (b - a)) == 0
    assert sp.simplify(e["random_metric_variance"] - (b - a)) == 0
    assert sp.simplify(e["propagation_noise_variance"] - (2 * b - a - 1)) == 0
    assert sp.simplify(e["self_term_mean"] - (b - 1)) == 0


def test_exponent_map_agrees_with_classify_phase_on_a_rational_grid():
    grid = [Fraction(k, 6) for k in range(-3, 13)]
    for a, b in itertools.product(grid, [g for g in grid if g >= 0]):
        assert sym.phase_from_exponents(a, b) == classify_phase(a, b), (a, b)


def test_bad_b():
    with pytest.raises(ValueError, match="b must"):
        sym.phase_from_exponents(1, -1)
