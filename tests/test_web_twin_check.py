"""The web-twin browser check (tools/web_twin_check.py, run by tools/browser_check.py) on two tiny pages."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from browser_check import check_site

from dropout_theory.plotting.web_twin import web_twin

pytestmark = pytest.mark.browser


def _draw(slope: float, colour: str):
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [0, slope], color=colour)
    return fig


def _page(body: str) -> str:
    return f'<html><head><script src="plotly.min.js"></script></head><body><article>{body}</article></body></html>'


def test_checker_reports_controls_without_effect_and_frozen_widgets(tmp_path):
    import plotly

    shutil.copy(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", tmp_path / "plotly.min.js")
    good = web_twin(_draw, grid={"slope": [1.0, 2.0], "colour": ["red", "blue"]}, name="good").data
    (tmp_path / "good.html").write_text(_page(good))
    # Broken: the colour select switches between identical figures; a frozen ipywidget slider sits outside any twin.
    broken = web_twin(lambda slope, colour: _draw(slope, "red"), grid={"slope": [1.0, 2.0], "colour": ["red", "blue"]},
                      name="broken").data  # fmt: skip
    frozen = '<div class="jupyter-widgets widget-box"><div class="jupyter-widgets"><input type="range"></div></div>'
    (tmp_path / "bad.html").write_text(_page(broken + frozen))
    report = check_site(tmp_path, pages=["good.html", "bad.html"])
    assert report["good.html"] == []
    bad = report["bad.html"]
    assert 'web twin broken: moving "colour' in "\n".join(bad)
    assert not any('"slope' in p for p in bad), bad
    assert any("1 frozen ipywidget(s)" in p for p in bad), bad
