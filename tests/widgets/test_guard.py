"""Widgets report a setting the library refuses (a ValueError) as one short line, not as a traceback."""

from __future__ import annotations

import logging

import matplotlib

matplotlib.use("Agg")
import ipywidgets
import matplotlib.pyplot as plt
import pytest

from dropout_theory.widgets import phase as phase_widgets
from dropout_theory.widgets._guard import short_errors


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_a_refused_setting_prints_one_line_and_no_traceback(monkeypatch, capsys, caplog):
    """The phase-map widget with its library call refusing the point: the redraw prints the library's message
    (in a kernel, into the widget's output area) and nothing reaches ipywidgets' traceback handler."""

    def refuse(a, b, **kwargs):
        raise ValueError(f"b must be >= 0 (q = n^(-b) is a keep rate in (0, 1]), got {b!r}")

    w = phase_widgets.phase_map_widget()
    capsys.readouterr()
    monkeypatch.setattr(phase_widgets, "limit_parameters", refuse)
    with caplog.at_level(logging.WARNING):
        w.children[1].value = 6  # b8: a redraw through the library
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.strip() and not line.startswith("\x1b")]  # clear_output codes
    assert lines == [
        "Cannot compute this setting: b must be >= 0 (q = n^(-b) is a keep rate in (0, 1]), got Fraction(3, 4)"
    ]
    assert "Traceback" not in out and not caplog.records
    assert plt.get_fignums() == []  # the half-drawn figure was closed, not shown


def test_other_errors_still_propagate_and_the_signature_is_kept():
    def draw(x: int = 1) -> None:
        raise RuntimeError("a bug, not a refused setting")

    guarded = short_errors(draw)
    with pytest.raises(RuntimeError, match="a bug"):
        guarded(x=2)
    w = ipywidgets.interactive(guarded, x=ipywidgets.IntSlider(value=1))
    assert [c.description for c in w.children[:1]] == ["x"]
