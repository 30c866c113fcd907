"""The ``dropout-experiments alignment`` command at --quick scale: runs, resumes, summarises, records divergence."""

from __future__ import annotations

import math

import pytest
import torch

from dropout_theory.alignment import module_hessian_variance_alignment, parameter_indices
from dropout_theory.data import load_digits_regression
from dropout_theory.experiments import load_results, run_jobs
from dropout_theory.experiments.alignment import (
    PAPER_GRID,
    alignment_job,
    build_jobs,
    build_model,
    format_table,
    subset_baseline,
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
    assert "conv" in printed and "1 seeds, 0 diverged" in printed and "baseline" in printed
    before = out.read_text()
    assert main(args) == 0  # resume: nothing rerun
    assert out.read_text() == before


def test_diverging_setting_is_recorded_not_fatal(tmp_path):
    out = tmp_path / "div.jsonl"
    jobs = build_jobs(quick=True, models=["fnn"], grid={"fnn": [(1e4, 0.8)]})
    (res,) = run_jobs(alignment_job, jobs, results_path=out, max_workers=1, progress=False)
    assert res["diverged"] is True and res["step"] >= 1 and "loss" in res["quantity"]
    assert res["curve"]["steps"][0] == 0  # the measurements before the divergence are kept
    (row,) = summary_table(load_results(out))
    assert row["num_seeds"] == 0 and row["num_diverged"] == 1
    assert "1 diverged" in format_table([row])


def test_subset_baseline_matches_the_library_exact_alignment():
    """Same generator state → same draws as module_hessian_variance_alignment(method="exact") on the subset, so the
    dense α must agree to rounding; the spectra must reproduce Tr H and ‖H‖_F of the dense subset Hessian."""
    digits = load_digits_regression(seed=0, bias=False)
    X, Y = digits.X_train[:80], digits.y_train[:80]
    net = build_model("fnn", 0.7, 3, widths=(64, 6, 6, 10))
    idx = parameter_indices(net, "3.weight")

    def loss_fn(out, target):
        return 0.5 * ((out - target) ** 2).sum(1).mean()

    ref = module_hessian_variance_alignment(
        net, loss_fn, X, Y, num_masks=64, num_hessian_masks=4, subset=idx, generator=torch.Generator().manual_seed(9)
    )
    res = subset_baseline(
        net,
        loss_fn,
        X,
        Y,
        idx,
        num_masks=64,
        num_hessian_masks=4,
        num_samples=200,
        generator=torch.Generator().manual_seed(9),
    )
    assert res["num_params"] == 36
    assert res["alpha_exact"] == pytest.approx(ref.alpha, rel=1e-9)
    assert res["alpha_exact_stderr"] == pytest.approx(ref.stderr, rel=1e-9)
    assert res["frob_h"] ** 2 == pytest.approx(ref.frob_h_sq.value, rel=1e-9)
    # E α_random from the spectra vs the mean of 200 Haar samples (Monte Carlo, 6 standard errors)
    samples = torch.tensor(res["baseline_samples"], dtype=torch.float64)
    assert abs(float(samples.mean()) - res["baseline_expected"]) < 6 * float(samples.std()) / math.sqrt(200)
    assert res["baseline_expected"] < res["alpha_exact"]


def test_bad_input():
    with pytest.raises(ValueError, match="seeds"):
        build_jobs(seeds=0)
    with pytest.raises(ValueError, match="models"):
        build_jobs(models=["vgg16"])
    with pytest.raises(ValueError, match="dtype"):
        alignment_job("fnn", 0.1, 0.8, 0, 2, 1, dtype="float16")
