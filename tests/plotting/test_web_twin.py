"""Web twins: one precomputed figure per grid combination, stable HTML, clear errors on bad grids."""

from __future__ import annotations

import json
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from dropout_theory.plotting.web_twin import live_only, twin_figures, web_twin


def _draw(slope: float, kind: str):
    _, ax = plt.subplots(figsize=(3, 2))
    x = np.linspace(0.0, 1.0, 5)
    ax.plot(x, slope * x, "o-" if kind == "dots" else "-")
    ax.set_title(f"{kind}, slope {slope:g}")
    return ax


def _payload(html: str) -> dict:
    return json.loads(re.search(r"var twin = (\{.*?\});var inputs", html).group(1))


def test_one_figure_per_combination_row_major():
    grid = {"slope": [1.0, 2.0, 3.0], "kind": ["line", "dots"]}
    figures = twin_figures(_draw, grid=grid)
    assert len(figures) == 6
    for k, (slope, kind) in enumerate((s, t) for s in grid["slope"] for t in grid["kind"]):
        (trace,) = figures[k]["data"]
        assert trace["y"] == pytest.approx(list(slope * np.linspace(0, 1, 5)))
        assert trace["mode"] == ("lines+markers" if kind == "dots" else "lines")
        assert figures[k]["layout"]["annotations"][0]["text"] == f"{kind}, slope {slope:g}"
    assert len({json.dumps(f, sort_keys=True) for f in figures}) == 6  # all different


def test_html_controls_rounding_and_stable_ids():
    grid = {"slope": [1.0, 2.0], "kind": {"solid line": "line", "with dots": "dots"}}
    html = web_twin(_draw, grid=grid, name="demo", labels={"slope": "steepness"}, value={"slope": 2.0}).data
    assert 'id="demo"' in html and 'id="demo-plot"' in html
    assert (
        '<input type="range" data-twin-param="slope" aria-label="steepness" min="0" max="1" step="1" value="1"' in html
    )
    assert '<option value="1">with dots</option>' in html and "Plotly.react" in html
    payload = _payload(html)
    assert payload["sizes"] == [2, 2] and payload["labels"] == [["1", "2"], ["solid line", "with dots"]]
    # Round-off below the 4th significant digit does not change one byte; the first figure shown is slope 2.
    nudged = web_twin(lambda slope, kind: _draw(slope * (1 + 1e-12), kind), grid=grid, name="demo",
                      labels={"slope": "steepness"}, value={"slope": 2.0}).data  # fmt: skip
    assert nudged == html
    # Round-off around an exact 0 (8e-16 for 0) is drawn as 0: the HTML does not change either.
    def level(height):
        _, ax = plt.subplots(figsize=(3, 2))
        ax.axhline(height)
        ax.set_ylim(-1.0, 2.0)
        return ax

    zero = web_twin(lambda slope: level(slope - 1.0), grid={"slope": [1.0, 2.0]}, name="level").data
    assert web_twin(lambda slope: level(slope - 1.0 + 8e-16), grid={"slope": [1.0, 2.0]}, name="level").data == zero
    assert payload["figures"][2]["data"][0]["y"][1] == 0.5  # slope 2 at x = 0.25
    # A parameter with one value is a disabled control with the note; no other control can move without effect.
    fixed = web_twin(_draw, grid={"slope": [1.0, 2.0], "kind": ["line"]}, name="fixed").data
    assert "disabled" in fixed and "other values run live in Jupyter" in fixed
    assert len(_payload(fixed)["figures"]) == 2 and _payload(fixed)["sizes"] == [2]
    assert "runs live in Jupyter" in live_only(controls={"lr": 0.05}, name="slow", reason="slow").data


def test_bad_grids_raise_clear_errors():
    with pytest.raises(ValueError, match="at most 64"):
        twin_figures(_draw, grid={"slope": list(range(10)), "kind": [str(k) for k in range(10)]})
    with pytest.raises(ValueError, match=r"grid\['slope'\] must hold at least one value"):
        web_twin(_draw, grid={"slope": [], "kind": ["line"]}, name="x")
    with pytest.raises(ValueError, match=r"grid\['kind'\] must be a sequence"):
        web_twin(_draw, grid={"slope": [1.0], "kind": "line"}, name="x")
    with pytest.raises(ValueError, match="repeated"):
        web_twin(_draw, grid={"slope": [1.0, 1.0], "kind": ["line"]}, name="x")
    with pytest.raises(ValueError, match=r"value\['slope'\] = 5.0 is not one of"):
        web_twin(_draw, grid={"slope": [1.0], "kind": ["line"]}, name="x", value={"slope": 5.0})
    with pytest.raises(ValueError, match="name must be"):
        web_twin(_draw, grid={"slope": [1.0], "kind": ["line"]}, name="bad id")

    # a setting the library refuses becomes a figure with the message, not a crash
    def refuse(slope):
        raise ValueError("slope too steep")

    (fig,) = twin_figures(refuse, grid={"slope": [9.0]})
    assert "slope too steep" in fig["layout"]["annotations"][0]["text"]
