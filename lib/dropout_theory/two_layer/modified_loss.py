"""The modified loss L_S of dropout (SME paper eq. 7) and its gradients, closed form and batched.

L_S(θ) = R_S(θ) + (1 − p)/(2np) Σ_i Σ_r ‖a_r‖² σ(w_r·x_i)², which is exactly E_δ[R_S^drop(θ; δ)], so that
E_δ ∇R_S^drop = ∇L_S. With K outputs ‖a_r‖² is the squared norm of the r-th row of ``a``.

The batched helpers (leading dimensions on ``a`` (…, m, K) and ``W`` (…, m, d)) are what the ensemble
simulators of :mod:`dropout_theory.two_layer.sme` use; they are private.
"""

from __future__ import annotations

import torch

from dropout_theory._checks import check_keep_prob, check_positive
from dropout_theory.activations import Activation, get_activation
from dropout_theory.two_layer.model import as_problem


def dropout_variance(keep_prob: float) -> float:
    """v = Var ε = (1 − p)/p for the dropout multiplier δ = 1 + ε (keep probability p)."""
    p = check_keep_prob(keep_prob)
    return (1.0 - p) / p


def _modified_loss_batched(a, W, X, y, v: float, act: Activation) -> torch.Tensor:
    """L_S for batched parameters a (…, m, K), W (…, m, d); returns shape (…)."""
    h = act.f(X @ W.mT)  # (…, n, m)
    e = h @ a - y  # (…, n, K)
    n = X.shape[0]
    penalty = ((h * h).sum(-2) * (a * a).sum(-1)).sum(-1)  # Σ_r ‖a_r‖² Σ_i h_ir²
    return 0.5 * (e * e).sum((-2, -1)) / n + 0.5 * v * penalty / n


def _modified_grad_batched(a, W, X, y, v: float, act: Activation) -> tuple[torch.Tensor, torch.Tensor]:
    """Closed-form (∇_a L_S, ∇_W L_S) for batched parameters (differentiable, for double backward)."""
    z = X @ W.mT
    h = act.f(z)
    dh = act.df(z)
    n = X.shape[0]
    e = h @ a - y
    ga = (h.mT @ e + v * (h * h).sum(-2)[..., None] * a) / n
    s = (e @ a.mT) * dh + v * (a * a).sum(-1)[..., None, :] * h * dh  # (…, n, m)
    gW = s.mT @ X / n
    return ga, gW


def modified_loss(a, W, X, y, keep_prob: float, activation: str = "tanh") -> torch.Tensor:
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
    return _modified_loss_batched(prob.a, prob.W, prob.X, prob.y, v, get_activation(activation))


def modified_loss_gradient(a, W, X, y, keep_prob: float, activation: str = "tanh") -> tuple[torch.Tensor, torch.Tensor]:
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
    ga, gW = _modified_grad_batched(prob.a, prob.W, prob.X, prob.y, v, get_activation(activation))
    return (ga[:, 0] if prob.scalar_output else ga), gW


def order2_drift(
    a, W, X, y, keep_prob: float, lr: float, activation: str = "tanh"
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
    ba, bW = _order2_drift_batched(prob.a, prob.W, prob.X, prob.y, v, eta, get_activation(activation))
    return (ba[:, 0] if prob.scalar_output else ba), bW


def _order2_drift_batched(a, W, X, y, v: float, eta: float, act: Activation) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.enable_grad():
        a_ = a.detach().requires_grad_(True)
        W_ = W.detach().requires_grad_(True)
        ga, gW = _modified_grad_batched(a_, W_, X, y, v, act)
        half_sq = 0.5 * ((ga * ga).sum() + (gW * gW).sum())
        hga, hgW = torch.autograd.grad(half_sq, (a_, W_))
    return -(ga.detach() + 0.5 * eta * hga), -(gW.detach() + 0.5 * eta * hgW)
