"""Dropout masks under explicit control: every ``nn.Dropout`` of a module draws from a given generator.

While :func:`controlled_dropout` is active, the module is in eval mode and a forward hook on each ``nn.Dropout``
layer multiplies the layer's input by a mask drawn by a :class:`DropoutMasks` (Bernoulli(keep_prob)/keep_prob,
keep_prob = 1 − layer.p, from :func:`dropout_theory.rng.bernoulli_mask`). The masks of each forward pass are
recorded, and can be replayed, so several passes can share masks (the Hessian of a fixed-mask loss) or be
stacked into one batch.

The convention is the ``mask`` argument (:data:`dropout_theory.rng.MASK_CONVENTIONS`): ``"shared"`` draws one
mask per unit for the whole batch (shape of one example's activations), ``"per_example"`` one mask per example and
unit (shape of the whole batch), as ``nn.Dropout`` does in training mode.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from dropout_theory._checks import check_choice
from dropout_theory.rng import MASK_CONVENTIONS, GeneratorLike, bernoulli_mask, torch_generator


def dropout_layers(model: nn.Module) -> list[nn.Dropout]:
    """The ``nn.Dropout`` layers of ``model``, in module order."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return [mod for mod in model.modules() if isinstance(mod, nn.Dropout)]


def keep_probs(model: nn.Module) -> tuple[float, ...]:
    """Keep probabilities 1 − p of the model's ``nn.Dropout`` layers, in module order (empty if none)."""
    return tuple(1.0 - float(m.p) for m in dropout_layers(model))


class DropoutMasks:
    """The source of the masks of :func:`controlled_dropout`.

    Attributes:
        generator: torch generator of the masks.
        mask_convention: ``"shared"`` (one mask per unit for the whole batch, full-batch dropout GD) or
            ``"per_example"`` (one mask per example and unit, as ``nn.Dropout`` in training mode); the ``mask``
            argument.
        masks: the masks drawn since the last :meth:`start`, one per dropout layer call, in call order.
        replay: masks to hand out instead of drawing (``None``: draw), see :meth:`start`.
    """

    def __init__(self, generator: GeneratorLike = None, *, mask: str = "shared") -> None:
        self.generator = torch_generator(generator)
        self.mask_convention = check_choice(mask, "mask", MASK_CONVENTIONS)
        self.masks: list[torch.Tensor] = []
        self.replay: list[torch.Tensor] | None = None
        self.index = 0

    @property
    def per_example(self) -> bool:
        """Whether every example gets its own mask."""
        return self.mask_convention == "per_example"

    def start(self, replay: list[torch.Tensor] | None = None) -> None:
        """Begin a forward pass: draw fresh masks (``replay=None``) or hand out ``replay`` in order."""
        self.masks, self.replay, self.index = [], replay, 0

    def mask(self, layer: nn.Dropout, x: torch.Tensor) -> torch.Tensor:
        """The multiplier of ``layer``'s input ``x`` (drawn or replayed)."""
        if self.replay is not None:
            m = self.replay[self.index]
        else:
            shape = x.shape if self.per_example else x.shape[1:]
            m = bernoulli_mask(
                tuple(shape), keep_prob=1.0 - float(layer.p), generator=self.generator, dtype=x.dtype, device=x.device
            )
            self.masks.append(m)
        self.index += 1
        return m


@contextmanager
def controlled_dropout(model: nn.Module, masks: DropoutMasks) -> Iterator[DropoutMasks]:
    """Within the block, ``model``'s dropout layers apply the masks of ``masks`` (the model is in eval mode, its
    previous mode is restored on exit).

    Raises:
        ValueError: the model has no ``nn.Dropout`` layer.
    """
    layers = dropout_layers(model)
    if not layers:
        raise ValueError("model has no nn.Dropout layer")
    was_training = model.training
    handles = [layer.register_forward_hook(lambda mod, inp, out: inp[0] * masks.mask(mod, inp[0])) for layer in layers]
    model.eval()
    try:
        yield masks
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
