"""The ``dropout-experiments sme`` command at --quick scale: runs, writes resumable results, fits slopes."""

from __future__ import annotations

import json

import pytest

from dropout_theory.experiments import job_key, load_results
from dropout_theory.experiments.cli import main
from dropout_theory.experiments.sme import build_jobs, sme_job
from dropout_theory.plotting.two_layer import plot_stored_bands, plot_stored_test_curves, plot_summary_band
from dropout_theory.two_layer import curve_summaries, gap_table, weak_order_studies, weak_order_table


def test_cli_quick_writes_results_resumes_and_summarises_only_its_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["sme", "--quick", "--workers", "1"]) == 0
    out = tmp_path / "runs" / "sme-quick.jsonl"  # the default of --quick: never the paper-scale runs/sme.jsonl
    results = load_results(out)
    assert len(results) == len(build_jobs(quick=True))
    kinds = {r["params"]["kind"] for r in results.values()}
    assert kinds == {"bands", "weak", "test", "gap"}
    table = weak_order_table(results)
    assert {(row["order"], row["keep_prob"]) for row in table} == {(1, 0.9), (2, 0.9)}
    (study,) = weak_order_studies(results, problem="toy", order=2)
    assert list(study.lrs) == [0.2, 0.4] and study.fit.exponent == pytest.approx(table[1]["slope"])
    gaps = gap_table(results)
    assert [g["lr"] for g in gaps] == [0.2, 0.4] and all(g["modified"].stderr > 0 for g in gaps)
    curves = curve_summaries(results, kind="test")
    assert set(curves) == {(0.005, 0.9), (1.0, 0.3)}
    assert all(set(c) == {"dropout", "sme", "gd_modified"} for c in curves.values())
    drop = curves[(1.0, 0.3)]["dropout"]
    ax = plot_summary_band(
        recorded_steps=drop["steps"], summary=drop["test_accuracy"], lr=1.0, label="dropout", color="C0"
    )
    assert list(ax.get_lines()[0].get_ydata()) == drop["test_accuracy"]["mean"]
    axes = plot_stored_test_curves(curves)  # Fig. 2: one column per case, the accuracy means in the bottom row
    for col, methods in enumerate(curves.values()):
        drawn = sorted(tuple(line.get_ydata()) for line in axes[1, col].lines)
        assert drawn == sorted(tuple(m["test_accuracy"]["mean"]) for m in methods.values())
    bands = curve_summaries(results, kind="bands")  # Fig. 1a: one panel per case, dropout and the SME in each
    axes = plot_stored_bands(bands, log=True)
    assert axes.shape == (2, 2) and all(ax.get_yscale() == "log" for ax in axes.flat)
    for ax, methods in zip(axes.flat, bands.values(), strict=True):
        drawn = sorted(tuple(line.get_ydata()) for line in ax.lines)
        assert drawn == sorted(tuple(m["train_loss"]["mean"]) for m in methods.values()) and len(drawn) == 2
    with pytest.raises(ValueError, match="no stored 'bands' jobs"):
        plot_stored_bands({})
    finals = drop["final"]["test_accuracy"]  # per bounded run: the last point of each run's curve
    assert len(finals) == drop["num_runs"] - drop["num_diverged"]
    assert sum(finals) / len(finals) == pytest.approx(drop["test_accuracy"]["mean"][-1])
    printed = capsys.readouterr().out
    assert "slope" in printed
    before = out.read_text()
    assert main(["sme", "--quick", "--workers", "1"]) == 0  # resume: nothing rerun
    assert out.read_text() == before
    assert capsys.readouterr().out == printed
    # a stray weak-order record in the file (another lr, e.g. from an older job list) does not enter the summary
    stray = {"kind": "weak", "lr": 0.05, "keep_prob": 0.9, "order": 1, "num_runs": 200, "substeps": 2}
    stray |= {"horizon": 1.0, "seed": 3}
    rec = {"record": "job", "key": job_key(stray), "params": stray, "status": "ok"}
    rec["result"] = {"diverged": False, "error": 1e-9, "std_error": 1e-10}
    with open(out, "a") as fh:
        fh.write(json.dumps(rec) + "\n")
    assert main(["sme", "--quick", "--workers", "1"]) == 0
    assert capsys.readouterr().out == printed
    assert {tuple(row["lrs"]) for row in weak_order_table(load_results(out))} == {(0.05, 0.1, 0.2), (0.2, 0.4)}


def test_weak_order_divergence_is_a_record_left_out_of_the_fit():
    res = sme_job(kind="weak", lr=5.0, keep_prob=0.5, order=1, num_runs=4, substeps=1, horizon=200.0)
    assert res["diverged"] is True and res["method"] == "dropout" and res["divergence"]["step"] >= 1
    ok = {"diverged": False, "error": 0.1, "std_error": 0.01}
    records = {
        str(i): {"params": {"kind": "weak", "order": 1, "keep_prob": 0.5, "lr": lr}, "result": r}
        for i, (lr, r) in enumerate([(0.1, ok), (0.2, {**ok, "error": 0.2}), (5.0, res)])
    }
    (row,) = weak_order_table(records)
    assert row["lrs"] == [0.1, 0.2] and row["num_diverged"] == 1
    assert row["slope"] == pytest.approx(1.0)


def test_job_reports_divergence_and_rejects_bad_kind():
    res = sme_job(kind="bands", lr=50.0, keep_prob=0.3, width=4, n_train=20, num_steps=50, num_runs=2)
    assert res["diverged"] is True and res["num_diverged"] == res["num_runs"] == 2
    assert all(f["step"] >= 1 for f in res["failures"])
    ok = sme_job(kind="test", lr=0.1, keep_prob=0.5, method="sme", width=4, n_train=30, num_steps=5, num_runs=2)
    assert ok["diverged"] is False and ok["num_diverged"] == 0
    assert len(ok["test_accuracy"]["mean"]) == len(ok["steps"])
    with pytest.raises(ValueError, match="kind"):
        sme_job(kind="nope", lr=0.1, keep_prob=0.5)


def test_build_jobs_selects_kinds():
    every = build_jobs(quick=True)
    some = build_jobs(quick=True, kinds=("gap", "weak"))
    assert some == [job for job in every if job["kind"] in ("gap", "weak")]
    assert {job["kind"] for job in some} == {"gap", "weak"}
    with pytest.raises(ValueError, match="kinds"):
        build_jobs(quick=True, kinds=("gap", "nope"))
