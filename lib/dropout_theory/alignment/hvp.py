"""Batched Hessian-vector products of a loss written as a function of one flat parameter vector.

* :func:`flat_hvp`: V (B, D) ↦ (H v_b)_b for H = ∇²f(θ) without forming H; for an ``nn.Module``, the loss
  θ ↦ loss_fn(model_θ(X), y) comes from :func:`dropout_theory.networks.module_flat_loss`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from dropout_theory._checks import as_tensor, check_callable


def flat_hvp(
    loss: Callable[[torch.Tensor], torch.Tensor], theta: torch.Tensor
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Batched products with the Hessian of ``loss`` at ``theta``, never forming the (D, D) matrix.

    The gradient graph is built once (``create_graph=True``) and each product is one backward pass through
    it (reverse-over-reverse), which measured faster on CPU than ``torch.func`` forward-over-reverse and than
    ``autograd.grad(..., is_grads_batched=True)`` for the networks of the alignment chapter (see the appendix
    *Reproducing the papers*).

    Args:
        loss: maps a flat parameter vector (D,) to a scalar, differentiable twice by autograd.
        theta: (D,) point at which the Hessian is taken (detached internally).

    Returns:
        A function mapping V (B, D) to (B, D) with rows H v_b.
    """
    check_callable(loss, "loss", "loss(theta) -> scalar")
    theta = as_tensor(theta, "theta")
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
