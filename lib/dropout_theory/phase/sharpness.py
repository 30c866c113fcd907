"""Curvature of the mean-field two-layer network's loss: sharpness (Lanczos) and batch sharpness.

The parameters θ = (a_1, …, a_n, w_1, …, w_n) ∈ R^{n(1+d)} are flattened output weights first
(:func:`flatten_particles`); the loss is L(θ) = (1/N) Σ_k ℓ(f_θ(x_k), y_k) with f_θ(x) = (1/n) Σ_i m_i a_i relu(w_i·x)
(mask m, all ones without dropout) and ℓ squared or logistic (:func:`dropout_theory.phase.minibatch.loss_and_slope`).

* :func:`sharpness` — the largest eigenvalue of ∇²L on a data set without dropout, by Lanczos
  (:func:`dropout_theory.alignment.top_hessian_eigenvalues`) on Hessian-vector products
  (:func:`dropout_theory.alignment.flat_hvp`); gradient descent at learning rate η is stable on a quadratic with this
  curvature when η·λ_max < 2, and η = τ·n here;
* :func:`batch_sharpness` — E[g_Bᵀ H_B g_B / ‖g_B‖²] over mini-batches B (and dropout masks with ``keep_prob`` < 1),
  g_B and H_B the gradient and Hessian of the mini-batch loss (Andreyev and Beneventano, 2024), as a Monte Carlo
  :class:`dropout_theory.stats.Estimate` with its standard error.
"""

from __future__ import annotations

import torch

from dropout_theory._checks import (
    as_tensor,
    check_choice,
    check_iterations,
    check_keep_prob,
    check_positive,
    check_positive_int,
)
from dropout_theory.alignment import flat_hvp, top_hessian_eigenvalues
from dropout_theory.phase.minibatch import LOSSES, loss_and_slope
from dropout_theory.rng import GeneratorLike, bernoulli_mask, torch_generator
from dropout_theory.stats import Estimate


