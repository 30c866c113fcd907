"""Sharpness of a minimum from Hessian-vector products only: top eigenvalues (Lanczos) and the trace.

* :func:`top_hessian_eigenvalues`: the k largest (algebraic) eigenvalues of a symmetric operator given by its
  products, through ARPACK's implicitly restarted Lanczos (``scipy.sparse.linalg.eigsh``) with a starting
  vector drawn from an explicit ``torch.Generator`` (same seed, same numbers);
* :func:`hessian_trace`: Hutchinson's estimate Tr H = E[zᵀ H z] with Rademacher probes z, with its standard
  error. For Rademacher probes Var(zᵀHz) = 2 Σ_{i≠j} H_ij², so a diagonal H gives the trace exactly.

Both take the batched ``matvec`` of :func:`dropout_theory.alignment.flat_hvp` (V (B, D) ↦ (H v_b)_b), so a
(D, D) matrix is never formed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

from dropout_theory._checks import (
    ConvergenceError,
    check_allocation,
    check_callable,
    check_finite_result,
    check_positive,
    check_positive_int,
)
from dropout_theory.alignment.estimators import rademacher_probe_estimate
from dropout_theory.rng import GeneratorLike, torch_generator
from dropout_theory.stats import Estimate


def top_hessian_eigenvalues(
    matvec: Callable[[torch.Tensor], torch.Tensor],
    dim: int,
    *,
    k: int = 1,
    tol: float = 1e-6,
    generator: GeneratorLike = None,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
    maxiter: int | None = None,
) -> torch.Tensor:
    """The ``k`` largest algebraic eigenvalues of a symmetric (D, D) operator known through its products.

    Lanczos iterations (ARPACK via ``scipy.sparse.linalg.eigsh``, ``which="LA"``) on a ``LinearOperator``
    wrapping ``matvec``; the starting vector is standard normal from ``generator``.

    Args:
        matvec: maps V (B, D) to (B, D) rows H v_b; H must be symmetric.
        dim: dimension D >= 2.
        k: number of eigenvalues, 1 <= k < D.
        tol: relative accuracy asked of ARPACK (> 0).
        generator: torch generator (on ``device``) or int seed of the starting vector.
        dtype: dtype of the vectors passed to ``matvec`` (float64 recommended).
        device: device of the vectors passed to ``matvec``.
        maxiter: maximal number of Arnoldi restarts (``None``: ARPACK's default 10·D).

    Returns:
        (k,) float64 tensor of eigenvalues, largest first.

    Raises:
        ValueError: bad ``dim``, ``k``, ``tol`` or ``maxiter``.
        RuntimeError: ARPACK did not converge (the message says how many eigenvalues did).
    """
    check_callable(matvec, "matvec", "matvec(V) with V of shape (B, dim)")
    dim = check_positive_int(dim, "dim", minimum=2)
    check_allocation(4 * dim * 20, "the Lanczos basis", names=f"dim = {dim}")
    k = check_positive_int(k, "k")
    if k >= dim:
        raise ValueError(f"k must lie in [1, dim - 1] = [1, {dim - 1}] for Lanczos, got {k}")
    tol = check_positive(tol, "tol")
    if maxiter is not None:
        maxiter = check_positive_int(maxiter, "maxiter")

    def apply(x: np.ndarray) -> np.ndarray:
        X = torch.as_tensor(np.asarray(x).reshape(dim, -1).T.copy(), dtype=dtype, device=device)
        out = matvec(X)
        if out.shape != X.shape:
            raise ValueError(f"matvec must map (B, {dim}) to (B, {dim}), got shape {tuple(out.shape)}")
        check_finite_result(out, "matvec", "a product")
        return out.detach().to("cpu", torch.float64).numpy().T

    op = LinearOperator(
        (dim, dim),
        matvec=lambda x: apply(x).reshape(-1),
        matmat=apply,
        rmatvec=lambda x: apply(x).reshape(-1),
        dtype=np.float64,
    )
    v0 = (
        torch.randn(dim, generator=torch_generator(generator, device=device), dtype=torch.float64, device=device)
        .cpu()
        .numpy()
    )
    try:
        vals = eigsh(op, k=k, which="LA", v0=v0, tol=tol, maxiter=maxiter, return_eigenvectors=False)
    except ArpackNoConvergence as err:
        raise ConvergenceError(
            "Lanczos (ARPACK eigsh)",
            maxiter if maxiter is not None else 10 * dim,
            {"converged eigenvalues": len(err.eigenvalues), "k": k, "tol": tol},
            "; raise maxiter or tol",
        ) from err
    return torch.as_tensor(np.sort(vals)[::-1].copy(), dtype=torch.float64)


def hessian_trace(
    matvec: Callable[[torch.Tensor], torch.Tensor],
    dim: int,
    *,
    num_probes: int,
    generator: GeneratorLike = None,
    batch_size: int = 64,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> Estimate:
    """Hutchinson's unbiased estimate of Tr H = E[zᵀ H z], z with independent ±1 entries.

    Args:
        matvec: maps V (B, D) to (B, D) rows H v_b.
        dim: dimension D >= 1.
        num_probes: number of probes N >= 2.
        generator: torch generator (or int seed) of the probes.
        batch_size: probes per call of ``matvec``.
        dtype: dtype of the probes.
        device: device of the probes.

    Returns:
        :class:`dropout_theory.stats.Estimate`: mean of zᵀHz over the probes and its standard error
        (sample standard deviation / √N; the exact per-probe variance is 2 Σ_{i≠j} H_ij²).
    """
    return rademacher_probe_estimate(
        matvec,
        lambda z, hz: (z * hz).sum(-1),
        dim,
        num_probes=num_probes,
        generator=generator,
        batch_size=batch_size,
        dtype=dtype,
        device=device,
    )
