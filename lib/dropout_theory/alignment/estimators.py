"""Randomized trace and Frobenius-norm estimators built on matrix-vector products only.

* ‖H‖_F² = E‖H z‖² for a Rademacher probe z (Hutchinson applied to HᵀH = H²);
* Tr(H Σ) = E[gᵀ H g] for any random g with E[g gᵀ] = Σ (for instance g ~ N(0, Σ), or a centred dropout
  gradient).

Each estimator returns a :class:`dropout_theory.stats.Estimate`: the sample mean of the per-probe values and its
standard error (sample standard deviation / √N), so the Monte Carlo error is reported, not hidden.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from dropout_theory._checks import (
    as_tensor,
    check_allocation,
    check_callable,
    check_finite_result,
    check_iterations,
    check_positive_int,
)
from dropout_theory.rng import GeneratorLike, torch_generator
from dropout_theory.stats import Estimate


def rademacher(
    num: int, dim: int, *, generator: GeneratorLike = None, dtype: torch.dtype = torch.float64, device=None
) -> torch.Tensor:
    """(num, dim) independent ±1 entries."""
    num = check_positive_int(num, "num")
    dim = check_positive_int(dim, "dim")
    check_allocation(num * dim, "the (num, dim) probes", names=f"num = {num}, dim = {dim}")
    generator = torch_generator(generator, device=device)
    bits = torch.randint(0, 2, (num, dim), generator=generator, device=device)
    return (2 * bits - 1).to(dtype)


def hutchinson_frobenius_sq(
    matvec: Callable[[torch.Tensor], torch.Tensor],
    dim: int,
    *,
    num_probes: int,
    generator: GeneratorLike = None,
    batch_size: int = 64,
    dtype: torch.dtype = torch.float64,
    device=None,
) -> Estimate:
    """Unbiased estimate of ‖H‖_F² = E‖H z‖², z Rademacher, from products with H only.

    Args:
        matvec: maps a batch of vectors (B, dim) to (B, dim) products (H v_b)_b.
        dim: dimension D of H.
        num_probes: number of probes N >= 2.
        generator: torch generator (or int seed) of the probes.
        batch_size: probes per call of ``matvec``.
        dtype: dtype of the probes.
        device: device of the probes.

    Returns:
        :class:`Estimate` with the mean of ‖H z‖² and its standard error.
    """
    return rademacher_probe_estimate(
        matvec,
        lambda z, hz: (hz**2).sum(-1),
        dim,
        num_probes=num_probes,
        generator=generator,
        batch_size=batch_size,
        dtype=dtype,
        device=device,
    )


def rademacher_probe_estimate(
    matvec: Callable[[torch.Tensor], torch.Tensor],
    statistic: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    dim: int,
    *,
    num_probes: int,
    generator: GeneratorLike = None,
    batch_size: int = 64,
    dtype: torch.dtype = torch.float64,
    device=None,
) -> Estimate:
    """Mean and standard error of ``statistic(z, H z)`` over Rademacher probes z (the loop behind the Hutchinson
    estimators: ``(hz**2).sum(-1)`` gives ‖H‖_F², ``(z * hz).sum(-1)`` gives Tr H).

    Args:
        matvec: maps (B, dim) probes to (B, dim) products.
        statistic: maps probes and products (B, dim) to (B,) per-probe values.
        dim: dimension D.
        num_probes: number of probes N >= 2.
        generator: torch generator (or int seed) of the probes.
        batch_size: probes per call of ``matvec``.
        dtype: dtype of the probes.
        device: device of the probes.

    Returns:
        :class:`Estimate`.
    """
    check_callable(matvec, "matvec", "matvec(V) with V of shape (B, dim)")
    check_callable(statistic, "statistic", "statistic(z, hz) -> (B,)")
    dim = check_positive_int(dim, "dim")
    num_probes = check_iterations(num_probes, "num_probes", minimum=2)
    batch_size = check_positive_int(batch_size, "batch_size")
    check_allocation(2 * min(batch_size, num_probes) * dim, "a batch of probes and products", names=f"dim = {dim}")
    generator = torch_generator(generator, device=device)
    vals = []
    for start in range(0, num_probes, batch_size):
        z = rademacher(min(batch_size, num_probes - start), dim, generator=generator, dtype=dtype, device=device)
        hz = matvec(z)
        if hz.shape != z.shape:
            raise ValueError(f"matvec must map (B, {dim}) to (B, {dim}), got shape {tuple(hz.shape)}")
        vals.append(statistic(z, hz).to(torch.float64))
    vals = torch.cat(vals)
    check_finite_result(vals, "matvec or statistic", "a per-probe value")
    return Estimate.from_samples(vals)


def sampled_trace_product(
    matvec: Callable[[torch.Tensor], torch.Tensor], samples: torch.Tensor, *, batch_size: int = 64
) -> Estimate:
    """Unbiased estimate of Tr(H Σ) = E[gᵀ H g] from samples g with E[g gᵀ] = Σ.

    Args:
        matvec: maps (B, D) to the products (H g_b)_b.
        samples: (N, D) independent draws g with second moment Σ (already centred), N >= 2.
        batch_size: samples per call of ``matvec``.

    Returns:
        :class:`Estimate` of Tr(H Σ).
    """
    check_callable(matvec, "matvec", "matvec(V) with V of shape (B, D)")
    samples = as_tensor(samples, "samples")
    if samples.dim() != 2 or samples.shape[0] < 2:
        raise ValueError(f"samples must be (N, D) with N >= 2, got shape {tuple(samples.shape)}")
    batch_size = check_positive_int(batch_size, "batch_size")
    vals = [
        (samples[s : s + batch_size] * matvec(samples[s : s + batch_size])).sum(-1)
        for s in range(0, samples.shape[0], batch_size)
    ]
    vals = torch.cat(vals)
    check_finite_result(vals, "matvec", "a product")
    return Estimate.from_samples(vals)


def deflated_frobenius_sq(
    matvec: Callable[[torch.Tensor], torch.Tensor],
    dim: int,
    *,
    sketch_size: int,
    num_probes: int,
    generator: GeneratorLike = None,
    matvec_b: Callable[[torch.Tensor], torch.Tensor] | None = None,
    power_iterations: int = 1,
    batch_size: int = 64,
    dtype: torch.dtype = torch.float64,
    device=None,
) -> Estimate:
    """‖H‖_F² for symmetric H from products only, with the top of the spectrum computed exactly (Hutch++ idea).

    A Gaussian sketch Y = H^{1+q} Ω (Ω of ``sketch_size`` columns, q = ``power_iterations``) gives an orthonormal
    basis Q of the dominant eigenspace; with P = QQᵀ, ‖H‖_F² = ‖HQ‖_F² + ‖H(I − P)‖_F² exactly, the first term is
    computed from k products and only the second, small when the spectrum decays, is estimated by Hutchinson
    with Rademacher probes projected off Q (Meyer, Musco, Musco and Woodruff's Hutch++ applied to Tr H²).
    Unbiased for every sketch; its variance is that of Hutchinson on the deflated matrix.

    With ``matvec_b`` (a second symmetric matrix B) the same construction estimates the Frobenius inner product
    Tr(H B) = Σ_j (HQ)_j·(BQ)_j + E[(H z')·(B z')], z' = (I − P)z, with the sketch taken of (H + B)/2. For two
    independent unbiased Monte Carlo estimates H, B of one matrix A this is an unbiased estimate of ‖A‖_F², while
    ‖(H + B)/2‖_F² is biased upwards by the Monte Carlo variance.

    Args:
        matvec: maps (B, dim) to (B, dim) products with a symmetric H.
        dim: dimension D.
        sketch_size: sketch width k >= 0 (at most ``dim``); 0 is plain Hutchinson.
        num_probes: Hutchinson probes N >= 2 on the deflated part.
        generator: torch generator (or int seed) of the sketch and the probes.
        matvec_b: products with a second symmetric matrix B (``None``: B = H).
        power_iterations: extra products q >= 0 per sketch column sharpening the subspace.
        batch_size: vectors per call of ``matvec``.
        dtype: dtype of the vectors.
        device: device of the vectors.

    Returns:
        :class:`Estimate` of ‖H‖_F² (or Tr(HB)); ``num_probes`` counts only the Hutchinson probes (the exact part
        uses k(q + 2) further products with each matrix).
    """
    check_callable(matvec, "matvec", "matvec(V) with V of shape (B, dim)")
    if matvec_b is not None:
        check_callable(matvec_b, "matvec_b", "matvec_b(V) with V of shape (B, dim)")
    dim = check_positive_int(dim, "dim")
    sketch_size = check_positive_int(sketch_size, "sketch_size", minimum=0)
    if sketch_size > dim:
        raise ValueError(f"sketch_size must be <= dim = {dim}, got {sketch_size}")
    num_probes = check_positive_int(num_probes, "num_probes", minimum=2)
    check_allocation(3 * num_probes * dim, "the (num_probes, dim) probes and products", names=f"num_probes = "
                     f"{num_probes}, dim = {dim}")  # fmt: skip
    power_iterations = check_iterations(power_iterations, "power_iterations", minimum=0)
    batch_size = check_positive_int(batch_size, "batch_size")
    generator = torch_generator(generator, device=device)

    def apply(fn: Callable[[torch.Tensor], torch.Tensor], V: torch.Tensor) -> torch.Tensor:
        return torch.cat([fn(V[s : s + batch_size]) for s in range(0, V.shape[0], batch_size)])

    def both(V: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        HV = apply(matvec, V)
        return HV, (HV if matvec_b is None else apply(matvec_b, V))

    def mean(V: torch.Tensor) -> torch.Tensor:
        HV, BV = both(V)
        return HV if matvec_b is None else 0.5 * (HV + BV)

    if sketch_size:
        Y = mean(torch.randn(sketch_size, dim, generator=generator, dtype=dtype, device=device))
        for _ in range(int(power_iterations)):
            Y = mean(Y / Y.norm(dim=1, keepdim=True).clamp_min(torch.finfo(dtype).tiny))
        Q, _ = torch.linalg.qr(Y.T)  # (dim, k)
        HQ, BQ = both(Q.T)
        exact = float((HQ * BQ).sum())
    else:
        Q, exact = torch.zeros(dim, 0, dtype=dtype, device=device), 0.0
    z = rademacher(num_probes, dim, generator=generator, dtype=dtype, device=device)
    z = z - (z @ Q) @ Q.T
    Hz, Bz = both(z)
    residual = Estimate.from_samples((Hz * Bz).sum(-1))
    check_finite_result([exact, residual.value], "matvec", "a product")
    return Estimate(exact + residual.value, residual.stderr, num_probes)
