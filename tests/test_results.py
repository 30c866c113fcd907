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
