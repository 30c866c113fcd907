"""The α-along-training figure draws the curves' values with their standard errors (checked on the plotted data)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from dropout_theory.alignment import AlignmentCurve
from dropout_theory.plotting.alignment import plot_alignment_curves


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _curve(alpha, stderr, sub, sub_se):
    t = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    return AlignmentCurve(
        steps=torch.tensor([0, 200, 400]),
        alpha=t(alpha),
        stderr=t(stderr),
        loss=t([1.0, 0.5, 0.4]),
        subset_alpha={"layer 2": t(sub)},
        subset_stderr={"layer 2": t(sub_se)},
    )


def _bars(container):
    """(x, y, lower end, upper end) of an errorbar container."""
    data, _, (segments,) = container
    x, y = data.get_data()
    ends = np.array(segments.get_segments())
    np.testing.assert_array_equal(ends[:, 0, 0], x)
    return x, y, ends[:, 0, 1], ends[:, 1, 1]


def test_alignment_curves_with_subset_and_reference():
    curves = {
        "keep 0.8": _curve([0.6, 0.8, 0.85], [0.02, 0.03, 0.01], [0.5, 0.7, 0.75], [0.05, 0.02, 0.04]),
        "keep 0.5": _curve([0.55, 0.7, 0.72], [0.01, 0.01, 0.02], [0.45, 0.6, 0.65], [0.03, 0.03, 0.03]),
    }
    ax = plot_alignment_curves(curves, subset="layer 2", subset_label="layer 2 only", offset=6, reference=0.85)
    by_label = {c.get_label(): c for c in ax.containers}
    assert list(by_label) == ["all, keep 0.8", "layer 2 only, keep 0.8", "all, keep 0.5", "layer 2 only, keep 0.5"]
    for i, (label, c) in enumerate(curves.items()):
        for name, shift, alpha, se in (
            (f"all, {label}", 0, c.alpha, c.stderr),
            (f"layer 2 only, {label}", 6, c.subset_alpha["layer 2"], c.subset_stderr["layer 2"]),
        ):
            x, y, lo, hi = _bars(by_label[name])
            np.testing.assert_array_equal(x, c.steps.numpy() + shift)
            np.testing.assert_array_equal(y, alpha.numpy())
            np.testing.assert_allclose(lo, (alpha - se).numpy(), rtol=1e-12)
            np.testing.assert_allclose(hi, (alpha + se).numpy(), rtol=1e-12)
            assert by_label[name][0].get_color() == f"C{i}"
    (ref,) = [ln for ln in ax.lines if ln.get_linestyle() == ":"]
    assert list(ref.get_ydata()) == [0.85, 0.85]
    assert ax.get_ylim() == (0.0, 1.1) and ax.get_ylabel() == r"alignment $\alpha$" and ax.get_xlabel() == "step"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(by_label)


def test_negative_alignment_stays_in_view():
    ax = plot_alignment_curves({"run": _curve([0.2, -0.1, 0.3], [0.05, 0.05, 0.05], [0, 0, 0], [0, 0, 0])})
    assert len(ax.containers) == 1  # all parameters only
    assert ax.get_ylim()[0] == pytest.approx(-0.2) and ax.get_ylim()[1] == 1.1
