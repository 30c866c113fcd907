"""The approximate forms of H and Σ near a minimum (SME paper eq. 17), dense, for a scalar-output two-layer net.

With J_i = ∇_θ f_θ(x_i) (D,) and BD(·) keeping only the m diagonal (1 + d)×(1 + d) neuron blocks (the term
∇_{q_r}(a_r σ(w_r·x_i)) ⊗ ∇_{q_r}(a_r σ(w_r·x_i)) is block r of J_i J_iᵀ), v = (1 − p)/p:

    H ≈ (1/n) Σ_i [J_i J_iᵀ + v BD(J_i J_iᵀ)],
    Σ ≈ (1/n) Σ_i [l_i1 J_i J_iᵀ + l_i2 v BD(J_i J_iᵀ)],  l_i1 = e_i² + v Σ_r a_r² σ(w_r·x_i)², l_i2 = e_i².

H̃ drops the terms with second derivatives of f (exact at interpolation without dropout). Σ̃ treats the
samples as if each had its own mask (a per-example heuristic); it is NOT a limit of the full-batch,
shared-mask covariance of :func:`dropout_theory.two_layer.dropout_gradient_covariance` and differs from
it by O(1) even as p → 1, so compare shapes (alignments), not entries.
"""

from __future__ import annotations

import torch

from dropout_theory.activations import get_activation
from dropout_theory.two_layer import dropout_variance
from dropout_theory.two_layer.model import as_problem


def approximate_hessian_and_covariance(
    a, W, X, y, *, keep_prob: float, activation: str = "tanh"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 17's approximations (H̃, Σ̃), each (D, D), neuron-major θ = vec((a_r, w_r)_r), scalar output only.

    Raises:
        ValueError: for K > 1 outputs (eq. 17 is stated for a scalar output).
    """
    prob = as_problem(a, W, X, y)
    if prob.K != 1:
        raise ValueError(f"eq. 17 is stated for a scalar output, got K = {prob.K}")
    v = dropout_variance(keep_prob)
    act = get_activation(activation)
    z = prob.X @ prob.W.T
    h, dh = act.f(z), act.df(z)  # (n, m)
    a = prob.a[:, 0]
    e = h @ a - prob.y[:, 0]  # (n,)
    # J_i block r = (h_ir, a_r σ'_ir x_i)
    J = torch.cat([h[:, :, None], (a * dh)[:, :, None] * prob.X[:, None, :]], dim=2)  # (n, m, 1 + d)
    n, m, P = J.shape
    Jf = J.reshape(n, m * P)
    l1 = e**2 + v * (h**2 * a**2).sum(1)
    l2 = e**2
    blocks = torch.einsum("irp,irq->irpq", J, J)  # (n, m, P, P)
    eye = torch.eye(m, dtype=J.dtype, device=J.device)

    def block_diag(weights: torch.Tensor) -> torch.Tensor:
        B = torch.einsum("i,irpq->rpq", weights, blocks) / n
        return torch.einsum("rs,rpq->rpsq", eye, B).reshape(m * P, m * P)

    ones = torch.ones(n, dtype=J.dtype, device=J.device)
    H = Jf.T @ Jf / n + v * block_diag(ones)
    S = (Jf * l1[:, None]).T @ Jf / n + v * block_diag(l2)
    return H, S
