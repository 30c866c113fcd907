"""The ``dropout-experiments alignment`` command at --quick scale: runs, resumes, summarises, records divergence."""

from __future__ import annotations

import math

import pytest

from dropout_theory.experiments import load_results, run_jobs
from dropout_theory.experiments.alignment import (
    PAPER_GRID,
    alignment_job,
    build_jobs,
    format_table,
    summary_table,
)
from dropout_theory.experiments.cli import main


def test_cli_quick_writes_results_and_resumes(tmp_path, capsys):
    out = tmp_path / "alignment.jsonl"
    args = ["alignment", "--quick", "--out", str(out), "--workers", "1"]
    assert main(args) == 0
    results = load_results(out)
    jobs = build_jobs(quick=True)
    assert len(results) == len(jobs) == sum(len(g) for g in PAPER_GRID.values())
    for rec in results.values():
        res = rec["result"]
        assert res["diverged"] is False
        curve = res["curve"]
        assert curve["steps"] == [0, 3, 6]
        assert all(len(v) == 3 for v in curve.values())
        assert all(0.0 <= a <= 1.0 for a in curve["test_accuracy"])
        assert all(math.isfinite(a) for a in curve["alpha"] + curve["subset_alpha"])
        final = res["final"]
        assert final["num_params"] == res["subset_size"] < res["num_params"]
        assert len(final["baseline_samples"]) == 2 and abs(final["baseline_expected"]) < 1.0
    table = summary_table(results)
    assert [(r["model"], r["lr"], r["keep_prob"]) for r in table] == [
        ("fnn", 0.05, 0.8),
        ("fnn", 0.05, 0.5),
        ("fnn", 0.1, 0.8),
        ("fnn", 0.1, 0.5),
        ("conv", 0.05, 0.8),
        ("conv", 0.1, 0.8),
    ]
    for r in table:
        assert r["num_seeds"] == 1 and r["num_diverged"] == 0
        assert r["alpha_min"] <= r["alpha_mean"] <= r["alpha_max"]
        assert r["subset_min"] <= r["subset_mean"] <= r["subset_max"]
    printed = capsys.readouterr().out
    assert "conv" in printed and "1 (0 diverged)" in printed and "baseline" in printed
    before = out.read_text()
    assert main(args) == 0  # resume: nothing rerun
    assert out.read_text() == before


def test_diverging_setting_is_recorded_not_fatal(tmp_path):
    out = tmp_path / "div.jsonl"
    jobs = build_jobs(quick=True, models=["fnn"], grid={"fnn": [(1e4, 0.8)]})
    (res,) = run_jobs(alignment_job, jobs, results_path=out, max_workers=1, progress=False)
    div = res["divergence"]
    assert res["diverged"] is True and div["step"] >= 1 and "loss" in div["quantity"] and div["unit"] == "step"
    assert res["curve"]["steps"][0] == 0  # the measurements before the divergence are kept
    (row,) = summary_table(load_results(out))
    assert row["num_seeds"] == 0 and row["num_diverged"] == 1
    assert "1 diverged" in str(format_table([row]))


def test_bad_input():
    with pytest.raises(ValueError, match="seeds"):
        build_jobs(seeds=0)
    with pytest.raises(ValueError, match="models"):
        build_jobs(models=["vgg16"])
    with pytest.raises(ValueError, match="dtype"):
        alignment_job(model="fnn", lr=0.1, keep_prob=0.8, seed=0, num_steps=2, eval_every=1, dtype="float16")
