"""The approximate forms of H and Σ near a minimum (SME paper eq. 17), dense, for a scalar-output two-layer net.

With J_i = ∇_θ f_θ(x_i) (D,) and BD(·) keeping only the m diagonal (1 + d)×(1 + d) neuron blocks (the term
∇_{q_r}(a_r σ(w_r·x_i)) ⊗ ∇_{q_r}(a_r σ(w_r·x_i)) is block r of J_i J_iᵀ), v = (1 − p)/p:

    H ≈ (1/n) Σ_i [J_i J_iᵀ + v BD(J_i J_iᵀ)],
    Σ ≈ (1/n) Σ_i [l_i1 J_i J_iᵀ + l_i2 v BD(J_i J_iᵀ)],  l_i1 = e_i² + v Σ_r a_r² σ(w_r·x_i)², l_i2 = e_i².

H̃ drops the terms with second derivatives of f (exact at interpolation without dropout). Σ̃ is built from one
example at a time: (1/n) Σ_i of the leading terms of the second moment E[g_i g_iᵀ] of example i's dropout gradient
under its OWN mask (:func:`dropout_theory.symbolic.two_layer.per_example_derivation` derives what it keeps). So it
belongs to the per-example convention: n Σ_pe = (1/n) Σ_i Cov g_i, and the per-example second moment
Ω = n Σ_pe + (1/n) Σ_i μ_i μ_iᵀ (μ_i = ∇ of example i's modified loss). The full-batch, shared-mask covariance of
:func:`dropout_theory.two_layer.dropout_gradient_covariance` adds the correlations between examples that share a
mask; it differs from Σ̃ by O(1) even as p → 1. :func:`compare_eq17` measures the cosines (α-like Frobenius
cosines: shapes, not scales) and norm ratios of Σ̃ against all three, and of H̃ against H = ∇²L_S.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from dropout_theory._checks import as_tensor
from dropout_theory.activations import get_activation
from dropout_theory.alignment.hessian_variance import modified_loss_hessian
from dropout_theory.tables import Table, TabularResult
from dropout_theory.two_layer import (
    dropout_gradient_covariance,
    dropout_variance,
    flatten_params,
    modified_loss_gradient,
)
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


def frobenius_cosine(A: torch.Tensor, B: torch.Tensor) -> float:
    """⟨A, B⟩_F / (‖A‖_F ‖B‖_F) of two matrices of the same shape (α is this cosine for A = H, B = Σ)."""
    A = as_tensor(A, "A")
    B = as_tensor(B, "B", dtype=A.dtype, device=A.device, like="A")
    if A.shape != B.shape or A.numel() == 0:
        raise ValueError(f"A and B must be non-empty and of the same shape, got {tuple(A.shape)} and {tuple(B.shape)}")
    if float(A.norm()) == 0.0 or float(B.norm()) == 0.0:
        raise ValueError("the cosine is undefined: A or B is zero")
    return float((A * B).sum() / (A.norm() * B.norm()))


@dataclass(frozen=True)
class Eq17Comparison(TabularResult):
    """Eq. 17's Σ̃ and H̃ against the exact matrices at one θ.

    Attributes:
        rows: ``(name, cosine, norm ratio)`` with cosine = :func:`frobenius_cosine` of the approximation and the
            exact matrix and norm ratio = ‖approximation‖_F / ‖exact‖_F; in order Σ̃ against the shared-mask Σ,
            against n Σ_pe, against the per-example second moment Ω, and H̃ against H.
        trace_ratio: Tr Σ_shared / Tr Σ_pe, how much stronger the shared-mask noise is.
        num_examples: n.
    """

    rows: tuple[tuple[str, float, float], ...]
    trace_ratio: float
    num_examples: int

    def cosine(self, name: str) -> float:
        """The cosine of the row whose name starts with ``name``."""
        return next(c for r, c, _ in self.rows if r.startswith(name))

    def table(self) -> Table:
        return Table.build(
            ("approximation vs exact", "cosine", "norm ratio"),
            self.rows,
            formats=("", ".3f", ".3g"),
            title=f"eq. 17 at n = {self.num_examples}; Tr Σ_shared / Tr Σ_pe = {self.trace_ratio:.3g}",
        )


def compare_eq17(a, W, X, y, *, keep_prob: float, activation: str = "tanh") -> Eq17Comparison:
    """Cosines and norm ratios of eq. 17's (H̃, Σ̃) against H = ∇²L_S and the three candidate covariances.

    Args:
        a: (m,) output weights (scalar output).
        W: (m, d) input weights.
        X: (n, d) inputs; y: (n,) targets.
        keep_prob: keep probability p in (0, 1).
        activation: activation name.

    Returns:
        :class:`Eq17Comparison`.
    """
    prob = as_problem(a, W, X, y)
    H_t, S_t = approximate_hessian_and_covariance(a, W, X, y, keep_prob=keep_prob, activation=activation)
    opts = {"keep_prob": keep_prob, "activation": activation}
    n = prob.n
    shared = dropout_gradient_covariance(a, W, X, y, **opts)
    per_example = dropout_gradient_covariance(a, W, X, y, **opts, mask="per_example")
    single = [(prob.a[:, 0], prob.W, prob.X[i : i + 1], prob.y[i : i + 1, 0]) for i in range(n)]
    means = torch.stack([flatten_params(*modified_loss_gradient(*data, **opts)) for data in single])
    omega = n * per_example + means.T @ means / n
    H = modified_loss_hessian(a, W, X, y, **opts)
    rows = []
    for name, approx, exact in (
        ("Sigma~ vs shared-mask Sigma", S_t, shared),
        ("Sigma~ vs n Sigma_pe (per-example)", S_t, n * per_example),
        ("Sigma~ vs per-example second moment", S_t, omega),
        ("H~ vs H", H_t, H),
    ):
        rows.append((name, frobenius_cosine(approx, exact), float(approx.norm() / exact.norm())))
    return Eq17Comparison(tuple(rows), float(shared.trace() / per_example.trace()), n)
