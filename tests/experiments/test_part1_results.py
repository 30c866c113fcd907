"""Part I's stored runs (results/part1): complete sweeps that the summaries parse, read by the chapters that plot them.

Each file must hold every job of the command the chapter prints (so that the printed command reproduces it), and the
chapter's figure must be drawn from the file's summary, not from numbers typed into the notebook.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

from dropout_theory.alignment import minima_flatness_summary, stored_alignment_summary, variance_flatness_summary
from dropout_theory.experiments import minima_flatness, sme, variance_flatness
from dropout_theory.jobs import job_key, load_results
from dropout_theory.plotting.alignment import plot_stored_alignment, plot_stored_minima_flatness
from dropout_theory.plotting.two_layer import (
    METHOD_LABELS,
    plot_stored_bands,
    plot_stored_test_curves,
    plot_weak_errors,
)
from dropout_theory.two_layer import curve_summaries, gap_table, weak_order_studies, weak_order_table

ROOT = Path(__file__).resolve().parents[2]
PART1 = ROOT / "results" / "part1"
#: stored file -> the chapter that reads it
READERS = {
    "alignment_fnn.jsonl": "deep_alignment",
    "alignment_conv.jsonl": "deep_alignment",
    "minima_flatness.jsonl": "deep_alignment",
    "sme_bands.jsonl": "sme",
    "sme_fig2.jsonl": "sme",
    "sme_gap.jsonl": "modified_loss",
    "sme_weak.jsonl": "sme",
    "variance_flatness.jsonl": "flatness",
}
MASKS = {"shared", "per_example"}


def _records(name: str) -> dict:
    return load_results(PART1 / name)


def _header(name: str) -> dict:
    return json.loads((PART1 / name).read_text().splitlines()[0])


@pytest.mark.parametrize("name", sorted(READERS))
def test_stored_file_is_read_by_its_chapter(name):
    assert (PART1 / name).exists()
    assert _header(name)["scale"] == "paper"
    source = (ROOT / "book" / "part1" / f"{READERS[name]}.ipynb").read_text()
    stem = name.removesuffix(".jsonl")
    assert stem in source or stem.rsplit("_", 1)[0] + "_{name}" in source
    assert "results/part1" in source


#: the sweeps whose every job is stored (a sweep stored in part would be marked False: some but not all jobs)
COMPLETE = {"alignment_fnn.jsonl": True, "alignment_conv.jsonl": True}


@pytest.mark.parametrize("name", sorted(COMPLETE))
def test_alignment_runs_belong_to_their_command_and_the_figure_is_drawn_from_them(name):
    records = _records(name)
    opts = _header(name)["options"]
    grid = {tuple(point) for point in opts["grid"]}
    for rec in records.values():
        prm = rec["params"]
        assert (prm["model"], prm["lr"], prm["keep_prob"]) in grid and prm["mask"] in opts["masks"]
        assert 0 <= prm["seed"] < opts["seeds"] and prm["num_steps"] == opts["steps"]
    total = len(opts["grid"]) * len(opts["masks"]) * opts["seeds"]
    assert len(records) == total if COMPLETE[name] else 0 < len(records) < total
    table = stored_alignment_summary(records)
    assert {r["mask"] for r in table} == MASKS
    assert all(r["num_diverged"] == 0 and r["num_seeds"] >= 1 for r in table)
    if COMPLETE[name]:
        assert all(r["num_seeds"] == opts["seeds"] for r in table)
    fig, ax = plt.subplots()
    plot_stored_alignment(table, reference=0.85, ax=ax)
    drawn = [np.asarray(bars.lines[0].get_ydata(), dtype=float) for bars in ax.containers]  # one per row
    expected = [np.asarray(r["alpha_curve"], dtype=float) for r in table]
    assert len(drawn) == len(expected)
    for y, e in zip(drawn, expected, strict=True):
        np.testing.assert_allclose(y, e)
        assert np.all((0 < y) & (y <= 1.05))
    plt.close(fig)


def test_every_stored_part1_file_has_a_reader():
    assert {p.name for p in PART1.glob("*.jsonl")} == set(READERS)


def _jobs_of_command(name: str) -> list[dict]:
    """The job list of the command in the file's header (the printed command rebuilds exactly these)."""
    header = _header(name)
    opts = header["options"]
    if header["command"] == "sme":
        return sme.build_jobs(
            n_train=opts["n_train"],
            fig2a_steps=opts["fig2a_steps"],
            weak_runs=sme.weak_runs_option(opts["toy_runs"], opts["digits_runs"]),
            gap_runs=opts["gap_runs"],
            kinds=opts["kinds"],
        )
    if header["command"] == "variance-flatness":
        return variance_flatness.build_jobs(seeds=opts["seeds"], keep_probs=opts["keep_probs"], masks=opts["masks"])
    assert header["command"] == "minima-flatness"
    return minima_flatness.build_jobs(
        seeds=opts["seeds"],
        lr=opts["lr"],
        num_steps=opts["steps"],
        keep_probs=opts["keep_probs"],
        masks=opts["masks"],
        n_train=opts["n_train"],
    )


