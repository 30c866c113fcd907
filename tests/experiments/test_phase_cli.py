"""The part III experiment commands (quick mode, temporary files, resumable): thin shells over the phase package."""

from __future__ import annotations

import json

import pytest

from dropout_theory.experiments.cli import main
from dropout_theory.experiments.mnist import mnist_job, run_mnist
from dropout_theory.experiments.phase_diagram import phase_job, phase_jobs, run_phase_diagram
from dropout_theory.experiments.random_geometry import run_teacher_student, teacher_student_job
from dropout_theory.jobs import RunMismatchError
from dropout_theory.phase import (
    load_mnist_runs,
    load_phase_diagram,
    load_teacher_student,
    phase_diagram,
    stored,
    teacher_student_experiment,
)


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
    printed = capsys.readouterr().out
    assert "12 results" in printed and "slope: no dropout" in printed


def test_random_geometry_cli_quick(tmp_path, capsys):
    out = tmp_path / "rg.jsonl"
    assert main(["random-geometry", "--quick", "--out", str(out), "--workers", "1"]) == 0
    assert len(out.read_text().splitlines()) == 1 + 4  # the run's header, then 2 widths × 2 repeats
    assert "RMS distance of dropout at step 20" in capsys.readouterr().out


def test_shells_reproduce_the_in_process_science(tmp_path):
    """The jobs (seed → generator, stored as JSON and read back) give what the phase package computes in this process
    (exactly for the phase diagram; to the 6 significant digits stored for the teacher–student runs)."""
    points, widths = (("1/4", "1/4"), ("1", "1")), (10, 20)
    shell = run_phase_diagram(points, widths, results_path=tmp_path / "pd.jsonl", max_workers=1, progress=False)
    assert shell == phase_diagram(points, widths)
    kw = {"num_steps": 6, "record_every": 3, "num_points": 40}
    ts = run_teacher_student(
        (10, 20), repeats=2, results_path=tmp_path / "ts.jsonl", max_workers=1, progress=False, **kw
    )
    direct = teacher_student_experiment((10, 20), repeats=2, **kw)
    assert list(ts.widths) == [10, 20] and ts[10].steps == direct[10].steps
    for n in (10, 20):
        for field in ("rms", "loss", "val_loss"):
            for v, rows in getattr(direct[n], field).items():
                assert getattr(ts[n], field)[v] == [pytest.approx(r, rel=1e-5, abs=1e-12) for r in rows]
    assert load_teacher_student(tmp_path / "ts.jsonl") == ts


def test_phase_diagram_options_max_steps_and_stored_run(tmp_path, capsys):
    """--points/--widths/--repeats/--max-steps reach the jobs; --max-steps leaves out the long runs; the stored run
    reads back as the same diagram."""
    jobs = phase_jobs((("0", "0"), ("5/4", "1")), (10, 40), max_steps=200, repeats=2)
    assert [(j["a"], j["width"]) for j in jobs] == [("0", 10), ("0", 40), ("5/4", 10)]  # (5/4, 1) at n = 40: 1006 steps
    out = tmp_path / "pd.jsonl"
    argv = ["phase-diagram", "--points", "0,0", "1/4,1/4", "--widths", "10", "30", "--repeats", "2", "--tau", "0.2",
            "--max-steps", "100", "--out", str(out), "--workers", "1"]  # fmt: skip
    assert main(argv) == 0
    stored = load_phase_diagram(out)
    assert [(p.a, p.b, p.width) for p in stored.points] == [("0", "0", 10), ("0", "0", 30), ("1/4", "1/4", 10),
                                                            ("1/4", "1/4", 30)]  # fmt: skip
    assert stored.points[0].tau == 0.2 and "predicted slope" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["phase-diagram", "--points", "1/0,1", "--out", str(tmp_path / "x.jsonl")])


def test_mnist_shell_stores_and_reads_back(tmp_path):
    kw = {"num_steps": 4, "record_every": 2, "batch_size": 16, "curvature_steps": [], "sharpness_steps": []}
    summaries = run_mnist((8,), keep_probs=(0.8,), repeats=2, results_path=tmp_path / "m.jsonl", max_workers=1,
                          progress=False, **kw)  # fmt: skip
    assert list(summaries) == [8] and list(summaries[8].runs) == [0.8]
    assert load_mnist_runs(tmp_path / "m.jsonl") == summaries
    with pytest.raises(RunMismatchError):
        load_teacher_student(tmp_path / "m.jsonl")


def test_the_loaders_name_the_job_functions():
    """The core loaders accept a results file by the job function its header names: the shells' functions."""
    for fn, name in ((teacher_student_job, stored.TEACHER_STUDENT_JOB), (phase_job, stored.PHASE_JOB),
                     (mnist_job, stored.MNIST_JOB)):  # fmt: skip
        assert f"{fn.__module__}.{fn.__qualname__}" == name
