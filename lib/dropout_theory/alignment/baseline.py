"""Random-matrix baseline of the alignment (SME paper §5.2): same spectra, random eigenvectors.

:func:`subset_baseline` measures the dense α of a module over a parameter subset next to this baseline.

Replacing the eigenvectors of Σ by a Haar-random orthogonal basis keeps ‖H‖_F and ‖Σ‖_F and gives
E Tr(H Q Λ_Σ Qᵀ) = Tr(H) Tr(Σ)/D (because E[Q Λ Qᵀ] = (Tr Λ/D) I), hence

    E α_random = Tr(H) Tr(Σ) / (D ‖H‖_F ‖Σ‖_F) = √(r_H r_Σ) / D   (H, Σ positive semi-definite),

with r_A = (Tr A)²/‖A‖_F² the participation ratio ("effective rank", :func:`effective_rank`) of A. The baseline
therefore falls like 1/D when both effective ranks stay fixed as D grows (a few dominant eigenvalues, as for
trained Hessians and for dropout's Σ of rank at most m(m+1)/2), like 1/√D when one of them grows in proportion to
D, and stays of order one only when both do; an indefinite H lowers Tr H and the baseline further.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from dropout_theory._checks import as_tensor, check_allocation, check_iterations
from dropout_theory.rng import GeneratorLike, torch_generator
from dropout_theory.tables import Table, TabularResult


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
    _check_spectra(lh, ls)
    num_samples = check_iterations(num_samples, "num_samples")
    check_allocation(3 * lh.numel() ** 2, "a (D, D) random basis", names=f"D = {lh.numel()}")
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


def _check_spectra(lh: torch.Tensor, ls: torch.Tensor) -> None:
    if lh.shape != ls.shape or lh.numel() == 0:
        raise ValueError(
            f"h_eigenvalues and sigma_eigenvalues must be non-empty and of the same length, got {lh.numel()} and "
            f"{ls.numel()}"
        )
    if float((lh * lh).sum()) == 0.0 or float((ls * ls).sum()) == 0.0:
        raise ValueError("alignment undefined: h_eigenvalues or sigma_eigenvalues is identically zero")


def expected_random_alignment(h_eigenvalues, sigma_eigenvalues) -> float:
    """E α over Haar-random eigenvectors: Tr(H) Tr(Σ) / (D ‖H‖_F ‖Σ‖_F)."""
    lh = as_tensor(h_eigenvalues, "h_eigenvalues", ndim=1)
    ls = as_tensor(sigma_eigenvalues, "sigma_eigenvalues", ndim=1, dtype=lh.dtype)
    _check_spectra(lh, ls)
    return float(lh.sum() * ls.sum()) / (lh.numel() * math.sqrt(float((lh * lh).sum() * (ls * ls).sum())))


def effective_rank(eigenvalues) -> float:
    """Participation ratio (Σ λ)² / Σ λ² of a spectrum: the number of equal eigenvalues with the same ratio of
    trace to Frobenius norm (D for a multiple of the identity, 1 for rank one).

    Args:
        eigenvalues: (D,) eigenvalues (of a positive semi-definite matrix, for the interpretation).

    Returns:
        The ratio (NaN for an all-zero spectrum).
    """
    lam = as_tensor(eigenvalues, "eigenvalues", ndim=1)
    sq = float((lam * lam).sum())
    if not sq > 0:
        raise ValueError(f"eigenvalues must not all be zero (the ratio is undefined), got {lam.numel()} zeros")
    return float(lam.sum()) ** 2 / sq


@dataclass(frozen=True)
class SubsetBaseline(TabularResult):
    """Dense α over a parameter subset and the random-eigenvector baseline with the same spectra.

    Attributes:
        num_params: S, the size of the subset.
        alpha_exact: α with the dense H of the subset (unbiased pieces, as ``method="exact"``).
        alpha_exact_stderr: its standard error.
        baseline_expected: E α over Haar-random eigenvectors with the spectra of H and Σ̂ (plug-in, as the paper).
        baseline_unbiased: the same with the unbiased ‖Σ‖_F² (NaN if a norm is estimated ≤ 0).
        baseline_samples: α of random-eigenvector draws.
        trace_h, frob_h, trace_sigma, frob_sigma: Tr H, ‖H‖_F, Tr Σ̂ and the unbiased ‖Σ‖_F.
        top_h_eigenvalue, top_sigma_eigenvalue: the largest eigenvalues of H and Σ̂.
    """

    num_params: int
    alpha_exact: float
    alpha_exact_stderr: float
    baseline_expected: float
    baseline_unbiased: float
    baseline_samples: list[float]
    trace_h: float
    frob_h: float
    trace_sigma: float
    frob_sigma: float
    top_h_eigenvalue: float
    top_sigma_eigenvalue: float

    def table(self) -> Table:
        rows = [
            ("alpha (dense H)", self.alpha_exact, self.alpha_exact_stderr),
            ("E alpha, random eigenvectors", self.baseline_expected, None),
            ("  with the unbiased |Sigma|_F", self.baseline_unbiased, None),
            ("  sampled (mean)", sum(self.baseline_samples) / len(self.baseline_samples), None),
        ]
        headers = (f"over {self.num_params} parameters", "value", "s.e.")
        return Table.build(headers, rows, formats=("", ".4g", ".2g"))


def subset_baseline(
    model: nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    X: torch.Tensor,
    y: torch.Tensor,
    subset: torch.Tensor,
    *,
    num_masks: int = 2048,
    num_hessian_masks: int = 8,
    num_samples: int = 10,
    generator: GeneratorLike = None,
    mask: str = "shared",
) -> SubsetBaseline:
    """Dense α over a parameter subset and the random-eigenvector baseline with the same spectra.

    Draws ``num_masks`` dropout gradients first, then ``num_hessian_masks`` mask sets split into two halves A, B
    (H_A, H_B: Hessians of the loss averaged over each half's masks; H = (H_A + H_B)/2 and the unbiased
    ‖H‖_F² = ⟨H_A, H_B⟩_F), in the order of :func:`dropout_theory.alignment.module_hessian_variance_alignment`,
    so that with the same generator state ``alpha_exact`` equals its ``method="exact"`` value on ``subset``.
    The baselines use the spectra of (H_A + H_B)/2 and Σ̂ = (1/K) Σ_k d_k d_kᵀ (plug-in, as the paper);
    ``baseline_unbiased`` replaces their Frobenius norms by the unbiased estimates.

    Args:
        model: module with ``nn.Dropout`` layers, at the parameters to measure (not modified).
        loss_fn: ``loss_fn(model(X), y)`` → scalar.
        X: (n, …) inputs; y: targets.
        subset: (S,) indices into the flat trainable parameters (e.g. from
            :func:`dropout_theory.alignment.parameter_indices`).
        num_masks: dropout gradient draws (even, >= 4); K = num_masks/2 paired differences d_k.
        num_hessian_masks: masks in the estimate of H (even, >= 2).
        num_samples: Haar-random eigenvector bases for the sampled baseline.
        generator: torch generator (or int seed) of masks and random bases.
        mask: dropout mask convention of Σ and H, ``"shared"`` or ``"per_example"``.

    Returns:
        :class:`SubsetBaseline`.
    """
    from dropout_theory.alignment.module_alignment import module_alignment_matrices

    num_samples = check_iterations(num_samples, "num_samples")
    generator = torch_generator(generator)
    mats = module_alignment_matrices(
        model,
        loss_fn,
        X,
        y,
        num_masks=num_masks,
        num_hessian_masks=num_hessian_masks,
        subset=subset,
        generator=generator,
        mask=mask,
    )
    res = mats.alignment()
    fh, fs = res.frob_h_sq, res.frob_sigma_sq
    Dd, H = mats.differences.double(), mats.hessian.double()
    K, S = Dd.shape
    lam_h = torch.linalg.eigvalsh(H)
    small = Dd @ Dd.T / K if K < S else Dd.T @ Dd / K  # same nonzero spectrum as Σ̂ = DdᵀDd/K
    lam_s = torch.linalg.eigvalsh(small).clamp_min(0.0)
    lam_s = torch.cat([lam_s, lam_s.new_zeros(S - lam_s.numel())])
    tr_s = float(lam_s.sum())
    ok = fs.value > 0 and fh.value > 0
    unbiased = float(lam_h.sum()) * tr_s / (S * math.sqrt(fh.value * fs.value)) if ok else math.nan
    samples = random_eigenvector_alignment(lam_h, lam_s, num_samples=num_samples, generator=generator)
    return SubsetBaseline(
        num_params=S,
        alpha_exact=res.alpha,
        alpha_exact_stderr=res.stderr,
        baseline_expected=expected_random_alignment(lam_h, lam_s),
        baseline_unbiased=unbiased,
        baseline_samples=samples.tolist(),
        trace_h=float(lam_h.sum()),
        frob_h=math.sqrt(max(fh.value, 0.0)),
        trace_sigma=tr_s,
        frob_sigma=math.sqrt(max(fs.value, 0.0)),
        top_h_eigenvalue=float(lam_h[-1]),
        top_sigma_eigenvalue=float(lam_s.max()),
    )
