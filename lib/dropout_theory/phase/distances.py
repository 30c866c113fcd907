"""Distances between particle clouds: coupled (particle by particle) and between empirical measures.

* :func:`rms_distance` — sqrt((1/n) Σ_i ‖X_i − Y_i‖²) for two COUPLED clouds (same initialization, same
  masks), the quantity the paper's experiment reports between dropout and its variants;
* :func:`sliced_wasserstein` — the sliced 2-Wasserstein distance between the empirical measures of two
  clouds of possibly different sizes (exact 1-D W₂ on each random direction);
* :func:`mmd` — the maximum mean discrepancy with a Gaussian kernel (biased V-statistic, ≥ 0).

Particles are packed as rows (a_i, w_i): use :func:`dropout_theory.phase.pack_particles`.
"""

from __future__ import annotations

import torch

from dropout_theory._checks import as_tensor, check_allocation, check_positive, check_positive_int


def rms_distance(P: torch.Tensor, Q: torch.Tensor) -> torch.Tensor:
    """RMS distance between coupled clouds.

    Args:
        P: (..., n, p) particles.
        Q: (..., n, p) particles (same shape: particle i of P is coupled with particle i of Q).

    Returns:
        (...) tensor sqrt((1/n) Σ_i ‖P_i − Q_i‖²).
    """
    P = as_tensor(P, "P", ndim=(2, 3, 4, 5))
    Q = as_tensor(Q, "Q", dtype=P.dtype, device=P.device)
    if P.shape != Q.shape:
        raise ValueError(
            f"P and Q must have the same shape (coupled particles), got {tuple(P.shape)}, {tuple(Q.shape)}"
        )
    D = P - Q
    return torch.sqrt((D * D).sum(-1).mean(-1))


def _w2_1d_squared(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Exact squared W₂ between 1-D empirical measures, batched: u (k, n1), v (k, n2) → (k,)."""
    n1, n2 = u.shape[-1], v.shape[-1]
    us, _ = torch.sort(u, dim=-1)
    vs, _ = torch.sort(v, dim=-1)
    kw = {"dtype": u.dtype, "device": u.device}
    levels = torch.cat([torch.arange(1, n1 + 1, **kw) / n1, torch.arange(1, n2 + 1, **kw) / n2]).sort().values
    lo = torch.cat([torch.zeros(1, **kw), levels[:-1]])
    width = levels - lo
    mid = 0.5 * (levels + lo)
    i1 = torch.clamp((mid * n1).floor().long(), max=n1 - 1)
    i2 = torch.clamp((mid * n2).floor().long(), max=n2 - 1)
    diff = us[:, i1] - vs[:, i2]
    return (diff * diff * width).sum(-1)


def _nonempty(P: torch.Tensor, Q: torch.Tensor) -> None:
    if 0 in P.shape or 0 in Q.shape:
        raise ValueError(f"P and Q must hold at least one point each, got shapes {tuple(P.shape)} and {tuple(Q.shape)}")


def sliced_wasserstein(
    P: torch.Tensor,
    Q: torch.Tensor,
    *,
    num_projections: int = 256,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Sliced 2-Wasserstein distance SW₂(μ_P, μ_Q) = (E_θ W₂²(θ·μ_P, θ·μ_Q))^(1/2), θ uniform on the sphere.

    The 1-D distances are exact (quantile functions compared on the union of their breakpoints), so the
    only error is the Monte Carlo average over ``num_projections`` directions.

    Args:
        P: (n1, p) particles.
        Q: (n2, p) particles.
        num_projections: number of random directions >= 1.
        generator: torch generator of the directions.

    Returns:
        0-dim tensor.
    """
    P = as_tensor(P, "P", ndim=2)
    Q = as_tensor(Q, "Q", ndim=2, dtype=P.dtype, device=P.device)
    if P.shape[1] != Q.shape[1]:
        raise ValueError(f"P and Q must have the same dimension, got {P.shape[1]} and {Q.shape[1]}")
    _nonempty(P, Q)
    k = check_positive_int(num_projections, "num_projections")
    check_allocation(k * (P.shape[0] + Q.shape[0] + P.shape[1]), "the projections", names=f"num_projections = {k}")
    theta = torch.randn((k, P.shape[1]), generator=generator, dtype=P.dtype, device=P.device)
    theta = theta / theta.norm(dim=1, keepdim=True)
    return torch.sqrt(_w2_1d_squared(theta @ P.T, theta @ Q.T).mean())


def mmd(P: torch.Tensor, Q: torch.Tensor, *, bandwidth: float = 1.0) -> torch.Tensor:
    """Maximum mean discrepancy with the Gaussian kernel exp(−‖x − y‖²/(2h²)) (biased estimate, ≥ 0).

    Args:
        P: (n1, p) particles.
        Q: (n2, p) particles.
        bandwidth: h > 0.

    Returns:
        0-dim tensor sqrt(max(0, mean k(P,P) + mean k(Q,Q) − 2 mean k(P,Q))).
    """
    P = as_tensor(P, "P", ndim=2)
    Q = as_tensor(Q, "Q", ndim=2, dtype=P.dtype, device=P.device)
    h = check_positive(bandwidth, "bandwidth")
    if P.shape[1] != Q.shape[1]:
        raise ValueError(f"P and Q must have the same dimension, got shapes {tuple(P.shape)} and {tuple(Q.shape)}")
    _nonempty(P, Q)

    def k(U, V):
        return torch.exp(-torch.cdist(U, V).pow(2) / (2 * h * h)).mean()

    return torch.sqrt(torch.clamp(k(P, P) + k(Q, Q) - 2 * k(P, Q), min=0.0))
