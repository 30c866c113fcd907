"""Widgets of part III (wide two-layer networks and the phase diagram of dropout).

Each widget draws with a ``draw_…`` function that the live widget (Jupyter) and its web twin (the website,
precomputed over a grid of the controls by :func:`dropout_theory.plotting.web_twin.web_twin`) share.
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import HTML

from dropout_theory import DivergenceError
from dropout_theory.phase import (
    BOOK_POINTS,
    SETUPS,
    PhaseDiagram,
    PhasePoint,
    classify_phase,
    limit_parameters,
    phase_point,
    teacher_student_run,
)
from dropout_theory.plotting.phase import VARIANT_LABELS, plot_phase_map
from dropout_theory.plotting.web_twin import web_twin
from dropout_theory.widgets._guard import short_errors


def draw_update_parts(*, log10_n: float, log10_tau: float, keep_prob: float, t: float = 1.0, ax=None):
    """Bars of the jump size τ/q, the accumulated random-metric variance tτ(1−q)/q, the propagation-noise
    variance tτ(1−q)/(q²n) and the self term's drift t(1−q)/(qn) (the penalty) over the horizon t = kτ.

    Args:
        log10_n: log₁₀ of the width n; log10_tau: log₁₀ of the master step τ; keep_prob: keep rate q.
        t: horizon in mean-field time.
        ax: matplotlib axes (a new figure when ``None``).

    Returns:
        The axes.
    """
    n, tau, q = 10**log10_n, 10**log10_tau, keep_prob
    sizes = {
        "jump size τ/q": tau / q,
        "random metric\nvariance": t * tau * (1 - q) / q,
        "propagation\nnoise variance": t * tau * (1 - q) / (q * q * n),
        "self-term drift\n(penalty)": t * (1 - q) / (q * n),
    }
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.2))
    ax.bar(list(sizes), [max(v, 1e-12) for v in sizes.values()], color=["C2", "C2", "C3", "C1"])
    ax.set_yscale("log")
    ax.set_ylim(1e-8, 1e3)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_title(f"n = {n:.0f}, τ = {tau:.2g}, q = {q:.2f}, horizon t = {t:g}", fontsize=9)
    return ax


def update_parts_widget(t: float = 1.0) -> widgets.Widget:
    """Sliders for the width n, the master step τ and the keep rate q; bars of the three parts' sizes
    (:func:`draw_update_parts`, from the moments derived in :mod:`dropout_theory.symbolic.phase`).

    Args:
        t: horizon in mean-field time.

    Returns:
        An ``ipywidgets.interactive`` box.
    """

    def draw(log10_n: float = 3.0, log10_tau: float = -1.0, keep_prob: float = 0.5) -> None:
        draw_update_parts(log10_n=log10_n, log10_tau=log10_tau, keep_prob=keep_prob, t=t)
        plt.show()

    return widgets.interactive(
        short_errors(draw),
        log10_n=widgets.FloatSlider(value=3.0, min=1.0, max=6.0, step=0.25, description="log10 n"),
        log10_tau=widgets.FloatSlider(value=-1.0, min=-6.0, max=0.0, step=0.25, description="log10 τ"),
        keep_prob=widgets.FloatSlider(value=0.5, min=0.01, max=1.0, step=0.01, description="keep_prob"),
    )


def update_parts_twin(t: float = 1.0) -> HTML:
    """Web twin of :func:`update_parts_widget` (5 widths × 4 steps × 3 keep rates).

    Returns:
        The twin's HTML.
    """
    return web_twin(
        lambda **params: draw_update_parts(**params, t=t),
        grid={"log10_n": (1.0, 2.0, 3.0, 4.0, 6.0), "log10_tau": (-6.0, -3.0, -1.0, 0.0), "keep_prob": (0.1, 0.5, 0.9)},
        name="update-parts-twin",
        labels={"log10_n": "log10 n", "log10_tau": "log10 τ"},
        value={"log10_n": 3.0, "log10_tau": -1.0, "keep_prob": 0.5},
    )


def draw_phase_map_point(a8: int, b8: int, *, ax=None):
    """The phase map with the point (a, b) = (a8/8, b8/8) marked, its phase and limit constants in the title
    (for τ₀ = 0.1, q₀ = 0.5).

    Args:
        a8, b8: eight times the exponents (integers, so boundaries are hit exactly).
        ax: matplotlib axes (a new figure when ``None``).

    Returns:
        The axes.
    """
    from fractions import Fraction

    a, b = Fraction(a8, 8), Fraction(b8, 8)
    ax = plot_phase_map(points=[(a, b)], ax=ax)
    params = limit_parameters(a, b, tau0=0.1, keep0=0.5)
    extra = ", ".join(f"{k} = {v:.3g}" for k, v in params.items() if k != "phase")
    ax.set_title(f"(a, b) = ({a}, {b}) → {classify_phase(a, b)}  {extra}", fontsize=9)
    return ax


def phase_map_widget() -> widgets.Widget:
    """Sliders for the exponents (a, b) (step 1/8, so boundaries are hit exactly): :func:`draw_phase_map_point`.

    Returns:
        An ``ipywidgets.interactive`` box.
    """

    def draw(a8: int = 8, b8: int = 4) -> None:
        draw_phase_map_point(a8, b8)
        plt.show()

    return widgets.interactive(
        short_errors(draw),
        a8=widgets.IntSlider(value=8, min=-2, max=16, description="8·a"),
        b8=widgets.IntSlider(value=4, min=0, max=12, description="8·b"),
    )


def phase_map_twin() -> HTML:
    """Web twin of :func:`phase_map_widget`: 8·a ∈ {−2, 0, 2, 4, 6, 8, 12, 16}, 8·b ∈ {0, 2, …, 12} (every phase
    and every boundary is on the grid).

    Returns:
        The twin's HTML.
    """
    return web_twin(
        lambda a8, b8: draw_phase_map_point(a8, b8),
        grid={"a8": (-2, 0, 2, 4, 6, 8, 12, 16), "b8": (0, 2, 4, 6, 8, 10, 12)},
        name="phase-map-twin",
        labels={"a8": "8·a", "b8": "8·b"},
        value={"a8": 8, "b8": 4},
    )


def draw_phase_point(*, point: tuple[str, str], width: int, result: PhasePoint | None = None, ax=None):
    """One finite-n measurement (:func:`dropout_theory.phase.phase_point`) at the point (a, b): its distances.

    Args:
        point: (a, b) as strings (e.g. ``("1", "1/4")``); width: the width n.
        result: the measurement at this point and width when already made (e.g. from a
            :class:`dropout_theory.phase.PhaseDiagram`); measured here when ``None``.
        ax: matplotlib axes (a new figure when ``None``).

    Returns:
        The axes.
    """
    r = phase_point(point[0], point[1], width) if result is None else result
    if (r.a, r.b, r.width) != (str(point[0]), str(point[1]), width):
        raise ValueError(f"result is the measurement at {(r.a, r.b, r.width)}, not at {(*point, width)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.0))
    if r.divergence is not None:
        ax.text(0.1, 0.5, str(r.divergence), transform=ax.transAxes)
    else:
        labels = [f"RMS to {VARIANT_LABELS[v]}" for v in r.rms] + ["SW to predicted limit"]
        vals = [*r.rms.values(), r.sw_to_limit if r.sw_to_limit is not None else np.nan]
        ax.barh(labels, vals, color=["C0", "C1", "C2", "k"])
        ax.set_xlabel("distance at t = 1")
    ax.set_title(f"{r.phase}: n = {width}, τ = {r.tau:.3g}, q = {r.keep_prob:.3g}", fontsize=9)
    return ax


def _point_options() -> dict[str, tuple[str, str]]:
    return {f"({a}, {b}): {classify_phase(a, b)}": (a, b) for a, b in BOOK_POINTS}


def phase_point_widget() -> widgets.Widget:
    """Pick (a, b) and a width n; runs one finite-n measurement and shows its distances (:func:`draw_phase_point`).

    Returns:
        An ``ipywidgets.interactive`` box (each change runs for up to a few seconds).
    """

    def draw(point: tuple[str, str] = BOOK_POINTS[0], width: int = 60) -> None:
        draw_phase_point(point=point, width=width)
        plt.show()

    return widgets.interactive(
        short_errors(draw),
        point=widgets.Dropdown(options=list(_point_options().items()), value=BOOK_POINTS[0], description="(a, b)"),
        width=widgets.IntSlider(value=60, min=10, max=200, step=10, description="width n"),
    )


def phase_point_twin(diagram: PhaseDiagram) -> HTML:
    """Web twin of :func:`phase_point_widget`, drawn from the measurements of ``diagram`` (no new runs).

    Args:
        diagram: a :class:`dropout_theory.phase.PhaseDiagram`; its points and widths are the twin's grid (a
            measurement missing from the grid is made).

    Returns:
        The twin's HTML.
    """
    measured = {(p.a, p.b, p.width): p for p in diagram.points}
    points = list(dict.fromkeys((a, b) for a, b, _ in measured))
    widths = sorted({w for _, _, w in measured})
    options = {f"({a}, {b}): {classify_phase(a, b)}": (a, b) for a, b in points}
    return web_twin(
        lambda point, width: draw_phase_point(point=point, width=width, result=measured.get((*point, width))),
        grid={"point": options, "width": widths},
        name="phase-point-twin",
        labels={"point": "(a, b)", "width": "width n"},
        value={"width": 60} if 60 in widths else None,
    )


def draw_teacher_student(*, width: int, tau: float, keep_prob: float, setup: str, num_steps: int = 100, ax=None):
    """RMS distance of each limit variant to dropout over the steps of one teacher–student run.

    Args:
        width: the width n; tau: master step τ; keep_prob: keep rate q; setup: "authors" or "book".
        num_steps: steps of the run.
        ax: matplotlib axes (a new figure when ``None``).

    Returns:
        The axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.2))
    try:
        r = teacher_student_run(
            width, setup=setup, tau=tau, keep_prob=keep_prob, num_steps=num_steps, record_every=max(1, num_steps // 20)
        )
    except DivergenceError as err:  # reported in the figure, as the other widgets do (the value is left out: after
        r = err.record  # a blow-up its digits are round-off)
        note = f"diverged at {r.unit} {r.step}: {r.quantity}; try a smaller τ or a larger keep_prob"
        ax.text(0.02, 0.5, note, transform=ax.transAxes, fontsize=7, color="C3", wrap=True)
        return ax
    for i, (v, c) in enumerate(r.rms.items()):
        ax.plot(r.steps, c, color=f"C{i}", label=VARIANT_LABELS[v])
    ax.set_xlabel("step k")
    ax.set_ylabel("RMS distance to dropout")
    ax.set_title(f"{setup} setup: n = {width}, τ = {tau:.3g}, q = {keep_prob:.2f}", fontsize=9)
    ax.legend(fontsize=8)
    return ax


def teacher_student_widget(num_steps: int = 100) -> widgets.Widget:
    """Sliders for the width, master step and keep rate of the teacher–student experiment (one repeat), and the
    setup (the authors' distributions or the book's): :func:`draw_teacher_student`.

    Args:
        num_steps: steps per run.

    Returns:
        An ``ipywidgets.interactive`` box.
    """

    def draw(width: int = 100, tau: float = 0.5, keep_prob: float = 0.7, setup: str = "authors") -> None:
        draw_teacher_student(width=width, tau=tau, keep_prob=keep_prob, setup=setup, num_steps=num_steps)
        plt.show()

    return widgets.interactive(
        short_errors(draw),
        width=widgets.IntSlider(value=100, min=20, max=1000, step=20, description="width n"),
        tau=widgets.FloatLogSlider(value=0.5, base=10, min=-3, max=0, step=0.25, description="master τ"),
        keep_prob=widgets.FloatSlider(value=0.7, min=0.1, max=1.0, step=0.05, description="keep_prob"),
        setup=widgets.Dropdown(options=list(SETUPS), value="authors", description="setup"),
    )


def teacher_student_twin(*, num_steps: int = 100, widths=(20, 100), taus=(0.1, 0.5), keep_probs=(0.3, 0.7)) -> HTML:
    """Web twin of :func:`teacher_student_widget` on a grid of width, τ and keep rate, for the authors' setup.

    Returns:
        The twin's HTML (the book's setup runs live in Jupyter).
    """
    return web_twin(
        lambda **params: draw_teacher_student(**params, num_steps=num_steps),
        grid={"width": widths, "tau": taus, "keep_prob": keep_probs, "setup": ("authors",)},
        name="teacher-student-twin",
        labels={"width": "width n", "tau": "master τ"},
        value={"width": 100, "tau": 0.5, "keep_prob": 0.7},
    )
