"""Hessian–variance alignment and flatness (part I of the book, SME paper §5.2–5.3).

Public API:

* estimators from products (each returns a :class:`dropout_theory.stats.Estimate`):
  :func:`hutchinson_frobenius_sq` (‖H‖_F²), :func:`deflated_frobenius_sq` (the same with the dominant eigenspace
  treated exactly), :func:`rademacher_probe_estimate` (the probe loop they share), :func:`rademacher`,
  :func:`sampled_trace_product` (Tr(HΣ) from samples with second moment Σ);
* the two-layer alignment: :func:`hessian_variance_alignment` (exact or matrix-free),
  :class:`AlignmentResult`, :func:`modified_loss_hessian`, :func:`modified_loss_hvp`,
  :func:`noise_factor_rows` (Σ = UᵀU), :func:`sigma_matvec`, :func:`combine_alignment`;
* Hessian-vector products of a flat-parameter loss: :func:`flat_hvp`;
* any ``nn.Module`` with dropout layers (built with :mod:`dropout_theory.networks`):
  :func:`module_hessian_variance_alignment` (dense or matrix-free, all parameters or a subset from
  :func:`parameter_indices`), and its dense pieces :func:`module_alignment_matrices` (:class:`AlignmentMatrices`)
  for spectra and baselines; :func:`alignment_along_training` (:class:`AlignmentCurve`);
* eq. 17's approximations near a minimum: :func:`approximate_hessian_and_covariance`, and :func:`compare_eq17`
  (:class:`Eq17Comparison`) against the exact H and the shared-mask and per-example Σ; :func:`frobenius_cosine`;
* the random-matrix baseline: :func:`random_eigenvector_alignment`, :func:`expected_random_alignment`,
  :func:`effective_rank` (the baseline is √(r_H r_Σ)/D), and the
  dense α of a parameter subset next to it, :func:`subset_baseline` (:class:`SubsetBaseline`);
* flatness: :func:`dropout_parameter_window`, :func:`trajectory_pca` (optionally detrended),
  :func:`loss_flatness`, :func:`variance_flatness`; the eigenvector part of App. B: :func:`eigenvector_overlap`
  (:class:`EigenvectorOverlap`);
* sharpness from HVPs: :func:`top_hessian_eigenvalues` (Lanczos), :func:`hessian_trace` (Hutch++ or Hutchinson);
* minima reached by dropout vs SGD vs parametric noise (SME paper App. D): :func:`matched_noise_levels`
  (:class:`NoiseLevels`), :func:`minima_flatness` (:class:`FlatnessComparison` of :class:`MinimumFlatness` rows);
* stored runs of the ``dropout-experiments`` sweeps, read back by the chapters: :func:`stored_alignment_summary`
  (α along training), :func:`variance_flatness_summary` (with :func:`format_variance_flatness_summary`) and
  :func:`minima_flatness_summary`.
"""

from dropout_theory.alignment.approximations import (
    Eq17Comparison,
    approximate_hessian_and_covariance,
    compare_eq17,
    frobenius_cosine,
)
from dropout_theory.alignment.baseline import (
    SubsetBaseline,
    effective_rank,
    expected_random_alignment,
    random_eigenvector_alignment,
    subset_baseline,
)
from dropout_theory.alignment.estimators import (
    deflated_frobenius_sq,
    hutchinson_frobenius_sq,
    rademacher,
    rademacher_probe_estimate,
    sampled_trace_product,
)
from dropout_theory.alignment.flatness import (
    EigenvectorOverlap,
    TrajectoryPCA,
    VarianceFlatness,
    dropout_parameter_window,
    eigenvector_overlap,
    loss_flatness,
    trajectory_pca,
    variance_flatness,
)
from dropout_theory.alignment.hessian_spectrum import hessian_trace, top_hessian_eigenvalues
from dropout_theory.alignment.hessian_variance import (
    AlignmentResult,
    combine_alignment,
    hessian_variance_alignment,
    modified_loss_hessian,
    modified_loss_hvp,
    noise_factor_rows,
    sigma_matvec,
)
from dropout_theory.alignment.hvp import flat_hvp
from dropout_theory.alignment.minima_flatness import (
    FlatnessComparison,
    MinimumFlatness,
    NoiseLevels,
    matched_noise_levels,
    minima_flatness,
)
from dropout_theory.alignment.module_alignment import (
    AlignmentMatrices,
    module_alignment_matrices,
    module_hessian_variance_alignment,
    parameter_indices,
)
from dropout_theory.alignment.stored_runs import (
    format_variance_flatness_summary,
    minima_flatness_summary,
    variance_flatness_summary,
)
from dropout_theory.alignment.stored_runs import summary_table as stored_alignment_summary
from dropout_theory.alignment.training import AlignmentCurve, alignment_along_training

__all__ = [
    "AlignmentCurve",
    "AlignmentMatrices",
    "AlignmentResult",
    "EigenvectorOverlap",
    "Eq17Comparison",
    "FlatnessComparison",
    "MinimumFlatness",
    "NoiseLevels",
    "SubsetBaseline",
    "TrajectoryPCA",
    "VarianceFlatness",
    "alignment_along_training",
    "approximate_hessian_and_covariance",
    "combine_alignment",
    "compare_eq17",
    "deflated_frobenius_sq",
    "dropout_parameter_window",
    "effective_rank",
    "eigenvector_overlap",
    "expected_random_alignment",
    "flat_hvp",
    "format_variance_flatness_summary",
    "frobenius_cosine",
    "hessian_trace",
    "hessian_variance_alignment",
    "hutchinson_frobenius_sq",
    "loss_flatness",
    "matched_noise_levels",
    "minima_flatness",
    "minima_flatness_summary",
    "modified_loss_hessian",
    "modified_loss_hvp",
    "module_alignment_matrices",
    "module_hessian_variance_alignment",
    "noise_factor_rows",
    "parameter_indices",
    "rademacher",
    "rademacher_probe_estimate",
    "random_eigenvector_alignment",
    "sampled_trace_product",
    "sigma_matvec",
    "stored_alignment_summary",
    "subset_baseline",
    "top_hessian_eigenvalues",
    "trajectory_pca",
    "variance_flatness",
    "variance_flatness_summary",
]
