"""The numerical phase diagram: finite-n measurements, their divergence records, slopes and limit comparisons."""

from __future__ import annotations

import math

import pytest

from dropout_theory import Divergence
from dropout_theory.phase import (
    PhaseDiagram,
    PhasePoint,
    compare_with_limits,
    phase_point,
    unmoved_fraction,
)


def test_phase_point_reports_divergence_instead_of_raising():
    r = phase_point("-1", "0", 20, tau0=5.0, t_final=2000.0, repeats=1)  # τ = 100: 20 unstable steps
    assert r.phase == "degenerate" and r.rms["no_dropout"] is None and r.sw_to_limit is None
    assert isinstance(r.divergence, Divergence) and r.divergence.unit == "step"
    assert 0 <= r.divergence.step <= r.steps


def _point(n, rms, sw=None):
    return PhasePoint("1", "0", n, "gradient_flow", 0.1, 0.5, 10, rms, dict.fromkeys(rms, 0.0), 0.1, sw, 0.2)


def test_slopes_on_synthetic_points():
    """Exact power laws in n: the fitted slopes are the exponents; a missing distance gives no fit."""
    diagram = PhaseDiagram(
        tuple(
            _point(n, {"no_dropout": n**-0.5, "random_metric": 1.0, "penalized": 2 * n**-1.0}) for n in (10, 100, 1000)
        )
    )
    s = diagram.slopes()[("1", "0")]
    assert s["no_dropout"].exponent == pytest.approx(-0.5) and s["random_metric"].exponent == pytest.approx(0.0)
    assert s["penalized"].exponent == pytest.approx(-1.0) and s["penalized"].r_squared == pytest.approx(1.0)
    assert s["sw_to_limit"] is None
    table = str(diagram.slopes_table())
    assert "-0.50" in table and "-1.00" in table and table.splitlines()[1].rstrip().endswith("-")
    assert len(str(diagram).splitlines()) == 4


def test_unmoved_fraction():
    assert unmoved_fraction("1/2", "1/2", tau0=0.25, keep0=0.5, t=1.0) == pytest.approx(math.exp(-2.0))
    assert unmoved_fraction(0, 0, tau0=0.25, keep0=0.5, t=1.0) == pytest.approx(0.0625)
    assert unmoved_fraction(1, 0, tau0=0.25, keep0=0.5, t=1.0) == 0.0
    assert math.isnan(unmoved_fraction("1/4", "1/2", tau0=0.25, keep0=0.5, t=1.0))


def test_limit_comparisons_clouds_and_clock_signature():
    """Bernoulli clocks at (0, 0): the dropout cloud and its limit leave a fraction of particles unmoved close to
    (1 − q)^(t/τ) = 0.0625 (n = 200: binomial s.e. 0.017); flows move every particle; the degenerate point has no
    limit cloud."""
    res = compare_with_limits((("0", "0"), ("1/4", "1/2"), ("1", "1/4")), 200, tau0=0.25, keep0=0.5)
    bern = res[("0", "0")]
    assert bern.unmoved_theory == pytest.approx(0.0625)
    assert abs(bern.unmoved["dropout"] - 0.0625) < 4 * 0.017 and abs(bern.unmoved["limit"] - 0.0625) < 4 * 0.017
    assert set(bern.clouds) == {"dropout", "limit", "gradient flow"} and bern.clouds["dropout"].shape == (200, 6)
    assert res[("1", "1/4")].unmoved["gradient flow"] == 0.0 and res[("1", "1/4")].phase == "gradient_flow"
    assert "limit" not in res[("1/4", "1/2")].clouds and res[("1/4", "1/2")].sw_to_limit is None
    assert len(str(res).splitlines()) == 4
    with pytest.raises(KeyError):
        res[("2", "2")]


def test_local_slopes_recover_a_drifting_power_law_with_delta_method_errors():
    """Distances n^-1 up to n = 200, then n^-0.5 (continuous): the local slopes read -1, -1, -0.5, with the
    standard error sqrt((sd1/r1)^2 + (sd2/r2)^2) / (sqrt(R) log 2) from a 10 % spread over R = 4 repeats."""
    from dropout_theory.phase.compare import PhaseDiagram, PhasePoint

    def dist(n):
        return n**-1.0 if n <= 200 else 200**-0.5 * n**-0.5

    pts = tuple(
        PhasePoint("1", "1/4", n, "gradient_flow", 0.1 / n, 0.5, 10 * n,
                   {v: dist(n) for v in ("no_dropout", "random_metric", "penalized")},
                   {v: 0.1 * dist(n) for v in ("no_dropout", "random_metric", "penalized")}, 0.1, None, None)
        for n in (50, 100, 200, 400)
    )  # fmt: skip
    text = str(PhaseDiagram(pts).local_slopes("1", "1/4", repeats=4))
    se = math.hypot(0.1, 0.1) / 2 / math.log(2)
    assert text.count(f"-1 ± {se:.2g}") == 6 and text.count(f"-0.5 ± {se:.2g}") == 3
    with pytest.raises(ValueError, match="repeats"):
        PhaseDiagram(pts).local_slopes("1", "1/4", repeats=1)
    with pytest.raises(ValueError, match="at least two"):
        PhaseDiagram(pts[:1]).local_slopes("1", "1/4", repeats=4)
