"""Exact Gaussian draws from N(0, Σ) for the dropout noise, without any D×D matrix (our contribution).

By :mod:`dropout_theory.two_layer.covariance`, the centred dropout gradient is a linear map of m singles
ε_j and m(m−1)/2 pairs ε_kε_r, all uncorrelated, with variances v and v². Therefore

    Z = √v Σ_j z_j S_j + v Σ_{k<r} ζ_kr T_kr,   z_j, ζ_kr i.i.d. N(0, 1),

is exactly N(0, Σ). In block k this reads Z_k = √v z_k E_k + Σ_r C_kr G_kr with the m×m coefficient matrix
C_kr = √v z_r + v ζ_kr (r ≠ k), C_kk = v√v z_k (ζ symmetric). Because G_kr = (1/n)Σ_i(h_ik h_ir a_r,
σ'_ik (a_k·a_r) h_ir x_i), the sum over r never needs G itself:

    a-part: (1/n) ((C ∘ HᵀH) a)_k,    w-part: (1/n) Σ_i σ'_ik V_ik x_i with V = H (C ∘ aaᵀ)ᵀ.

Per sample this costs O(n m² + n m d + m² K) = O(n·m·(m + d)) and holds O(n·m + m²) numbers.
"""

from __future__ import annotations

import math

import torch

from dropout_theory._checks import check_positive_int
from dropout_theory.activations import Activation, get_activation
from dropout_theory.two_layer.model import as_problem
from dropout_theory.two_layer.modified_loss import dropout_variance

#: Samples are produced in chunks holding at most this many numbers of size n·m.
_CHUNK_ELEMENTS = 1 << 23


def noise_sources(
    num_samples: int, m: int, generator: torch.Generator | None, *, dtype: torch.dtype, device
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


def _structured_noise(
    h: torch.Tensor,
    dh: torch.Tensor,
    a: torch.Tensor,
    X: torch.Tensor,
    v: float,
    Ea: torch.Tensor,
    Ew: torch.Tensor,
    z: torch.Tensor,
    zeta: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Apply the linear map (z, ζ) ↦ Z. Shapes broadcast over leading dims.

    Args:
        h, dh: (…, n, m) σ(XWᵀ) and σ'(XWᵀ).
        a: (…, m, K).
        X: (n, d).
        v: (1 − p)/p.
        Ea, Ew: (…, m, K), (…, m, d) plain per-neuron gradients E_k.
        z: (…, m) singles; zeta: (…, m, m) symmetric pairs with zero diagonal.

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


def _plain_parts(a, W, X, y, act: Activation):
    z = X @ W.mT
    h, dh = act.f(z), act.df(z)
    e = h @ a - y
    n = X.shape[0]
    return h, dh, h.mT @ e / n, ((e @ a.mT) * dh).mT @ X / n


def sample_dropout_noise(
    a,
    W,
    X,
    y,
    keep_prob: float,
    num_samples: int,
    generator: torch.Generator | None = None,
    activation: str = "tanh",
) -> torch.Tensor:
    """Exact draws from N(0, Σ), Σ the covariance of the dropout gradient, without forming Σ.

    Uses Σ = A C Aᵀ (see the module docstring): m + m(m−1)/2 standard normals per sample pushed through a
    linear map built from the forward pass. Cost O(n·m·(m + d)) per sample, memory O(n·m + m²) per sample
    (samples are processed in chunks). Flattening is neuron-major, θ = vec((a_r, w_r)_r), D = m(K + d).

    Args:
        a: (m,) or (m, K) output weights.
        W: (m, d) input weights.
        X: (n, d) inputs.
        y: (n,) or (n, K) targets.
        keep_prob: keep probability p in (0, 1] (p = 1 gives zeros).
        num_samples: number of draws S >= 1.
        generator: torch generator (on the tensors' device) for reproducible draws.
        activation: activation name.

    Returns:
        (S, D) tensor with the dtype and device of ``W``.
    """
    prob = as_problem(a, W, X, y)
    num_samples = check_positive_int(num_samples, "num_samples")
    v = dropout_variance(keep_prob)
    act = get_activation(activation)
    h, dh, Ea, Ew = _plain_parts(prob.a, prob.W, prob.X, prob.y, act)
    chunk = max(1, _CHUNK_ELEMENTS // (prob.n * prob.m + prob.m * prob.m))
    out = []
    kw = {"dtype": prob.W.dtype, "device": prob.W.device}
    for start in range(0, num_samples, chunk):
        s = min(chunk, num_samples - start)
        z, zeta = noise_sources(s, prob.m, generator, **kw)
        Za, Zw = _structured_noise(h, dh, prob.a, prob.X, v, Ea, Ew, z, zeta)
        out.append(torch.cat([Za, Zw], dim=-1).reshape(s, -1))
    return torch.cat(out, dim=0)


def structured_noise_map(a, W, X, y, keep_prob: float, z, zeta, activation: str = "tanh") -> torch.Tensor:
    """The linear map (z, ζ) ↦ Z of :func:`sample_dropout_noise` applied to given sources (for checks).

    Args:
        a, W, X, y: the network and data (as in :func:`sample_dropout_noise`).
        keep_prob: keep probability p in (0, 1].
        z: (S, m) singles.
        zeta: (S, m, m) symmetric pair coefficients with zero diagonal.
        activation: activation name.

    Returns:
        (S, D) images; with z, ζ standard normal they are N(0, Σ) draws.
    """
    prob = as_problem(a, W, X, y)
    kw = {"dtype": prob.W.dtype, "device": prob.W.device}
    z = torch.as_tensor(z, **kw)
    zeta = torch.as_tensor(zeta, **kw)
    if z.dim() != 2 or z.shape[1] != prob.m or zeta.shape != (z.shape[0], prob.m, prob.m):
        raise ValueError(
            f"z must be (S, {prob.m}) and zeta (S, {prob.m}, {prob.m}), got {tuple(z.shape)}, {tuple(zeta.shape)}"
        )
    h, dh, Ea, Ew = _plain_parts(prob.a, prob.W, prob.X, prob.y, get_activation(activation))
    Za, Zw = _structured_noise(h, dh, prob.a, prob.X, dropout_variance(keep_prob), Ea, Ew, z, zeta)
    return torch.cat([Za, Zw], dim=-1).reshape(z.shape[0], -1)


def noise_cost_model(n: int, m: int, d: int, K: int = 1) -> dict[str, float]:
    """Multiply–add counts of one exact noise sample (structured) and of one dropout-GD step.

    Args:
        n: number of data points.
        m: width.
        d: input dimension (including the bias feature).
        K: number of outputs.

    Returns:
        A dict with keys ``"structured"`` (n·m² for V, n·m·d for the w-part, m²·K for the a-part),
        ``"dropout_step"`` (about 2·n·m·d + 2·n·m·K: forward and backward pass), ``"dense_eigh"`` (D³, a
        dense factorization of Σ) and ``"D"`` (m(K + d)).
    """
    D = m * (K + d)
    return {
        "structured": float(n * m * m + n * m * d + m * m * K),
        "dropout_step": float(2 * n * m * d + 2 * n * m * K),
        "dense_eigh": float(D) ** 3,
        "D": float(D),
    }
