"""Web twins of the widgets: the widget's own drawing, precomputed over a grid of its controls, for the website.

An ipywidget needs a kernel; on the static website it shows only its stored state, so its controls would move
while its figure stays. :func:`web_twin` calls the widget's drawing function for every combination of a small
grid of control values while the notebook runs, converts each matplotlib figure to plotly
(:func:`dropout_theory.plotting.mpl_to_plotly.figure_to_plotly`) and returns offline HTML: the figure, one HTML
control per parameter (a range slider over the grid values for numbers, a select for choices) labelled like the
widget's control with its current value, and a short script that swaps in the precomputed figure
(``Plotly.react``) when a control moves. A parameter given a single value is shown as a disabled control with the
note "other values run live in Jupyter": no control on the page moves without effect.

Numbers are rounded as in :func:`dropout_theory.plotting.interactive.offline_html` (4 significant digits), numbers
below 1e-12 in magnitude are drawn as 0, and the element ids derive from ``name``, so the stored HTML is
byte-identical under floating-point round-off. In Jupyter
(no plotly.js on the page) the controls stay hidden and a short note points to the live widget.
"""

from __future__ import annotations

import html
import itertools
import json
from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go
from IPython.display import HTML
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from dropout_theory import DivergenceError
from dropout_theory.plotting.interactive import offline_html, round_floats
from dropout_theory.plotting.mpl_to_plotly import figure_to_plotly

MAX_COMBINATIONS = 64
#: Numbers smaller in magnitude are drawn as 0: there they are round-off (a trace of 8e-16 that is 0 exactly).
ROUNDOFF_FLOOR = 1e-12
LIVE_NOTE = "other values run live in Jupyter"


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name or not name.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"name must be a non-empty alphanumeric string with - or _, got {name!r}")
    return name


def _options(param: str, values) -> tuple[list[str], list]:
    """(labels, values) of one parameter's grid: a mapping label → value, or a sequence of values."""
    if isinstance(values, Mapping):
        labels, vals = [str(k) for k in values], list(values.values())
    elif isinstance(values, str) or not isinstance(values, Sequence | np.ndarray):
        raise ValueError(f"grid[{param!r}] must be a sequence of values or a mapping label → value, got {values!r}")
    else:
        vals = list(values)
        labels = [_format(v) for v in vals]
    if not vals:
        raise ValueError(f"grid[{param!r}] must hold at least one value, got none")
    if len(set(labels)) != len(labels):
        raise ValueError(f"grid[{param!r}] has repeated values: {labels}")
    return labels, vals


def _format(value) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        return str(value)
    if isinstance(value, int | np.integer):
        return str(int(value))
    return f"{float(value):.3g}"


def _is_number(values: list) -> bool:
    return all(isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool) for v in values)


def _figure_of(drawn) -> Figure:
    if isinstance(drawn, Figure):
        return drawn
    if isinstance(drawn, Axes):
        return drawn.figure
    if isinstance(drawn, tuple | list | np.ndarray) and len(drawn):
        return _figure_of(np.ravel(np.asarray(drawn, dtype=object))[0])
    raise TypeError(f"draw must return a matplotlib Figure or Axes, got {type(drawn).__name__}")


def _message_figure(err: Exception) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        height=200,
        xaxis={"visible": False},
        yaxis={"visible": False},
        annotations=[
            {
                "text": f"Cannot compute this setting: {err}",
                "showarrow": False,
                "x": 0.5,
                "y": 0.5,
                "xref": "paper",
                "yref": "paper",
                "font": {"color": "#c03030"},
            }
        ],
    )
    return fig


