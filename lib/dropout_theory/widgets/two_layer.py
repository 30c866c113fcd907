"""Widgets of part I's chapters: modified loss, SMEs and noise covariance (each redraws via the library)."""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch

from dropout_theory._checks import DivergenceError, check_positive_int
from dropout_theory.plotting.two_layer import plot_band, plot_spectrum
from dropout_theory.rng import torch_generator
from dropout_theory.two_layer import dropout_gradient_covariance, sample_dropout_noise, simulate
from dropout_theory.widgets._guard import short_errors


def _report(ax, err: DivergenceError, label: str) -> None:
    ax.text(0.02, 0.02, f"{label}: {err}", transform=ax.transAxes, fontsize=7, color="C3", wrap=True)


def dropout_vs_sme_widget(
    a,
    W,
    X,
    y,
    *,
    num_steps: int = 200,
    num_runs: int = 6,
    generator: int = 0,
    methods=("dropout", "sme", "gd_modified"),
) -> widgets.Widget:
    """Sliders for keep_prob and the learning rate; redraws min–max bands of the training loss per method.

    Args:
        a: initial output weights (m,) or (m, K); W: (m, d); X: (n, d); y: targets.
        num_steps: learning-rate steps per run.
        num_runs: runs per method (bands are min–max over runs).
        generator: int seed s of the masks / Gaussian noise (method i uses s + i at every redraw).
        methods: any of "dropout", "sme", "gd_modified", "gd".

    Returns:
        An ``ipywidgets.interactive`` box.
    """
    num_steps = check_positive_int(num_steps, "num_steps")
    num_runs = check_positive_int(num_runs, "num_runs")
    names = {"dropout": "dropout", "sme": "SME (order 1)", "gd_modified": r"GD on $L_S$", "gd": r"GD on $R_S$"}

    def run(keep_prob: float = 0.7, lr: float = 0.1) -> None:
        _, ax = plt.subplots(figsize=(6.0, 3.6))
        for i, method in enumerate(methods):
            try:
                ens = simulate(
                    a,
                    W,
                    X,
                    y,
                    method=method,
                    keep_prob=keep_prob,
                    lr=lr,
                    num_steps=num_steps,
                    num_runs=1 if method.startswith("gd") else num_runs,
                    generator=torch_generator(generator, offset=i),
                    record_every=max(1, num_steps // 100),
                )
                plot_band(ens, lr=lr, label=names[method], color=f"C{i}", ax=ax)
            except DivergenceError as err:
                _report(ax, err, names[method])
        ax.set_yscale("log")
        ax.set_ylabel(r"training risk $R_S$")
        ax.set_title(f"keep_prob {keep_prob:.2f}, learning rate {lr:.3g}", fontsize=9)
        ax.legend(fontsize=8)
        plt.show()

    return widgets.interactive(
        short_errors(run),
        keep_prob=widgets.FloatSlider(value=0.7, min=0.1, max=1.0, step=0.05, description="keep_prob"),
        lr=widgets.FloatLogSlider(value=0.1, base=10, min=-2, max=0, step=0.1, description="learning rate"),
    )


def covariance_spectrum_widget(a, W, X, y, *, num_samples: int = 20_000, generator: int = 0) -> widgets.Widget:
    """Slider for keep_prob: spectrum of the exact Σ next to that of the structured sampler's sample covariance.

    Args:
        a, W, X, y: network and data (small D: Σ is formed densely here for comparison).
        num_samples: draws of the structured sampler.
        generator: int seed of the draws (each redraw starts from it).

    Returns:
        An ``ipywidgets.interactive`` box.
    """
    num_samples = check_positive_int(num_samples, "num_samples")

    def run(keep_prob: float = 0.5) -> None:
        sigma = dropout_gradient_covariance(a, W, X, y, keep_prob=keep_prob)
        Z = sample_dropout_noise(a, W, X, y, keep_prob=keep_prob, num_samples=num_samples, generator=generator)
        emp = Z.T @ Z / num_samples
        _, ax = plt.subplots(figsize=(5.5, 3.5))
        plot_spectrum(
            {"exact Σ": torch.linalg.eigvalsh(sigma), "sampler, sample covariance": torch.linalg.eigvalsh(emp)}, ax=ax
        )
        rel = float((emp - sigma).norm() / sigma.norm()) if float(sigma.norm()) > 0 else 0.0
        ax.set_title(f"keep_prob {keep_prob:.2f}: relative error of the sample covariance {rel:.3f}", fontsize=9)
        plt.show()

    return widgets.interactive(
        short_errors(run),
        keep_prob=widgets.FloatSlider(value=0.5, min=0.05, max=0.95, step=0.05, description="keep_prob"),
    )
