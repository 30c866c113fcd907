"""Hessian–variance alignment α = Tr(HΣ)/(‖H‖_F ‖Σ‖_F) for the two-layer network (SME paper eq. 18).

H = ∇²L_S is the Hessian of the modified loss (the expected dropout loss, SME paper eq. 7) and Σ the exact
covariance of the dropout gradient at θ (:func:`dropout_theory.two_layer.dropout_gradient_covariance`).
Parameters are flattened neuron-major, θ = vec((a_r, w_r)_r), D = m(K + d).

Two paths:

* ``method="exact"``: dense H (torch.func.hessian) and dense Σ; O(D²) memory, for small D.
* ``method="matrix_free"``: no D×D matrix. Σ = UᵀU, where the rows of U are the images of the
  S = m + m(m−1)/2 unit noise sources under :func:`dropout_theory.two_layer.structured_noise_map`.
  Then Tr(HΣ) = Σ_s u_sᵀ H u_s (S Hessian-vector products, exact) and ‖Σ‖_F² = ‖U Uᵀ‖_F² (an S×S Gram
  matrix). ‖H‖_F² is estimated from products: exactly on a sketched dominant eigenspace and with ``num_probes``
  Rademacher probes (Hutchinson) on the rest (:func:`dropout_theory.alignment.deflated_frobenius_sq`). When
  ``num_sigma_probes`` is given (large widths), Tr(HΣ) is instead estimated from N(0, Σ) draws
  (:func:`dropout_theory.two_layer.sample_dropout_noise`) and ‖Σ‖_F² from Rademacher probes with
  Σz = Uᵀ(Uz) computed through the adjoint of the noise map, so memory stays O(D + S).

Both paths take the mask convention of Σ (``mask``): ``"shared"`` (one mask per neuron for all examples, the SME
paper's Σ) or ``"per_example"`` (Σ_pe = (1/n²) Σ_i Σ^{(i)}, whose factor stacks the rows of the n single-example
factors divided by n). H = ∇²L_S is the same for both.

The standard error of α follows from those of the estimated pieces by the delta method (independent probes).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.func import grad, hessian, jvp, vjp, vmap

from dropout_theory._checks import check_choice, check_positive_int
from dropout_theory.activations import get_activation
from dropout_theory.alignment.estimators import deflated_frobenius_sq, hutchinson_frobenius_sq, sampled_trace_product
from dropout_theory.rng import MASK_CONVENTIONS, GeneratorLike, torch_generator
from dropout_theory.stats import Estimate
from dropout_theory.tables import Table, TabularResult
from dropout_theory.two_layer import (
    dropout_gradient_covariance,
    dropout_variance,
    flatten_params,
    kernels,
    sample_dropout_noise,
)
from dropout_theory.two_layer.model import Problem, as_problem

#: Work arrays of the structured map are chunked to at most this many numbers.
_CHUNK_ELEMENTS = 1 << 22


@dataclass(frozen=True)
class AlignmentResult(TabularResult):
    """α = Tr(HΣ)/(‖H‖_F ‖Σ‖_F) with its pieces.

    Attributes:
        alpha: the alignment (a cosine similarity between H and Σ in the Frobenius inner product).
        stderr: standard error of ``alpha`` (0 when every piece is exact).
        trace: Tr(HΣ) as an :class:`Estimate`.
        frob_h_sq: ‖H‖_F² as an :class:`Estimate`.
        frob_sigma_sq: ‖Σ‖_F² as an :class:`Estimate`.
        method: ``"exact"`` or ``"matrix_free"``.
        num_params: D.
    """

    alpha: float
    stderr: float
    trace: Estimate
    frob_h_sq: Estimate
    frob_sigma_sq: Estimate
    method: str
    num_params: int

    def __float__(self) -> float:
        return self.alpha

    def table(self) -> Table:
        rows = [
            ("alpha", Estimate(self.alpha, self.stderr)),
            ("Tr(H Sigma)", self.trace),
            ("|H|_F^2", self.frob_h_sq),
            ("|Sigma|_F^2", self.frob_sigma_sq),
        ]
        return Table.build(("quantity", "value"), rows, title=f"{self.method} alignment over D = {self.num_params}")


def combine_alignment(trace: Estimate, frob_h_sq: Estimate, frob_sigma_sq: Estimate) -> tuple[float, float]:
    """α = T/√(h s) and its delta-method standard error from independent estimates T, h = ‖H‖_F², s = ‖Σ‖_F².

    Returns:
        ``(alpha, stderr)``; raises ValueError when ‖H‖_F or ‖Σ‖_F is (estimated as) zero.
    """
    for name, est in (("trace", trace), ("frob_h_sq", frob_h_sq), ("frob_sigma_sq", frob_sigma_sq)):
        if not isinstance(est, Estimate):
            raise TypeError(f"{name} must be a dropout_theory.stats.Estimate, got {type(est).__name__}")
    if frob_h_sq.value <= 0.0 or frob_sigma_sq.value <= 0.0:
        raise ValueError(
            f"alignment undefined: ‖H‖_F² = {frob_h_sq.value!r}, ‖Σ‖_F² = {frob_sigma_sq.value!r} (need both > 0; "
            "keep_prob = 1 gives Σ = 0)"
        )
    scale = math.sqrt(frob_h_sq.value * frob_sigma_sq.value)
    alpha = trace.value / scale
    rel_norms_sq = (0.5 * frob_h_sq.stderr / frob_h_sq.value) ** 2 + (
        0.5 * frob_sigma_sq.stderr / frob_sigma_sq.value
    ) ** 2
    stderr = math.sqrt((trace.stderr / scale) ** 2 + alpha**2 * rel_norms_sq)
    return alpha, stderr


def _flat_loss(prob: Problem, keep_prob: float, activation: str) -> Callable[[torch.Tensor], torch.Tensor]:
    v = dropout_variance(keep_prob)
    act = get_activation(activation)
    m, K = prob.m, prob.K

    def loss(theta: torch.Tensor) -> torch.Tensor:
        q = theta.reshape(m, -1)
        return kernels.modified_loss(q[:, :K], q[:, K:], prob.X, prob.y, v=v, act=act)

    return loss


def modified_loss_hvp(
    a, W, X, y, *, keep_prob: float, activation: str = "tanh"
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Batched Hessian-vector products of L_S at θ, without forming H (forward-over-reverse, torch.func).

    Args:
        a, W, X, y: the network and data (shapes as in :func:`dropout_theory.two_layer.modified_loss`).
        keep_prob: keep probability p in (0, 1].
        activation: activation name.

    Returns:
        A function mapping V (B, D) to (H v_b)_b (B, D), D = m(K + d), neuron-major.
    """
    prob = as_problem(a, W, X, y)
    theta = flatten_params(prob.a, prob.W).detach()
    g = grad(_flat_loss(prob, keep_prob, activation))

    def one(v: torch.Tensor) -> torch.Tensor:
        return jvp(g, (theta,), (v,))[1]

    batched = vmap(one)

    def matvec(V: torch.Tensor) -> torch.Tensor:
        return batched(V.to(theta.dtype))

    return matvec


