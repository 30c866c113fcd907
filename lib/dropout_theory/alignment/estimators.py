"""Randomized trace and Frobenius-norm estimators built on matrix-vector products only.

* ‖H‖_F² = E‖H z‖² for a Rademacher probe z (Hutchinson applied to HᵀH = H²);
* Tr(H Σ) = E[gᵀ H g] for any random g with E[g gᵀ] = Σ (for instance g ~ N(0, Σ), or a centred dropout
  gradient).

Each estimator returns an :class:`Estimate`: the sample mean of the per-probe values and its standard
error (sample standard deviation / √N), so the Monte Carlo error is reported, not hidden.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from dropout_theory._checks import check_positive_int


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo estimate.

    Attributes:
        value: sample mean of the per-probe values.
        stderr: standard error of ``value`` (0 for an exact computation).
        num_probes: number of probes used (0 for an exact computation).
    """

    value: float
    stderr: float
    num_probes: int

    def __float__(self) -> float:
        return self.value


def _estimate(samples: torch.Tensor) -> Estimate:
    n = samples.shape[0]
    mean = float(samples.mean())
    se = float(samples.std(correction=1)) / math.sqrt(n) if n > 1 else math.inf
    return Estimate(mean, se, n)


def rademacher(
    num: int, dim: int, generator: torch.Generator | None, *, dtype: torch.dtype = torch.float64, device=None
) -> torch.Tensor:
    """(num, dim) independent ±1 entries."""
    bits = torch.randint(0, 2, (num, dim), generator=generator, device=device)
    return (2 * bits - 1).to(dtype)


def hutchinson_frobenius_sq(
    matvec: Callable[[torch.Tensor], torch.Tensor],
    dim: int,
    num_probes: int,
    generator: torch.Generator | None = None,
    *,
    batch_size: int = 64,
    dtype: torch.dtype = torch.float64,
    device=None,
) -> Estimate:
    """Unbiased estimate of ‖H‖_F² = E‖H z‖², z Rademacher, from products with H only.

    Args:
        matvec: maps a batch of vectors (B, dim) to (B, dim) products (H v_b)_b.
        dim: dimension D of H.
        num_probes: number of probes N >= 2.
        generator: torch generator of the probes.
        batch_size: probes per call of ``matvec``.
        dtype: dtype of the probes.
        device: device of the probes.

    Returns:
        :class:`Estimate` with the mean of ‖H z‖² and its standard error.
    """
    dim = check_positive_int(dim, "dim")
    num_probes = check_positive_int(num_probes, "num_probes", minimum=2)
    batch_size = check_positive_int(batch_size, "batch_size")
    vals = []
    for start in range(0, num_probes, batch_size):
        z = rademacher(min(batch_size, num_probes - start), dim, generator, dtype=dtype, device=device)
        vals.append((matvec(z) ** 2).sum(-1))
    return _estimate(torch.cat(vals))


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
    if samples.dim() != 2 or samples.shape[0] < 2:
        raise ValueError(f"samples must be (N, D) with N >= 2, got shape {tuple(samples.shape)}")
    batch_size = check_positive_int(batch_size, "batch_size")
    vals = [
        (samples[s : s + batch_size] * matvec(samples[s : s + batch_size])).sum(-1)
        for s in range(0, samples.shape[0], batch_size)
    ]
    return _estimate(torch.cat(vals))