SWEEPS = [
    "minima_flatness.jsonl",
    "sme_bands.jsonl",
    "sme_fig2.jsonl",
    "sme_gap.jsonl",
    "sme_weak.jsonl",
    "variance_flatness.jsonl",
]


@pytest.mark.parametrize("name", SWEEPS)
def test_stored_sweep_holds_every_job_of_its_command(name):
    expected = {job_key(job) for job in _jobs_of_command(name)}
    assert set(_records(name)) == expected


def test_weak_orders_figure_is_drawn_from_the_stored_runs():
    records = _records("sme_weak.jsonl")
    table = weak_order_table(records)
    assert {(r["problem"], r["order"]) for r in table} == {("toy", 1), ("toy", 2), ("digits", 1), ("digits", 2)}
    for problem in ("toy", "digits"):
        for order in (1, 2):
            studies = weak_order_studies(records, problem=problem, order=order)
            fig, ax = plt.subplots()
            plot_weak_errors(studies, ax=ax)
            drawn = [np.asarray(c.lines[0].get_ydata(), dtype=float) for c in ax.containers]
            assert len(drawn) == len(studies) > 0
            for y, st in zip(drawn, studies, strict=True):
                np.testing.assert_allclose(y, st.errors)
            plt.close(fig)


def test_gap_and_flatness_summaries_parse():
    gaps = gap_table(_records("sme_gap.jsonl"))
    assert [g["lr"] for g in gaps] == list(sme.GAP_LRS) and all(g["num_runs"] == 300 for g in gaps)
    assert all(np.isfinite(g["modified"].value) and g["modified"].stderr > 0 for g in gaps)
    vf = variance_flatness_summary(_records("variance_flatness.jsonl"))
    assert {(r["keep_prob"], r["mask"]) for r in vf} == {(p, m) for p in (0.9, 0.7) for m in MASKS}
    assert all(r["num_seeds"] + r["num_diverged"] == 8 for r in vf)
    mf = minima_flatness_summary(_records("minima_flatness.jsonl"))
    assert {(r["keep_prob"], r["mask"]) for r in mf} == {(p, m) for p in (0.8, 0.5) for m in MASKS}
    assert {r["strategy"] for r in mf} == {"gd", "dropout", "sgd", "parametric"}


def test_a_stored_weak_order_job_matches_the_code():
    """Recompute the cheapest stored weak-order job (teacher–student, order 1, η = 0.4: 20,000 runs of 2 steps)."""
    rec = min(
        (r for r in _records("sme_weak.jsonl").values() if r["params"].get("problem", "toy") == "toy"),
        key=lambda r: r["params"]["num_runs"] / r["params"]["lr"],
    )
    fresh = sme.sme_job(**rec["params"])
    assert fresh["error"] == pytest.approx(rec["result"]["error"], rel=1e-6)


