"""classify_phase on interior points, on every boundary line and corner, with exact rational input."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
import sympy as sp

from dropout_theory.phase import PHASES, as_exponent, classify_phase, limit_parameters

CASES = [
    # interiors
    (0.5, 0.25, "gradient_flow"),
    (2.0, 0.0, "gradient_flow"),  # q fixed, tau -> 0
    (3.0, 0.9, "gradient_flow"),
    (0.25, 0.5, "degenerate"),  # b > a: jumps tau/q blow up
    (2.0, 1.5, "degenerate"),  # b > 1: fewer than one kept neuron
    (-0.5, 0.0, "degenerate"),  # tau -> infinity
    # the line a = b
    (0.5, 0.5, "poisson_jump"),
    ("1/3", "1/3", "poisson_jump"),
    (Fraction(99, 100), Fraction(99, 100), "poisson_jump"),
    # the line b = 1
    (1.5, 1, "penalized_flow"),
    (Fraction(101, 100), 1, "penalized_flow"),
    (Fraction(99, 100), 1, "degenerate"),
    # the line b = 0 (q fixed)
    (Fraction(1, 1000), 0, "gradient_flow"),
    (-Fraction(1, 1000), 0, "degenerate"),
    # corners
    (0, 0, "bernoulli_jump"),
    (1, 1, "critical"),
    (sp.Rational(1, 1), sp.Integer(1), "critical"),
    ("0", "0.0", "bernoulli_jump"),
]


@pytest.mark.parametrize(("a", "b", "phase"), CASES)
def test_classify_phase(a, b, phase):
    assert classify_phase(a, b) == phase


def test_boundaries_exact_rationals_and_rounded_floats():
    """Exact rationals are compared exactly; a float is read as the simplest fraction within 1e-12 (denominator at
    most 10^6), so a float computed from a rational lands on its boundary and a float 1e-9 away does not."""
    assert classify_phase("1/3", Fraction(1, 3)) == "poisson_jump"
    assert classify_phase(Fraction(1, 3) + Fraction(1, 10**15), Fraction(1, 3)) == "gradient_flow"  # exact: no rounding
    assert classify_phase(0.1 + 0.2, 0.3) == "poisson_jump"  # 0.30000000000000004 is 3/10
    assert classify_phase(0.3, 0.1 + 0.2) == "poisson_jump"
    assert classify_phase(1 / 3 + 1e-15, 1 / 3) == "poisson_jump"
    assert classify_phase(1 / 3 + 1e-9, 1 / 3) == "gradient_flow"
    assert classify_phase(1 / 3, 1 / 3 + 1e-9) == "degenerate"
    assert classify_phase(1 + 1e-15, 1) == "critical"
    assert classify_phase(1 + 1e-9, 1.0) == "penalized_flow"
    assert classify_phase(0.7 * 3, 2.1 - 1.1) == "penalized_flow"  # 2.0999999999999996 and 1.0000000000000002


def test_float_rounding_moves_values_by_at_most_1e_12():
    rng = random.Random(0)
    for _ in range(500):
        x = rng.uniform(-3.0, 3.0)
        r = as_exponent(x)
        assert abs(r - Fraction(x)) <= 1e-12
        assert r.denominator <= 10**6 or r == Fraction(x)
    for p, q in ((1, 3), (2, 7), (5, 4), (-1, 2), (7, 10), (123, 1000)):
        assert as_exponent(p / q) == Fraction(p, q)
    assert as_exponent("0.3") == Fraction(3, 10) and as_exponent(sp.Rational(5, 4)) == Fraction(5, 4)


def test_grid_against_the_inequalities():
    """Every rational point of a grid satisfies exactly one description of the phase map."""
    grid = [Fraction(k, 8) for k in range(-4, 21)]
    for a in grid:
        for b in (g for g in grid if g >= 0):
            phase = classify_phase(a, b)
            assert phase in PHASES
            assert (phase != "degenerate") == (0 <= b <= min(a, 1))
            if phase != "degenerate":
                assert (phase in ("poisson_jump", "bernoulli_jump", "critical")) == (a == b)
                assert (phase in ("penalized_flow", "critical")) == (b == 1)
                assert (phase == "bernoulli_jump") == (a == 0)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "x", None, True, "1/0"])
def test_bad_input(bad):
    with pytest.raises(ValueError, match="a must"):
        classify_phase(bad, 0)


def test_negative_b_is_not_a_keep_rate():
    with pytest.raises(ValueError, match="b must be >= 0"):
        classify_phase(1, -0.5)


def test_limit_parameters():
    assert limit_parameters(0.5, 0.5, tau0=0.3, keep0=0.6) == {"phase": "poisson_jump", "jump_size": 0.5}
    p = limit_parameters(1, 1, tau0=0.2, keep0=0.5)
    assert p["phase"] == "critical" and p["jump_size"] == pytest.approx(0.4) and p["penalty"] == 2.0
    assert limit_parameters(2, 1, keep0=0.25)["penalty"] == 4.0
    assert limit_parameters(0, 0, tau0=0.5, keep0=0.7)["tau"] == 0.5
    with pytest.raises(ValueError, match="keep0"):
        limit_parameters(1, 1, keep0=1.5)
