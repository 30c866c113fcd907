"""Widgets of part I's chapters: modified loss, SMEs and noise covariance (each redraws via the library).

Each widget draws with a ``draw_…`` function that the live widget (Jupyter) and its web twin (the website,
:func:`dropout_theory.plotting.web_twin.web_twin`, precomputed over a grid of the controls) share.
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import HTML

from dropout_theory._checks import DivergenceError, check_positive_int
from dropout_theory.plotting.style import BOOK_FIGURE_WIDTH
from dropout_theory.plotting.two_layer import plot_band, plot_spectrum
from dropout_theory.plotting.web_twin import web_twin
from dropout_theory.rng import torch_generator
from dropout_theory.two_layer import dropout_gradient_covariance, sample_dropout_noise, simulate
from dropout_theory.widgets._guard import short_errors

_METHOD_NAMES = {"dropout": "dropout", "sme": "SME (order 1)", "gd_modified": r"GD on $L_S$", "gd": r"GD on $R_S$"}


def _report(ax, err: DivergenceError, label: str) -> None:
    ax.text(0.02, 0.02, f"{label}: {err}", transform=ax.transAxes, fontsize=7, color="C3", wrap=True)


def draw_dropout_vs_sme(
    a,
    W,
    X,
    y,
    *,
    keep_prob: float,
    lr: float,
    num_steps: int = 200,
    num_runs: int = 6,
    generator: int = 0,
    methods=("dropout", "sme", "gd_modified"),
    ax=None,
):
    """Min–max bands of the training loss of each method (method i draws with seed ``generator`` + i).

    Args:
        a: initial output weights (m,) or (m, K); W: (m, d); X: (n, d); y: targets.
        keep_prob: keep probability p in (0, 1].
        lr: learning rate.
        num_steps: learning-rate steps per run.
        num_runs: runs per noisy method.
        generator: int seed s of the masks / Gaussian noise.
        methods: any of "dropout", "sme", "gd_modified", "gd".
        ax: matplotlib axes (a new figure when ``None``).

    Returns:
        The axes.
    """
    if ax is None:
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
            plot_band(ens, lr=lr, label=_METHOD_NAMES[method], color=f"C{i}", ax=ax)
        except DivergenceError as err:
            _report(ax, err, _METHOD_NAMES[method])
    ax.set_yscale("log")
    ax.set_ylabel(r"training risk $R_S$")
    ax.set_title(f"keep_prob {keep_prob:.2f}, learning rate {lr:.3g}", fontsize=9)
    ax.legend(fontsize=8)
    return ax


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
    """Sliders for keep_prob and the learning rate; redraws :func:`draw_dropout_vs_sme`.

    Args:
        a: initial output weights (m,) or (m, K); W: (m, d); X: (n, d); y: targets.
        num_steps: learning-rate steps per run.
        num_runs: runs per method (bands are min–max over runs).
        generator: int seed s of the masks / Gaussian noise (method i uses s + i at every redraw).
        methods: any of "dropout", "sme", "gd_modified", "gd".

    Returns:
        An ``ipywidgets.interactive`` box.
    """
    opts = _sme_options(num_steps, num_runs, generator, methods)

    def run(keep_prob: float = 0.7, lr: float = 0.1) -> None:
        draw_dropout_vs_sme(a, W, X, y, keep_prob=keep_prob, lr=lr, **opts)
        plt.show()

    return widgets.interactive(
        short_errors(run),
        keep_prob=widgets.FloatSlider(value=0.7, min=0.1, max=1.0, step=0.05, description="keep_prob"),
        lr=widgets.FloatLogSlider(
            value=0.1, base=10, min=-2, max=0, step=0.1, description="learning rate", style=_WIDE
        ),
    )


def dropout_vs_sme_twin(
    a,
    W,
    X,
    y,
    *,
    num_steps: int = 200,
    num_runs: int = 6,
    generator: int = 0,
    methods=("dropout", "sme", "gd_modified"),
    keep_probs=(0.5, 0.7, 0.9),
    lrs=(0.03, 0.1, 0.3, 1.0),
) -> HTML:
    """Web twin of :func:`dropout_vs_sme_widget`: :func:`draw_dropout_vs_sme` precomputed on a grid.

    Args:
        a, W, X, y, num_steps, num_runs, generator, methods: as for the widget.
        keep_probs: keep_prob values of the slider.
        lrs: learning rates of the slider.

    Returns:
        The twin's HTML (:func:`dropout_theory.plotting.web_twin.web_twin`).
    """
    opts = _sme_options(num_steps, num_runs, generator, methods)
    return web_twin(
        lambda keep_prob, lr: draw_dropout_vs_sme(a, W, X, y, keep_prob=keep_prob, lr=lr, **opts),
        grid={"keep_prob": keep_probs, "lr": lrs},
        name="dropout-vs-sme-twin",
        labels={"keep_prob": "keep_prob", "lr": "learning rate"},
        value={"keep_prob": 0.7, "lr": 0.1},
    )


def _sme_options(num_steps, num_runs, generator, methods) -> dict:
    return {
        "num_steps": check_positive_int(num_steps, "num_steps"),
        "num_runs": check_positive_int(num_runs, "num_runs"),
        "generator": generator,
        "methods": tuple(methods),
    }


# Wide enough for the whole description ("learning rate" was cut to "learning r…" by the default width).
_WIDE = {"description_width": "initial"}


def draw_covariance_spectrum(a, W, X, y, *, keep_prob: float, num_samples: int = 20_000, generator: int = 0, ax=None):
    """Spectrum of the exact Σ next to that of the structured sampler's sample covariance (eigenvalues that are
    zero up to round-off, below 1e-10 of the largest, are not drawn).

    Args:
        a, W, X, y: network and data (small D: Σ is formed densely here for comparison).
        keep_prob: keep probability p in (0, 1).
        num_samples: draws of the structured sampler.
        generator: int seed of the draws.
        ax: matplotlib axes (a new figure when ``None``).

    Returns:
        The axes.
    """
    sigma = dropout_gradient_covariance(a, W, X, y, keep_prob=keep_prob)
    Z = sample_dropout_noise(a, W, X, y, keep_prob=keep_prob, num_samples=num_samples, generator=generator)
    emp = Z.T @ Z / num_samples
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.5))
    spectra = {"exact Σ": torch.linalg.eigvalsh(sigma), "sampler, sample covariance": torch.linalg.eigvalsh(emp)}
    plot_spectrum({k: _numerically_nonzero(ev) for k, ev in spectra.items()}, ax=ax)
    rel = float((emp - sigma).norm() / sigma.norm()) if float(sigma.norm()) > 0 else 0.0
    ax.set_title(f"keep_prob {keep_prob:.2f}: relative error of the sample covariance {rel:.3f}", fontsize=9)
    return ax


def _numerically_nonzero(eigenvalues: torch.Tensor) -> torch.Tensor:
    """The eigenvalues above 1e-10 of the largest: the others are zero up to round-off, and their values (and the
    log axis they would stretch) change with the BLAS and the thread count."""
    return eigenvalues[eigenvalues > 1e-10 * eigenvalues.abs().max()]


def covariance_spectrum_widget(a, W, X, y, *, num_samples: int = 20_000, generator: int = 0) -> widgets.Widget:
    """Slider for keep_prob: redraws :func:`draw_covariance_spectrum`.

    Args:
        a, W, X, y: network and data (small D: Σ is formed densely here for comparison).
        num_samples: draws of the structured sampler.
        generator: int seed of the draws (each redraw starts from it).

    Returns:
        An ``ipywidgets.interactive`` box.
    """
    num_samples = check_positive_int(num_samples, "num_samples")

    def run(keep_prob: float = 0.5) -> None:
        draw_covariance_spectrum(a, W, X, y, keep_prob=keep_prob, num_samples=num_samples, generator=generator)
        plt.show()

    return widgets.interactive(
        short_errors(run),
        keep_prob=widgets.FloatSlider(value=0.5, min=0.05, max=0.95, step=0.05, description="keep_prob"),
    )


def covariance_spectrum_twin(
    a, W, X, y, *, num_samples: int = 20_000, generator: int = 0, keep_probs=(0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95)
) -> HTML:
    """Web twin of :func:`covariance_spectrum_widget` over ``keep_probs``.

    Returns:
        The twin's HTML.
    """
    num_samples = check_positive_int(num_samples, "num_samples")
    return web_twin(
        lambda keep_prob: draw_covariance_spectrum(
            a, W, X, y, keep_prob=keep_prob, num_samples=num_samples, generator=generator
        ),
        grid={"keep_prob": keep_probs},
        name="covariance-spectrum-twin",
        value={"keep_prob": 0.5},
    )


class _NoiseTraces:
    """The exact noise traces of the deep-noise-scale widget: Tr Σ of SGD per batch size, of dropout per keep_prob."""

    def __init__(self, theta, X, y, *, widths, mask: str):
        from dropout_theory.networks import dropout_sme_coefficients, sgd_sme_coefficients

        n = X.shape[0]
        if n < 2:
            raise ValueError(f"X needs at least 2 examples for SGD batches, got {n}")
        self.batches = list(range(1, n + 1))
        self.sgd = [
            float(sgd_sme_coefficients(theta, X, y, widths=widths, batch_size=B).factor.square().sum())
            for B in self.batches
        ]
        self.grid = [round(0.05 * k, 2) for k in range(4, 21)]
        self._dropout = lambda p: float(
            dropout_sme_coefficients(theta, X, y, widths=widths, keep_prob=p, mask=mask).factor.square().sum()
        )
        self.drop = [self._dropout(p) for p in self.grid]

    def dropout(self, keep_prob: float) -> float:
        for p, t in zip(self.grid, self.drop, strict=True):
            if abs(p - keep_prob) < 1e-12:
                return t
        return self._dropout(keep_prob)


def draw_deep_noise_scale(*, traces: _NoiseTraces, keep_prob: float, batch_size: int, axes=None):
    """Tr Σ of dropout over keep_prob (left) and of SGD over the batch size (right), the chosen ones marked.

    Args:
        traces: the precomputed traces.
        keep_prob: the marked keep probability.
        batch_size: the marked batch size B (1 ≤ B ≤ n).
        axes: two matplotlib axes (a new figure when ``None``).

    Returns:
        The two axes.
    """
    if not 1 <= batch_size <= len(traces.batches):
        raise ValueError(f"batch_size must lie in [1, {len(traces.batches)}], got {batch_size}")
    trace = traces.dropout(keep_prob)
    batches, sgd = traces.batches, traces.sgd
    matched = min(batches, key=lambda B: abs(sgd[B - 1] - trace))
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(BOOK_FIGURE_WIDTH, 3.4))
    fig = axes[0].figure
    axes[0].plot(traces.grid, traces.drop, "o-", ms=3)
    axes[0].plot([keep_prob], [trace], "o", color="C3", ms=7)
    axes[0].set(xlabel="keep_prob", ylabel="Tr Σ (dropout)", yscale="log")
    axes[1].plot(batches, sgd, "s-", ms=3, color="C1", label="SGD")
    axes[1].plot([batch_size], [sgd[batch_size - 1]], "s", color="C3", ms=7)
    axes[1].axhline(trace, color="C0", ls="--", lw=1, label=f"dropout, keep {keep_prob:.2f}")
    axes[1].set(xlabel="batch size B", ylabel="Tr Σ (SGD)", yscale="symlog", xticks=batches)
    axes[1].legend(fontsize=8)
    fig.suptitle(
        f"keep {keep_prob:.2f}: Tr Σ = {trace:.3g}; the SGD batch with the nearest trace is B = {matched}",
        fontsize=9,
    )
    fig.tight_layout()
    return axes


def deep_noise_scale_widget(theta, X, y, *, widths, mask: str = "shared") -> widgets.Widget:
    """Sliders for keep_prob and the SGD batch size: the exact noise traces of the two SMEs of a small MLP.

    Left: Tr Σ of full-batch dropout GD (dropout after every hidden layer, all masks enumerated by
    :func:`dropout_theory.networks.dropout_sme_coefficients`) over keep probabilities, the chosen one marked. Right:
    Tr Σ of SGD with batches of B of the n examples (:func:`dropout_theory.networks.sgd_sme_coefficients`) for every
    B, the chosen one marked, with the dropout trace as a horizontal line: where they cross is the batch size whose
    noise has the same size (drawn by :func:`draw_deep_noise_scale`).

    Args:
        theta: (D,) parameters of the MLP; X: (n, d) inputs; y: (n,) or (n, K) targets.
        widths: layer sizes (d, h_1, …, K) with few hidden units (the masks are enumerated).
        mask: mask convention of the dropout noise, ``"shared"`` or ``"per_example"``.

    Returns:
        An ``ipywidgets.interactive`` box.
    """
    traces = _NoiseTraces(theta, X, y, widths=widths, mask=mask)
    n = len(traces.batches)

    def run(keep_prob: float = 0.7, batch_size: int = max(1, n // 2)) -> None:
        draw_deep_noise_scale(traces=traces, keep_prob=keep_prob, batch_size=batch_size)
        plt.show()

    return widgets.interactive(
        short_errors(run),
        keep_prob=widgets.FloatSlider(value=0.7, min=0.2, max=1.0, step=0.05, description="keep_prob"),
        batch_size=widgets.IntSlider(value=max(1, n // 2), min=1, max=n, step=1, description="batch B"),
    )


def deep_noise_scale_twin(theta, X, y, *, widths, mask: str = "shared") -> HTML:
    """Web twin of :func:`deep_noise_scale_widget`: keep_prob 0.2 … 1.0 in steps of 0.1
    and up to 7 batch sizes (n // 2 and six spread over 1 … n).

    Returns:
        The twin's HTML.
    """
    traces = _NoiseTraces(theta, X, y, widths=widths, mask=mask)
    n = len(traces.batches)
    batches = sorted({round(b) for b in np.linspace(1, n, min(n, 6))} | {max(1, n // 2)})
    return web_twin(
        lambda **params: draw_deep_noise_scale(traces=traces, **params),
        grid={"keep_prob": [round(0.1 * k, 2) for k in range(2, 11)], "batch_size": batches},
        name="deep-noise-scale-twin",
        labels={"batch_size": "batch B"},
        value={"keep_prob": 0.7, "batch_size": max(1, n // 2)},
    )
