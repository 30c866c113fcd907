"""Two-layer networks f_θ(x) = Σ_r a_r σ(w_r·x) trained with dropout (part I of the book).

Public API:

* the model: :func:`init_params`, :func:`forward`, :func:`empirical_risk`, :func:`flatten_params`,
  :func:`unflatten_params`;
* dropout gradient descent: :func:`sample_mask`, :func:`dropout_gradient`, :func:`train_dropout`,
  :class:`Trajectory`;
* the modified loss: :func:`modified_loss`, :func:`modified_loss_gradient`, :func:`order2_drift`,
  :func:`dropout_variance`;
* the noise covariance: :func:`dropout_gradient_covariance` (dense), :func:`enumerate_mask_moments`
  (exact over all masks), :func:`sample_dropout_gradients` (actual dropout gradients),
  :func:`sample_dropout_noise` (exact N(0, Σ) without Σ),
  :func:`structured_noise_map`, :func:`noise_cost_model`;
* ensembles and SMEs: :func:`simulate` (dropout, SME order 1/2, GD on L_S or R_S, batched over runs),
  :class:`Ensemble`, :func:`weak_error_study`, :class:`WeakErrorStudy`;
* stored runs of ``dropout-experiments sme``: :func:`weak_order_table`, :func:`weak_order_studies`,
  :func:`curve_summaries`, :func:`gap_table` (the chapters read the committed results through them);
* :mod:`~dropout_theory.two_layer.kernels`: the batched closed-form formulas all of the above (and the alignment
  measurements of :mod:`dropout_theory.alignment`) are built from — forward pass, masked gradient, modified loss
  and its gradient, order-2 drift, the exact noise map — documented with their shapes.
"""

from dropout_theory.two_layer.covariance import (
    MaskMoments,
    dropout_gradient_covariance,
    enumerate_mask_moments,
    sample_dropout_gradients,
)
from dropout_theory.two_layer.dropout_gd import Trajectory, dropout_gradient, sample_mask, train_dropout
from dropout_theory.two_layer.model import (
    empirical_risk,
    flatten_params,
    forward,
    init_params,
    unflatten_params,
)
from dropout_theory.two_layer.modified_loss import (
    dropout_variance,
    modified_loss,
    modified_loss_gradient,
    order2_drift,
)
from dropout_theory.two_layer.noise import noise_cost_model, sample_dropout_noise, structured_noise_map
from dropout_theory.two_layer.sme import Ensemble, WeakErrorStudy, simulate, weak_error_study
from dropout_theory.two_layer.stored_runs import curve_summaries, gap_table, weak_order_studies, weak_order_table

__all__ = [
    "Ensemble",
    "MaskMoments",
    "Trajectory",
    "WeakErrorStudy",
    "curve_summaries",
    "dropout_gradient",
    "dropout_gradient_covariance",
    "dropout_variance",
    "empirical_risk",
    "enumerate_mask_moments",
    "flatten_params",
    "forward",
    "gap_table",
    "init_params",
    "modified_loss",
    "modified_loss_gradient",
    "noise_cost_model",
    "order2_drift",
    "sample_dropout_gradients",
    "sample_dropout_noise",
    "sample_mask",
    "simulate",
    "structured_noise_map",
    "train_dropout",
    "unflatten_params",
    "weak_error_study",
    "weak_order_studies",
    "weak_order_table",
]