def twin_figures(
    fn: Callable[..., object], *, grid: Mapping[str, Sequence], max_points: int = 300, digits: int = 4
) -> list[dict]:
    """The drawing at every combination of ``grid`` (row-major, the last parameter fastest), as rounded plotly JSON.

    Args:
        fn: ``fn(**params)`` draws one setting with matplotlib and returns its Figure or Axes.
        grid: parameter name → values (a sequence, or a mapping label → value).
        max_points: lines are thinned to this many points.
        digits: significant digits of every number.

    Returns:
        One ``{"data", "layout"}`` dict per combination (the template removed; :func:`web_twin` adds it back once).
        A setting the library refuses (``ValueError``) or that diverges (``DivergenceError``) becomes a figure
        with that one-line message.
    """
    names = list(grid)
    values = [_options(p, grid[p])[1] for p in names]
    count = int(np.prod([len(v) for v in values]))
    if count > MAX_COMBINATIONS:
        raise ValueError(
            f"grid has {count} combinations; at most {MAX_COMBINATIONS} are precomputed (fix more parameters)"
        )
    figures = []
    for combo in itertools.product(*values):
        try:
            mpl_fig = _figure_of(fn(**dict(zip(names, combo, strict=True))))
            fig = figure_to_plotly(mpl_fig, max_points=max_points)
            plt.close(mpl_fig)
        except (ValueError, DivergenceError) as err:
            plt.close("all")
            fig = _message_figure(err)
        spec = _floor(round_floats(fig.to_plotly_json(), digits=digits))
        spec["layout"].pop("template", None)
        figures.append({"data": spec["data"], "layout": spec["layout"]})
    return figures


def web_twin(
    fn: Callable[..., object],
    *,
    grid: Mapping[str, Sequence],
    name: str,
    labels: Mapping[str, str] | None = None,
    value: Mapping[str, object] | None = None,
    max_points: int = 300,
    digits: int = 4,
) -> HTML:
    """Offline HTML of a widget's drawing precomputed over ``grid``, with controls that switch the figure.

    Args:
        fn: the widget's drawing function: ``fn(**params)`` draws with matplotlib, returns the Figure or Axes.
        grid: parameter name → values, in the widget's order (≤ 64 combinations in all). Numbers get a range
            slider over the values, anything else a select; a mapping label → value names the options. A single
            value gives a disabled control marked "other values run live in Jupyter".
        name: id of the twin's element (unique within the page; also keeps the stored output stable).
        labels: parameter → the widget control's description (default: the parameter name).
        value: parameter → value shown first (default: each grid's first value).
        max_points: lines are thinned to this many points.
        digits: significant digits of every number (see :func:`dropout_theory.plotting.interactive.offline_html`).

    Returns:
        An ``IPython.display.HTML`` object.
    """
    name = _check_name(name)
    if not isinstance(grid, Mapping) or not grid:
        raise ValueError(f"grid must be a non-empty mapping parameter → values, got {grid!r}")
    labels = dict(labels or {})
    value = dict(value or {})
    unknown = (set(labels) | set(value)) - set(grid)
    if unknown:
        raise ValueError(f"labels/value name parameters not in grid: {sorted(unknown)}")
    options = {p: _options(p, grid[p]) for p in grid}
    start = {}
    for p, (_, vals) in options.items():
        if p not in value:
            start[p] = 0
            continue
        matches = [i for i, v in enumerate(vals) if _same(v, value[p])]
        if not matches:
            raise ValueError(f"value[{p!r}] = {value[p]!r} is not one of grid[{p!r}]")
        start[p] = matches[0]
    figures = twin_figures(fn, grid=grid, max_points=max_points, digits=digits)
    varied = [p for p in grid if len(options[p][1]) > 1]
    sizes = [len(options[p][1]) for p in varied]
    index = 0
    for p in grid:
        if p in varied:
            index = index * len(options[p][1]) + start[p]
    template = go.Figure(layout={"template": "plotly_white"}).layout.template.to_plotly_json()
    first = go.Figure({"data": figures[index]["data"], "layout": {**figures[index]["layout"], "template": template}})
    plot = offline_html(first, f"{name}-plot", digits=digits).data
    controls = "".join(_control(name, p, labels.get(p, p), options[p], start[p], p in varied) for p in grid)
    note = "" if len(varied) == len(grid) else f'<span class="web-twin-note">({LIVE_NOTE})</span>'
    payload = json.dumps(
        {"figures": figures, "template": template, "sizes": sizes, "labels": [options[p][0] for p in varied]},
        separators=(",", ":"),
        sort_keys=True,
        ensure_ascii=False,
    ).replace("</", "<\\/")
    script = (
        "<script>(function () {"
        f'var root = document.getElementById("{name}");'
        f'var gd = document.getElementById("{name}-plot");'
        "if (!window.Plotly || !root || !gd) { return; }"
        f"var twin = {payload};"
        'var inputs = root.querySelectorAll("[data-twin-param]");'
        'root.querySelector(".web-twin-controls").style.display = "";'
        "function show() {"
        "var k = 0;"
        "inputs.forEach(function (c, i) {"
        "var j = Number(c.value); k = k * twin.sizes[i] + j;"
        'var out = c.parentNode.querySelector("output"); if (out) { out.textContent = twin.labels[i][j]; }'
        "});"
        "var fig = JSON.parse(JSON.stringify(twin.figures[k]));"
        "fig.layout.template = twin.template;"
        'Plotly.react(gd, fig.data, fig.layout, {"displaylogo": false, "responsive": true});'
        "}"
        'inputs.forEach(function (c) { c.addEventListener("input", show); c.addEventListener("change", show); });'
        "})();</script>"
    )
    body = (
        f'<div class="web-twin" id="{name}">'
        f'<div class="web-twin-controls" style="display:none;margin:0.4em 0;line-height:2.2">{controls}{note}</div>'
        f"{plot}</div>{script}"
    )
    return HTML(body)


