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


def deep_noise_scale_widget(theta, X, y, *, widths, mask: str = "shared") -> widgets.Widget:
    """Sliders for keep_prob and the SGD batch size: the exact noise traces of the two SMEs of a small MLP.

    Left: Tr Σ of full-batch dropout GD (dropout after every hidden layer, all masks enumerated by
    :func:`dropout_theory.networks.dropout_sme_coefficients`) over keep probabilities, the chosen one marked. Right:
    Tr Σ of SGD with batches of B of the n examples (:func:`dropout_theory.networks.sgd_sme_coefficients`) for every
    B, the chosen one marked, with the dropout trace as a horizontal line: where they cross is the batch size whose
    noise has the same size.

    Args:
        theta: (D,) parameters of the MLP; X: (n, d) inputs; y: (n,) or (n, K) targets.
        widths: layer sizes (d, h_1, …, K) with few hidden units (the masks are enumerated).
        mask: mask convention of the dropout noise, ``"shared"`` or ``"per_example"``.

    Returns:
        An ``ipywidgets.interactive`` box.
    """
    from dropout_theory.networks import dropout_sme_coefficients, sgd_sme_coefficients

    n = X.shape[0]
    if n < 2:
        raise ValueError(f"X needs at least 2 examples for SGD batches, got {n}")
    batches = list(range(1, n + 1))
    sgd_traces = [
        float(sgd_sme_coefficients(theta, X, y, widths=widths, batch_size=B).factor.square().sum()) for B in batches
    ]
    grid = [round(0.05 * k, 2) for k in range(4, 21)]
    drop_traces = [
        float(dropout_sme_coefficients(theta, X, y, widths=widths, keep_prob=p, mask=mask).factor.square().sum())
        for p in grid
    ]

    def run(keep_prob: float = 0.7, batch_size: int = max(1, n // 2)) -> None:
        trace = float(
            dropout_sme_coefficients(theta, X, y, widths=widths, keep_prob=keep_prob, mask=mask).factor.square().sum()
        )
        matched = min(batches, key=lambda B: abs(sgd_traces[B - 1] - trace))
        fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.2))
        axes[0].plot(grid, drop_traces, "o-", ms=3)
        axes[0].plot([keep_prob], [trace], "o", color="C3", ms=7)
        axes[0].set(xlabel="keep_prob", ylabel="Tr Σ (dropout)", yscale="log")
        axes[1].plot(batches, sgd_traces, "s-", ms=3, color="C1", label="SGD")
        axes[1].plot([batch_size], [sgd_traces[batch_size - 1]], "s", color="C3", ms=7)
        axes[1].axhline(trace, color="C0", ls="--", lw=1, label=f"dropout, keep {keep_prob:.2f}")
        axes[1].set(xlabel="batch size B", ylabel="Tr Σ (SGD)", yscale="symlog", xticks=batches)
        axes[1].legend(fontsize=8)
        fig.suptitle(
            f"keep {keep_prob:.2f}: Tr Σ = {trace:.3g}; the SGD batch with the nearest trace is B = {matched}",
            fontsize=9,
        )
        fig.tight_layout()
        plt.show()

    return widgets.interactive(
        short_errors(run),
        keep_prob=widgets.FloatSlider(value=0.7, min=0.2, max=1.0, step=0.05, description="keep_prob"),
        batch_size=widgets.IntSlider(value=max(1, n // 2), min=1, max=n, step=1, description="batch B"),
    )
