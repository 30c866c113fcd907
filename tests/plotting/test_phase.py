"""Part III figures draw the library's classification and the measured distances (checked on the plotted data)."""

from __future__ import annotations

from fractions import Fraction

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_rgba

from dropout_theory.phase import BOOK_POINTS, PhaseDiagram, PhasePoint, classify_phase
from dropout_theory.plotting.phase import PHASE_COLORS, eval_fraction, plot_distances_vs_width, plot_phase_map


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_phase_map_regions_lines_and_points_follow_classify_phase():
    ax = plot_phase_map(points=BOOK_POINTS)
    degenerate, flow = ax.collections[:2]
    assert to_rgba(degenerate.get_facecolor()[0], 1) == to_rgba(PHASE_COLORS["degenerate"])
    assert to_rgba(flow.get_facecolor()[0], 1) == to_rgba(PHASE_COLORS["gradient_flow"])
    # every grid point off the boundaries lies in the shaded region of its phase, and only there
    step = Fraction(1, 8)
    checked = 0
    for i in range(-2, 17):
        for j in range(1, 12):
            a, b = i * step, j * step
            if b == min(max(a, 0), 1):
                continue  # on a boundary line
            phase = classify_phase(a, b)
            inside = {
                "degenerate": degenerate.get_paths()[0].contains_point((float(a), float(b))),
                "gradient_flow": flow.get_paths()[0].contains_point((float(a), float(b))),
            }
            assert phase in inside and inside == {k: k == phase for k in inside}, (a, b, phase)
            checked += 1
    assert checked > 150
    # the boundary lines and corner points carry the phases that classify_phase gives there
    by_color = {}
    for ln in (ln for ln in ax.lines if ln.get_marker() != "X"):
        by_color.setdefault(to_rgba(ln.get_color()), []).append(ln)
    (poisson,) = by_color[to_rgba(PHASE_COLORS["poisson_jump"])]
    (penalized,) = by_color[to_rgba(PHASE_COLORS["penalized_flow"])]
    assert [list(v) for v in poisson.get_data()] == [[0, 1], [0, 1]]
    assert [list(v) for v in penalized.get_data()] == [[1, 2.0], [1, 1]]
    for t in (Fraction(1, 8), Fraction(1, 2), Fraction(7, 8)):
        assert classify_phase(t, t) == "poisson_jump" and classify_phase(1 + t, 1) == "penalized_flow"
    for name, where in (("bernoulli_jump", (0, 0)), ("critical", (1, 1))):
        (corner,) = by_color[to_rgba(PHASE_COLORS[name])]
        assert [v[0] for v in corner.get_data()] == list(where) and classify_phase(*where) == name
    # the marked points: at (a, b), filled with the colour of their phase
    marks = [ln for ln in ax.lines if ln.get_marker() == "X"]
    assert len(marks) == len(BOOK_POINTS)
    for (a, b), ln in zip(BOOK_POINTS, marks, strict=True):
        assert [v[0] for v in ln.get_data()] == [eval_fraction(a), eval_fraction(b)]
        assert to_rgba(ln.get_markerfacecolor()) == to_rgba(PHASE_COLORS[classify_phase(a, b)])
    assert ax.get_xlim() == (-0.3, 2.0) and ax.get_ylim() == (-0.2, 1.5)


def test_distances_against_width_draw_the_records():
    points = tuple(
        PhasePoint(a, "1/4", n, classify_phase(a, "1/4"), 0.1, 0.5, 10, rms, dict.fromkeys(rms, 0.0), 0.1, 3.0 / n, 0.2)
        for a in ("1/4", "1")
        for n in (400, 100, 200)
        for rms in [{"no_dropout": 2.0 / n, "random_metric": 0.5, "penalized": None if a == "1" else 1.0 / n**0.5}]
    )
    fig = plot_distances_vs_width(PhaseDiagram(points), ncols=2)
    for ax, a in zip(fig.axes, ("1/4", "1"), strict=True):
        assert ax.get_title() == f"({a}, 1/4): {classify_phase(a, '1/4').replace('_', ' ')}"
        assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
        # the widths are the only x tick labels (no colliding minor log labels)
        assert list(ax.get_xticks()) == [100, 200, 400] and not ax.xaxis.get_minorticklocs().size
        assert [t.get_text() for t in ax.get_xticklabels()] == ["100", "200", "400"]
        lines = {ln.get_label(): ln for ln in ax.lines}
        n = np.array([100, 200, 400])
        for label, expected in (
            ("RMS to no dropout", 2.0 / n),
            ("RMS to random metric", np.full(3, 0.5)),
            ("RMS to explicit penalty", np.full(3, np.nan) if a == "1" else 1.0 / n**0.5),
            ("SW to the predicted limit", 3.0 / n),
        ):
            np.testing.assert_array_equal(lines[label].get_xdata(), n)  # sorted by width
            np.testing.assert_allclose(lines[label].get_ydata(), expected, rtol=1e-15)


def test_distances_against_width_label_at_most_four_widths_the_largest_included():
    widths = (50, 100, 200, 400, 800, 1600, 5000)
    points = tuple(
        PhasePoint("1", "1/4", n, "gradient_flow", 0.1, 0.5, 10, rms, dict.fromkeys(rms, 0.0), 0.1, 1.0 / n, 0.2)
        for n in widths
        for rms in [{"no_dropout": 1.0 / n, "random_metric": 0.5, "penalized": 0.2}]
    )
    ax = plot_distances_vs_width(PhaseDiagram(points), ncols=1).axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["50", "200", "800", "5000"] and not ax.xaxis.get_minorticklocs().size
