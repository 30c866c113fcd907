"""Precomputed interactive figures (plotly) that work on the static website, offline and without a kernel.

An ipywidgets control needs a running kernel; on the website it shows only its stored state. Where moving a
parameter *is* the lesson, the chapters also show a plotly figure whose slider steps were all computed when the
notebook ran: the browser only switches between stored traces. The plotly JavaScript is served from the book's
own static folder (the local Sphinx extension ``book/_ext/book_assets.py`` copies it from the installed plotly
package onto exactly the pages that need it), so nothing is fetched from a CDN.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from fractions import Fraction

import numpy as np
import plotly.graph_objects as go
from IPython.display import HTML

_FALLBACK = (
    '<p class="plotly-offline-fallback" style="font-size:0.85em;color:#666">'
    "(Interactive figure: it is drawn on the book's website. In Jupyter, use the widget of this chapter.)</p>"
)


def offline_html(fig: go.Figure, div_id: str, *, digits: int = 4) -> HTML:
    """HTML of a plotly figure without the plotly library, with a stable element id.

    Every floating-point number of the figure (plain floats, lists, numpy arrays and the base64 typed arrays that
    plotly ≥ 6 writes for numpy data) is rounded to ``digits`` significant digits and embedded as a plain JSON
    number. Data that agrees to about 1e-10 between machines (different BLAS, thread counts, round-off) then gives
    byte-identical HTML, and the page is smaller; four digits are finer than a pixel of the plot.

    Args:
        fig: the figure.
        div_id: id of the figure's element (unique within the page; keeps the stored output stable).
        digits: significant digits kept for floating-point data (1 to 17).

    Returns:
        An ``IPython.display.HTML`` object. Where ``window.Plotly`` is missing (Jupyter) a short note is shown.
    """
    if not div_id.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"div_id must be alphanumeric with - or _, got {div_id!r}")
    if isinstance(digits, bool) or not isinstance(digits, int) or not 1 <= digits <= 17:
        raise ValueError(f"digits must be an integer in [1, 17], got {digits!r}")
    rounded = go.Figure(_round(fig.to_plotly_json(), digits))
    html = rounded.to_html(
        include_plotlyjs=False, full_html=False, div_id=div_id, config={"displaylogo": False, "responsive": True}
    )
    guard = f'if (document.getElementById("{div_id}"))'
    if guard not in html:
        raise RuntimeError("unexpected plotly HTML layout; update dropout_theory.plotting.interactive")
    html = html.replace(guard, f'if (window.Plotly && document.getElementById("{div_id}"))')
    hide = (
        "<script>if (window.Plotly) {document.querySelectorAll('.plotly-offline-fallback')"
        ".forEach(function (e) {e.style.display = 'none';});}</script>"
    )
    return HTML(html + _FALLBACK + hide)


def round_floats(obj, *, digits: int = 4):
    """``obj`` (plotly JSON: dicts, lists, numpy arrays, plotly's base64 typed arrays) with every float rounded to
    ``digits`` significant digits (non-finite → ``None``) and arrays turned into lists, as :func:`offline_html`
    embeds them."""
    if isinstance(digits, bool) or not isinstance(digits, int) or not 1 <= digits <= 17:
        raise ValueError(f"digits must be an integer in [1, 17], got {digits!r}")
    return _round(obj, digits)


def _round(obj, digits: int):
    """``obj`` (plotly JSON) with every float rounded to ``digits`` significant digits; arrays become lists."""
    if isinstance(obj, float | np.floating):
        return _round_float(float(obj), digits)
    if isinstance(obj, np.ndarray):
        return _round_array(obj, digits)
    if isinstance(obj, dict):
        if set(obj) <= {"dtype", "bdata", "shape"} and {"dtype", "bdata"} <= set(obj):
            return _round_array(_decode_typed_array(obj), digits)
        return {k: _round(v, digits) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_round(v, digits) for v in obj]
    return obj


def _round_float(value: float, digits: int) -> float | None:
    if not np.isfinite(value):
        return None  # plotly draws a gap; JSON has no NaN
    return float(f"{value:.{digits}g}")


def _round_array(values: np.ndarray, digits: int) -> list:
    if values.dtype.kind != "f":
        return values.tolist()
    if values.ndim == 0:
        return _round_float(float(values), digits)
    return [_round_array(v, digits) for v in values] if values.ndim > 1 else [_round_float(v, digits) for v in values]


def _decode_typed_array(spec: dict) -> np.ndarray:
    """Decode plotly's ``{"dtype", "bdata"[, "shape"]}`` base64 encoding of a numpy array."""
    values = np.frombuffer(base64.b64decode(spec["bdata"]), dtype=np.dtype(spec["dtype"]))
    if "shape" in spec:
        shape = spec["shape"]
        values = values.reshape([int(n) for n in str(shape).split(",")] if isinstance(shape, str) else shape)
    return values


def slider_figure(
    steps: Mapping[str, Sequence[go.Scatter]],
    *,
    slider_label: str,
    title: str,
    xaxis: Mapping[str, object],
    yaxis: Mapping[str, object],
    active: int = 0,
) -> go.Figure:
    """A figure with one slider step per entry of ``steps``; each step shows its own traces only.

    Args:
        steps: label of the slider step → the traces drawn at that step (same number of traces per step is not
            required).
        slider_label: text before the current value of the slider.
        title: figure title.
        xaxis: plotly x-axis layout (e.g. ``{"title": "σ_b²", "range": [0, 1]}``).
        yaxis: plotly y-axis layout.
        active: index of the step shown first.

    Returns:
        The figure.
    """
    if not steps:
        raise ValueError("steps must contain at least one slider step")
    labels = list(steps)
    if not 0 <= active < len(labels):
        raise ValueError(f"active must lie in [0, {len(labels) - 1}], got {active}")
    fig = go.Figure()
    owner = []
    for i, label in enumerate(labels):
        for tr in steps[label]:
            tr.visible = i == active
            fig.add_trace(tr)
            owner.append(i)
    slider_steps = [
        {"method": "update", "label": label, "args": [{"visible": [o == i for o in owner]}]}
        for i, label in enumerate(labels)
    ]
    fig.update_layout(
        template="plotly_white",
        title=title,
        xaxis=dict(xaxis),
        yaxis=dict(yaxis),
        height=460,
        margin={"l": 60, "r": 20, "t": 60, "b": 40},
        sliders=[
            {"active": active, "currentvalue": {"prefix": f"{slider_label}: "}, "steps": slider_steps, "pad": {"t": 40}}
        ],
    )
    return fig


def order_chaos_explorer(
    *,
    activations: Sequence[str] = ("tanh", "erf", "relu"),
    keep_probs: Sequence[float] = (1.0, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5),
    sigma_b2_max: float = 0.5,
    point: tuple[float, float] | None = (0.05, 1.5),
) -> go.Figure:
    """Order–chaos boundaries σ_w²(σ_b²) (χ₁ = 1) for several activations, one slider step per keep_prob.

    Args:
        activations: activation names of :mod:`dropout_theory.deep_meanfield`.
        keep_probs: slider values (probabilities of keeping a unit).
        sigma_b2_max: right end of the σ_b² axis.
        point: an optional (σ_b², σ_w²) marker, e.g. the chapter's example initialization.

    Returns:
        The plotly figure (precomputed by Gauss–Hermite quadrature).
    """
    from dropout_theory.deep_meanfield import order_chaos_boundary

    sb = np.linspace(0.0, float(sigma_b2_max), 41)
    curves = {a: order_chaos_boundary(a, sb, list(keep_probs)) for a in activations}
    steps = {}
    for k, rho in enumerate(keep_probs):
        traces = [
            go.Scatter(x=sb, y=curves[a][k], mode="lines", name=f"{a}: χ₁ = 1", line={"width": 2}) for a in activations
        ]
        if point is not None:
            traces.append(
                go.Scatter(
                    x=[point[0]],
                    y=[point[1]],
                    mode="markers",
                    name="example (σ_b², σ_w²)",
                    marker={"symbol": "star", "size": 14, "color": "black"},
                )
            )
        steps[f"{rho:g}"] = traces
    return slider_figure(
        steps,
        slider_label="keep_prob ρ",
        title="Order–chaos boundary χ₁ = 1: ordered below each curve, chaotic above",
        xaxis={"title": "σ_b²", "range": [0, float(sigma_b2_max)]},
        yaxis={"title": "σ_w²", "range": [0, 2.5]},
    )


def phase_map_explorer(grid_step: Fraction = Fraction(1, 20), a_max: Fraction = Fraction(2)) -> go.Figure:
    """The phase map of Part III in the (a, b) plane with the phase and its limit at every grid point on hover.

    Points are classified with exact rational arithmetic by :func:`dropout_theory.phase.classify_phase`, so the
    boundary lines (a = b, b = 1, a = 0) are sampled exactly.

    Args:
        grid_step: spacing of the rational grid (a Fraction).
        a_max: largest a shown.

    Returns:
        The plotly figure.
    """
    from dropout_theory.phase import PHASES, classify_phase

    step = Fraction(grid_step)
    if step <= 0:
        raise ValueError(f"grid_step must be positive, got {grid_step}")
    n_a = int(Fraction(a_max) / step)
    pts: dict[str, list[tuple[float, float]]] = {}
    for i in range(n_a + 1):
        for j in range(int(Fraction(3, 2) / step) + 1):
            a, b = i * step, j * step
            pts.setdefault(classify_phase(a, b), []).append((float(a), float(b)))
    fig = go.Figure()
    for phase in PHASES:
        if phase not in pts:
            continue
        xy = np.array(pts[phase])
        fig.add_trace(
            go.Scatter(
                x=xy[:, 0],
                y=xy[:, 1],
                mode="markers",
                name=phase.replace("_", " "),
                marker={"size": 6 if phase != "critical" else 14},
                hovertemplate=f"a = %{{x}}<br>b = %{{y}}<br>{phase.replace('_', ' ')}<extra></extra>",
            )
        )
    fig.update_layout(
        template="plotly_white",
        title="Phases of dropout as the width n → ∞ (τ = n^-a, q = n^-b); hover for the phase",
        xaxis={"title": "a  (learning rate τ = n^-a)"},
        yaxis={"title": "b  (keep rate q = n^-b)"},
        height=480,
        margin={"l": 60, "r": 20, "t": 60, "b": 40},
    )
    return fig


def trajectory_explorer(
    cases: Mapping[str, Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]],
    *,
    slider_label: str,
    title: str,
    yaxis_title: str = "loss",
    log_y: bool = True,
) -> go.Figure:
    """Mean curves with min–max bands, one slider step per case (e.g. dropout vs its SME per learning rate).

    Args:
        cases: slider label → {curve name → (x, mean, low, high)} arrays of equal length.
        slider_label: text before the slider value.
        title: figure title.
        yaxis_title: y-axis title.
        log_y: logarithmic y axis.

    Returns:
        The plotly figure.
    """
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]
    steps = {}
    for label, curves in cases.items():
        traces = []
        for c, (name, (x, mean, low, high)) in enumerate(curves.items()):
            color = palette[c % len(palette)]
            x, low, high = np.asarray(x), np.asarray(low), np.asarray(high)
            traces.append(
                go.Scatter(
                    x=np.concatenate([x, x[::-1]]),
                    y=np.concatenate([high, low[::-1]]),
                    fill="toself",
                    line={"width": 0},
                    fillcolor=color,
                    opacity=0.2,
                    hoverinfo="skip",
                    showlegend=False,
                )
            )
            traces.append(go.Scatter(x=x, y=np.asarray(mean), mode="lines", name=name, line={"color": color}))
        steps[label] = traces
    return slider_figure(
        steps,
        slider_label=slider_label,
        title=title,
        xaxis={"title": "time t = step × learning rate"},
        yaxis={"title": yaxis_title, "type": "log" if log_y else "linear"},
    )


def ensemble_explorer(cases, quantity: str = "train_loss", *, title: str | None = None) -> go.Figure:
    """:func:`trajectory_explorer` for batched runs of :func:`dropout_theory.two_layer.simulate`.

    Args:
        cases: slider label → {curve name → (Ensemble, learning rate)}, the structure the SME chapter builds.
        quantity: recorded quantity of the ensembles ("train_loss", "test_loss" or "test_accuracy").
        title: figure title (default: names the quantity).

    Returns:
        The plotly figure: mean over runs with min–max bands against t = learning rate × step.
    """
    curves = {}
    for label, runs in cases.items():
        curves[label] = {}
        for name, (ens, lr) in runs.items():
            values = getattr(ens, quantity)
            if values is None:
                raise ValueError(f"the ensemble {name!r} of case {label!r} did not record {quantity!r}")
            v = values.detach().cpu().numpy()
            curves[label][name] = (ens.steps.cpu().numpy() * lr, v.mean(0), v.min(0), v.max(0))
    return trajectory_explorer(
        curves,
        slider_label="case",
        title=title or f"{quantity.replace('_', ' ')}: mean over runs and min–max band",
        yaxis_title=quantity.replace("_", " "),
        log_y=quantity != "test_accuracy",
    )