def live_only(
    *, controls: Mapping[str, object], name: str, labels: Mapping[str, str] | None = None, reason: str
) -> HTML:
    """The controls of a widget too slow to precompute, shown disabled at their values with the note that they
    run live in Jupyter (no figure: the chapter shows its static figure above).

    Args:
        controls: parameter → the value the widget starts with.
        name: id of the element.
        labels: parameter → the widget control's description (default: the parameter name).
        reason: why the widget is not precomputed (shown in the note).

    Returns:
        An ``IPython.display.HTML`` object.
    """
    name = _check_name(name)
    if not controls:
        raise ValueError("controls must name at least one parameter")
    labels = dict(labels or {})
    body = "".join(_control(name, p, labels.get(p, p), ([_format(v)], [v]), 0, False) for p, v in controls.items())
    note = f'<span class="web-twin-note">(this widget runs live in Jupyter: {html.escape(reason)})</span>'
    return HTML(
        f'<div class="web-twin web-twin-live-only" id="{name}"><div class="web-twin-controls">{body}{note}</div></div>'
    )


def _floor(obj):
    """Rounded plotly JSON with every float below :data:`ROUNDOFF_FLOOR` in magnitude set to 0."""
    if isinstance(obj, float):
        return 0.0 if abs(obj) < ROUNDOFF_FLOOR else obj
    if isinstance(obj, dict):
        return {k: _floor(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_floor(v) for v in obj]
    return obj


def _same(a, b) -> bool:
    try:
        return bool(a == b) if not isinstance(a, float | np.floating) else bool(np.isclose(a, b, rtol=1e-12, atol=0))
    except (TypeError, ValueError):
        return False


def _control(twin: str, param: str, label: str, options: tuple[list[str], list], start: int, varied: bool) -> str:
    names, values = options
    esc = html.escape
    label_html = f'<span style="margin-right:0.4em">{esc(label)}</span>'
    if not varied:
        return (
            f'<label style="margin-right:1.5em;opacity:0.6" title="{LIVE_NOTE}">{label_html}'
            f'<input type="range" disabled min="0" max="0" value="0" style="width:8em;vertical-align:middle">'
            f'<output style="margin-left:0.4em">{esc(names[0])}</output></label>'
        )
    attrs = f'data-twin-param="{esc(param)}" aria-label="{esc(label)}"'
    if _is_number(values):
        widget = (
            f'<input type="range" {attrs} min="0" max="{len(values) - 1}" step="1" value="{start}"'
            ' style="width:10em;vertical-align:middle">'
            f'<output style="margin-left:0.4em">{esc(names[start])}</output>'
        )
    else:
        opts = "".join(
            f'<option value="{i}"{" selected" if i == start else ""}>{esc(n)}</option>' for i, n in enumerate(names)
        )
        widget = f"<select {attrs}>{opts}</select>"
    return f'<label style="margin-right:1.5em;white-space:nowrap">{label_html}{widget}</label>'