def flatten_particles(a: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """θ = (a, vec W): (n,), (n, d) → (n(1 + d),)."""
    W = as_tensor(W, "W", ndim=2)
    a = as_tensor(a, "a", ndim=1, dtype=W.dtype, device=W.device, like="W")
    _check_shapes(a, W)
    return torch.cat([a.reshape(-1), W.reshape(-1)])


def _check_shapes(a: torch.Tensor, W: torch.Tensor, X: torch.Tensor | None = None, y: torch.Tensor | None = None):
    if a.shape[0] != W.shape[0] or 0 in W.shape:
        raise ValueError(f"a and W must be (n,) and (n, d) with n, d >= 1, got {tuple(a.shape)} and {tuple(W.shape)}")
    if X is not None and (X.shape[1] != W.shape[1] or X.shape[0] == 0):
        raise ValueError(
            f"X must be (N, d) with d = {W.shape[1]} as in W, got shapes {tuple(X.shape)}, {tuple(W.shape)}"
        )
    if y is not None and y.shape[0] != X.shape[0]:
        raise ValueError(f"y has {y.shape[0]} entries but X has {X.shape[0]} rows")


def mean_field_loss(
    theta: torch.Tensor,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    width: int,
    loss: str = "logistic",
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """L(θ) = (1/N) Σ_k ℓ(f_θ(x_k), y_k), f_θ(x) = (1/n) Σ_i m_i a_i relu(w_i·x), differentiable twice.

    Args:
        theta: (n(1 + d),) flat parameters (:func:`flatten_particles`).
        X: (N, d) inputs; y: (N,) targets.
        width: n.
        loss: ``"logistic"`` or ``"squared"``.
        mask: optional (n,) dropout multipliers.

    Returns:
        0-dim tensor.
    """
    theta = as_tensor(theta, "theta", ndim=1)
    kw = {"dtype": theta.dtype, "device": theta.device, "like": "theta"}
    X, y = as_tensor(X, "X", ndim=2, **kw), as_tensor(y, "y", ndim=1, **kw)
    n = check_positive_int(width, "width")
    if theta.numel() != n * (1 + X.shape[1]) or X.shape[0] == 0 or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"theta, X and y must be (width (1 + d),), (N, d) and (N,) with width = {n}, N >= 1, got shapes "
            f"{tuple(theta.shape)}, {tuple(X.shape)} and {tuple(y.shape)}"
        )
    loss = check_choice(loss, "loss", LOSSES)
    if mask is not None:
        mask = as_tensor(mask, "mask", **kw)
        if mask.shape != (n,):
            raise ValueError(f"mask must be (width,) = ({n},), got {tuple(mask.shape)}")
    return _mean_field_loss(theta, X, y, n, loss, mask)


def _mean_field_loss(theta, X, y, n: int, loss: str, mask) -> torch.Tensor:
    """:func:`mean_field_loss` without the entry checks (called at every Hessian-vector product)."""
    a, W = theta[:n], theta[n:].reshape(n, -1)
    am = a if mask is None else a * mask
    f = torch.relu(X @ W.T) @ am / n
    return loss_and_slope(f, y, loss)[0].mean()


def sharpness(
    a,
    W,
    X,
    y,
    *,
    loss: str = "logistic",
    tol: float = 1e-3,
    generator: GeneratorLike = 0,
) -> float:
    """λ_max of the Hessian of the loss on (X, y) without dropout, by Lanczos on Hessian-vector products.

    Args:
        a: (n,) output weights; W: (n, d) input weights; X: (N, d) inputs; y: (N,) targets.
        loss: ``"logistic"`` or ``"squared"``.
        tol: relative accuracy asked of the Lanczos iteration (ARPACK).
        generator: int seed or torch generator of Lanczos's starting vector.

    Returns:
        The largest eigenvalue (for the raw parameters θ; the mean-field learning rate is η = τ·n).
    """
    W = as_tensor(W, "W", ndim=2)
    kw = {"dtype": W.dtype, "device": W.device}
    a = as_tensor(a, "a", ndim=1, **kw)
    X = as_tensor(X, "X", ndim=2, **kw)
    y = as_tensor(y, "y", ndim=1, **kw)
    _check_shapes(a, W, X, y)
    loss = check_choice(loss, "loss", LOSSES)
    n = a.shape[0]
    theta = flatten_particles(a, W)
    matvec = flat_hvp(lambda th: _mean_field_loss(th, X, y, n, loss, None), theta)
    top = top_hessian_eigenvalues(matvec, theta.numel(), tol=check_positive(tol, "tol"), generator=generator, **kw)
    return float(top[0])


def batch_sharpness(
    a,
    W,
    X,
    y,
    *,
    batch_size: int,
    keep_prob: float = 1.0,
    num_batches: int = 64,
    loss: str = "logistic",
    generator: GeneratorLike = 0,
) -> Estimate:
    """Batch sharpness E[g_Bᵀ H_B g_B / ‖g_B‖²] over mini-batches (and masks), with its Monte Carlo standard error.

    Each draw takes ``batch_size`` points without replacement and, when ``keep_prob`` < 1, a dropout mask
    m ∈ {0, 1/q}ⁿ; L_B is the loss of the masked network on the batch (the loss whose gradient is the dropout update),
    g_B its gradient and H_B g_B one Hessian-vector product.

    Args:
        a: (n,) output weights; W: (n, d) input weights; X: (N, d) inputs; y: (N,) targets.
        batch_size: B in [1, N].
        keep_prob: q in (0, 1]; 1 draws no mask.
        num_batches: draws >= 2.
        loss: ``"logistic"`` or ``"squared"``.
        generator: int seed s (batches from s, masks from s + 1) or a torch generator.

    Returns:
        An :class:`dropout_theory.stats.Estimate` (mean over the draws ± standard error); draws with g_B = 0 count
        as 0.
    """
    W = as_tensor(W, "W", ndim=2)
    kw = {"dtype": W.dtype, "device": W.device}
    a = as_tensor(a, "a", ndim=1, **kw)
    X = as_tensor(X, "X", ndim=2, **kw)
    y = as_tensor(y, "y", ndim=1, **kw)
    _check_shapes(a, W, X, y)
    loss = check_choice(loss, "loss", LOSSES)
    q = check_keep_prob(keep_prob)
    B = check_positive_int(batch_size, "batch_size")
    if B > X.shape[0]:
        raise ValueError(f"batch_size must be at most the number of points {X.shape[0]}, got {B}")
    draws = check_iterations(num_batches, "num_batches", minimum=2)
    n = a.shape[0]
    batch_gen = torch_generator(generator)
    mask_gen = torch_generator(generator, offset=1, device=W.device)
    theta0 = flatten_particles(a, W).detach()
    values = []
    for _ in range(draws):
        idx = torch.randperm(X.shape[0], generator=batch_gen)[:B].to(X.device)
        mask = None if q == 1.0 else bernoulli_mask((n,), keep_prob=q, generator=mask_gen, **kw)
        theta = theta0.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(_mean_field_loss(theta, X[idx], y[idx], n, loss, mask), theta,
                                   create_graph=True)  # fmt: skip
        gg = float((g.detach() * g.detach()).sum())
        if gg == 0.0:
            values.append(0.0)
            continue
        (hg,) = torch.autograd.grad(g, theta, g.detach())
        values.append(float((hg * g.detach()).sum()) / gg)
    return Estimate.from_samples(values)
