"""Losses and flat-parameter views of an ``nn.Module`` shared by training, alignment and flatness measurements."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.func import functional_call

from dropout_theory._checks import as_tensor, check_finite_step

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def half_mse(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """½‖f(x) − y‖² averaged over examples: ``0.5 * ((output - target) ** 2).sum(1).mean()`` for (n, K) tensors.

    The mean over examples makes a mini-batch loss an unbiased estimate of the full-batch one. Used inside
    training loops, so only shapes and devices are checked: NaN in gives NaN out (as in
    ``torch.nn.functional.mse_loss``), and every loop of the library checks the loss it returns.
    """
    if not isinstance(output, torch.Tensor) or not isinstance(target, torch.Tensor):
        raise TypeError(f"output and target must be tensors, got {type(output).__name__}, {type(target).__name__}")
    if output.device != target.device:
        raise ValueError(f"output and target must be on one device, got {output.device} and {target.device}")
    if output.dim() != 2 or output.shape != target.shape or output.shape[0] == 0:
        raise ValueError(
            f"output and target must be (n, K) with n >= 1 and the same shape, got {tuple(output.shape)}, "
            f"{tuple(target.shape)}"
        )
    return 0.5 * ((output - target) ** 2).sum(1).mean()


def trainable_parameters(model: nn.Module) -> tuple[list[str], list[nn.Parameter]]:
    """Names and tensors of the parameters with ``requires_grad``, in ``named_parameters`` order (the order of the
    flat parameter vector θ everywhere in the library).

    Raises:
        TypeError: ``model`` is not an ``nn.Module``.
        ValueError: the model has no trainable parameter.
    """
    _check_model(model)
    named = [(k, v) for k, v in model.named_parameters() if v.requires_grad]
    if not named:
        raise ValueError("model has no trainable parameters")
    return [k for k, _ in named], [v for _, v in named]


def evaluate_loss(model: nn.Module, loss_fn: LossFn, X: torch.Tensor, y: torch.Tensor) -> float:
    """``loss_fn(model(X), y)`` with dropout off (eval mode, no gradient); the model's mode is restored.

    Raises:
        TypeError, ValueError: see :func:`check_examples` (called with the model and the loss).
        DivergenceError: the loss is not finite.
    """
    X, y = check_examples(X, y, model=_check_model(model), loss_fn=loss_fn)
    value = _evaluate(model, loss_fn, X, y)
    check_finite_step(0, "loss", value, limit=math.inf)
    return value


def _evaluate(model: nn.Module, loss_fn: LossFn, X: torch.Tensor, y: torch.Tensor) -> float:
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return float(loss_fn(model(X), y))
    finally:
        model.train(was_training)


def _check_model(model: Any, name: str = "model") -> nn.Module:
    """Return ``model`` after checking it is an ``nn.Module`` (a ``TypeError`` otherwise)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(model).__name__}")
    return model


def check_examples(
    X, y, *, name_x: str = "X", name_y: str = "y", model: nn.Module | None = None, loss_fn: LossFn | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(X, y)`` as tensors with the same number of examples (integer labels are kept as they are).

    With ``model`` (and ``loss_fn``), also checks that ``model`` is an ``nn.Module`` whose parameters share the
    device (and floating dtype) of ``X``, that ``loss_fn`` is callable, and that one example passes through
    both (in eval mode, without gradient): a shape that does not fit the model is refused here, once, with a
    message naming the arguments, instead of failing deep inside torch.

    Raises:
        TypeError: ``model`` is not a module, ``loss_fn`` not callable, or the data are not arrays of numbers.
        ValueError: non-finite entries, different numbers of examples, a device or dtype other than the model's,
            or data the model or the loss cannot evaluate.
    """
    X = as_tensor(X, name_x)
    y = as_tensor(y, name_y) if not (isinstance(y, torch.Tensor) and not y.is_floating_point()) else y
    if X.dim() < 1 or y.dim() < 1 or X.shape[0] != y.shape[0]:
        raise ValueError(
            f"{name_x} and {name_y} must have the same number of examples, got shapes "
            f"{tuple(X.shape)} and {tuple(y.shape)}"
        )
    if X.shape[0] == 0:
        raise ValueError(f"{name_x} and {name_y} must hold at least one example, got shapes {tuple(X.shape)}")
    if model is not None:
        _check_fits_model(_check_model(model), loss_fn, X, y, name_x, name_y)
    return X, y


def _check_fits_model(model: nn.Module, loss_fn: LossFn | None, X, y, name_x: str, name_y: str) -> None:
    ref = next(model.parameters(), None)
    if ref is not None:
        for name, t in ((name_x, X), (name_y, y)):
            if t.device != ref.device:
                raise ValueError(f"{name} is on {t.device} but the model's parameters are on {ref.device}")
        for name, t in ((name_x, X), (name_y, y)):
            if t.is_floating_point() and t.dtype != ref.dtype:
                raise ValueError(f"{name} has dtype {t.dtype} but the model's parameters have dtype {ref.dtype}")
    if loss_fn is not None and not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable as loss_fn(output, target), got {type(loss_fn).__name__}")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(X[:1])
            probe = None if loss_fn is None else loss_fn(out, y[:1])
    except (RuntimeError, ValueError, IndexError, TypeError) as exc:
        raise ValueError(
            f"model and loss_fn cannot evaluate {name_x} {tuple(X.shape)} and {name_y} {tuple(y.shape)}: {exc}"
        ) from None
    finally:
        model.train(was_training)
    if probe is not None and not bool(torch.isfinite(torch.as_tensor(probe)).all()):
        raise ValueError(f"loss_fn returned {float(probe)!r} on the first example of {name_x} (it must be finite)")


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
    X, y = check_examples(X, y, model=model, loss_fn=loss_fn)
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