def test_a_stored_fig2_job_matches_the_code():
    """Recompute the cheapest stored Fig. 2 job: gradient descent on L_S at (1, 0.3), one deterministic run of 2,000
    steps that converges smoothly (so another machine's round-off moves its final values by far less than 1e-6; the
    accuracy may change by one of the 449 test digits at most)."""
    (rec,) = [
        r
        for r in _records("sme_fig2.jsonl").values()
        if (r["params"]["method"], r["params"]["lr"]) == ("gd_modified", 1)
    ]
    fresh, stored = sme.sme_job(**rec["params"])["final"], rec["result"]["final"]
    for quantity in ("train_loss", "test_loss"):
        assert fresh[quantity] == pytest.approx(stored[quantity], rel=1e-6)
    assert fresh["test_accuracy"] == pytest.approx(stored["test_accuracy"], abs=1.01 / 449)


def test_minima_flatness_figure_is_drawn_from_the_stored_runs():
    table = minima_flatness_summary(_records("minima_flatness.jsonl"))
    assert all(r["num_seeds"] == 3 and r["num_diverged"] == 0 for r in table)
    axes = plot_stored_minima_flatness(table, fields=("top_eigenvalue", "train_loss"))
    for ax, field in zip(axes, ("top_eigenvalue", "train_loss"), strict=True):
        for container in ax.containers:  # one per strategy, its points in the order of the groups
            strategy = container.get_label()
            drawn = np.asarray(container.lines[0].get_ydata(), dtype=float)
            np.testing.assert_allclose(drawn, [r[field] for r in table if r["strategy"] == strategy])
    plt.close(axes[0].figure)


def test_fig2_is_drawn_from_the_stored_runs_whose_final_values_match_the_curves():
    curves = curve_summaries(_records("sme_fig2.jsonl"), kind="test")
    assert list(curves) == [(lr, p) for lr, p, _, _ in sme.FIG2_CASES]
    axes = plot_stored_test_curves(curves)
    for col, ((lr, _), methods) in enumerate(curves.items()):
        assert set(methods) == set(METHOD_LABELS)
        for method, entry in methods.items():
            kept = entry["num_runs"] - entry["num_diverged"]
            assert kept >= 1 and entry["num_runs"] == (1 if method == "gd_modified" else 6)
            for row, quantity in enumerate(("test_loss", "test_accuracy")):
                final = np.asarray(entry["final"][quantity], dtype=float)
                assert final.shape == (kept,) and np.all(np.isfinite(final))
                # the stored curve's last point is the mean of the per-run final values the chapter averages
                assert entry[quantity]["mean"][-1] == pytest.approx(final.mean(), rel=1e-12)
                (line,) = [ln for ln in axes[row, col].get_lines() if ln.get_label() == METHOD_LABELS[method]]
                np.testing.assert_allclose(line.get_ydata(), entry[quantity]["mean"])
                np.testing.assert_allclose(line.get_xdata(), np.asarray(entry["steps"], dtype=float) * lr)
    plt.close(axes[0, 0].figure)


def test_fig1a_bands_are_drawn_from_the_stored_runs():
    curves = curve_summaries(_records("sme_bands.jsonl"), kind="bands")
    assert list(curves) == sorted(sme.FIG1_CASES)
    axes = plot_stored_bands(curves)
    for ax, methods in zip(axes.flat, curves.values(), strict=True):
        assert set(methods) == {"dropout", "sme"}
        for method, entry in methods.items():
            assert entry["num_runs"] == 6 and entry["num_diverged"] == 0
            final = np.asarray(entry["final"]["train_loss"], dtype=float)
            assert entry["train_loss"]["mean"][-1] == pytest.approx(final.mean(), rel=1e-12)
            (line,) = [ln for ln in ax.get_lines() if ln.get_label() == METHOD_LABELS[method]]
            np.testing.assert_allclose(line.get_ydata(), entry["train_loss"]["mean"])
    plt.close(axes[0, 0].figure)
