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

import torch

from dropout_theory._checks import as_tensor, check_allocation, check_positive_int
from dropout_theory.activations import get_activation
from dropout_theory.rng import GeneratorLike, torch_generator
from dropout_theory.two_layer.kernels import noise_map, noise_sources, plain_gradient_parts
from dropout_theory.two_layer.model import as_problem
from dropout_theory.two_layer.modified_loss import dropout_variance

#: Samples are produced in chunks holding at most this many numbers of size n·m.
_CHUNK_ELEMENTS = 1 << 23


def sample_dropout_noise(
    a,
    W,
    X,
    y,
    *,
    keep_prob: float,
    num_samples: int,
    generator: GeneratorLike = None,
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
        generator: torch generator (on the tensors' device) or int seed, for reproducible draws.
        activation: activation name.

    Returns:
        (S, D) tensor with the dtype and device of ``W``.
    """
    prob = as_problem(a, W, X, y)
    num_samples = check_positive_int(num_samples, "num_samples")
    D = prob.m * (prob.K + prob.d)
    check_allocation(num_samples * D, "the (num_samples, D) result", names=f"num_samples = {num_samples}, D = {D}")
    v = dropout_variance(keep_prob)
    act = get_activation(activation)
    h, dh, Ea, Ew = plain_gradient_parts(prob.a, prob.W, prob.X, prob.y, act=act)
    generator = torch_generator(generator, device=prob.W.device)
    chunk = max(1, _CHUNK_ELEMENTS // (prob.n * prob.m + prob.m * prob.m))
    out = []
    kw = {"dtype": prob.W.dtype, "device": prob.W.device}
    for start in range(0, num_samples, chunk):
        s = min(chunk, num_samples - start)
        z, zeta = noise_sources(s, prob.m, generator=generator, **kw)
        Za, Zw = noise_map(h, dh, prob.a, prob.X, Ea, Ew, z, zeta, v=v)
        out.append(torch.cat([Za, Zw], dim=-1).reshape(s, -1))
    return torch.cat(out, dim=0)


def structured_noise_map(a, W, X, y, z, zeta, *, keep_prob: float, activation: str = "tanh") -> torch.Tensor:
    """The linear map (z, ζ) ↦ Z of :func:`sample_dropout_noise` applied to given sources (for checks).

    Args:
        a, W, X, y: the network and data (as in :func:`sample_dropout_noise`).
        z: (S, m) singles.
        zeta: (S, m, m) symmetric pair coefficients with zero diagonal.
        keep_prob: keep probability p in (0, 1].
        activation: activation name.

    Returns:
        (S, D) images; with z, ζ standard normal they are N(0, Σ) draws.
    """
    prob = as_problem(a, W, X, y)
    kw = {"dtype": prob.W.dtype, "device": prob.W.device, "like": "W"}
    z = as_tensor(z, "z", **kw)
    zeta = as_tensor(zeta, "zeta", **kw)
    if z.dim() != 2 or z.shape[1] != prob.m or zeta.shape != (z.shape[0], prob.m, prob.m):
        raise ValueError(
            f"z must be (S, {prob.m}) and zeta (S, {prob.m}, {prob.m}), got {tuple(z.shape)}, {tuple(zeta.shape)}"
        )
    h, dh, Ea, Ew = plain_gradient_parts(prob.a, prob.W, prob.X, prob.y, act=get_activation(activation))
    Za, Zw = noise_map(h, dh, prob.a, prob.X, Ea, Ew, z, zeta, v=dropout_variance(keep_prob))
    return torch.cat([Za, Zw], dim=-1).reshape(z.shape[0], -1)


def noise_cost_model(n: int, m: int, d: int, K: int = 1) -> dict[str, float]:
    """Multiply–add counts of what the library's kernels do: one exact noise sample (structured), one dropout-GD
    step and one order-1 SME step (:mod:`dropout_theory.two_layer.kernels`).

    Args:
        n: number of data points.
        m: width.
        d: input dimension (including the bias feature).
        K: number of outputs.

    Returns:
        A dict with keys

        * ``"structured"``: 2·n·m² + n·m·d + 2·m²·K — the two n·m² products HᵀH and V = H (C ∘ AAᵀ)ᵀ, the
          w-part (Σ' ∘ V)ᵀX, and the m²·K products (C ∘ HᵀH) A and AAᵀ;
        * ``"dropout_step"``: 2·n·m·d + 3·n·m·K — pre-activations XWᵀ and the w-gradient, and the three n·m·K
          products of the masked output, the a-gradient and the back-propagated residual;
        * ``"sme_step"``: 4·n·m·d + 2·n·m² + 3·n·m·K + 2·m²·K — one forward pass shared by the drift −∇L_S
          (per-neuron gradients E_a, E_w and the penalty's w-part) and the structured noise;
        * ``"dense_eigh"``: D³, a dense factorization of Σ; ``"D"``: m(K + d).
    """
    n, m, d = (check_positive_int(v, k) for v, k in ((n, "n"), (m, "m"), (d, "d")))
    K = check_positive_int(K, "K")
    D = m * (K + d)
    return {
        "structured": float(2 * n * m * m + n * m * d + 2 * m * m * K),
        "dropout_step": float(2 * n * m * d + 3 * n * m * K),
        "sme_step": float(4 * n * m * d + 2 * n * m * m + 3 * n * m * K + 2 * m * m * K),
        "dense_eigh": float(D) ** 3,
        "D": float(D),
    }
