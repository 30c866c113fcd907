"""Widget of the chapter *Two-layer networks and dropout*: retrain at another keep_prob / learning rate."""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt

from dropout_theory._checks import DivergenceError, check_positive_int
from dropout_theory.data import Split
from dropout_theory.plotting.training import plot_loss_curves
from dropout_theory.rng import torch_generator
from dropout_theory.two_layer import init_params, train_dropout
from dropout_theory.widgets._guard import short_errors


def dropout_training_widget(
    split: Split,
    *,
    width: int = 50,
    num_steps: int = 1000,
    generator: int = 0,
    activation: str = "tanh",
) -> widgets.Widget:
    """Sliders for keep_prob and the learning rate; each change retrains and redraws the loss curves.

    The run with dropout is drawn next to plain gradient descent (keep_prob = 1) from the same initialization.
    A diverging run is reported in the figure (step and quantity) instead of plotting NaNs.

    Args:
        split: training/test data (e.g. :func:`dropout_theory.data.load_digits_regression`).
        width: number of hidden neurons m.
        num_steps: gradient steps per run.
        generator: int seed s of the initialization (s) and of the dropout masks (s + 1).
        activation: activation name.

    Returns:
        An ``ipywidgets.interactive`` box (sliders + output).
    """
    width = check_positive_int(width, "width")
    num_steps = check_positive_int(num_steps, "num_steps")
    K = split.y_train.shape[1]
    a0, W0 = init_params(width, split.X_train.shape[1], K, generator=generator)

    def run(keep_prob: float = 0.8, lr: float = 0.05) -> None:
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
        plot_loss_curves(runs, title=f"width {width}, learning rate {lr:.3g}", ax=ax)
        plt.show()

    return widgets.interactive(
        short_errors(run),
        keep_prob=widgets.FloatSlider(value=0.8, min=0.1, max=1.0, step=0.05, description="keep_prob"),
        lr=widgets.FloatLogSlider(value=0.05, base=10, min=-2, max=0, step=0.1, description="learning rate"),
    )
