"""Random-matrix baseline of the alignment (SME paper §5.2): same spectra, random eigenvectors.

Replacing the eigenvectors of Σ by a Haar-random orthogonal basis keeps ‖H‖_F and ‖Σ‖_F and gives
E Tr(H Q Λ_Σ Qᵀ) = Tr(H) Tr(Σ)/D (because E[Q Λ Qᵀ] = (Tr Λ/D) I), hence

    E α_random = Tr(H) Tr(Σ) / (D ‖H‖_F ‖Σ‖_F),

which is O(1/√D) for spectra of comparable spread and much smaller when H is indefinite.
"""

from __future__ import annotations

import math

import torch

from dropout_theory._checks import as_tensor, check_positive_int
from dropout_theory.rng import GeneratorLike, torch_generator


def random_eigenvector_alignment(
    h_eigenvalues, sigma_eigenvalues, *, num_samples: int = 10, generator: GeneratorLike = None
) -> torch.Tensor:
    """α between diag(λ_H) and Q diag(λ_Σ) Qᵀ for Haar-random orthogonal Q (dense, D <= a few thousand).

    Args:
        h_eigenvalues: (D,) spectrum of H.
        sigma_eigenvalues: (D,) spectrum of Σ.
        num_samples: number of random bases.
        generator: torch generator or int seed.

    Returns:
        (num_samples,) alignments.
    """
    lh = as_tensor(h_eigenvalues, "h_eigenvalues", ndim=1)
    ls = as_tensor(sigma_eigenvalues, "sigma_eigenvalues", ndim=1, dtype=lh.dtype)
    if lh.shape != ls.shape:
        raise ValueError(f"spectra must have the same length, got {lh.numel()} and {ls.numel()}")
    num_samples = check_positive_int(num_samples, "num_samples")
    generator = torch_generator(generator)
    norm = float(lh.norm() * ls.norm())
    if norm == 0.0:
        raise ValueError("alignment undefined: a spectrum is identically zero")
    out = []
    for _ in range(num_samples):
        A = torch.randn(lh.numel(), lh.numel(), generator=generator, dtype=lh.dtype)
        Q, R = torch.linalg.qr(A)
        Q = Q * torch.sign(torch.diagonal(R))  # Haar
        out.append(float(((Q * Q) @ ls) @ lh) / norm)  # Tr(diag(lh) Q diag(ls) Qᵀ)
    return torch.tensor(out, dtype=lh.dtype)


def expected_random_alignment(h_eigenvalues, sigma_eigenvalues) -> float:
    """E α over Haar-random eigenvectors: Tr(H) Tr(Σ) / (D ‖H‖_F ‖Σ‖_F)."""
    lh = as_tensor(h_eigenvalues, "h_eigenvalues", ndim=1)
    ls = as_tensor(sigma_eigenvalues, "sigma_eigenvalues", ndim=1, dtype=lh.dtype)
    if lh.shape != ls.shape:
        raise ValueError(f"spectra must have the same length, got {lh.numel()} and {ls.numel()}")
    return float(lh.sum() * ls.sum()) / (lh.numel() * math.sqrt(float((lh * lh).sum() * (ls * ls).sum())))
