"""The ``dropout-experiments sme`` command at --quick scale: runs, writes resumable results, fits slopes."""

from __future__ import annotations

import pytest

from dropout_theory.experiments import load_results
from dropout_theory.experiments.cli import main
from dropout_theory.experiments.sme import build_jobs, sme_job, weak_order_table


def test_cli_quick_writes_results_and_resumes(tmp_path, capsys):
    out = tmp_path / "sme.jsonl"
    assert main(["sme", "--quick", "--out", str(out), "--workers", "1"]) == 0
    results = load_results(out)
    assert len(results) == len(build_jobs(quick=True))
    kinds = {r["params"]["kind"] for r in results.values()}
    assert kinds == {"bands", "weak", "test"}
    table = weak_order_table(results)
    assert {(row["order"], row["keep_prob"]) for row in table} == {(1, 0.9), (2, 0.9)}
    assert "slope" in capsys.readouterr().out
    before = out.read_text()
    assert main(["sme", "--quick", "--out", str(out), "--workers", "1"]) == 0  # resume: nothing rerun
    assert out.read_text() == before


def test_job_reports_divergence_and_rejects_bad_kind():
    res = sme_job(kind="bands", lr=50.0, keep_prob=0.3, width=4, n_train=20, num_steps=50, num_runs=2)
    assert res["diverged"] is True and res["num_diverged"] == res["num_runs"] == 2
    assert all(f["step"] >= 1 for f in res["failures"])
    ok = sme_job(kind="test", lr=0.1, keep_prob=0.5, method="sme", width=4, n_train=30, num_steps=5, num_runs=2)
    assert ok["diverged"] is False and ok["num_diverged"] == 0
    assert len(ok["test_accuracy"]["mean"]) == len(ok["steps"])
    with pytest.raises(ValueError, match="kind"):
        sme_job(kind="nope", lr=0.1, keep_prob=0.5)
