"""Two-layer networks f_θ(x) = Σ_r a_r σ(w_r·x) trained with dropout (part I of the book).

Public API: the model (:func:`init_params`, :func:`forward`, :func:`empirical_risk`,
:func:`flatten_params`, :func:`unflatten_params`) and dropout gradient descent (:func:`sample_mask`,
:func:`dropout_gradient`, :func:`train_dropout`, :class:`Trajectory`).
"""

from dropout_theory.two_layer.dropout_gd import Trajectory, dropout_gradient, sample_mask, train_dropout
from dropout_theory.two_layer.model import (
    empirical_risk,
    flatten_params,
    forward,
    init_params,
    unflatten_params,
)

__all__ = [
    "Trajectory",
    "dropout_gradient",
    "empirical_risk",
    "flatten_params",
    "forward",
    "init_params",
    "sample_mask",
    "train_dropout",
    "unflatten_params",
]
