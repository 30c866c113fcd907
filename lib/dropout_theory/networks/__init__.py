"""A toolkit for torch ``nn.Module`` networks with dropout layers, shared by the alignment, flatness and
minima-flatness measurements of Part I.

Public API:

* models: :func:`dropout_mlp`, :func:`dropout_convnet`;
* masks under control: :class:`DropoutMasks`, :func:`controlled_dropout`, :func:`dropout_layers`,
  :func:`keep_probs` (every mask is drawn by :func:`dropout_theory.rng.bernoulli_mask`, as in the two-layer and
  deep-ensemble simulators);
* training: :func:`train_with_noise` (GD, dropout GD, SGD, perturbed GD) and :class:`LossCurve`, :data:`NOISES`;
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
from dropout_theory.networks.training import NOISES, LossCurve, train_with_noise

__all__ = [
    "NOISES",
    "DropoutMasks",
    "LossCurve",
    "check_examples",
    "controlled_dropout",
    "dropout_convnet",
    "dropout_layers",
    "dropout_mlp",
    "evaluate_loss",
    "half_mse",
    "keep_probs",
    "module_flat_loss",
    "train_with_noise",
    "trainable_parameters",
]
