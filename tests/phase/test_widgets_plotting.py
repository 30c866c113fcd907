"""Smoke tests of the part III figures and the cheap widgets (they build and draw without error)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest
import torch

from dropout_theory.phase import (
    DigitsCurves,
    MnistSummary,
    PhaseDiagram,
    PhasePoint,
    TeacherStudentSummary,
    WidthSummary,
)
from dropout_theory.plotting import phase as plots
from dropout_theory.widgets import phase as phase_widgets


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_phase_map_marks_points():
    ax = plots.plot_phase_map(points=[("0", "0"), ("5/4", "1"), (0.5, 0.25)])
    assert len(ax.lines) >= 4 + 3


def test_distance_and_curve_figures():
    points = tuple(
        PhasePoint(a, "0", n, "gradient_flow", 0.1, 0.5, 10, rms, dict.fromkeys(rms, 0.0), 0.1, 0.1, 0.2)
        for a in ("1", "2")
        for n in (10, 100)
        for rms in [{"no_dropout": 1 / n, "random_metric": 1.0, "penalized": None}]
    )
    fig = plots.plot_distances_vs_width(PhaseDiagram(points), ncols=2)
    assert len(fig.axes) == 2
    summary = TeacherStudentSummary(
        {n: WidthSummary([0, 1], {"random_metric": [[0, 1.0], [0, 0.8]]}, {}, {}) for n in (10, 20)}
    )
    assert len(plots.plot_rms_curves(summary).axes) == 1
    ax = plots.plot_rms_vs_width(summary, 1)
    assert len(ax.lines) >= 1 and "slope" in ax.get_legend().get_texts()[0].get_text()
    plots.plot_penalty_sweep({"q": [(1.0, 0.5), (10.0, 1.0)]})
    plots.plot_part_sizes({"x": (1.0, 0.0)})
    plots.plot_clouds({"a": torch.zeros((5, 3)), "b": torch.ones((5, 3))})
    res = DigitsCurves([0, 1], {"d": [1, 0.5]}, {"d": [1, 0.6]}, {"d": [0.5, 0.7]}, {"d": [0.0, 0.0]})
    assert len(plots.plot_digits_curves(res).axes) == 2


def test_mnist_figures():
    run = {"keep_prob": 0.8, "steps": [0, 2], "rms": {"dropout": [0, 0], "no_dropout": [0, 1.0]},
           "metrics": {"val_loss": {"dropout": [1, 0.5], "no_dropout": [1, 0.6]},
                       "test_loss": {"dropout": [1, 0.4], "no_dropout": [1, 0.7]}},
           "sharpness": {"dropout": [0.1], "no_dropout": [0.2]}}  # fmt: skip
    summary = MnistSummary.from_runs([run, {**run, "sharpness": {"dropout": [0.3], "no_dropout": [0.1]}}])
    assert len(plots.plot_mnist_curves(summary, keep_prob=0.8).lines) == 2
    ax = plots.plot_mnist_by_drop_rate(summary, metric="sharpness", scale=2.0)
    assert ax.get_xlabel().startswith("drop rate")


def test_cheap_widgets_build():
    for w in (phase_widgets.update_parts_widget(), phase_widgets.phase_map_widget()):
        assert len(w.children) >= 3
