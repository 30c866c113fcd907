"""Sharpness of a minimum from Hessian-vector products only: top eigenvalues (Lanczos) and the trace.

* :func:`top_hessian_eigenvalues`: the k largest (algebraic) eigenvalues of a symmetric operator given by its
  products, through ARPACK's implicitly restarted Lanczos (``scipy.sparse.linalg.eigsh``) with a starting
  vector drawn from an explicit ``torch.Generator`` (same seed, same numbers);
* :func:`hessian_trace`: an unbiased estimate of Tr H with its standard error: Hutch++ (an exact trace over a
  sketch of H's dominant range, Hutchinson's Rademacher probes for the rest) or plain Hutchinson
  (Tr H = E[zᵀ H z]; for Rademacher probes Var(zᵀHz) = 2 Σ_{i≠j} H_ij², so a diagonal H gives the trace exactly).

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
    check_choice,
    check_finite_result,
    check_positive,
    check_positive_int,
)
from dropout_theory.alignment.estimators import rademacher, rademacher_probe_estimate
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
    method: str = "hutch++",
) -> Estimate:
    """Unbiased estimate of Tr H from ``num_probes`` products with H: Hutch++ (default) or plain Hutchinson.

    * ``"hutchinson"``: the mean of zᵀHz over ``num_probes`` Rademacher probes z; the per-probe variance is
      2 Σ_{i≠j} H_ij², so a diagonal H gives the trace exactly.
    * ``"hutch++"`` (Meyer, Musco, Musco and Woodruff, 2021): k ≈ ``num_probes``/3 products H S with a Rademacher
      sketch S (D, k) give an orthonormal basis Q of their range; Tr(QᵀHQ) is computed exactly (k more products)
      and only the rest, Tr(PHP) with P = I − QQᵀ, by Hutchinson's probes g ↦ (Pg)ᵀH(Pg) (the remaining
      products). Both parts are unbiased given Q, so the sum is; the variance is that of the deflated operator,
      2 Σ_{i≠j} (PHP)_ij² per probe, which is small when a few eigenvalues dominate H (as in trained networks).

    Args:
        matvec: maps V (B, D) to (B, D) rows H v_b (H symmetric).
        dim: dimension D >= 1.
        num_probes: number of products with H, N >= 2 (Hutch++: k = min(N // 3, (N − 2) // 2, D) sketch
            columns, k exact products and N − 2k >= 2 residual probes).
        generator: torch generator (or int seed) of the probes (on ``device``).
        batch_size: probes per call of ``matvec``.
        dtype: dtype of the probes.
        device: device of the probes.
        method: ``"hutch++"`` or ``"hutchinson"``.

    Returns:
        :class:`dropout_theory.stats.Estimate`: the estimate and its standard error (from the sample standard
        deviation of the residual probes; ``num_samples`` counts the products with H).
    """
    method = check_choice(method, "method", ("hutch++", "hutchinson"))
    check_callable(matvec, "matvec", "matvec(V) with V of shape (B, dim)")
    dim = check_positive_int(dim, "dim")
    num_probes = check_positive_int(num_probes, "num_probes", minimum=2)
    batch_size = check_positive_int(batch_size, "batch_size")
    k = 0 if method == "hutchinson" else min(num_probes // 3, (num_probes - 2) // 2, dim)
    if k == 0:
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
    gen = torch_generator(generator, device=device)

    def products(V: torch.Tensor) -> torch.Tensor:
        out = torch.cat([matvec(V[i : i + batch_size]) for i in range(0, V.shape[0], batch_size)])
        if out.shape != V.shape:
            raise ValueError(f"matvec must map (B, {dim}) to (B, {dim}), got shape {tuple(out.shape)}")
        return out

    Q, _ = torch.linalg.qr(products(rademacher(k, dim, generator=gen, dtype=dtype, device=device)).mT)  # (D, k)
    exact = float((Q.mT * products(Q.mT.contiguous())).sum())

    def deflate(V: torch.Tensor) -> torch.Tensor:
        return V - (V @ Q) @ Q.mT

    rest = rademacher_probe_estimate(
        lambda Z: matvec(deflate(Z)),
        lambda z, hz: (deflate(z) * hz).sum(-1),
        dim,
        num_probes=num_probes - 2 * k,
        generator=gen,
        batch_size=batch_size,
        dtype=dtype,
        device=device,
    )
    return Estimate(exact + rest.value, rest.stderr, num_probes)
