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

from dropout_theory.alignment import stored_alignment_summary
from dropout_theory.jobs import load_results
from dropout_theory.plotting.alignment import plot_stored_alignment

ROOT = Path(__file__).resolve().parents[2]
PART1 = ROOT / "results" / "part1"
#: stored file -> the chapter that reads it
READERS = {"alignment_fnn.jsonl": "deep_alignment", "alignment_conv.jsonl": "deep_alignment"}
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
