"""How deep can a dropout network train? Batched training of deep fully connected dropout networks (torch).

An ensemble of M networks of the same depth, each with its own σ_w² and learning rate, is trained at once
(:func:`train_deep_ensemble`): every layer is one batched matmul over the model dimension, and the loss is the sum
of the models' independent losses, so one backward pass gives every model its own gradient. This is what makes
the trainable-depth heatmap (depth × σ_w², the deep-dropout paper's Fig. 7) and the steps-vs-learning-rate curves
(its Fig. 6) affordable on a laptop CPU; the sweeps over seeds and panels are in :mod:`.depth_sweep`, one job of
them is :func:`trainable_depth_job`.

Network: x → z^1 = W^1 x + b^1 → … → z^L (hidden width N, activation φ, dropout with keep_prob on every hidden
post-activation, inverted scaling 1/ρ) → logits = W^out (m ⊙ φ(z^L)/ρ) + b^out; weights N(0, σ_w²/fan_in)
(``init="gaussian"``) or σ_w·√(max(fan_in, fan_out)/fan_in) times a Haar-random (semi-)orthogonal matrix
(``init="orthogonal"``, the same entry variance σ_w²/fan_in; a square layer has WᵀW = σ_w² I), biases N(0, σ_b²);
cross-entropy loss; plain SGD or RMSProp (torch's update rule: v ← αv + (1−α)g², θ ← θ − η g/(√v + ε), α = 0.99,
ε = 1e-8). Evaluation switches dropout off (the usual inverted-dropout test rule).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import torch

from dropout_theory._checks import (
    as_tensor,
    check_allocation,
    check_choice,
    check_iterations,
    check_keep_prob,
    check_positive,
    check_positive_int,
)
from dropout_theory.data import standardized_digits, standardized_mnist1d
from dropout_theory.deep_meanfield._validate import check_activation, check_array
from dropout_theory.deep_meanfield.boundary import critical_sigma_w2
from dropout_theory.deep_meanfield.depth_scales import depth_scales
from dropout_theory.deep_meanfield.ensemble import torch_activation
from dropout_theory.rng import GeneratorLike, bernoulli_mask, torch_generator

#: A model's minibatch loss above this (or non-finite) counts as diverged.
DIVERGENCE_LIMIT = 1e6
#: Optimizers, weight initializations and data sets of the trainability experiments.
OPTIMIZERS = ("sgd", "rmsprop")
INITS = ("gaussian", "orthogonal")
DATASETS = ("digits", "mnist1d")
#: RMSProp's smoothing constant and ε (torch.optim.RMSprop's defaults).
RMSPROP_ALPHA, RMSPROP_EPS = 0.99, 1e-8


@dataclass(frozen=True)
class TrainingResult:
    """Outcome of :func:`train_deep_ensemble` for M models.

    Attributes:
        train_accuracy: (M,) final accuracy on the training set (dropout off); 1/K for diverged models.
        test_accuracy: (M,) final accuracy on the test set; 1/K for diverged models.
        steps_to_threshold: (M,) first evaluation step with training accuracy ≥ threshold (−1 if never).
        diverged_at: (M,) first SGD step at which the model's minibatch loss was non-finite or above
            :data:`DIVERGENCE_LIMIT` (the model is frozen from then on); −1 for models that did not diverge.
        eval_steps: (T,) steps at which the training accuracy was recorded.
        accuracy_history: (M, T) training accuracy at those steps.
    """

    train_accuracy: np.ndarray
    test_accuracy: np.ndarray
    steps_to_threshold: np.ndarray
    diverged_at: np.ndarray
    eval_steps: np.ndarray
    accuracy_history: np.ndarray

    @property
    def diverged(self) -> np.ndarray:
        """(M,) whether each model diverged."""
        return self.diverged_at >= 0


def _forward(params, x, phi, keep_prob, gen, train):
    h = x
    n_layers = len(params) // 2
    for i in range(n_layers):
        W, b = params[2 * i], params[2 * i + 1]
        if i > 0:
            h = phi(h)
            if train and keep_prob < 1.0:
                h = h * bernoulli_mask(
                    tuple(h.shape), keep_prob=keep_prob, generator=gen, dtype=h.dtype, device=h.device
                )
        h = torch.baddbmm(b, h, W.transpose(1, 2))
    return h  # (M, n, K) logits


def initial_weights(
    shape: tuple[int, int, int],
    *,
    sigma_w: torch.Tensor,
    init: str = "gaussian",
    generator: GeneratorLike = 0,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """(num_models, fan_out, fan_in) weights with entry variance σ_w²/fan_in, Gaussian or (semi-)orthogonal.

    Args:
        shape: (num_models, fan_out, fan_in).
        sigma_w: (num_models, 1, 1) tensor of σ_w per model.
        init: "gaussian" (iid N(0, σ_w²/fan_in)) or "orthogonal" (σ_w·√(max(fan_in, fan_out)/fan_in) times a
            Haar-random matrix with orthonormal rows or columns; a square layer has WᵀW = σ_w² I).
        generator: torch generator or int seed.
        dtype: floating dtype.
        device: device of the weights (and of ``generator``).
    """
    check_choice(init, "init", INITS)
    if not isinstance(shape, tuple | list) or len(shape) != 3:
        raise ValueError(f"shape must be (num_models, fan_out, fan_in), got {shape!r}")
    num_models, fan_out, fan_in = (check_positive_int(s, "shape") for s in shape)
    check_allocation(2 * num_models * fan_out * fan_in, "the weights", names=f"shape = {tuple(shape)}")
    sigma_w = as_tensor(sigma_w, "sigma_w", dtype=dtype)
    if sigma_w.shape not in ((num_models, 1, 1), ()) or bool((sigma_w < 0).any()):
        raise ValueError(f"sigma_w must be a (num_models, 1, 1) = ({num_models}, 1, 1) tensor of values >= 0, got "
                         f"shape {tuple(sigma_w.shape)}")  # fmt: skip
    gen = torch_generator(generator, device=device)
    if init == "gaussian":
        W = torch.randn(num_models, fan_out, fan_in, generator=gen, dtype=dtype, device=device)
        return W * sigma_w / math.sqrt(fan_in)
    big, small = max(fan_out, fan_in), min(fan_out, fan_in)
    g = torch.randn(num_models, big, small, generator=gen, dtype=torch.float64, device=device)
    Q, R = torch.linalg.qr(g)  # Haar: fix the signs of R's diagonal
    Q = Q * torch.sign(torch.diagonal(R, dim1=-2, dim2=-1))[:, None, :]
    Q = Q if fan_out >= fan_in else Q.transpose(1, 2)
    return Q.to(dtype) * sigma_w * math.sqrt(big / fan_in)


def _accuracy(params, X, y, phi, chunk: int = 2048) -> torch.Tensor:
    with torch.no_grad():
        correct = torch.zeros(params[0].shape[0], dtype=torch.float64, device=X.device)
        for i in range(0, X.shape[0], chunk):
            xb = X[i : i + chunk].expand(params[0].shape[0], -1, -1)
            logits = _forward(params, xb, phi, 1.0, None, False)
            correct += (logits.argmax(-1) == y[i : i + chunk]).sum(-1).double()
        return (correct / X.shape[0]).cpu()


def train_deep_ensemble(
    activation: str,
    sigma_w2,
    sigma_b2: float,
    keep_prob: float,
    *,
    depth: int,
    width: int,
    lr,
    num_steps: int,
    batch_size: int = 128,
    optimizer: str = "sgd",
    init: str = "gaussian",
    data: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
    threshold: float | None = None,
    eval_every: int = 50,
    generator: GeneratorLike = 0,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> TrainingResult:
    """Train M deep dropout networks of the same depth at once (one per σ_w² / learning-rate entry).

    Args:
        activation: "linear", "relu", "tanh", "hard_tanh" or "erf".
        sigma_w2: (M,) weight variances (or a scalar, broadcast against ``lr``).
        sigma_b2: bias variance.
        keep_prob: keep probability of the hidden units during training.
        depth: number of hidden layers L ≥ 1.
        width: hidden width N.
        lr: (M,) learning rates (or a scalar).
        num_steps: number of optimizer steps.
        batch_size: minibatch size.
        optimizer: "sgd" (plain SGD) or "rmsprop" (torch's RMSProp rule, each model with its own statistics).
        init: "gaussian" or "orthogonal" weights (module docstring).
        data: (X_train, labels_train, X_test, labels_test); default
            :func:`dropout_theory.data.standardized_digits`.
        threshold: training accuracy for ``steps_to_threshold`` (default: not tracked, all −1).
        eval_every: steps between training-accuracy evaluations.
        generator: torch generator (on ``device``) or int seed of initialization, minibatches and masks (default:
            seed 0).
        dtype: floating dtype of the training.
        device: where the networks are trained (the data are moved there).

    Returns:
        :class:`TrainingResult`; a model whose loss diverges is frozen and reported with the first step at which
        its loss was non-finite or above :data:`DIVERGENCE_LIMIT` (``diverged_at``).
    """
    check_activation(activation)
    depth = check_positive_int(depth, "depth")
    width = check_positive_int(width, "width")
    steps = check_iterations(num_steps, "num_steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    eval_every = check_positive_int(eval_every, "eval_every")
    keep_prob = check_keep_prob(keep_prob)
    check_choice(optimizer, "optimizer", OPTIMIZERS)
    check_choice(init, "init", INITS)
    sigma_b2 = check_positive(sigma_b2, "sigma_b2", allow_zero=True)
    sw2 = check_array(sigma_w2, "sigma_w2", 0.0, low_open=True)
    lr = check_array(lr, "lr", 0.0, low_open=True)
    sw2, lr = (np.atleast_1d(a).astype(np.float64) for a in np.broadcast_arrays(sw2, lr))
    M = sw2.size
    if data is not None and (not isinstance(data, tuple | list) or len(data) != 4):
        raise ValueError("data must be (X_train, labels_train, X_test, labels_test)")
    X, y, Xt, yt = data if data is not None else standardized_digits(dtype=dtype)
    check_allocation(
        M * (depth * width * (width + 3 * batch_size) + X.shape[1] * width),
        "the networks and one batch's activations",
        names=f"depth = {depth}, width = {width}, batch_size = {batch_size}, M = {M}",
    )
    gen = torch_generator(generator, device=device)
    X, Xt = X.to(dtype=dtype, device=device), Xt.to(dtype=dtype, device=device)
    y, yt = y.to(device), yt.to(device)
    kw = {"dtype": dtype, "device": X.device}
    K = int(max(y.max(), yt.max())) + 1
    phi, _ = torch_activation(activation)
    sizes = [X.shape[1]] + [width] * depth + [K]
    sw = torch.as_tensor(np.sqrt(sw2), **kw)[:, None, None]
    params = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        W = initial_weights((M, fan_out, fan_in), sigma_w=sw, init=init, generator=gen, **kw)
        b = torch.randn(M, 1, fan_out, generator=gen, **kw) * math.sqrt(sigma_b2)
        params += [W.requires_grad_(), b.requires_grad_()]
    sq_avg = [torch.zeros_like(p) for p in params] if optimizer == "rmsprop" else None
    lr_t = torch.as_tensor(lr, **kw)[:, None, None]
    alive = torch.ones(M, dtype=torch.bool, device=X.device)
    diverged_at = np.full(M, -1, dtype=np.int64)
    hist, eval_steps = [], []
    first = np.full(M, -1, dtype=np.int64)
    for step in range(1, steps + 1):
        idx = torch.randint(0, X.shape[0], (batch_size,), generator=gen, device=X.device)
        logits = _forward(params, X[idx].expand(M, -1, -1), phi, keep_prob, gen, True)
        losses = (
            torch.nn.functional.cross_entropy(logits.reshape(M * batch_size, K), y[idx].repeat(M), reduction="none")
            .reshape(M, batch_size)
            .mean(1)
        )
        bad = ~torch.isfinite(losses) | (losses > DIVERGENCE_LIMIT)
        if bad.any():
            diverged_at[(bad & alive).cpu().numpy()] = step
            alive &= ~bad
            losses = torch.where(alive, losses, torch.zeros_like(losses))
        grads = torch.autograd.grad(losses.sum(), params)
        with torch.no_grad():
            scale = lr_t * alive[:, None, None].to(dtype)
            for i, (p, g) in enumerate(zip(params, grads, strict=True)):
                g = torch.nan_to_num(g, nan=0.0, posinf=0.0, neginf=0.0)
                if sq_avg is not None:
                    sq_avg[i].mul_(RMSPROP_ALPHA).addcmul_(g, g, value=1.0 - RMSPROP_ALPHA)
                    g = g / (sq_avg[i].sqrt() + RMSPROP_EPS)
                p -= scale * g
        if step % eval_every == 0 or step == steps:
            acc = _accuracy(params, X, y, phi).numpy()
            acc = np.where(alive.cpu().numpy(), acc, 1.0 / K)
            hist.append(acc)
            eval_steps.append(step)
            if threshold is not None:
                hit = (first < 0) & (acc >= threshold)
                first[hit] = step
    train_acc = hist[-1]
    test_acc = np.where(alive.cpu().numpy(), _accuracy(params, Xt, yt, phi).numpy(), 1.0 / K)
    return TrainingResult(
        train_accuracy=train_acc,
        test_accuracy=test_acc,
        steps_to_threshold=first,
        diverged_at=diverged_at,
        eval_steps=np.asarray(eval_steps),
        accuracy_history=np.stack(hist, 1),
    )


@lru_cache(maxsize=2)
def _load(dataset: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    if dataset == "digits":
        return standardized_digits(generator=0)
    return standardized_mnist1d(generator=0)


def trainable_depth_job(
    *,
    activation: str,
    depth: int,
    width: int,
    sigma_w2: Sequence[float] | str,
    sigma_b2: float,
    keep_prob: float,
    lr: float | Sequence[float],
    num_steps: int,
    batch_size: int,
    dataset: str,
    seed: int,
    optimizer: str = "sgd",
    init: str = "gaussian",
    threshold: float | None = None,
    eval_every: int = 50,
    device: str | None = None,
) -> dict[str, Any]:
    """One job of the trainability sweeps: a batched :func:`train_deep_ensemble` (``seed`` → ``generator``, on
    ``device``) on a named data set, JSON-serializable (accuracies rounded to 6 decimals).

    ``sigma_w2="critical"`` trains every model at σ²_w,crit(σ_b², keep_prob), computed here, so that the job is
    declared by its inputs (its key never depends on a computed float).

    Args:
        dataset: "digits" (scikit-learn's 8×8 digits) or "mnist1d" (generated locally), split with seed 0.
        (the others): as in :func:`train_deep_ensemble`.

    Returns:
        ``{"train_accuracy", "test_accuracy", "steps_to_threshold", "diverged_at"}``, lists of M entries.
    """
    check_choice(dataset, "dataset", DATASETS)
    if sigma_w2 == "critical":
        num = len(lr) if isinstance(lr, Sequence) else 1
        sigma_w2 = [float(critical_sigma_w2(activation, sigma_b2, keep_prob))] * num
    res = train_deep_ensemble(
        activation, list(sigma_w2), sigma_b2, keep_prob, depth=depth, width=width, lr=lr, num_steps=num_steps,
        batch_size=batch_size, optimizer=optimizer, init=init, data=_load(dataset), threshold=threshold,
        eval_every=eval_every, generator=seed, device=device,
    )  # fmt: skip
    return {
        "train_accuracy": [round(float(a), 6) for a in res.train_accuracy],
        "test_accuracy": [round(float(a), 6) for a in res.test_accuracy],
        "steps_to_threshold": [int(s) for s in res.steps_to_threshold],
        "diverged_at": [int(s) for s in res.diverged_at],
    }


def trainable_depth_bound(
    activation: str, sigma_w2, sigma_b2, keep_prob, *, multiple: float = 6.0
) -> dict[str, np.ndarray | float]:
    """Depth bounds from the depth scales: ``multiple``·ξ_c and ``multiple``·``min(ξ_c, abs(ξ_∇))``.

    The first is Schoenholz et al.'s L ≲ 6ξ_c; the second is our reading of the deep-dropout paper's
    refinement (ξ_c limits the ordered side, ξ_∇ the chaotic side; its formula was lost in extraction).

    Returns:
        Dict with ``"xi_c_bound"`` and ``"combined_bound"`` (broadcast over array arguments).
    """
    ds = depth_scales(activation, sigma_w2, sigma_b2, keep_prob)
    xi_c = np.asarray(ds["xi_c"])
    xi_g = np.abs(np.asarray(ds["xi_grad"]))
    multiple = check_positive(multiple, "multiple")
    return {"xi_c_bound": multiple * xi_c, "combined_bound": multiple * np.minimum(xi_c, xi_g)}
