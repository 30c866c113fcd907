"""How deep can a dropout network train? Batched training of deep fully connected dropout networks (torch).

An ensemble of M networks of the same depth, each with its own σ_w² and learning rate, is trained at once
(:func:`train_deep_ensemble`): every layer is one batched matmul over the model dimension, and the loss is the sum
of the models' independent losses, so one backward pass gives every model its own gradient. This is what makes
the trainable-depth heatmap (depth × σ_w², :func:`trainable_depth_grid`, the deep-dropout paper's Fig. 7) and the
steps-vs-learning-rate curves (:func:`training_speed`, its Fig. 6) affordable on a laptop CPU.

Network: x → z^1 = W^1 x + b^1 → … → z^L (hidden width N, activation φ, dropout with keep_prob on every hidden
post-activation, inverted scaling 1/ρ) → logits = W^out (m ⊙ φ(z^L)/ρ) + b^out; weights N(0, σ_w²/fan_in),
biases N(0, σ_b²); cross-entropy loss, plain SGD. Evaluation switches dropout off (the usual inverted-dropout
test rule).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from dropout_theory._checks import check_keep_prob, check_positive, check_positive_int
from dropout_theory.data import standardized_digits
from dropout_theory.deep_meanfield._validate import check_activation, check_array
from dropout_theory.deep_meanfield.boundary import critical_sigma_w2
from dropout_theory.deep_meanfield.depth_scales import depth_scales
from dropout_theory.deep_meanfield.ensemble import torch_activation
from dropout_theory.rng import GeneratorLike, bernoulli_mask, torch_generator
from dropout_theory.tables import Table, TabularResult

#: A model's minibatch loss above this (or non-finite) counts as diverged.
DIVERGENCE_LIMIT = 1e6


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
        lr: (M,) SGD learning rates (or a scalar).
        num_steps: number of SGD steps.
        batch_size: minibatch size.
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
    steps = check_positive_int(num_steps, "num_steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    eval_every = check_positive_int(eval_every, "eval_every")
    keep_prob = check_keep_prob(keep_prob)
    sigma_b2 = check_positive(sigma_b2, "sigma_b2", allow_zero=True)
    sw2 = check_array(sigma_w2, "sigma_w2", 0.0, low_open=True)
    lr = check_array(lr, "lr", 0.0, low_open=True)
    sw2, lr = (np.atleast_1d(a).astype(np.float64) for a in np.broadcast_arrays(sw2, lr))
    M = sw2.size
    X, y, Xt, yt = data if data is not None else standardized_digits(dtype=dtype)
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
        W = torch.randn(M, fan_out, fan_in, generator=gen, **kw) * sw / math.sqrt(fan_in)
        b = torch.randn(M, 1, fan_out, generator=gen, **kw) * math.sqrt(sigma_b2)
        params += [W.requires_grad_(), b.requires_grad_()]
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
            for p, g in zip(params, grads, strict=True):
                p -= scale * torch.nan_to_num(g, nan=0.0, posinf=0.0, neginf=0.0)
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


@dataclass(frozen=True)
class DepthGrid(TabularResult):
    """Training accuracy over a (depth × σ_w²) grid at one keep probability (the deep-dropout paper's Fig. 7).

    Attributes:
        keep_prob: keep probability of the hidden units.
        depths: (D,) depths.
        sigma_w2: (S,) weight variances.
        accuracy: (D, S) final training accuracy.
        test_accuracy: (D, S) final test accuracy.
    """

    keep_prob: float
    depths: np.ndarray
    sigma_w2: np.ndarray
    accuracy: np.ndarray
    test_accuracy: np.ndarray

    def table(self) -> Table:
        rows = [(int(L), *row) for L, row in zip(self.depths, self.accuracy, strict=True)]
        headers = ("depth \\ sigma_w2", *(f"{s:g}" for s in self.sigma_w2))
        title = f"training accuracy, keep_prob {self.keep_prob:g}"
        return Table.build(headers, rows, formats=("d", *([".2f"] * len(self.sigma_w2))), title=title)


def trainable_depth_grid(
    depths: Sequence[int],
    sigma_w2: Sequence[float],
    keep_probs: Sequence[float],
    *,
    activation: str = "tanh",
    width: int = 48,
    sigma_b2: float = 0.05,
    lr: float = 0.02,
    num_steps: int = 200,
    batch_size: int = 64,
    data: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
    generator: GeneratorLike = 0,
) -> dict[float, DepthGrid]:
    """Training accuracy over a (depth × σ_w²) grid for each keep_prob, in this process (one
    :func:`train_deep_ensemble` per (keep_prob, depth), batched over σ_w²; the experiments command runs the same
    calls through an Executor).

    Args:
        depths, sigma_w2, keep_probs: the grid.
        activation, width, sigma_b2, lr, num_steps, batch_size: network and SGD settings.
        data: as in :func:`train_deep_ensemble` (default: the standardized digits).
        generator: int seed of every training (each starts from it) or a torch generator.

    Returns:
        keep_prob → :class:`DepthGrid`.
    """
    sw = [float(s) for s in sigma_w2]
    out = {}
    for r in keep_probs:
        runs = [
            train_deep_ensemble(activation, sw, sigma_b2, float(r), depth=int(L), width=width, lr=lr,
                                num_steps=num_steps, batch_size=batch_size, data=data, eval_every=num_steps,
                                generator=generator)
            for L in depths
        ]  # fmt: skip
        out[float(r)] = DepthGrid(
            float(r),
            np.asarray(depths, dtype=np.float64),
            np.asarray(sw),
            np.array([run.train_accuracy for run in runs]),
            np.array([run.test_accuracy for run in runs]),
        )
    return out


@dataclass(frozen=True)
class TrainingSpeed(TabularResult):
    """Steps to a training-accuracy threshold against the learning rate at one keep probability, on the
    order–chaos line (the deep-dropout paper's Fig. 6).

    Attributes:
        keep_prob: keep probability.
        sigma_w2: the critical σ_w² used (:func:`dropout_theory.deep_meanfield.critical_sigma_w2`).
        depths: (D,) depths.
        lrs: (R,) learning rates.
        steps_to_threshold: (D, R) first evaluation step at or above the threshold (−1: never).
    """

    keep_prob: float
    sigma_w2: float
    depths: np.ndarray
    lrs: np.ndarray
    steps_to_threshold: np.ndarray

    def table(self) -> Table:
        rows = [(int(L), *map(int, row)) for L, row in zip(self.depths, self.steps_to_threshold, strict=True)]
        headers = ("depth \\ lr", *(f"{lr:.4f}" for lr in self.lrs))
        title = f"steps to threshold, keep_prob {self.keep_prob:g} (sigma_w2 = {self.sigma_w2:.3f}); -1: never"
        return Table.build(headers, rows, formats=["d"] * (1 + len(self.lrs)), title=title)


def training_speed(
    depths: Sequence[int],
    lrs: Sequence[float],
    keep_probs: Sequence[float],
    *,
    threshold: float = 0.8,
    activation: str = "tanh",
    width: int = 48,
    sigma_b2: float = 0.05,
    num_steps: int = 300,
    batch_size: int = 64,
    eval_every: int = 10,
    data: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
    generator: GeneratorLike = 0,
) -> dict[float, TrainingSpeed]:
    """Steps to reach ``threshold`` training accuracy against the learning rate, at σ_w² = σ²_w,crit(σ_b², ρ), in
    this process (one :func:`train_deep_ensemble` per (keep_prob, depth), batched over learning rates).

    Returns:
        keep_prob → :class:`TrainingSpeed`.
    """
    lr_list = [float(x) for x in lrs]
    out = {}
    for r in keep_probs:
        sw = float(critical_sigma_w2(activation, sigma_b2, r))
        runs = [
            train_deep_ensemble(activation, [sw] * len(lr_list), sigma_b2, float(r), depth=int(L), width=width,
                                lr=lr_list, num_steps=num_steps, batch_size=batch_size, data=data,
                                threshold=threshold, eval_every=eval_every, generator=generator)
            for L in depths
        ]  # fmt: skip
        out[float(r)] = TrainingSpeed(
            float(r), sw, np.asarray(depths), np.asarray(lr_list), np.array([run.steps_to_threshold for run in runs])
        )
    return out


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
    return {"xi_c_bound": multiple * xi_c, "combined_bound": multiple * np.minimum(xi_c, xi_g)}
