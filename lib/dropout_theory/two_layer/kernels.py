"""Closed-form kernels of the two-layer network f_θ(x) = Σ_r a_r σ(w_r·x), batched, without validation.

These are the formulas every simulator and measurement of the two-layer network is built from: the validated
public functions of :mod:`dropout_theory.two_layer` (which accept numpy arrays, scalar outputs and check shapes),
the batched ensembles of :func:`dropout_theory.two_layer.simulate` and the matrix-free alignment of
:mod:`dropout_theory.alignment`. They take tensors that are already consistent and an
:class:`~dropout_theory.activations.Activation`, and do no checking.

Shapes (leading dimensions ``…`` broadcast, e.g. R runs or S masks):

* ``a``: (…, m, K) output weights; ``W``: (…, m, d) input weights (the bias is a constant input feature);
* ``X``: (n, d) inputs; ``y``: (n, K) targets;
* ``h``, ``dh``: (…, n, m) hidden activations σ(XWᵀ) and slopes σ'(XWᵀ); ``e``: (…, n, K) residuals f(X) − y;
* ``mask``: (…, m) dropout multipliers δ_r shared by the batch (``None`` = no dropout), or (…, n, m) one mask per
  example in :func:`per_example_masked_gradient_from_parts`;
* ``v`` = (1 − p)/p, the variance of δ for keep probability p.
"""

from __future__ import annotations

import math

import torch

from dropout_theory.activations import Activation


