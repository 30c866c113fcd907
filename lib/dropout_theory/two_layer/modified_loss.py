"""The modified loss L_S of dropout (SME paper eq. 7) and its gradients, closed form and batched.

L_S(θ) = R_S(θ) + (1 − p)/(2np) Σ_i Σ_r ‖a_r‖² σ(w_r·x_i)², which is exactly E_δ[R_S^drop(θ; δ)], so that
E_δ ∇R_S^drop = ∇L_S. With K outputs ‖a_r‖² is the squared norm of the r-th row of ``a``.

The batched formulas (leading dimensions on ``a`` (…, m, K) and ``W`` (…, m, d)) live in
:mod:`dropout_theory.two_layer.kernels`; the functions here validate their arguments and call them.
"""

from __future__ import annotations

import torch

from dropout_theory._checks import check_keep_prob, check_positive
from dropout_theory.activations import get_activation
from dropout_theory.two_layer import kernels
from dropout_theory.two_layer.model import as_problem


def dropout_variance(keep_prob: float) -> float:
    """v = Var ε = (1 − p)/p for the dropout multiplier δ = 1 + ε (keep probability p)."""
    p = check_keep_prob(keep_prob)
    return (1.0 - p) / p


def modified_loss(a, W, X, y, *, keep_prob: float, activation: str = "tanh") -> torch.Tensor:
    """The modified loss L_S of dropout (SME paper eq. 7).

    Args:
        a: (m,) or (m, K) output weights (tensor or numpy array).
        W: (m, d) input weights.
        X: (n, d) inputs.
        y: (n,) or (n, K) targets, matching ``a``.
        keep_prob: keep probability p in (0, 1]; p = 1 gives R_S.
        activation: activation name.

    Returns:
        0-dim tensor L_S (differentiable with respect to tensor inputs).
    """
    prob = as_problem(a, W, X, y)
    v = dropout_variance(keep_prob)
    return kernels.modified_loss(prob.a, prob.W, prob.X, prob.y, v=v, act=get_activation(activation))


def modified_loss_gradient(
    a, W, X, y, *, keep_prob: float, activation: str = "tanh"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Closed-form gradient of L_S, which equals E_δ ∇R_S^drop (SME paper §4.1).

    ∂L_S/∂a_k = (1/n) Σ_i h_ik (e_i + v h_ik a_k),
    ∂L_S/∂w_k = (1/n) Σ_i σ'(w_k·x_i) (a_k·e_i + v ‖a_k‖² h_ik) x_i, with h_ik = σ(w_k·x_i), v = (1 − p)/p.

    Args:
        a: (m,) or (m, K) output weights.
        W: (m, d) input weights.
        X: (n, d) inputs.
        y: (n,) or (n, K) targets.
        keep_prob: keep probability p in (0, 1].
        activation: activation name.

    Returns:
        ``(grad_a, grad_W)`` with the shapes of ``a`` and ``W``.
    """
    prob = as_problem(a, W, X, y)
    v = dropout_variance(keep_prob)
    ga, gW = kernels.modified_loss_gradient(prob.a, prob.W, prob.X, prob.y, v=v, act=get_activation(activation))
    return (ga[:, 0] if prob.scalar_output else ga), gW


def order2_drift(
    a, W, X, y, *, keep_prob: float, lr: float, activation: str = "tanh"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Drift of the order-2 SME, b_2 = −∇(L_S + (η/4)‖∇L_S‖²) = −(∇L_S + (η/2) H ∇L_S).

    The Hessian-vector product H∇L_S is a double backward pass through the closed-form gradient.

    Args:
        a: (m,) or (m, K) output weights.
        W: (m, d) input weights.
        X: (n, d) inputs.
        y: (n,) or (n, K) targets.
        keep_prob: keep probability p in (0, 1].
        lr: learning rate η > 0.
        activation: activation name.

    Returns:
        ``(b_a, b_W)`` with the shapes of ``a`` and ``W``.
    """
    prob = as_problem(a, W, X, y)
    eta = check_positive(lr, "lr")
    v = dropout_variance(keep_prob)
    ba, bW = kernels.order2_drift(prob.a, prob.W, prob.X, prob.y, v=v, lr=eta, act=get_activation(activation))
    return (ba[:, 0] if prob.scalar_output else ba), bW
