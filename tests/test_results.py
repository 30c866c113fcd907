"""Stored results under results/: they parse, the chapters read files that exist, and they still match the code.

Chaotic experiments (deep SGD training) and long simulations are stored once with their seeds and read by the chapters
through the same library function that made them (:mod:`dropout_theory.jobs`), so that the printed numbers do not depend
on the machine's round-off. These tests make sure such a file is not stale: it holds every job of the book's design
(read back without recomputing anything), and re-running a few of its jobs with today's code gives the same numbers
within the seed-to-seed spread.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import Executor
from pathlib import Path

import numpy as np
import pytest

from dropout_theory.deep_meanfield import (
    BOOK_GRADIENT_STATISTICS,
    BOOK_TRAINABLE_DEPTH,
    BOOK_TRAINING_SPEED,
    gradient_statistics_job,
    gradient_statistics_sweep,
    trainable_depth_job,
    trainable_depth_sweep,
    training_speed_sweep,
)
from dropout_theory.jobs import load_results

ROOT = Path(__file__).resolve().parents[1]
RESULT_FILES = sorted((ROOT / "results").rglob("*.jsonl"))
PART2 = ROOT / "results" / "part2"


class RefusingExecutor(Executor):
    def submit(self, fn, /, *args, **kwargs):
        raise AssertionError("the stored sweep lacks a job of the book's design")


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


def test_the_stored_part2_sweeps_hold_the_books_design():
    """The chapters call these functions with the book's designs; nothing may be left to compute."""
    kw = dict(executor=RefusingExecutor(), progress=False)
    td = trainable_depth_sweep(**BOOK_TRAINABLE_DEPTH, results_path=str(PART2 / "trainable_depth.jsonl"), **kw)
    ts = training_speed_sweep(**BOOK_TRAINING_SPEED, results_path=str(PART2 / "training_speed.jsonl"), **kw)
    gs = gradient_statistics_sweep(BOOK_GRADIENT_STATISTICS, results_path=str(PART2 / "gradient_statistics.jsonl"),
                                   **kw)  # fmt: skip
    assert td.accuracy.shape[1] == len(BOOK_TRAINABLE_DEPTH["seeds"]) and (ts.steps >= -1).all() and len(gs) > 0


def test_stored_trainable_depth_job_matches_the_code():
    """Re-run the depth-10 job of seed 0 (no dropout, SGD, Gaussian); the stored accuracies agree within the
    seed-to-seed spread (the runs are chaotic: bit equality is not expected on another machine; the mean over the
    row moves by a few 0.01 under round-off, a changed model, optimizer or data set by far more)."""
    stored = [r for r in load_results(PART2 / "trainable_depth.jsonl").values()
              if r["params"]["depth"] == 10 and r["params"]["keep_prob"] == 1.0
              and r["params"]["optimizer"] == "sgd" and r["params"]["init"] == "gaussian"]  # fmt: skip
    assert len(stored) == len(BOOK_TRAINABLE_DEPTH["seeds"])
    rec = next(r for r in stored if r["params"]["seed"] == 0)
    fresh = np.array(trainable_depth_job(**rec["params"])["train_accuracy"])
    spread = np.std([np.mean(r["result"]["train_accuracy"]) for r in stored], ddof=1)
    assert abs(fresh.mean() - np.mean(rec["result"]["train_accuracy"])) < max(0.05, 3 * spread)


def test_stored_gradient_statistics_job_matches_the_code():
    """Re-run the cheapest stored ensemble (linear, width 100): the fitted rates agree to 1e-3 (float32 round-off
    moves them by far less; a changed model or fit by more)."""
    stored = load_results(PART2 / "gradient_statistics.jsonl").values()
    rec = min(stored, key=lambda r: r["params"]["width"] ** 2 * r["params"]["depth"])
    fresh = gradient_statistics_job(**rec["params"])
    for name in ("single", "norm"):
        assert fresh["metrics"][name]["rate"]["value"] == pytest.approx(
            rec["result"]["metrics"][name]["rate"]["value"], rel=1e-3
        )


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
