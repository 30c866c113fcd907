"""Convert a drawn matplotlib figure into an equivalent plotly figure (for the website's web twins).

The widgets of the book draw with matplotlib; their web twins (:mod:`dropout_theory.plotting.web_twin`) show the
same drawing in plotly, which the browser can switch without a kernel. The converter reads what matplotlib drew,
after the drawing function returns, so a widget has one drawing function for both. Supported: lines (``plot``,
``semilogy``, ``loglog``, ``axhline``/``axvline`` and error-bar caps), line collections (error bars, ``vlines``),
scatter collections, filled polygons (``fill_between``, ``fill``, ``axvspan``), bars (``bar``/``barh``, with
category ticks), images and colour meshes (``imshow``, ``pcolormesh`` → heatmap with the colormap and limits),
texts and annotations, axes titles, the figure's suptitle, axis labels, log scales, axis limits, legends and the
subplot layout (each axes keeps its position in the figure). Matplotlib's mathtext is rewritten as plain Unicode
with ``<sub>``/``<sup>``, which plotly renders without MathJax. Long lines are thinned to at most ``max_points``.
"""

from __future__ import annotations

import re

import matplotlib.colors as mcolors
import numpy as np
import plotly.graph_objects as go
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PathCollection, PolyCollection, QuadMesh
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.patches import Patch, Rectangle
from matplotlib.text import Annotation, Text

PX_PER_INCH = 100
_DASH = {"-": "solid", "--": "dash", ":": "dot", "-.": "dashdot"}
_MARKER = {
    "o": "circle",
    "s": "square",
    "^": "triangle-up",
    "v": "triangle-down",
    "<": "triangle-left",
    ">": "triangle-right",
    "*": "star",
    "D": "diamond",
    "d": "diamond-tall",
    "x": "x-thin-open",
    "X": "x",
    "+": "cross-thin-open",
    "P": "cross",
    "p": "pentagon",
    "h": "hexagon",
    ".": "circle",
    "_": "line-ew-open",
    "|": "line-ns-open",
}
_TEX = {
    r"\sigma": "σ",
    r"\tau": "τ",
    r"\eta": "η",
    r"\xi": "ξ",
    r"\nabla": "∇",
    r"\lambda": "λ",
    r"\alpha": "α",
    r"\beta": "β",
    r"\chi": "χ",
    r"\rho": "ρ",
    r"\mu": "μ",
    r"\nu": "ν",
    r"\delta": "δ",
    r"\epsilon": "ε",
    r"\theta": "θ",
    r"\Sigma": "Σ",
    r"\infty": "∞",
    r"\max": "max",
    r"\min": "min",
    r"\mathrm": "",
    r"\mathcal": "",
    r"\mathbf": "",
    r"\operatorname": "",
    r"\,": " ",
    r"\;": " ",
    r"\ ": " ",
    r"\cdot": "·",
    r"\times": "×",
    r"\approx": "≈",
    r"\leq": "≤",
    r"\geq": "≥",
    r"\to": "→",
    r"\|": "‖",
}


def plain_text(text: str) -> str:
    """Matplotlib text with ``$…$`` mathtext as plotly text: Unicode letters, ``<sub>``/``<sup>``, ``<br>``."""
    parts = text.split("$")
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 1:
            for tex in sorted(_TEX, key=len, reverse=True):
                part = part.replace(tex, _TEX[tex])
            for _ in range(3):  # nested scripts
                part = re.sub(r"([_^])\{([^{}]*)\}", lambda m: _script(m.group(1), m.group(2)), part)
            part = re.sub(r"([_^])(\\?.)", lambda m: _script(m.group(1), m.group(2)), part)
            part = part.replace("{", "").replace("}", "").replace("\\", "")
        out.append(part)
    return "".join(out).replace("\n", "<br>")


def _script(kind: str, body: str) -> str:
    tag = "sub" if kind == "_" else "sup"
    return f"<{tag}>{body}</{tag}>"


def _hex(color) -> str:
    return mcolors.to_hex(color, keep_alpha=False)


def _rgba(color, alpha: float | None = None) -> str:
    r, g, b, a = mcolors.to_rgba(color)
    if alpha is not None:
        a = alpha
    return f"rgba({round(255 * r)},{round(255 * g)},{round(255 * b)},{a:.3g})"


