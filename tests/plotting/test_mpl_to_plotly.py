"""The matplotlib → plotly converter reproduces what matplotlib drew (data, scales, texts, layout)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from dropout_theory.plotting.mpl_to_plotly import figure_to_plotly, plain_text


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_lines_log_scales_titles_labels_and_legend():
    x = np.geomspace(0.1, 10.0, 50)
    fig, (left, right) = plt.subplots(1, 2, figsize=(6.8, 3))
    left.loglog(x, x**2, "--", color="C1", label=r"$\sigma_w^2$ squared")
    left.axhline(1.0, color="k", ls=":")
    left.set(xlabel="width $n$", ylabel=r"$\xi_c$", title="left panel")
    left.legend()
    right.plot([1, 2, 3], [3.0, 1.0, 2.0], "o", ms=5, color="C2")
    right.set_xlabel("step")
    fig.suptitle("both")
    out = figure_to_plotly(fig)
    curve, hline, points = out.data
    np.testing.assert_array_equal(curve.x, x)
    np.testing.assert_array_equal(curve.y, x**2)
    assert (
        curve.line.dash == "dash"
        and curve.line.color == "#ff7f0e"
        and curve.name == "σ<sub>w</sub><sup>2</sup> squared"
    )
    assert curve.showlegend and not hline.showlegend and not points.showlegend
    # axhline lives in axes coordinates along x: converted to the data range of the axes
    np.testing.assert_allclose(hline.x, left.get_xlim(), rtol=1e-12)
    np.testing.assert_allclose(hline.y, [1.0, 1.0])
    assert points.mode == "markers" and points.xaxis == "x2" and points.yaxis == "y2"
    layout = out.layout
    assert layout.xaxis.type == "log" and layout.yaxis.type == "log" and layout.xaxis2.type == "linear"
    np.testing.assert_allclose(layout.xaxis.range, np.log10(left.get_xlim()), rtol=1e-12)
    assert layout.xaxis.title.text == "width n" and layout.yaxis.title.text == "ξ<sub>c</sub>"
    assert layout.xaxis2.title.text == "step" and layout.title.text == "both"
    assert "left panel" in [a.text for a in layout.annotations]
    # each panel keeps its place: the left one ends before the right one starts
    assert layout.xaxis.domain[1] < layout.xaxis2.domain[0]


def test_fill_between_bars_images_and_texts():
    fig, (ax, bx, cx) = plt.subplots(1, 3, figsize=(6.8, 3))
    t = np.linspace(0, 1, 1000)
    ax.fill_between(t, t, 2 * t, color="C0", alpha=0.3)
    ax.text(0.5, 0.9, "note", transform=ax.transAxes)
    bx.barh(["a", "b"], [1.0, 3.0])
    img = np.arange(6.0).reshape(2, 3)
    cx.imshow(img, extent=(0, 3, 0, 2), origin="lower", cmap="viridis")
    out = figure_to_plotly(fig, max_points=300)
    fill, bars, heat = out.data
    assert fill.fill == "toself" and len(fill.x) <= 300  # 2 × 1000 polygon points thinned
    fx, fy = np.asarray(fill.x), np.asarray(fill.y)
    assert np.all(np.isclose(fy, fx) | np.isclose(fy, 2 * fx))  # every kept point is on the band's edges
    assert fx.min() == 0.0 and fx.max() == 1.0 and fy.max() > 1.95
    assert bars.orientation == "h" and list(bars.x) == [1.0, 3.0]
    assert list(out.layout.yaxis2.ticktext) == ["a", "b"]
    np.testing.assert_array_equal(heat.z, img)
    np.testing.assert_allclose(heat.x, [0.5, 1.5, 2.5])
    note = next(a for a in out.layout.annotations if a.text == "note")
    assert (note.x, note.y, note.xref) == (pytest.approx(0.5), pytest.approx(0.9), "x domain")


def test_plain_text_and_bad_arguments():
    assert plain_text(r"$2/\eta$ and $\lambda_{\max}$") == "2/η and λ<sub>max</sub>"
    assert plain_text("two\nlines") == "two<br>lines"
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="max_points"):
        figure_to_plotly(fig, max_points=1)
    with pytest.raises(TypeError, match="Figure"):
        figure_to_plotly(ax)
