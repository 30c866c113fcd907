"""Widgets of part III (wide two-layer networks and the phase diagram of dropout)."""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from dropout_theory.phase import (
    BOOK_POINTS,
    SETUPS,
    classify_phase,
    limit_parameters,
    phase_point,
    teacher_student_run,
)
from dropout_theory.plotting.phase import VARIANT_LABELS, plot_phase_map
from dropout_theory.widgets._guard import short_errors


def update_parts_widget(t: float = 1.0) -> widgets.Widget:
    """Sliders for the width n, the master step τ and the keep rate q; bars of the three parts' sizes.

    Shows, over the horizon t = kτ, the jump size τ/q, the accumulated random-metric variance tτ(1−q)/q,
    the propagation-noise variance tτ(1−q)/(q²n) and the self term's drift t(1−q)/(qn) (the penalty), from the
    moments derived in :mod:`dropout_theory.symbolic.phase`.

    Args:
        t: horizon in mean-field time.

    Returns:
        An ``ipywidgets.interactive`` box.
    """

    def draw(log10_n: float = 3.0, log10_tau: float = -1.0, keep_prob: float = 0.5) -> None:
        n, tau, q = 10**log10_n, 10**log10_tau, keep_prob
        sizes = {
            "jump size τ/q": tau / q,
            "random metric\nvariance": t * tau * (1 - q) / q,
            "propagation\nnoise variance": t * tau * (1 - q) / (q * q * n),
            "self-term drift\n(penalty)": t * (1 - q) / (q * n),
        }
        _, ax = plt.subplots(figsize=(6.4, 3.2))
        ax.bar(list(sizes), [max(v, 1e-12) for v in sizes.values()], color=["C2", "C2", "C3", "C1"])
        ax.set_yscale("log")
        ax.set_ylim(1e-8, 1e3)
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set_title(f"n = {n:.0f}, τ = {tau:.2g}, q = {q:.2f}, horizon t = {t:g}", fontsize=9)
        plt.show()

    return widgets.interactive(
        short_errors(draw),
        log10_n=widgets.FloatSlider(value=3.0, min=1.0, max=6.0, step=0.25, description="log10 n"),
        log10_tau=widgets.FloatSlider(value=-1.0, min=-6.0, max=0.0, step=0.25, description="log10 τ"),
        keep_prob=widgets.FloatSlider(value=0.5, min=0.01, max=1.0, step=0.01, description="keep_prob"),
    )


def phase_map_widget() -> widgets.Widget:
    """Sliders for the exponents (a, b) (step 1/8, so boundaries are hit exactly); marks the point and names
    its phase and limit constants (for τ₀ = 0.1, q₀ = 0.5).

    Returns:
        An ``ipywidgets.interactive`` box.
    """

    def draw(a8: int = 8, b8: int = 4) -> None:
        from fractions import Fraction

        a, b = Fraction(a8, 8), Fraction(b8, 8)
        ax = plot_phase_map(points=[(a, b)])
        params = limit_parameters(a, b, tau0=0.1, keep0=0.5)
        extra = ", ".join(f"{k} = {v:.3g}" for k, v in params.items() if k != "phase")
        ax.set_title(f"(a, b) = ({a}, {b}) → {classify_phase(a, b)}  {extra}", fontsize=9)
        plt.show()

    return widgets.interactive(
        short_errors(draw),
        a8=widgets.IntSlider(value=8, min=-2, max=16, description="8·a"),
        b8=widgets.IntSlider(value=4, min=0, max=12, description="8·b"),
    )


def phase_point_widget() -> widgets.Widget:
    """Pick (a, b) and a width n; runs one finite-n measurement (:func:`dropout_theory.phase.phase_point`) and
    shows its distances.

    Returns:
        An ``ipywidgets.interactive`` box (each change runs for up to a few seconds).
    """
    options = [(f"({a}, {b}): {classify_phase(a, b)}", (a, b)) for a, b in BOOK_POINTS]

    def draw(point: tuple[str, str] = BOOK_POINTS[0], width: int = 60) -> None:
        r = phase_point(point[0], point[1], width)
        _, ax = plt.subplots(figsize=(6.4, 3.0))
        if r.divergence is not None:
            ax.text(0.1, 0.5, str(r.divergence), transform=ax.transAxes)
        else:
            labels = [f"RMS to {VARIANT_LABELS[v]}" for v in r.rms] + ["SW to predicted limit"]
            vals = [*r.rms.values(), r.sw_to_limit if r.sw_to_limit is not None else np.nan]
            ax.barh(labels, vals, color=["C0", "C1", "C2", "k"])
            ax.set_xlabel("distance at t = 1")
        ax.set_title(f"{r.phase}: n = {width}, τ = {r.tau:.3g}, q = {r.keep_prob:.3g}", fontsize=9)
        plt.show()

    return widgets.interactive(
        short_errors(draw),
        point=widgets.Dropdown(options=options, value=BOOK_POINTS[0], description="(a, b)"),
        width=widgets.IntSlider(value=60, min=10, max=200, step=10, description="width n"),
    )


def teacher_student_widget(num_steps: int = 100) -> widgets.Widget:
    """Sliders for the width, master step and keep rate of the teacher–student experiment (one repeat), and the
    setup (the authors' distributions or the book's).

    Args:
        num_steps: steps per run.

    Returns:
        An ``ipywidgets.interactive`` box.
    """

    def draw(width: int = 100, tau: float = 0.5, keep_prob: float = 0.7, setup: str = "authors") -> None:
        r = teacher_student_run(
            width, setup=setup, tau=tau, keep_prob=keep_prob, num_steps=num_steps, record_every=max(1, num_steps // 20)
        )
        _, ax = plt.subplots(figsize=(6.4, 3.2))
        for i, (v, c) in enumerate(r.rms.items()):
            ax.plot(r.steps, c, color=f"C{i}", label=VARIANT_LABELS[v])
        ax.set_xlabel("step k")
        ax.set_ylabel("RMS distance to dropout")
        ax.legend(fontsize=8)
        plt.show()

    return widgets.interactive(
        short_errors(draw),
        width=widgets.IntSlider(value=100, min=20, max=1000, step=20, description="width n"),
        tau=widgets.FloatLogSlider(value=0.5, base=10, min=-3, max=0, step=0.25, description="master τ"),
        keep_prob=widgets.FloatSlider(value=0.7, min=0.1, max=1.0, step=0.05, description="keep_prob"),
        setup=widgets.Dropdown(options=list(SETUPS), value="authors", description="setup"),
    )