def _thin(n: int, max_points: int, xy: np.ndarray | None = None) -> np.ndarray:
    """Indices of about ``max_points`` evenly spread points of ``n``, keeping the first and the last and, given
    the points ``xy`` (n, 2), the first smallest and largest x (a band's turning point). Only x, usually the
    exact grid a curve is drawn on, chooses points: a choice by y could change under round-off."""
    if n <= max_points:
        return np.arange(n)
    keep = np.round(np.linspace(0, n - 1, max_points - (2 if xy is not None else 0))).astype(int)
    if xy is not None and np.isfinite(xy[:, 0]).any():
        x = np.where(np.isfinite(xy[:, 0]), xy[:, 0], np.nan)
        keep = np.concatenate([keep, [np.nanargmin(x), np.nanargmax(x)]])
    return np.unique(keep)


def _to_data(artist, ax: Axes, xy: np.ndarray) -> np.ndarray:
    """Points of ``artist`` in ``ax``'s data coordinates (axhline, axvline, axvspan live in mixed coordinates)."""
    transform = artist.get_transform()
    if transform == ax.transData:
        return xy
    return ax.transData.inverted().transform(transform.transform(xy))


class _Axis:
    """Plotly ids of one matplotlib axes (``x2``/``y2`` …) and whether its legend is shown."""

    def __init__(self, index: int, ax: Axes):
        suffix = "" if index == 0 else str(index + 1)
        self.x, self.y = f"x{suffix}", f"y{suffix}"
        self.legend = f"legend{suffix}"
        self.has_legend = ax.get_legend() is not None
        self.shown: set[str] = set()

    def trace_kwargs(self, label: str | None) -> dict:
        show = bool(self.has_legend and label and not label.startswith("_") and label not in self.shown)
        if show:
            self.shown.add(label)
        kwargs = {"xaxis": self.x, "yaxis": self.y, "showlegend": show, "legend": self.legend}
        if label and not label.startswith("_"):
            kwargs["name"] = plain_text(label)
            kwargs["legendgroup"] = f"{self.x}:{label}"
        return kwargs


def _line_traces(ax: Axes, axis: _Axis, max_points: int) -> list:
    traces = []
    for line in ax.get_lines():
        if not line.get_visible():
            continue
        x = np.asarray(line.get_xdata(orig=False), dtype=float)
        y = np.asarray(line.get_ydata(orig=False), dtype=float)
        if x.size == 0:
            continue
        if x.shape != y.shape:
            x, y = np.broadcast_arrays(x, y)
        xy = _to_data(line, ax, np.column_stack([x, y]))
        xy = xy[_thin(len(xy), max_points, xy)]
        style = line.get_linestyle()
        marker = line.get_marker()
        has_line = style in _DASH
        has_marker = marker not in (None, "None", "", " ", ",")
        if not has_line and not has_marker:
            continue
        alpha = line.get_alpha()
        mode = "+".join(m for m, on in (("lines", has_line), ("markers", has_marker)) if on)
        kwargs = axis.trace_kwargs(line.get_label())
        trace = go.Scatter(x=xy[:, 0], y=xy[:, 1], mode=mode, opacity=1.0 if alpha is None else alpha, **kwargs)
        if has_line:
            trace.line = {"color": _hex(line.get_color()), "width": line.get_linewidth() * 1.2, "dash": _DASH[style]}
        if has_marker:
            symbol = _MARKER.get(str(marker), "circle")
            face = line.get_markerfacecolor()
            edge = line.get_markeredgecolor()
            open_marker = isinstance(face, str) and face.lower() == "none"
            trace.marker = {
                "symbol": symbol + ("-open" if open_marker and not symbol.endswith("-open") else ""),
                "size": max(2.0, line.get_markersize() * 1.3),
                "color": _hex(edge if open_marker else face),
                "line": {"color": _hex(edge), "width": line.get_markeredgewidth()},
            }
        traces.append(trace)
    return traces


def _segments_trace(coll: LineCollection, ax: Axes, axis: _Axis) -> go.Scatter | None:
    xs: list[float | None] = []
    ys: list[float | None] = []
    for seg in coll.get_segments():
        seg = _to_data(coll, ax, np.asarray(seg, dtype=float))
        xs += [*seg[:, 0], None]
        ys += [*seg[:, 1], None]
    if not xs:
        return None
    colors = coll.get_colors()
    color = _hex(colors[0]) if len(colors) else "#000000"
    widths = coll.get_linewidths()
    width = float(widths[0]) if len(widths) else 1.0
    kwargs = axis.trace_kwargs(coll.get_label())
    return go.Scatter(x=xs, y=ys, mode="lines", line={"color": color, "width": width * 1.2}, **kwargs)


