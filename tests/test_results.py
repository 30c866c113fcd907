"""Stored results under results/: they parse, the chapters read files that exist, and they still match the code.

Chaotic experiments (deep SGD training) are stored once with their seeds and read by the chapters, so that the printed
numbers do not depend on the machine's round-off. These tests make sure such a file is not stale: every job is
complete, and re-running a few of its jobs with today's code gives numbers within the seed-to-seed spread.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from dropout_theory.experiments.runner import load_results
from dropout_theory.experiments.trainable_depth import train_grid_job

ROOT = Path(__file__).resolve().parents[1]
RESULT_FILES = sorted((ROOT / "results").rglob("*.jsonl"))


def test_there_are_stored_results():
    assert RESULT_FILES, "results/ holds the stored runs the chapters read"


@pytest.mark.parametrize("path", RESULT_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_line_is_a_complete_record(path):
    header, *records = [json.loads(line) for line in path.read_text().splitlines()]
    assert path.read_text().endswith("\n")
    assert header["record"] == "run" and records
    assert all(rec["record"] == "job" and rec["status"] == "ok" for rec in records)
    keys = [rec["key"] for rec in records]
    assert len(keys) == len(set(keys)), "a job is stored twice"
    assert len(load_results(path)) == len(records)


def test_results_files_named_in_chapters_exist():
    named = set()
    for nb in (ROOT / "book").rglob("*.ipynb"):
        text = nb.read_text()
        for folder, name in re.findall(r'RESULTS = \\"([^\\"]+)\\"[^{]*?\{RESULTS\}/([\w.]+\.jsonl)', text, flags=re.S):
            named.add((nb.parent / folder / name).resolve())
    assert named, "expected chapters that read stored results"
    missing = [str(p.relative_to(ROOT)) for p in named if not p.exists()]
    assert not missing


def _stored_jobs(name: str, **match):
    stored = load_results(ROOT / "results" / "trainable_depth" / name).values()
    return [rec for rec in stored if all(rec["params"][k] == v for k, v in match.items())]


@pytest.mark.parametrize("keep_prob", [1.0, 0.9])
def test_stored_trainable_depth_grid_matches_the_code(keep_prob):
    """Re-run seed 0's depth-6 row; the stored accuracies agree within the seed-to-seed spread.

    The runs are chaotic, so bit equality is not expected on another machine; the mean over the row's 10 σ_w²
    values moves by a few 0.01 under round-off, while a changed model, optimizer or data set moves it by far more.
    """
    rows = _stored_jobs("trainable_depth_book.jsonl", depth=6, keep_prob=keep_prob)
    assert len(rows) == 5  # five seeds
    rec = next(r for r in rows if r["params"]["seed"] == 0)
    fresh = train_grid_job(**rec["params"])
    stored, now = np.array(rec["result"]["train_accuracy"]), np.array(fresh["train_accuracy"])
    spread = np.std([np.mean(r["result"]["train_accuracy"]) for r in rows], ddof=1)
    assert abs(now.mean() - stored.mean()) < max(0.05, 3 * spread)


def test_stored_training_speed_matches_the_code():
    rows = _stored_jobs("training_speed_book.jsonl", depth=6, keep_prob=1.0)
    assert len(rows) == 5
    rec = next(r for r in rows if r["params"]["seed"] == 0)
    fresh = np.array(train_grid_job(**rec["params"])["steps_to_threshold"], dtype=float)
    stored = np.array([r["result"]["steps_to_threshold"] for r in rows], dtype=float)
    reached = (stored >= 0).all(0)  # learning rates at which every seed reached the threshold
    assert reached.any() and (fresh[reached] >= 0).all()
    spread = stored[:, reached].std(0, ddof=1)
    assert np.all(np.abs(fresh[reached] - stored[:, reached].mean(0)) < 4 * spread + 20)


# --- Part III: the stored teacher–student, MNIST and phase-diagram runs still match the code ---


def _part3(name: str) -> list[dict]:
    return sorted(load_results(ROOT / "results" / "part3" / name).values(), key=lambda r: json.dumps(r["params"]))


@pytest.mark.parametrize("name", ["random_geometry_authors.jsonl", "random_geometry_book.jsonl"])
def test_stored_teacher_student_runs_match_the_code(name):
    """The first 50 steps of the stored width-200 run of repeat 0, recomputed (float32: agreement to 1e-3)."""
    from dropout_theory.phase import teacher_student_run

    rec = next(r for r in _part3(name) if r["params"]["width"] == 200 and r["params"]["repeat"] == 0)
    params = {k: v for k, v in rec["params"].items() if k not in ("width", "repeat")}
    fresh = teacher_student_run(200, generator=0, **{**params, "num_steps": 50})
    T = len(fresh.steps)
    assert rec["result"]["steps"][:T] == fresh.steps
    for v, curve in fresh.rms.items():
        np.testing.assert_allclose(rec["result"]["rms"][v][:T], curve, rtol=1e-3, atol=1e-6)
    for v, curve in fresh.val_loss.items():
        np.testing.assert_allclose(rec["result"]["val_loss"][v][:T], curve, rtol=1e-3, atol=1e-7)


def test_stored_mnist_run_matches_the_code():
    """The first 40 SGD steps of the stored run of repeat 0 at keep 0.9, recomputed (float32: agreement to 1e-3)."""
    from dropout_theory.phase import mnist_run

    rec = next(r for r in _part3("mnist_4v7.jsonl") if r["params"]["repeat"] == 0 and r["params"]["keep_prob"] == 0.9)
    params = {k: v for k, v in rec["params"].items() if k != "repeat"}
    every = params["record_every"]
    fresh = mnist_run(generator=0, **{**params, "num_steps": 2 * every, "curvature_steps": [], "sharpness_steps": []})
    assert rec["result"]["steps"][:3] == fresh.steps
    for metric in ("train_loss", "test_accuracy"):
        for v, curve in fresh.metrics[metric].items():
            np.testing.assert_allclose(rec["result"]["metrics"][metric][v][:3], curve, rtol=1e-3, atol=1e-6)


def test_stored_phase_diagram_matches_the_code():
    """The cheapest stored job (the Bernoulli point at the smallest width), recomputed exactly in float64."""
    from dropout_theory.experiments.phase_diagram import phase_job

    bernoulli = [r for r in _part3("phase_diagram_wide.jsonl") if r["params"]["a"] == "0"]
    rec = min(bernoulli, key=lambda r: r["params"]["width"])
    fresh = phase_job(**rec["params"])
    for v, value in fresh["rms"].items():
        assert rec["result"]["rms"][v] == pytest.approx(value, rel=1e-9)
