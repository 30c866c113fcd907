"""The covariance Σ of the dropout gradient (SME paper §5.1), dense closed form and exact enumeration.

Write δ = 1 + ε with ε_r ∈ {1/p − 1, −1}, E ε = 0, Var ε = v = (1 − p)/p. The residual of the masked
network is e_i(δ) = e_i + Σ_r ε_r a_r h_ir, so ∇_{q_k} R_S^drop is a quadratic polynomial in ε:

    ∇_{q_k} R^drop − ∇_{q_k} L_S = ε_k (E_k + v G_kk) + Σ_{r≠k} ε_r G_kr + Σ_{r≠k} ε_k ε_r G_kr,

with E_k = ∇_{q_k} R_S (the plain gradient of neuron k) and the "coupling vectors"

    G_kr = (1/n) Σ_i ( h_ik h_ir a_r ,  σ'(w_k·x_i) (a_k·a_r) h_ir x_i ) ∈ R^{K+d}.

(The term ε_k² − v was folded into ε_k using ε_k² − v = ((1 − 2p)/p) ε_k, exact for a two-point variable.)
The m singles ε_j (variance v) and the m(m−1)/2 pairs ε_kε_r (variance v²) are uncorrelated, hence

    Σ = v Σ_j S_j S_jᵀ + v² Σ_{k<r} T_kr T_krᵀ,

where S_j ∈ R^D has block k equal to G_kj (k ≠ j) and E_j + v G_jj (k = j), and T_kr has block k equal to
G_kr, block r equal to G_rk and zeros elsewhere. In blocks:
Σ_kl = v Σ_j S_j[k] S_j[l]ᵀ + v² G_kl G_lkᵀ (k ≠ l) and Σ_kk = v Σ_j S_j[k] S_j[k]ᵀ + v² Σ_{r≠k} G_kr G_krᵀ.

That is the covariance for one mask per neuron shared by all n examples (``mask="shared"``, full-batch dropout GD,
the SME paper's eq. 6). With one mask per example and neuron (``mask="per_example"``, as ``torch.nn.Dropout``) the
n per-example gradients are independent, so Σ_pe = (1/n²) Σ_i Σ^{(i)}, where Σ^{(i)} is the shared-mask formula
applied to the single example (x_i, y_i). The expected gradient ∇L_S is the same for both conventions.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch

from dropout_theory._checks import check_allocation, check_choice, check_keep_prob, check_positive_int
from dropout_theory.activations import Activation, get_activation
from dropout_theory.rng import MASK_CONVENTIONS, GeneratorLike, bernoulli_mask, torch_generator
from dropout_theory.two_layer import kernels
from dropout_theory.two_layer.model import as_problem
from dropout_theory.two_layer.modified_loss import dropout_variance

MAX_ENUMERATION_WIDTH = 16


def _coupling_vectors(a, W, X, y, act: Activation) -> tuple[torch.Tensor, torch.Tensor]:
    """E (m, K+d) (plain per-neuron gradients) and G (m, m, K+d) (coupling vectors G_kr). Dense: O(m² d)."""
    z = X @ W.T
    h, dh = act.f(z), act.df(z)
    n = X.shape[0]
    e = h @ a - y
    Ea = h.T @ e / n
    Ew = ((e @ a.T) * dh).T @ X / n
    E = torch.cat([Ea, Ew], dim=1)
    HtH = h.T @ h / n  # (m, m)
    Ga = HtH[:, :, None] * a[None, :, :]  # G_kr a-part: (HᵀH)_kr a_r / n
    AAt = a @ a.T
    Gw = AAt[:, :, None] * torch.einsum("ik,ir,id->krd", dh, h, X) / n
    return E, torch.cat([Ga, Gw], dim=2)


def _shared_mask_covariance(a, W, X, y, v: float, act: Activation) -> torch.Tensor:
    """Σ for one mask per neuron shared by the rows of X (tensors of a validated problem)."""
    E, G = _coupling_vectors(a, W, X, y, act)
    m, P = E.shape
    eye = torch.eye(m, dtype=E.dtype, device=E.device)
    # S[k, j] = block k of S_j
    S = G + eye[:, :, None] * (E[:, None, :] + (v - 1.0) * G)
    Smat = S.permute(0, 2, 1).reshape(m * P, m)
    sigma = v * (Smat @ Smat.T)
    Goff = G * (1.0 - eye)[:, :, None]
    pair = torch.einsum("klp,lkq->kplq", Goff, Goff)  # block (k, l): G_kl G_lkᵀ, zero for k = l
    diag = torch.einsum("krp,krq->kpq", Goff, Goff)  # Σ_{r≠k} G_kr G_krᵀ
    pair = pair + torch.einsum("kl,kpq->kplq", eye, diag)
    return sigma + v * v * pair.reshape(m * P, m * P)


def dropout_gradient_covariance(
    a, W, X, y, *, keep_prob: float, activation: str = "tanh", mask: str = "shared"
) -> torch.Tensor:
    """Exact covariance Σ of ∇_θ R_S^drop(θ; δ) over the dropout mask, dense (D, D), D = m(K + d).

    Parameters are flattened neuron-major (θ = vec(q_1, …, q_m), q_r = (a_r, w_r)). This dense path is the
    reference for small D; :func:`dropout_theory.two_layer.sample_dropout_noise` draws N(0, Σ) without it
    (shared masks).

    Args:
        a: (m,) or (m, K) output weights.
        W: (m, d) input weights.
        X: (n, d) inputs.
        y: (n,) or (n, K) targets.
        keep_prob: keep probability p in (0, 1]; p = 1 gives Σ = 0.
        activation: activation name.
        mask: ``"shared"`` (one mask per neuron for all examples) or ``"per_example"`` (one per example and
            neuron): Σ_pe = (1/n²) Σ_i Σ^{(i)} with Σ^{(i)} the covariance of example i's gradient.

    Returns:
        (D, D) symmetric positive semi-definite tensor.
    """
    prob = as_problem(a, W, X, y)
    v = dropout_variance(keep_prob)
    act = get_activation(activation)
    D = prob.m * (prob.K + prob.d)
    check_allocation(
        2 * D * D + prob.m**2 * (prob.K + prob.d) * (1 + prob.n),
        "Σ and the coupling vectors",
        names=f"D = {D} (m = {prob.m}, d = {prob.d})",
    )
    if check_choice(mask, "mask", MASK_CONVENTIONS) == "shared":
        return _shared_mask_covariance(prob.a, prob.W, prob.X, prob.y, v, act)
    total = torch.zeros((prob.m * (prob.K + prob.d),) * 2, dtype=prob.W.dtype, device=prob.W.device)
    for i in range(prob.n):
        total += _shared_mask_covariance(prob.a, prob.W, prob.X[i : i + 1], prob.y[i : i + 1], v, act)
    return total / prob.n**2


def sample_dropout_gradients(
    a,
    W,
    X,
    y,
    *,
    keep_prob: float,
    num_samples: int,
    generator: GeneratorLike = None,
    activation: str = "tanh",
    mask: str = "shared",
) -> torch.Tensor:
    """Flattened dropout gradients ∇_θ R_S^drop(θ; δ) for ``num_samples`` independent masks δ (batched).

    Args:
        a, W, X, y: the network and data (shapes as in :func:`dropout_gradient_covariance`).
        keep_prob: keep probability p in (0, 1].
        num_samples: number of masks S >= 1.
        generator: torch generator (or int seed) of the masks.
        activation: activation name.
        mask: ``"shared"`` (a mask (m,) per sample) or ``"per_example"`` (a mask (n, m) per sample).

    Returns:
        (S, D) tensor; its sample covariance estimates Σ of the same convention.
    """
    prob = as_problem(a, W, X, y)
    p = check_keep_prob(keep_prob)
    num_samples = check_positive_int(num_samples, "num_samples")
    D = prob.m * (prob.K + prob.d)
    check_allocation(num_samples * D, "the (num_samples, D) result", names=f"num_samples = {num_samples}, D = {D}")
    act = get_activation(activation)
    generator = torch_generator(generator, device=prob.W.device)
    z = prob.X @ prob.W.T
    h, dh = act.f(z), act.df(z)
    out = []
    per_example = check_choice(mask, "mask", MASK_CONVENTIONS) == "per_example"
    chunk = max(1, (1 << 22) // (prob.n * max(prob.m, prob.K)))
    kw = {"keep_prob": p, "generator": generator, "dtype": prob.W.dtype, "device": prob.W.device}
    for start in range(0, num_samples, chunk):
        s = min(chunk, num_samples - start)
        if per_example:
            masks = bernoulli_mask((s, prob.n, prob.m), **kw)
            ga, gW = kernels.per_example_masked_gradient_from_parts(prob.a, h, dh, prob.X, prob.y, masks)
        else:
            masks = bernoulli_mask((s, prob.m), **kw)
            ga, gW = kernels.masked_gradient_from_parts(prob.a, h, dh, prob.X, prob.y, masks)
        out.append(torch.cat([ga, gW], dim=2).reshape(s, -1))
    return torch.cat(out)


@dataclass(frozen=True)
class MaskMoments:
    """Exact moments of the dropout gradient over all 2^m masks.

    Attributes:
        mean: (D,) E_δ ∇_θ R_S^drop.
        covariance: (D, D) Cov_δ ∇_θ R_S^drop.
        mean_loss: E_δ R_S^drop (0-dim).
    """

    mean: torch.Tensor
    covariance: torch.Tensor
    mean_loss: torch.Tensor


def enumerate_mask_moments(
    a, W, X, y, *, keep_prob: float, activation: str = "tanh", mask: str = "shared"
) -> MaskMoments:
    """Mean and covariance of the flattened dropout gradient by exact enumeration of all 2^m masks.

    Independent of the closed forms of Σ: each mask's gradient comes from the masked-gradient kernel of
    :func:`dropout_theory.two_layer.dropout_gradient`, weighted by p^{#kept}(1 − p)^{#dropped}. With
    ``mask="per_example"`` the n examples' masks are independent, so the covariance is (1/n²) times the sum of the
    single-example covariances, each enumerated over its 2^m masks (the mean and the mean loss do not change).

    Args:
        a: (m,) or (m, K) output weights.
        W: (m, d) input weights (m ≤ 16).
        X: (n, d) inputs.
        y: (n,) or (n, K) targets.
        keep_prob: keep probability p in (0, 1].
        activation: activation name.
        mask: ``"shared"`` or ``"per_example"``.

    Returns:
        :class:`MaskMoments`.
    """
    prob = as_problem(a, W, X, y)
    if check_choice(mask, "mask", MASK_CONVENTIONS) == "per_example":
        shared = enumerate_mask_moments(prob.a, prob.W, prob.X, prob.y, keep_prob=keep_prob, activation=activation)
        cov = sum(
            enumerate_mask_moments(
                prob.a, prob.W, prob.X[i : i + 1], prob.y[i : i + 1], keep_prob=keep_prob, activation=activation
            ).covariance
            for i in range(prob.n)
        )
        return MaskMoments(shared.mean, cov / prob.n**2, shared.mean_loss)
    if prob.m > MAX_ENUMERATION_WIDTH:
        raise ValueError(f"enumeration needs m <= {MAX_ENUMERATION_WIDTH} (2^m masks), got m = {prob.m}")
    p = check_keep_prob(keep_prob)
    act = get_activation(activation)
    kw = {"dtype": prob.W.dtype, "device": prob.W.device}
    keep = torch.tensor(list(itertools.product([0.0, 1.0], repeat=prob.m)), **kw)  # (2^m, m)
    weights = (p ** keep.sum(1)) * ((1.0 - p) ** (prob.m - keep.sum(1)))
    masks = keep / p
    h, dh, _ = kernels.forward_parts(prob.a, prob.W, prob.X, prob.y, act=act)
    loss = kernels.risk_from_residual((h[None] * masks[:, None, :]) @ prob.a - prob.y)  # (B,)
    ga, gW = kernels.masked_gradient_from_parts(prob.a, h, dh, prob.X, prob.y, masks)
    g = torch.cat([ga, gW], dim=2).reshape(len(masks), -1)
    mean = weights @ g
    c = g - mean
    return MaskMoments(mean, (c * weights[:, None]).T @ c, weights @ loss)