def _scatter_trace(coll: PathCollection, ax: Axes, axis: _Axis, max_points: int) -> go.Scatter | None:
    offsets = np.asarray(coll.get_offsets(), dtype=float)
    if offsets.size == 0:
        return None
    offsets = _to_data_offsets(coll, ax, offsets)
    keep = _thin(len(offsets), max_points)
    faces = coll.get_facecolors()
    sizes = coll.get_sizes()
    marker = {
        "size": float(np.sqrt(sizes[0]) * 1.3) if len(sizes) else 6.0,
        "color": [_rgba(c) for c in faces[keep]]
        if len(faces) == len(offsets)
        else _rgba(faces[0])
        if len(faces)
        else "rgba(0,0,0,0)",
    }
    edges = coll.get_edgecolors()
    if len(edges):
        marker["line"] = {"color": _rgba(edges[0]), "width": float(coll.get_linewidths()[0])}
    kwargs = axis.trace_kwargs(coll.get_label())
    return go.Scatter(x=offsets[keep, 0], y=offsets[keep, 1], mode="markers", marker=marker, **kwargs)


def _to_data_offsets(coll, ax: Axes, offsets: np.ndarray) -> np.ndarray:
    transform = coll.get_offset_transform()
    if transform == ax.transData:
        return offsets
    return ax.transData.inverted().transform(transform.transform(offsets))


def _polygon_traces(artist, ax: Axes, axis: _Axis, max_points: int, paths, faces, label) -> list:
    traces = []
    for k, path in enumerate(paths):
        polys = path.to_polygons(closed_only=False)
        for poly in polys:
            poly = _to_data(artist, ax, np.asarray(poly, dtype=float))
            poly = poly[_thin(len(poly), max_points, poly)]
            face = faces[k % len(faces)] if len(faces) else (0, 0, 0, 0)
            kwargs = axis.trace_kwargs(label if k == 0 else None)
            traces.append(
                go.Scatter(
                    x=poly[:, 0],
                    y=poly[:, 1],
                    mode="lines",
                    fill="toself",
                    fillcolor=_rgba(face),
                    line={"width": 0},
                    hoverinfo="skip",
                    **kwargs,
                )
            )
    return traces


def _mesh_trace(artist, ax: Axes, axis: _Axis, colorbar_label: str | None) -> go.Heatmap:
    """A heatmap from an image (``imshow``) or a quad mesh (``pcolormesh``), with its colormap and limits."""
    if isinstance(artist, AxesImage):
        z = np.ma.filled(np.ma.asarray(artist.get_array(), dtype=float), np.nan)
        x0, x1, y0, y1 = artist.get_extent()
        ny, nx = z.shape[:2]
        x = x0 + (np.arange(nx) + 0.5) * (x1 - x0) / nx
        y = y0 + (np.arange(ny) + 0.5) * (y1 - y0) / ny
        if artist.origin == "upper":
            y = y[::-1] if y1 > y0 else y
    else:
        coords = artist.get_coordinates()
        arr = np.ma.asarray(artist.get_array(), dtype=float)
        ny, nx = coords.shape[0] - 1, coords.shape[1] - 1
        z = np.ma.filled(arr, np.nan).reshape(ny, nx)
        x = 0.5 * (coords[0, :-1, 0] + coords[0, 1:, 0])
        y = 0.5 * (coords[:-1, 0, 1] + coords[1:, 0, 1])
    cmap = artist.get_cmap()
    norm = artist.norm
    scale = [[t, _hex(cmap(t))] for t in np.linspace(0.0, 1.0, 11)]
    heat = go.Heatmap(
        x=x,
        y=y,
        z=z,
        colorscale=scale,
        zmin=norm.vmin,
        zmax=norm.vmax,
        xaxis=axis.x,
        yaxis=axis.y,
        showscale=colorbar_label is not None,
    )
    if colorbar_label is not None:
        heat.colorbar = {"title": {"text": plain_text(colorbar_label), "side": "right"}, "thickness": 12}
    return heat


