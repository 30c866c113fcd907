"""The part III experiment commands (quick mode, temporary files, resumable) and their job functions."""

from __future__ import annotations

import json

import pytest

from dropout_theory.experiments.cli import main
from dropout_theory.experiments.phase_diagram import fit_slopes, phase_point, unmoved_fraction
from dropout_theory.experiments.random_geometry import penalty_point, teacher_student_run


def test_phase_diagram_cli_quick_and_resume(tmp_path, capsys):
    out = tmp_path / "pd.jsonl"
    assert main(["phase-diagram", "--quick", "--out", str(out), "--workers", "1"]) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 1 + 12  # the run's header, then 6 points × 2 widths
    assert json.loads(lines[0])["command"] == "phase-diagram"
    rec = [json.loads(x) for x in lines[1:]]
    assert {r["result"]["phase"] for r in rec} == {
        "bernoulli_jump",
        "poisson_jump",
        "gradient_flow",
        "penalized_flow",
        "critical",
        "degenerate",
    }
    assert main(["phase-diagram", "--quick", "--out", str(out), "--workers", "1"]) == 0  # resumes: nothing new
    assert len(out.read_text().splitlines()) == 1 + 12
    assert "12 results" in capsys.readouterr().out


def test_random_geometry_cli_quick(tmp_path, capsys):
    out = tmp_path / "rg.jsonl"
    assert main(["random-geometry", "--quick", "--out", str(out), "--workers", "1"]) == 0
    assert len(out.read_text().splitlines()) == 1 + 4  # the run's header, then 2 widths × 2 repeats
    assert "final RMS distance of dropout" in capsys.readouterr().out


def test_phase_point_reports_divergence_instead_of_raising():
    r = phase_point("-1", "0", 20, tau0=5.0, t_final=2000.0, repeats=1)  # τ = 100: 20 unstable steps
    assert r["phase"] == "degenerate" and r["diverged_at"] is not None and r["rms"]["no_dropout"] is None


def test_fit_slopes_on_synthetic_records():
    recs = [
        {
            "a": "1",
            "b": "0",
            "width": n,
            "rms": {"no_dropout": n**-0.5, "random_metric": 1.0, "penalized": 2 * n**-1.0},
            "sw_to_limit": None,
        }
        for n in (10, 100, 1000)
    ]
    s = fit_slopes(recs)[("1", "0")]
    assert s["no_dropout"] == pytest.approx(-0.5) and s["random_metric"] == pytest.approx(0.0, abs=1e-12)
    assert s["penalized"] == pytest.approx(-1.0)


def test_unmoved_fraction():
    assert unmoved_fraction("1/2", "1/2", 0.25, 0.5, 1.0) == pytest.approx(0.1353352832366127)
    assert unmoved_fraction(0, 0, 0.25, 0.5, 1.0) == pytest.approx(0.0625)
    assert unmoved_fraction(1, 0, 0.25, 0.5, 1.0) == 0.0


def test_job_functions_shapes():
    r = teacher_student_run(20, 0, num_steps=4, record_every=2, num_points=30)
    assert r["steps"] == [0, 2, 4] and set(r["rms"]) == {
        "random_metric",
        "propagation_noise_random_metric",
        "no_dropout",
    }
    p = penalty_point(20, 0.05, 0.5, repeats=1)
    assert p["steps"] == 20 and p["ratio"] > 0
