"""Training runs that feed the alignment and flatness measurements (book scale, seeded, full batch).

* :func:`dropout_mlp`: a tanh multilayer perceptron with one ``nn.Dropout`` after the first hidden layer
  (the SME paper's FNN 784-50-50-10 has this shape).
* :func:`dropout_convnet`: a small VGG-style convolutional net for 8×8 images with dropout placed as in the SME
  paper's VGG16 (after the convolutions of each block and after the first fully connected layer) — our
  stand-in for VGG16 on CIFAR-10.
* :func:`alignment_along_training`: full-batch gradient descent of such a module with dropout masks drawn from
  an explicit ``torch.Generator`` (one mask per unit shared by the batch, the convention of
  :func:`dropout_theory.alignment.module_hessian_variance_alignment` with ``per_example=False``), measuring the
  Hessian–variance alignment α at the current parameters every ``eval_every`` steps.
* :func:`dropout_parameter_window`: flattened parameters θ_t of the two-layer net over a window of dropout
  gradient descent (:func:`dropout_theory.two_layer.train_dropout` one step at a time), for
  :func:`dropout_theory.alignment.trajectory_pca`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise

import torch
from torch import nn

from dropout_theory._checks import (
    DivergenceError,
    check_choice,
    check_finite_step,
    check_keep_prob,
    check_positive,
    check_positive_int,
)
from dropout_theory.alignment.minima_flatness import train_with_noise
from dropout_theory.alignment.module_alignment import module_hessian_variance_alignment
from dropout_theory.two_layer.dropout_gd import train_dropout
from dropout_theory.two_layer.model import flatten_params


def dropout_mlp(
    widths: tuple[int, ...] | list[int],
    keep_prob: float,
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> nn.Sequential:
    """tanh MLP ``widths[0] → … → widths[-1]`` with ``nn.Dropout(1 − keep_prob)`` after the first hidden layer.

    Weights and biases are drawn N(0, 1/fan_in) from ``generator`` (no global random state).

    Args:
        widths: layer sizes, at least (input, hidden, output).
        keep_prob: keep probability p in (0, 1] of the first hidden layer.
        generator: torch generator of the initial weights.
        dtype: floating dtype.
        device: device.

    Returns:
        An ``nn.Sequential``.
    """
    widths = [check_positive_int(w, "widths") for w in widths]
    if len(widths) < 3:
        raise ValueError(f"widths needs at least (input, hidden, output), got {widths}")
    p = check_keep_prob(keep_prob)
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(pairwise(widths)):
        lin = nn.Linear(fan_in, fan_out, dtype=dtype, device=device)
        with torch.no_grad():
            std = fan_in**-0.5
            lin.weight.copy_(torch.randn(lin.weight.shape, generator=generator, dtype=dtype) * std)
            lin.bias.copy_(torch.randn(lin.bias.shape, generator=generator, dtype=dtype) * std)
        layers.append(lin)
        if i < len(widths) - 2:
            layers.append(nn.Tanh())
        if i == 0:
            layers.append(nn.Dropout(1.0 - p))
    return nn.Sequential(*layers)


def dropout_convnet(
    keep_prob: float,
    *,
    channels: tuple[int, int] = (8, 16),
    hidden: int = 32,
    num_classes: int = 10,
    activation: str = "tanh",
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> nn.Sequential:
    """VGG-style net for flattened 8×8 images: two blocks of two 3×3 convolutions (padding 1) each followed by
    the activation and ``nn.Dropout(1 − keep_prob)``, 2×2 max-pooling after each block, then
    ``Linear(4·channels[1] → hidden)``, activation, dropout, ``Linear(hidden → num_classes)``.

    The SME paper's VGG16 has dropout after the first two convolutions of each block and after the first fully
    connected layer; with two convolutions per block this is the same placement. With the default sizes the net
    has 6,562 parameters. Weights are drawn N(0, gain/fan_in) from ``generator`` (gain 2 for ReLU, 1 for tanh),
    biases N(0, gain/fan_in)/100. The default activation is tanh: with ReLU, full-batch dropout GD with the
    half-MSE loss on 200 digits collapsed to the constant mean predictor (training loss stuck at 0.45) for
    every learning rate and keep probability we tried, while tanh trains (loss 1.36 → 0.10 in 600 steps at
    lr 0.1, keep_prob 0.8). With five dropout layers small keep probabilities make full-batch training
    unstable (keep_prob 0.5 diverged for lr ≥ 0.05).

    Args:
        keep_prob: keep probability p in (0, 1] of every dropout layer.
        channels: output channels of the two blocks.
        hidden: width of the hidden fully connected layer.
        num_classes: outputs.
        activation: ``"tanh"`` or ``"relu"``.
        generator: torch generator of the initial weights.
        dtype: floating dtype.
        device: device.

    Returns:
        An ``nn.Sequential`` taking (n, 64) inputs.
    """
    p = check_keep_prob(keep_prob)
    c1, c2 = (check_positive_int(c, "channels") for c in channels)
    hidden = check_positive_int(hidden, "hidden")
    num_classes = check_positive_int(num_classes, "num_classes")
    activation = check_choice(activation, "activation", ("relu", "tanh"))
    act, gain = {"relu": (nn.ReLU, 2.0), "tanh": (nn.Tanh, 1.0)}[activation]

    def conv(cin: int, cout: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, padding=1, dtype=dtype, device=device), act(), nn.Dropout(1.0 - p)]

    layers: list[nn.Module] = [nn.Unflatten(1, (1, 8, 8))]
    layers += conv(1, c1) + conv(c1, c1) + [nn.MaxPool2d(2)]
    layers += conv(c1, c2) + conv(c2, c2) + [nn.MaxPool2d(2), nn.Flatten()]
    layers += [nn.Linear(4 * c2, hidden, dtype=dtype, device=device), act(), nn.Dropout(1.0 - p)]
    layers += [nn.Linear(hidden, num_classes, dtype=dtype, device=device)]
    net = nn.Sequential(*layers)
    with torch.no_grad():
        for mod in net.modules():
            if isinstance(mod, (nn.Conv2d, nn.Linear)):
                std = (gain / (mod.weight[0].numel())) ** 0.5
                mod.weight.copy_(torch.randn(mod.weight.shape, generator=generator, dtype=dtype) * std)
                mod.bias.copy_(torch.randn(mod.bias.shape, generator=generator, dtype=dtype) * std * 0.01)
    return net


@dataclass(frozen=True)
class AlignmentCurve:
    """α along a training run.

    Attributes:
        steps: (T,) steps at which α was measured (0 = initialization).
        alpha: (T,) alignments.
        stderr: (T,) their standard errors.
        loss: (T,) training loss without dropout at those steps.
        subset_alpha: name → (T,) alignments over each extra parameter subset, at the same steps.
        subset_stderr: name → (T,) their standard errors.
        test_accuracy: (T,) argmax accuracy on the test data, when test data were given (else ``None``).
    """

    steps: torch.Tensor
    alpha: torch.Tensor
    stderr: torch.Tensor
    loss: torch.Tensor
    subset_alpha: dict[str, torch.Tensor] = field(default_factory=dict)
    subset_stderr: dict[str, torch.Tensor] = field(default_factory=dict)
    test_accuracy: torch.Tensor | None = None


class TrainingDiverged(DivergenceError):
    """:class:`dropout_theory.DivergenceError` raised by :func:`alignment_along_training`, carrying the
    :class:`AlignmentCurve` measured up to the divergence (attribute ``curve``)."""

    def __init__(self, err: DivergenceError, curve: AlignmentCurve) -> None:
        super().__init__(err.step, err.quantity, err.value)
        self.curve = curve


def alignment_along_training(
    model: nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    X: torch.Tensor,
    y: torch.Tensor,
    lr: float,
    num_steps: int,
    eval_every: int,
    *,
    generator: torch.Generator | None = None,
    measurement_generator: torch.Generator | None = None,
    X_test: torch.Tensor | None = None,
    y_test: torch.Tensor | None = None,
    num_masks: int = 128,
    num_probes: int = 32,
    num_hessian_masks: int = 8,
    sketch_size: int | None = None,
    hessian: str = "expected",
    subset: torch.Tensor | None = None,
    extra_subsets: dict[str, torch.Tensor] | None = None,
) -> AlignmentCurve:
    """Full-batch dropout GD on ``model`` (modified in place), with α measured every ``eval_every`` steps.

    α is measured matrix-free by :func:`dropout_theory.alignment.module_hessian_variance_alignment`, over all
    trainable parameters unless ``subset`` is given.

    Args:
        model: module with ``nn.Dropout`` layers, e.g. from :func:`dropout_mlp`.
        loss_fn: ``loss_fn(model(X), y)`` → scalar.
        X: (n, …) inputs; y: targets.
        lr: learning rate η > 0.
        num_steps: number of steps N >= 1 (α is also measured at step N).
        eval_every: measurement period, >= 1.
        generator: torch generator of the training masks (and of the measurements, unless
            ``measurement_generator`` is given).
        measurement_generator: separate generator of the measurements, so that the trajectory does not depend
            on the measurement sample sizes.
        X_test: optional test inputs; y_test: their one-hot targets (accuracy of the argmax at each measurement).
        num_masks: dropout gradient draws per α (even, >= 4).
        num_probes: Rademacher probes for ‖H‖_F² per α.
        num_hessian_masks: masks averaged in H per α.
        sketch_size: exact sketch width for ‖H‖_F² (``None``: the default of the alignment function).
        hessian: ``"expected"`` or ``"no_dropout"`` (see the alignment function).
        subset: coordinates of θ to measure (index tensor or boolean mask), ``None`` = all.
        extra_subsets: further named subsets measured at the same parameters right after the main α (e.g. all
            parameters vs one layer, from :func:`dropout_theory.alignment.parameter_indices`).

    Returns:
        :class:`AlignmentCurve`.

    Raises:
        TrainingDiverged: (a DivergenceError) the training loss became non-finite or exploded; names the step
            and carries the curve measured until then.
    """
    eta = check_positive(lr, "lr")
    num_steps = check_positive_int(num_steps, "num_steps")
    eval_every = check_positive_int(eval_every, "eval_every")
    extra_subsets = dict(extra_subsets or {})
    if "" in extra_subsets:
        raise ValueError("extra_subsets names must be non-empty strings")
    subsets = {"": subset, **extra_subsets}
    kw = dict(
        num_masks=num_masks,
        method="matrix_free",
        num_hessian_masks=num_hessian_masks,
        num_probes=num_probes,
        sketch_size=sketch_size,
        hessian=hessian,
        generator=generator,
    )
    if (X_test is None) != (y_test is None):
        raise ValueError("give both X_test and y_test, or neither")
    if measurement_generator is not None:
        kw["generator"] = measurement_generator
    names = list(subsets)
    rows: list[tuple[int, float, list[tuple[float, float]], float]] = []

    def curve() -> AlignmentCurve:
        f64 = torch.float64
        values = torch.tensor([[a for a, _ in r[2]] for r in rows], dtype=f64).reshape(len(rows), len(names))
        errors = torch.tensor([[e for _, e in r[2]] for r in rows], dtype=f64).reshape(len(rows), len(names))
        return AlignmentCurve(
            torch.tensor([r[0] for r in rows], dtype=torch.int64),
            values[:, 0],
            errors[:, 0],
            torch.tensor([r[1] for r in rows], dtype=f64),
            {name: values[:, i] for i, name in enumerate(names) if i},
            {name: errors[:, i] for i, name in enumerate(names) if i},
            None if X_test is None else torch.tensor([r[3] for r in rows], dtype=f64),
        )

    checkpoints = sorted(set(range(0, num_steps, eval_every)) | {num_steps})
    for step, next_step in zip(checkpoints, [*checkpoints[1:], None], strict=True):
        res = [module_hessian_variance_alignment(model, loss_fn, X, y, subset=idx, **kw) for idx in subsets.values()]
        with torch.no_grad():
            model.eval()
            loss = float(loss_fn(model(X), y))
            accuracy = (
                math.nan if X_test is None else float((model(X_test).argmax(1) == y_test.argmax(1)).double().mean())
            )
        check_finite_step(step, "training loss", loss)
        rows.append((step, loss, [(r.alpha, r.stderr) for r in res], accuracy))
        if next_step is not None:
            length = next_step - step
            try:
                train_with_noise(model, loss_fn, X, y, "dropout", eta, length, generator=generator, record_every=length)
            except DivergenceError as err:  # report the step of the whole run, not of the segment
                raise TrainingDiverged(DivergenceError(step + err.step, err.quantity, err.value), curve()) from err
    return curve()


def dropout_parameter_window(
    a,
    W,
    X,
    y,
    keep_prob: float,
    lr: float,
    num_steps: int,
    *,
    generator: torch.Generator | None = None,
    activation: str = "tanh",
) -> torch.Tensor:
    """θ_1, …, θ_N of dropout GD on the two-layer net from (a, W), flattened neuron-major.

    Args:
        a: (m,) or (m, K) starting output weights; W: (m, d) starting input weights.
        X: (n, d) inputs; y: targets.
        keep_prob: keep probability p in (0, 1].
        lr: learning rate η > 0.
        num_steps: window length N >= 1.
        generator: torch generator of the masks.
        activation: activation name.

    Returns:
        (N, D) parameters after each step.
    """
    num_steps = check_positive_int(num_steps, "num_steps")
    thetas = []
    for _ in range(num_steps):
        traj = train_dropout(a, W, X, y, keep_prob, lr, 1, generator=generator, activation=activation)
        a, W = traj.a, traj.W
        thetas.append(flatten_params(a, W))
    return torch.stack(thetas)