def _bar_traces(ax: Axes, axis: _Axis) -> tuple[list, set[int]]:
    traces, used = [], set()
    for container in ax.containers:
        rects = [p for p in getattr(container, "patches", []) if isinstance(p, Rectangle)]
        if not rects or getattr(container, "orientation", None) is None:
            continue
        used.update(id(p) for p in rects)
        horizontal = container.orientation == "horizontal"
        pos = [r.get_y() + r.get_height() / 2 if horizontal else r.get_x() + r.get_width() / 2 for r in rects]
        length = [r.get_width() if horizontal else r.get_height() for r in rects]
        base = [r.get_x() if horizontal else r.get_y() for r in rects]
        thick = [r.get_height() if horizontal else r.get_width() for r in rects]
        colors = [_rgba(r.get_facecolor()) for r in rects]
        kwargs = axis.trace_kwargs(container.get_label())
        traces.append(
            go.Bar(
                x=length if horizontal else pos,
                y=pos if horizontal else length,
                base=base,
                width=thick,
                orientation="h" if horizontal else "v",
                marker={"color": colors},
                **kwargs,
            )
        )
    return traces, used


def _text_annotation(text: Text, ax: Axes | None, axis: _Axis | None, fig: Figure) -> dict | None:
    content = text.get_text()
    if not content or not text.get_visible():
        return None
    x, y = text.xyann if isinstance(text, Annotation) else text.get_position()
    transform = text.get_transform() if not isinstance(text, Annotation) else _annotation_transform(text, ax)
    note = {
        "text": plain_text(content),
        "showarrow": False,
        "font": {"size": text.get_fontsize() * 1.2, "color": _hex(text.get_color())},
        "xanchor": {"center": "center", "right": "right"}.get(text.get_horizontalalignment(), "left"),
        "yanchor": {"center": "middle", "top": "top", "baseline": "bottom", "center_baseline": "middle"}.get(
            text.get_verticalalignment(), "bottom"
        ),
    }
    if ax is not None and axis is not None and transform == ax.transData:
        note.update(x=x, y=y, xref=axis.x, yref=axis.y)
        if ax.get_xscale() == "log":
            note["x"] = float(np.log10(x))
        if ax.get_yscale() == "log":
            note["y"] = float(np.log10(y))
    elif ax is not None and axis is not None:
        fx, fy = ax.transAxes.inverted().transform(transform.transform((x, y)))
        note.update(x=fx, y=fy, xref=f"{axis.x} domain", yref=f"{axis.y} domain")
    else:
        fx, fy = fig.transFigure.inverted().transform(transform.transform((x, y)))
        note.update(x=fx, y=fy, xref="paper", yref="paper")
    return note


def _annotation_transform(text: Annotation, ax: Axes | None):
    coords = text.anncoords if text.anncoords is not None else text.xycoords
    if coords == "data" and ax is not None:
        return ax.transData
    if coords == "axes fraction" and ax is not None:
        return ax.transAxes
    if coords == "figure fraction":
        return text.figure.transFigure
    return text.get_transform()


def _axis_layout(ax: Axes, which: str) -> dict:
    scale = ax.get_xscale() if which == "x" else ax.get_yscale()
    label = ax.get_xlabel() if which == "x" else ax.get_ylabel()
    lo, hi = ax.get_xlim() if which == "x" else ax.get_ylim()
    axis = ax.xaxis if which == "x" else ax.yaxis
    layout: dict = {
        "title": {"text": plain_text(label), "font": {"size": 12}},
        "type": "log" if scale == "log" else "linear",
        "showgrid": bool(axis._major_tick_kw.get("gridOn", False)),
        "zeroline": False,
        "showline": True,
        "linecolor": "#444",
        "ticks": "outside",
        "automargin": True,
    }
    if scale == "log":
        layout["range"] = [float(np.log10(lo)), float(np.log10(hi))]
        layout["exponentformat"] = "power"
    else:
        layout["range"] = [float(lo), float(hi)]
    units = getattr(axis, "units", None)
    if units is not None and hasattr(units, "_mapping"):  # category axis (bar labels)
        layout["tickvals"] = [float(v) for v in units._mapping.values()]
        layout["ticktext"] = [plain_text(str(k)) for k in units._mapping]
    return layout