def modified_loss_hessian(a, W, X, y, *, keep_prob: float, activation: str = "tanh") -> torch.Tensor:
    """Dense Hessian ∇²L_S (D, D) at θ (torch.func.hessian), neuron-major."""
    prob = as_problem(a, W, X, y)
    theta = flatten_params(prob.a, prob.W).detach()
    return hessian(_flat_loss(prob, keep_prob, activation))(theta)


def _unit_sources(m: int, start: int, stop: int, dtype, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Unit sources number start..stop−1: first the m singles z_j, then the pairs (k < r) in row order."""
    idx = torch.arange(start, stop, device=device)
    c = stop - start
    z = torch.zeros((c, m), dtype=dtype, device=device)
    zeta = torch.zeros((c, m, m), dtype=dtype, device=device)
    single = idx < m
    z[single.nonzero()[:, 0], idx[single]] = 1.0
    iu = torch.triu_indices(m, m, offset=1, device=device)
    pair = (~single).nonzero()[:, 0]
    if pair.numel():
        k, r = iu[0][idx[pair] - m], iu[1][idx[pair] - m]
        zeta[pair, k, r] = 1.0
        zeta[pair, r, k] = 1.0
    return z, zeta


def noise_factor_rows(
    a, W, X, y, *, keep_prob: float, activation: str = "tanh", start: int = 0, stop: int | None = None
) -> torch.Tensor:
    """Rows u_s of U with Σ = UᵀU: the images of the unit noise sources (singles first, then pairs k < r).

    Args:
        a, W, X, y: the network and data.
        keep_prob: keep probability p in (0, 1].
        activation: activation name.
        start, stop: the range of source indices (default all S = m + m(m−1)/2).

    Returns:
        (stop − start, D) tensor.
    """
    prob = as_problem(a, W, X, y)
    m = prob.m
    S = m + m * (m - 1) // 2
    start = check_positive_int(start, "start", minimum=0)
    stop = S if stop is None else check_positive_int(stop, "stop", minimum=0)
    if not 0 <= start <= stop <= S:
        raise ValueError(f"need 0 <= start <= stop <= S = {S}, got start = {start}, stop = {stop}")
    v = dropout_variance(keep_prob)
    h, dh, Ea, Ew = kernels.plain_gradient_parts(prob.a, prob.W, prob.X, prob.y, act=get_activation(activation))
    chunk = max(1, _CHUNK_ELEMENTS // (prob.n * m + m * m))
    out = []
    for s0 in range(start, stop, chunk):
        s1 = min(stop, s0 + chunk)
        z, zeta = _unit_sources(m, s0, s1, prob.W.dtype, prob.W.device)
        Za, Zw = kernels.noise_map(h, dh, prob.a, prob.X, Ea, Ew, z, zeta, v=v)
        out.append(torch.cat([Za, Zw], dim=-1).reshape(s1 - s0, -1))
    if not out:
        return torch.zeros((0, m * (prob.K + prob.d)), dtype=prob.W.dtype, device=prob.W.device)
    return torch.cat(out)


def sigma_matvec(a, W, X, y, *, keep_prob: float, activation: str = "tanh") -> Callable[[torch.Tensor], torch.Tensor]:
    """Batched products Σ v = M(Mᵀv) through the structured noise map M and its adjoint (no D×D matrix).

    Returns:
        A function mapping V (B, D) to (Σ v_b)_b.
    """
    prob = as_problem(a, W, X, y)
    m = prob.m
    v = dropout_variance(keep_prob)
    h, dh, Ea, Ew = kernels.plain_gradient_parts(prob.a, prob.W, prob.X, prob.y, act=get_activation(activation))
    kw = {"dtype": prob.W.dtype, "device": prob.W.device}

    def apply(z: torch.Tensor, zeta: torch.Tensor) -> torch.Tensor:
        Za, Zw = kernels.noise_map(h, dh, prob.a, prob.X, Ea, Ew, z, zeta, v=v)
        return torch.cat([Za, Zw], dim=-1).reshape(z.shape[0], -1)

    def matvec(V: torch.Tensor) -> torch.Tensor:
        B = V.shape[0]
        z0 = torch.zeros((B, m), **kw)
        zeta0 = torch.zeros((B, m, m), **kw)
        _, pullback = vjp(apply, z0, zeta0)
        gz, gzeta = pullback(V.to(**kw))
        # coordinate of the pair source (k, r) is ζ_kr = ζ_rk: its adjoint is the sum of both entries
        pair = gzeta + gzeta.mT
        pair = pair - torch.diag_embed(torch.diagonal(pair, dim1=-2, dim2=-1))
        return apply(gz, pair)

    return matvec


def hessian_variance_alignment(
    a,
    W,
    X,
    y,
    *,
    keep_prob: float,
    activation: str = "tanh",
    method: str = "exact",
    num_probes: int = 64,
    num_sigma_probes: int | None = None,
    generator: GeneratorLike = None,
    batch_size: int = 32,
    sketch_size: int | None = None,
    mask: str = "shared",
) -> AlignmentResult:
    """Alignment α = Tr(HΣ)/(‖H‖_F ‖Σ‖_F) of the Hessian of L_S and the dropout gradient covariance.

    Args:
        a: (m,) or (m, K) output weights.
        W: (m, d) input weights.
        X: (n, d) inputs.
        y: (n,) or (n, K) targets.
        keep_prob: keep probability p in (0, 1) (p = 1 gives Σ = 0 and α undefined: ValueError).
        activation: activation name.
        method: ``"exact"`` (dense H and Σ) or ``"matrix_free"`` (HVPs and the structured Σ).
        num_probes: Rademacher probes for (the deflated part of) ‖H‖_F² (matrix-free), >= 2.
        num_sigma_probes: ``None`` computes Tr(HΣ) and ‖Σ‖_F² exactly over the S = m + m(m−1)/2 noise
            sources (S HVPs); an integer >= 2 estimates both with that many probes instead (for large m).
        generator: torch generator (or int seed) of the probes.
        batch_size: HVPs per vectorized call.
        sketch_size: columns of the sketch whose span enters ‖H‖_F² exactly
            (:func:`dropout_theory.alignment.deflated_frobenius_sq`); 0 = plain Hutchinson; ``None`` = min(32, D).
        mask: convention of Σ, ``"shared"`` or ``"per_example"`` (the sampled path, ``num_sigma_probes``, needs
            ``"shared"``).

    Returns:
        :class:`AlignmentResult` (``float(result)`` is α).
    """
    method = check_choice(method, "method", ("exact", "matrix_free"))
    num_probes = check_positive_int(num_probes, "num_probes", minimum=2)
    batch_size = check_positive_int(batch_size, "batch_size")
    if num_sigma_probes is not None:
        num_sigma_probes = check_positive_int(num_sigma_probes, "num_sigma_probes", minimum=2)
    prob = as_problem(a, W, X, y)
    dropout_variance(keep_prob)  # validates keep_prob
    per_example = check_choice(mask, "mask", MASK_CONVENTIONS) == "per_example"
    if per_example and num_sigma_probes is not None:
        raise ValueError("num_sigma_probes (sampled Σ) needs mask='shared'; use the exact sums for 'per_example'")
    D = prob.m * (prob.K + prob.d)
    generator = torch_generator(generator, device=prob.W.device)
    data = (prob.a, prob.W, prob.X, prob.y)
    opts = {"keep_prob": keep_prob, "activation": activation}
    if method == "exact":
        H = modified_loss_hessian(*data, **opts)
        sigma = dropout_gradient_covariance(*data, **opts, mask=mask)
        trace = Estimate.exact(float((H * sigma).sum()))
        fh = Estimate.exact(float((H * H).sum()))
        fs = Estimate.exact(float((sigma * sigma).sum()))
    else:
        hvp = modified_loss_hvp(*data, **opts)
        kw = {"dtype": prob.W.dtype, "device": prob.W.device}
        k = min(32, D) if sketch_size is None else sketch_size
        fh = deflated_frobenius_sq(
            hvp, D, sketch_size=k, num_probes=num_probes, generator=generator, batch_size=batch_size, **kw
        )
        if num_sigma_probes is None:
            S = prob.m + prob.m * (prob.m - 1) // 2
            # Σ = UᵀU; per example, U stacks the single-example factors U^{(i)}/n
            parts = [(prob.a, prob.W, prob.X[i : i + 1], prob.y[i : i + 1]) for i in range(prob.n)]
            scale = 1.0 / prob.n if per_example else 1.0
            tr, rows = 0.0, []
            for part in parts if per_example else [data]:
                for s0 in range(0, S, batch_size):
                    U = scale * noise_factor_rows(*part, **opts, start=s0, stop=min(S, s0 + batch_size))
                    tr += float((U * hvp(U)).sum())
                    rows.append(U)
            U = torch.cat(rows)
            gram = U @ U.T if U.shape[0] <= D else U.T @ U  # ‖Σ‖_F² = ‖UᵀU‖_F² = ‖UUᵀ‖_F², the smaller one
            trace = Estimate.exact(tr)
            fs = Estimate.exact(float((gram * gram).sum()))
        else:
            samples = sample_dropout_noise(*data, **opts, num_samples=num_sigma_probes, generator=generator)
            trace = sampled_trace_product(hvp, samples, batch_size=batch_size)
            fs = hutchinson_frobenius_sq(
                sigma_matvec(*data, **opts),
                D,
                num_probes=num_sigma_probes,
                generator=generator,
                batch_size=batch_size,
                **kw,
            )
    alpha, se = combine_alignment(trace, fh, fs)
    return AlignmentResult(alpha, se, trace, fh, fs, method, D)
