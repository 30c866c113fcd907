"""Training an ``nn.Module`` with one of four kinds of gradient noise, from an explicit generator.

* ``"gd"``: full-batch gradient descent with dropout switched off (the noise-free reference);
* ``"dropout"``: full-batch dropout GD, θ ← θ − η ∇L(θ; δ), fresh masks every step
  (:func:`dropout_theory.networks.controlled_dropout`): one per unit shared by the whole batch (``mask="shared"``,
  the default) or one per example and unit (``mask="per_example"``, as ``nn.Dropout``); keep probabilities taken
  from the model's ``nn.Dropout`` layers;
* ``"sgd"``: mini-batch SGD with dropout off; each epoch is a fresh random permutation cut into ⌊n/B⌋ batches of
  B examples (sampling without replacement; the n mod B examples left over sit that epoch out);
* ``"parametric"``: perturbed GD (Orvieto, Raj, Kersting and Bach, 2023), θ ← θ − η ∇L(θ + σε), ε ~ N(0, I),
  dropout off.

``loss_fn(output, target)`` must be the MEAN of per-example losses (e.g. :func:`dropout_theory.networks.half_mse`)
so that a mini-batch gradient is an unbiased estimate of the full-batch one.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call

from dropout_theory._checks import (
    check_choice,
    check_finite_step,
    check_iterations,
    check_positive,
    check_positive_int,
)
from dropout_theory.networks.functional import (
    LossFn,
    _evaluate,
    check_examples,
    trainable_parameters,
)
from dropout_theory.networks.masks import DropoutMasks, controlled_dropout, keep_probs
from dropout_theory.rng import GeneratorLike, torch_generator

NOISES: tuple[str, ...] = ("gd", "dropout", "sgd", "parametric")


@dataclass(frozen=True)
class LossCurve:
    """Training loss (dropout off, full batch) along a run.

    Attributes:
        steps: (T,) steps at which the loss was recorded (0 = start, last = ``num_steps``).
        loss: (T,) float64 losses.
    """

    steps: torch.Tensor
    loss: torch.Tensor


def _noise_options(noise: str, n: int, batch_size, sigma) -> tuple[int | None, float | None]:
    if noise == "sgd":
        if batch_size is None:
            raise ValueError("noise='sgd' needs batch_size (an integer in [1, n])")
        batch_size = check_positive_int(batch_size, "batch_size")
        if batch_size > n:
            raise ValueError(f"batch_size must lie in [1, n] = [1, {n}], got {batch_size}")
    elif batch_size is not None:
        raise ValueError(f"batch_size is only used with noise='sgd', got batch_size={batch_size!r} for {noise!r}")
    if noise == "parametric":
        if sigma is None:
            raise ValueError("noise='parametric' needs sigma (a number >= 0)")
        sigma = check_positive(sigma, "sigma", allow_zero=True)
    elif sigma is not None:
        raise ValueError(f"sigma is only used with noise='parametric', got sigma={sigma!r} for {noise!r}")
    return batch_size, sigma


def train_with_noise(
    model: nn.Module,
    loss_fn: LossFn,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    noise: str,
    lr: float,
    num_steps: int,
    batch_size: int | None = None,
    sigma: float | None = None,
    generator: GeneratorLike = None,
    record_every: int | None = None,
    mask: str = "shared",
) -> LossCurve:
    """Train ``model`` in place with one of the four noise types (see the module docstring).

    Args:
        model: the network; for ``"dropout"`` it must contain ``nn.Dropout`` layers (their ``p`` is the DROP
            probability, keep_prob = 1 − p). Its train/eval mode is restored at the end.
        loss_fn: ``loss_fn(model(X), y)`` → scalar, the mean of per-example losses.
        X: (n, …) training inputs; y: (n, …) targets.
        noise: ``"gd"``, ``"dropout"``, ``"sgd"`` or ``"parametric"``.
        lr: learning rate η > 0.
        num_steps: number of parameter updates N >= 1.
        batch_size: mini-batch size B in [1, n]; required for (and only for) ``"sgd"``.
        sigma: perturbation scale σ >= 0; required for (and only for) ``"parametric"``.
        generator: torch generator (or int seed) of the masks, permutations or perturbations.
        record_every: loss recording period (default max(1, N // 100)); step N is always recorded.
        mask: dropout mask convention of ``"dropout"``, ``"shared"`` or ``"per_example"``
            (:data:`dropout_theory.rng.MASK_CONVENTIONS`).

    Returns:
        :class:`LossCurve` of the full-batch training loss with dropout off.

    Raises:
        ValueError: bad argument (names it, its value and the valid range).
        DivergenceError: the loss became non-finite or exploded (names the first such step and the quantity).
    """
    noise = check_choice(noise, "noise", NOISES)
    eta = check_positive(lr, "lr")
    num_steps = check_iterations(num_steps, "num_steps")
    X, y = check_examples(X, y, model=model, loss_fn=loss_fn)
    n = X.shape[0]
    batch_size, sigma = _noise_options(noise, n, batch_size, sigma)
    if record_every is None:
        record_every = max(1, num_steps // 100)
    record_every = check_positive_int(record_every, "record_every")
    if noise == "dropout" and not keep_probs(model):
        raise ValueError("noise='dropout' needs a model with nn.Dropout layers")
    names, params = trainable_parameters(model)
    generator = torch_generator(generator, device=X.device)
    masks = DropoutMasks(generator, mask=mask)
    was_training = model.training
    steps, losses = [], []
    perm, pos = None, n
    try:
        for step in range(num_steps + 1):
            if step % record_every == 0 or step == num_steps:
                value = _evaluate(model, loss_fn, X, y)
                check_finite_step(step, "training loss", value)
                steps.append(step)
                losses.append(value)
            if step == num_steps:
                break
            if noise == "dropout":
                with controlled_dropout(model, masks):
                    masks.start()
                    loss = loss_fn(model(X), y)
                    grads = torch.autograd.grad(loss, params)
            else:
                model.eval()
                if noise == "gd":
                    loss = loss_fn(model(X), y)
                    grads = torch.autograd.grad(loss, params)
                elif noise == "sgd":
                    if pos + batch_size > n:
                        perm, pos = torch.randperm(n, generator=generator, device=X.device), 0
                    idx = perm[pos : pos + batch_size].sort().values
                    pos += batch_size
                    loss = loss_fn(model(X[idx]), y[idx])
                    grads = torch.autograd.grad(loss, params)
                else:
                    shifted = {
                        k: p + sigma * torch.randn(p.shape, generator=generator, dtype=p.dtype, device=p.device)
                        for k, p in zip(names, params, strict=True)
                    }
                    loss = loss_fn(functional_call(model, shifted, (X,)), y)
                    grads = torch.autograd.grad(loss, list(shifted.values()))
            check_finite_step(step, f"{noise} loss", loss.detach())
            with torch.no_grad():
                for p, g in zip(params, grads, strict=True):
                    p.sub_(eta * g)
    finally:
        model.train(was_training)
    return LossCurve(torch.tensor(steps), torch.tensor(losses, dtype=torch.float64))
