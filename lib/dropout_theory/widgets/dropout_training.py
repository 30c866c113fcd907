"""Widget of the chapter *Two-layer networks and dropout*: retrain at another keep_prob / learning rate.

The live widget (Jupyter) and its web twin (the website, precomputed over a grid of the controls) share one
drawing function, :func:`draw_dropout_training`.
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import HTML

from dropout_theory._checks import DivergenceError, check_positive_int
from dropout_theory.data import Split
from dropout_theory.plotting.training import plot_loss_curves
from dropout_theory.plotting.web_twin import live_only
from dropout_theory.rng import torch_generator
from dropout_theory.two_layer import init_params, train_dropout
from dropout_theory.widgets._guard import short_errors


def draw_dropout_training(
    split: Split,
    a0,
    W0,
    *,
    keep_prob: float,
    lr: float,
    num_steps: int = 1000,
    generator: int = 0,
    activation: str = "tanh",
    ax=None,
):
    """Train from (a0, W0) with dropout and without (keep_prob = 1, same masks' seed) and draw both loss curves.

    A diverging run is reported in the figure (step and quantity) instead of plotting NaNs.

    Args:
        split: training/test data.
        a0: (m, K) initial output weights; W0: (m, d) initial input weights.
        keep_prob: keep probability of the dropout run.
        lr: learning rate.
        num_steps: gradient steps per run.
        generator: int seed s; the masks use s + 1.
        activation: activation name.
        ax: matplotlib axes (a new figure when ``None``).

    Returns:
        The axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.8))
    runs = {}
    for label, p in ((f"dropout, keep_prob = {keep_prob:.2f}", keep_prob), ("no dropout", 1.0)):
        try:
            runs[label] = train_dropout(
                a0,
                W0,
                split.X_train,
                split.y_train,
                keep_prob=p,
                lr=lr,
                num_steps=num_steps,
                generator=torch_generator(generator, offset=1),
                activation=activation,
                record_every=max(1, num_steps // 100),
                X_test=split.X_test,
                y_test=split.y_test,
            )
        except DivergenceError as err:
            ax.text(0.02, 0.02, f"{label}: {err}", transform=ax.transAxes, fontsize=7, color="C3", wrap=True)
    plot_loss_curves(runs, title=f"width {a0.shape[0]}, learning rate {lr:.3g}", ax=ax)
    return ax


def _initial(split: Split, width: int, num_steps: int, generator: int):
    width = check_positive_int(width, "width")
    check_positive_int(num_steps, "num_steps")
    return init_params(width, split.X_train.shape[1], split.y_train.shape[1], generator=generator)


def dropout_training_widget(
    split: Split,
    *,
    width: int = 50,
    num_steps: int = 1000,
    generator: int = 0,
    activation: str = "tanh",
) -> widgets.Widget:
    """Sliders for keep_prob and the learning rate; each change retrains and redraws :func:`draw_dropout_training`.

    The run with dropout is drawn next to plain gradient descent (keep_prob = 1) from the same initialization.

    Args:
        split: training/test data (e.g. :func:`dropout_theory.data.load_digits_regression`).
        width: number of hidden neurons m.
        num_steps: gradient steps per run.
        generator: int seed s of the initialization (s) and of the dropout masks (s + 1).
        activation: activation name.

    Returns:
        An ``ipywidgets.interactive`` box (sliders + output).
    """
    a0, W0 = _initial(split, width, num_steps, generator)
    opts = {"num_steps": num_steps, "generator": generator, "activation": activation}

    def run(keep_prob: float = 0.8, lr: float = 0.05) -> None:
        draw_dropout_training(split, a0, W0, keep_prob=keep_prob, lr=lr, **opts)
        plt.show()

    return widgets.interactive(
        short_errors(run),
        keep_prob=widgets.FloatSlider(value=0.8, min=0.1, max=1.0, step=0.05, description="keep_prob"),
        lr=widgets.FloatLogSlider(
            value=0.05,
            base=10,
            min=-2,
            max=0,
            step=0.1,
            description="learning rate",
            style={"description_width": "initial"},
        ),
    )


def dropout_training_twin(split: Split, *, width: int = 50, num_steps: int = 1000, **_) -> HTML:
    """Stand-in for :func:`dropout_training_widget` on the website: its controls, disabled, with a note.

    Every setting retrains two networks for ``num_steps`` steps (seconds each), too slow to precompute a grid
    within the chapter's time budget; the chapter's figure above shows the default setting.

    Returns:
        The HTML (:func:`dropout_theory.plotting.web_twin.live_only`).
    """
    return live_only(
        controls={"keep_prob": 0.8, "lr": 0.05},
        name="dropout-training-twin",
        labels={"lr": "learning rate"},
        reason=f"each setting retrains two width-{width} networks for {num_steps} steps",
    )