def forward_parts(a, W, X, y, *, act: Activation) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(h, dh, e)``: σ(XWᵀ), σ'(XWᵀ) (…, n, m) and the residual e = h a − y (…, n, K) of the unmasked network.

    σ' comes from the stored h where the activation allows it (:meth:`Activation.slope`: tanh needs one tanh per
    entry instead of two)."""
    z = X @ W.mT
    h = act.f(z)
    return h, act.slope(z, h), h @ a - y


def risk(a, W, X, y, *, act: Activation) -> torch.Tensor:
    """Empirical risk R_S = (1/2n) Σ_i ‖f(x_i) − y_i‖² (shape …)."""
    return risk_from_residual(act.f(X @ W.mT) @ a - y)


def risk_from_residual(e: torch.Tensor) -> torch.Tensor:
    """R_S = (1/2n) Σ_i ‖e_i‖² from residuals e (…, n, K)."""
    return 0.5 * (e * e).sum((-2, -1)) / e.shape[-2]


def masked_gradient_from_parts(a, h, dh, X, y, mask) -> tuple[torch.Tensor, torch.Tensor]:
    """∇ R_S^drop(θ; δ) = (∇_a, ∇_W), shapes (…, m, K) and (…, m, d), from σ(XWᵀ) and σ'(XWᵀ).

    With δ the mask, the masked residual is r = (h ∘ δ) a − y; then ∇_a = (h ∘ δ)ᵀ r / n and
    ∇_W = (((r aᵀ) ∘ σ') ∘ δ)ᵀ X / n.
    """
    n = X.shape[0]
    hm = h if mask is None else h * mask[..., None, :]
    r = hm @ a - y
    g = (r @ a.mT) * dh
    if mask is not None:
        g = g * mask[..., None, :]
    return hm.mT @ r / n, g.mT @ X / n


def per_example_masked_gradient_from_parts(a, h, dh, X, y, mask) -> tuple[torch.Tensor, torch.Tensor]:
    """∇ R_S^drop with one mask per example: ``mask`` (…, n, m) multiplies neuron r of example i by δ_ir.

    The same formulas as :func:`masked_gradient_from_parts` with the (…, m) mask replaced by the (…, n, m) one:
    r = (h ∘ δ) a − y, ∇_a = (h ∘ δ)ᵀ r / n, ∇_W = (((r aᵀ) ∘ σ') ∘ δ)ᵀ X / n.
    """
    n = X.shape[0]
    hm = h * mask
    r = hm @ a - y
    g = (r @ a.mT) * dh * mask
    return hm.mT @ r / n, g.mT @ X / n


def masked_gradient(a, W, X, y, mask, *, act: Activation) -> tuple[torch.Tensor, torch.Tensor]:
    """∇ R_S^drop(θ; δ) for dropout multipliers ``mask`` (…, m) (``None``: the plain gradient of R_S)."""
    z = X @ W.mT
    h = act.f(z)
    return masked_gradient_from_parts(a, h, act.slope(z, h), X, y, mask)


def modified_loss(a, W, X, y, *, v: float, act: Activation) -> torch.Tensor:
    """L_S = R_S + (v/2n) Σ_r ‖a_r‖² Σ_i σ(w_r·x_i)² (SME paper eq. 7), shape (…)."""
    h = act.f(X @ W.mT)
    e = h @ a - y
    n = X.shape[0]
    penalty = ((h * h).sum(-2) * (a * a).sum(-1)).sum(-1)
    return 0.5 * (e * e).sum((-2, -1)) / n + 0.5 * v * penalty / n


def modified_loss_gradient_from_parts(a, h, dh, e, X, *, v: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(∇_a L_S, ∇_W L_S) from the forward parts (differentiable, so usable in a double backward pass)."""
    n = X.shape[0]
    ga = (h.mT @ e + v * (h * h).sum(-2)[..., None] * a) / n
    s = (e @ a.mT) * dh + v * (a * a).sum(-1)[..., None, :] * h * dh  # (…, n, m)
    return ga, s.mT @ X / n


def modified_loss_gradient(a, W, X, y, *, v: float, act: Activation) -> tuple[torch.Tensor, torch.Tensor]:
    """Closed-form (∇_a L_S, ∇_W L_S); v = 0 gives the gradient of R_S."""
    h, dh, e = forward_parts(a, W, X, y, act=act)
    return modified_loss_gradient_from_parts(a, h, dh, e, X, v=v)


def order2_drift(a, W, X, y, *, v: float, lr: float, act: Activation) -> tuple[torch.Tensor, torch.Tensor]:
    """Order-2 SME drift −(∇L_S + (η/2) H ∇L_S), the Hessian-vector product by a double backward pass."""
    with torch.enable_grad():
        a_ = a.detach().requires_grad_(True)
        W_ = W.detach().requires_grad_(True)
        ga, gW = modified_loss_gradient(a_, W_, X, y, v=v, act=act)
        half_sq = 0.5 * ((ga * ga).sum() + (gW * gW).sum())
        hga, hgW = torch.autograd.grad(half_sq, (a_, W_))
    return -(ga.detach() + 0.5 * lr * hga), -(gW.detach() + 0.5 * lr * hgW)


def plain_gradient_parts(
    a, W, X, y, *, act: Activation
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(h, dh, E_a, E_W)``: the forward parts and the per-neuron plain gradients E_k = ∇_{q_k} R_S that enter
    the noise map (E_a (…, m, K), E_W (…, m, d))."""
    h, dh, e = forward_parts(a, W, X, y, act=act)
    n = X.shape[0]
    return h, dh, h.mT @ e / n, ((e @ a.mT) * dh).mT @ X / n


def noise_sources(
    num_samples: int, m: int, *, generator: torch.Generator | None, dtype: torch.dtype, device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Independent standard normals: singles z (S, m) and a symmetric pair matrix ζ (S, m, m), zero diagonal.

    Only the m(m−1)/2 entries above the diagonal are drawn (then mirrored).
    """
    z = torch.randn((num_samples, m), generator=generator, dtype=dtype, device=device)
    iu = torch.triu_indices(m, m, offset=1, device=device)
    upper = torch.randn((num_samples, iu.shape[1]), generator=generator, dtype=dtype, device=device)
    zeta = torch.zeros((num_samples, m, m), dtype=dtype, device=device)
    zeta[:, iu[0], iu[1]] = upper
    return z, zeta + zeta.mT


def noise_map(h, dh, a, X, Ea, Ew, z, zeta, *, v: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The linear map (z, ζ) ↦ Z whose image of standard normals is exactly N(0, Σ) (see
    :mod:`dropout_theory.two_layer.noise`). Shapes broadcast over leading dims.

    Args:
        h, dh: (…, n, m) σ(XWᵀ) and σ'(XWᵀ).
        a: (…, m, K).
        X: (n, d).
        Ea, Ew: (…, m, K), (…, m, d) plain per-neuron gradients E_k.
        z: (…, m) singles; zeta: (…, m, m) symmetric pairs with zero diagonal.
        v: (1 − p)/p.

    Returns:
        (Z_a (…, m, K), Z_W (…, m, d)).
    """
    n = X.shape[0]
    sv = math.sqrt(v)
    C = sv * z[..., None, :] + v * zeta
    C = C + torch.diag_embed((v * sv - sv) * z)  # diagonal: v√v z_k (ζ_kk = 0)
    HtH = h.mT @ h
    Za = (C * HtH) @ a / n + sv * z[..., None] * Ea
    V = h @ (C * (a @ a.mT)).mT  # (…, n, m)
    Zw = (dh * V).mT @ X / n + sv * z[..., None] * Ew
    return Za, Zw


def order1_drift_and_noise_from_parts(a, h, dh, e, X, *, v: float, generator) -> tuple[torch.Tensor, ...]:
    """(−∇_a L_S, −∇_W L_S, Z_a, Z_W) for batched runs a (R, m, K): the order-1 SME drift and one exact
    N(0, Σ(θ_r)) draw per run, sharing one forward pass.

    The plain per-neuron gradients E_k needed by the noise are also the data part of ∇L_S, so the whole SME step
    costs one forward pass, one backward pass and the O(n·m²) pair terms.
    """
    n = X.shape[0]
    Ea = h.mT @ e / n
    Ew = ((e @ a.mT) * dh).mT @ X / n
    ga = Ea + v * (h * h).sum(-2)[..., None] * a / n
    gW = Ew + (v * (a * a).sum(-1)[..., None, :] * h * dh).mT @ X / n
    zs, zeta = noise_sources(a.shape[0], a.shape[1], generator=generator, dtype=a.dtype, device=a.device)
    Za, Zw = noise_map(h, dh, a, X, Ea, Ew, zs, zeta, v=v)
    return -ga, -gW, Za, Zw


def order1_drift_and_noise(a, W, X, y, *, v: float, act: Activation, generator) -> tuple[torch.Tensor, ...]:
    """:func:`order1_drift_and_noise_from_parts` at parameters (a, W)."""
    h, dh, e = forward_parts(a, W, X, y, act=act)
    return order1_drift_and_noise_from_parts(a, h, dh, e, X, v=v, generator=generator)
