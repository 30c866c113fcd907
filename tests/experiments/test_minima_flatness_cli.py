"""The ``dropout-experiments minima-flatness`` command at --quick scale: runs, writes resumable results, summarises."""

from __future__ import annotations

import pytest

from dropout_theory.alignment import minima_flatness_summary as summary_table
from dropout_theory.experiments import load_results
from dropout_theory.experiments.cli import main
from dropout_theory.experiments.minima_flatness import build_jobs, minima_flatness_job


def test_cli_quick_writes_results_and_resumes(tmp_path, capsys):
    out = tmp_path / "mf.jsonl"
    args = ["minima-flatness", "--quick", "--out", str(out), "--workers", "1", "--seeds", "2", "--keep-probs", "0.8"]
    assert main(args) == 0
    results = load_results(out)
    assert len(results) == len(build_jobs(quick=True, seeds=2, keep_probs=(0.8,))) == 2
    rec = next(iter(results.values()))["result"]
    assert rec["diverged"] is False
    assert [r["strategy"] for r in rec["rows"]] == ["gd", "dropout", "sgd", "parametric"]
    assert 1 <= rec["noise"]["batch_size"] <= 60 and rec["noise"]["sigma"] > 0
    table = summary_table(results)
    assert [r["strategy"] for r in table] == ["gd", "dropout", "sgd", "parametric"]
    assert all(r["num_seeds"] == 2 and r["top_eigenvalue"] > 0 for r in table)
    printed = capsys.readouterr().out
    assert "parametric" in printed and "2 (0 diverged)" in printed
    before = out.read_text()
    assert main(args) == 0  # resume: nothing rerun
    assert out.read_text() == before


def test_job_records_divergence_and_bad_seeds():
    res = minima_flatness_job(
        seed=0, keep_prob=0.8, lr=1e4, num_steps=20, n_train=20, widths=(64, 4, 4, 10), num_probes=4
    )
    assert res["diverged"] is True and res["divergence"]["step"] >= 1
    with pytest.raises(ValueError, match="seeds"):
        build_jobs(seeds=0)
