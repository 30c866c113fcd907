"""Losses and flat-parameter views of an ``nn.Module`` shared by training, alignment and flatness measurements."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn
from torch.func import functional_call

from dropout_theory._checks import as_tensor

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def half_mse(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """½‖f(x) − y‖² averaged over examples: ``0.5 * ((output - target) ** 2).sum(1).mean()`` for (n, K) tensors.

    The mean over examples makes a mini-batch loss an unbiased estimate of the full-batch one.
    """
    return 0.5 * ((output - target) ** 2).sum(1).mean()


def trainable_parameters(model: nn.Module) -> tuple[list[str], list[nn.Parameter]]:
    """Names and tensors of the parameters with ``requires_grad``, in ``named_parameters`` order (the order of the
    flat parameter vector θ everywhere in the library).

    Raises:
        ValueError: the model has no trainable parameter.
    """
    named = [(k, v) for k, v in model.named_parameters() if v.requires_grad]
    if not named:
        raise ValueError("model has no trainable parameters")
    return [k for k, _ in named], [v for _, v in named]


def evaluate_loss(model: nn.Module, loss_fn: LossFn, X: torch.Tensor, y: torch.Tensor) -> float:
    """``loss_fn(model(X), y)`` with dropout off (eval mode, no gradient); the model's mode is restored."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return float(loss_fn(model(X), y))
    finally:
        model.train(was_training)


def check_examples(X, y, *, name_x: str = "X", name_y: str = "y") -> tuple[torch.Tensor, torch.Tensor]:
    """``(X, y)`` as tensors with the same number of examples (integer labels are kept as they are).

    Raises:
        ValueError: non-finite entries or different numbers of examples.
    """
    X = as_tensor(X, name_x)
    y = as_tensor(y, name_y) if not (isinstance(y, torch.Tensor) and not y.is_floating_point()) else y
    if X.dim() < 1 or y.dim() < 1 or X.shape[0] != y.shape[0]:
        raise ValueError(
            f"{name_x} and {name_y} must have the same number of examples, got shapes "
            f"{tuple(X.shape)} and {tuple(y.shape)}"
        )
    return X, y


def module_flat_loss(
    model: nn.Module, loss_fn: LossFn, X: torch.Tensor, y: torch.Tensor
) -> tuple[Callable[[torch.Tensor], torch.Tensor], torch.Tensor]:
    """θ ↦ loss_fn(model_θ(X), y) over the flattened trainable parameters, with dropout switched off.

    Args:
        model: any module; its trainable parameters, in ``named_parameters`` order, form θ.
        loss_fn: ``loss_fn(output, y)`` → scalar.
        X: (n, …) inputs.
        y: targets accepted by ``loss_fn``.

    Returns:
        ``(loss, theta)``: the function (evaluated with the module in eval mode, its previous mode restored
        after each call) and the current flat parameters θ (D,).
    """
    names, values = trainable_parameters(model)
    values = [v.detach() for v in values]
    shapes = [v.shape for v in values]
    sizes = [math.prod(s) for s in shapes]
    theta = torch.cat([v.reshape(-1) for v in values])

    def loss(flat: torch.Tensor) -> torch.Tensor:
        parts = torch.split(flat, sizes)
        params = {k: p.reshape(s) for k, p, s in zip(names, parts, shapes, strict=True)}
        was_training = model.training
        model.eval()
        try:
            return loss_fn(functional_call(model, params, (X,)), y)
        finally:
            model.train(was_training)

    return loss, theta
