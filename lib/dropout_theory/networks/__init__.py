"""A toolkit for torch ``nn.Module`` networks with dropout layers, shared by the alignment, flatness and
minima-flatness measurements of Part I.

Public API:

* models: :func:`dropout_mlp`, :func:`dropout_convnet`;
* masks under control: :class:`DropoutMasks`, :func:`controlled_dropout`, :func:`dropout_layers`,
  :func:`keep_probs` (every mask is drawn by :func:`dropout_theory.rng.bernoulli_mask`, as in the two-layer and
  deep-ensemble simulators);
* training: :func:`train_with_noise` (GD, dropout GD, SGD, perturbed GD) and :class:`LossCurve`, :data:`NOISES`;
* SMEs beyond two layers (SME paper App. C), on a functional MLP with dropout on every hidden layer:
  :func:`mlp_forward`, :func:`mlp_loss`, :func:`init_mlp`, :func:`mlp_num_params`; exact drift and noise factor of
  dropout GD (:func:`dropout_sme_coefficients`, all masks enumerated) and of SGD (:func:`sgd_sme_coefficients`),
  :class:`SMECoefficients`; :func:`simulate_mlp` (the discrete process or its SME, batched over runs) and
  :func:`mlp_weak_error_study`;
* losses and flat views: :func:`half_mse`, :func:`evaluate_loss`, :func:`module_flat_loss`,
  :func:`trainable_parameters`, :func:`check_examples`.
"""

from dropout_theory.networks.functional import (
    check_examples,
    evaluate_loss,
    half_mse,
    module_flat_loss,
    trainable_parameters,
)
from dropout_theory.networks.masks import DropoutMasks, controlled_dropout, dropout_layers, keep_probs
from dropout_theory.networks.models import dropout_convnet, dropout_mlp
from dropout_theory.networks.sme import (
    SMECoefficients,
    dropout_sme_coefficients,
    init_mlp,
    mlp_forward,
    mlp_loss,
    mlp_num_params,
    mlp_weak_error_study,
    sgd_sme_coefficients,
    simulate_mlp,
)
from dropout_theory.networks.training import NOISES, LossCurve, train_with_noise

__all__ = [
    "NOISES",
    "DropoutMasks",
    "LossCurve",
    "SMECoefficients",
    "check_examples",
    "controlled_dropout",
    "dropout_convnet",
    "dropout_layers",
    "dropout_mlp",
    "dropout_sme_coefficients",
    "evaluate_loss",
    "half_mse",
    "init_mlp",
    "keep_probs",
    "mlp_forward",
    "mlp_loss",
    "mlp_num_params",
    "mlp_weak_error_study",
    "module_flat_loss",
    "sgd_sme_coefficients",
    "simulate_mlp",
    "train_with_noise",
    "trainable_parameters",
]