def figure_to_plotly(fig: Figure, *, max_points: int = 300) -> go.Figure:
    """A plotly figure showing what the matplotlib figure ``fig`` draws.

    Args:
        fig: a drawn matplotlib figure (its axes, lines, collections, images, texts and legends are read).
        max_points: lines and polygons longer than this are thinned to this many points (≥ 2).

    Returns:
        The plotly figure: one pair of plotly axes per matplotlib axes, at the same place in the figure; the
        height follows the matplotlib figure's height.
    """
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 2:
        raise ValueError(f"max_points must be an integer >= 2, got {max_points!r}")
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    colorbar_axes = {id(cb_ax) for cb_ax in fig.axes if getattr(cb_ax, "_colorbar", None) is not None}
    colorbar_labels = {
        id(cb._colorbar.mappable): cb._colorbar.ax.get_ylabel() for cb in fig.axes if id(cb) in colorbar_axes
    }
    axes = [ax for ax in fig.axes if id(ax) not in colorbar_axes and ax.get_visible()]
    out = go.Figure()
    layout: dict = {"annotations": [], "template": "plotly_white", "margin": {"l": 60, "r": 20, "t": 50, "b": 50}}
    for i, ax in enumerate(axes):
        axis = _Axis(i, ax)
        pos = ax.get_position()
        x_layout = _axis_layout(ax, "x") | {"domain": [max(0.0, pos.x0), min(1.0, pos.x1)], "anchor": axis.y}
        y_layout = _axis_layout(ax, "y") | {"domain": [max(0.0, pos.y0), min(1.0, pos.y1)], "anchor": axis.x}
        layout["xaxis" + axis.x[1:]] = x_layout
        layout["yaxis" + axis.y[1:]] = y_layout
        for artist in [*ax.images, *(c for c in ax.collections if isinstance(c, QuadMesh))]:
            out.add_trace(_mesh_trace(artist, ax, axis, colorbar_labels.get(id(artist))))
        bars, bar_patches = _bar_traces(ax, axis)
        for coll in ax.collections:
            if isinstance(coll, QuadMesh):
                continue
            if isinstance(coll, PolyCollection):
                traces = _polygon_traces(
                    coll, ax, axis, max_points, coll.get_paths(), coll.get_facecolors(), coll.get_label()
                )
            elif isinstance(coll, LineCollection):
                traces = [_segments_trace(coll, ax, axis)]
            elif isinstance(coll, PathCollection):
                traces = [_scatter_trace(coll, ax, axis, max_points)]
            else:
                traces = []
            for tr in traces:
                if tr is not None:
                    out.add_trace(tr)
        for patch in ax.patches:
            if id(patch) in bar_patches or not isinstance(patch, Patch) or not patch.get_visible():
                continue
            path = patch.get_path().transformed(patch.get_patch_transform())
            for tr in _polygon_traces(patch, ax, axis, max_points, [path], [patch.get_facecolor()], patch.get_label()):
                out.add_trace(tr)
        for tr in bars:
            out.add_trace(tr)
        for tr in _line_traces(ax, axis, max_points):
            out.add_trace(tr)
        for text in ax.texts:
            note = _text_annotation(text, ax, axis, fig)
            if note is not None:
                layout["annotations"].append(note)
        for loc, x in (("left", 0.0), ("center", 0.5), ("right", 1.0)):
            title = ax.get_title(loc)
            if title:
                size = ax.title.get_fontsize() if loc == "center" else ax._left_title.get_fontsize()
                layout["annotations"].append(
                    {
                        "text": plain_text(title),
                        "x": x,
                        "y": 1.0,
                        "xref": f"{axis.x} domain",
                        "yref": f"{axis.y} domain",
                        "xanchor": {"left": "left", "center": "center", "right": "right"}[loc],
                        "yanchor": "bottom",
                        "yshift": 4,
                        "showarrow": False,
                        "font": {"size": size * 1.2},
                    }
                )
        if axis.has_legend:
            layout[axis.legend] = {
                "x": min(1.0, pos.x1),
                "y": min(1.0, pos.y1),
                "xref": "paper",
                "yref": "paper",
                "xanchor": "right",
                "yanchor": "top",
                "bgcolor": "rgba(255,255,255,0.6)",
                "font": {"size": 10},
            }
    for text in fig.texts:
        if text is getattr(fig, "_suptitle", None):
            continue
        note = _text_annotation(text, None, None, fig)
        if note is not None:
            layout["annotations"].append(note)
    suptitle = getattr(fig, "_suptitle", None)
    if suptitle is not None and suptitle.get_text():
        layout["title"] = {"text": plain_text(suptitle.get_text()), "x": 0.5, "font": {"size": 13}}
        layout["margin"]["t"] = 70
    layout["height"] = round(fig.get_figheight() * PX_PER_INCH * 1.15) + 40
    layout["showlegend"] = any(getattr(tr, "showlegend", False) for tr in out.data)
    out.update_layout(layout)
    return out
