"""Full-batch gradient descent with dropout on the two-layer network (SME paper eqs. 4–6).

One step draws a fresh mask δ_r ∈ {0, 1/p} (keep probability p) for every hidden neuron (shared by all examples;
``mask="per_example"`` draws one per example and neuron instead) and moves
θ_N = θ_{N−1} − η ∇_θ R_S^drop(θ_{N−1}; δ_N), where R_S^drop is the empirical risk of the masked network
f(x; δ) = Σ_r δ_r a_r σ(w_r·x). Gradients are computed in closed form (no autograd,
:func:`dropout_theory.two_layer.kernels.masked_gradient`), which is exact and about three times cheaper than a
backward pass; the unit tests check them against autograd.

:func:`train_dropout` is the single-run view of :func:`dropout_theory.two_layer.simulate` (``method="dropout"``,
one run): same masks, same arithmetic, same divergence checks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from dropout_theory._checks import as_mask, check_allocation, check_keep_prob, check_positive_int
from dropout_theory.activations import get_activation
from dropout_theory.rng import GeneratorLike, bernoulli_mask, torch_generator
from dropout_theory.two_layer import kernels
from dropout_theory.two_layer.model import as_problem
from dropout_theory.two_layer.sme import simulate


def sample_mask(
    m: int,
    *,
    keep_prob: float,
    generator: GeneratorLike = None,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
    shape: tuple[int, ...] = (),
) -> torch.Tensor:
    """Dropout multipliers δ with P(δ = 1/p) = p, P(δ = 0) = 1 − p, so E δ = 1 and Var δ = (1 − p)/p.

    Args:
        m: number of neurons.
        keep_prob: p in (0, 1].
        generator: torch generator or int seed, for reproducibility.
        dtype: floating dtype.
        device: device.
        shape: leading batch shape; the result has shape ``shape + (m,)``.

    Returns:
        Tensor of shape ``shape + (m,)``.
    """
    p = check_keep_prob(keep_prob)
    m = check_positive_int(m, "m")
    if not isinstance(shape, tuple | list) or not all(isinstance(s, int) and s >= 0 for s in shape):
        raise ValueError(f"shape must be a tuple of integers >= 0, got {shape!r}")
    check_allocation(math.prod(shape) * m, "the mask", names=f"m = {m}, shape = {tuple(shape)}")
    return bernoulli_mask(
        (*shape, m), keep_prob=p, generator=torch_generator(generator, device=device), dtype=dtype, device=device
    )


def dropout_gradient(a, W, X, y, mask, *, activation: str = "tanh") -> tuple[torch.Tensor, torch.Tensor]:
    """Gradient of the masked empirical risk R_S^drop(θ; δ) with respect to (a, W).

    Args:
        a: (m,) or (m, K) output weights.
        W: (m, d) input weights.
        X: (n, d) inputs.
        y: (n,) or (n, K) targets.
        mask: (m,) dropout multipliers δ shared by all examples (e.g. from :func:`sample_mask`), or (n, m) one
            mask per example (``sample_mask(m, shape=(n,), ...)``); ones give the plain gradient.
        activation: activation name.

    Returns:
        ``(grad_a, grad_W)`` with the shapes of ``a`` and ``W``.
    """
    prob = as_problem(a, W, X, y)
    act = get_activation(activation)
    if isinstance(mask, torch.Tensor) and tuple(mask.shape) == (prob.n, prob.m):
        mask_t = as_mask(mask, "mask", (prob.n, prob.m), like=prob.W, like_name="W")
        z = prob.X @ prob.W.T
        ga, gW = kernels.per_example_masked_gradient_from_parts(prob.a, act.f(z), act.df(z), prob.X, prob.y, mask_t)
    else:
        mask_t = as_mask(mask, "mask", (prob.m,), like=prob.W, like_name="W")
        ga, gW = kernels.masked_gradient(prob.a, prob.W, prob.X, prob.y, mask_t, act=act)
    return (ga[:, 0] if prob.scalar_output else ga), gW


@dataclass(frozen=True)
class Trajectory:
    """Result of a training run.

    Attributes:
        steps: (T,) step indices at which the losses were recorded (0 = initialization).
        train_loss: (T,) empirical risk R_S (no mask) on the training set at those steps.
        test_loss: (T,) R_S on the test set, or ``None`` when no test set was given.
        a: final output weights, same shape as the input ``a``.
        W: final input weights (m, d).
    """

    steps: torch.Tensor
    train_loss: torch.Tensor
    test_loss: torch.Tensor | None
    a: torch.Tensor
    W: torch.Tensor


def train_dropout(
    a,
    W,
    X,
    y,
    *,
    keep_prob: float,
    lr: float,
    num_steps: int,
    generator: GeneratorLike = None,
    activation: str = "tanh",
    record_every: int = 1,
    X_test=None,
    y_test=None,
    progress: bool = False,
    mask: str = "shared",
) -> Trajectory:
    """Full-batch gradient descent with dropout (SME paper eq. 6), a fresh mask every step.

    ``keep_prob=1`` is plain gradient descent on R_S (no masks are drawn). This is
    ``simulate(a, W, X, y, method="dropout", num_runs=1, ...)`` returned as a single trajectory.

    Args:
        a: (m,) or (m, K) initial output weights (not modified).
        W: (m, d) initial input weights (not modified).
        X: (n, d) training inputs.
        y: (n,) or (n, K) training targets.
        keep_prob: probability p of keeping a neuron, in (0, 1].
        lr: learning rate η > 0.
        num_steps: number of steps N >= 1.
        generator: torch generator (or int seed) of the masks.
        activation: activation name.
        record_every: record the losses every this many steps (and at the last step).
        X_test: optional test inputs.
        y_test: optional test targets.
        progress: show a tqdm progress bar.
        mask: ``"shared"`` (one mask per neuron for all examples, the paper's eq. 6) or ``"per_example"``.

    Returns:
        A :class:`Trajectory`.

    Raises:
        ValueError: invalid argument.
        DivergenceError: the loss or the parameters became non-finite or exceeded 1e12 in magnitude; the
            error names the first such step and the quantity.
    """
    ens = simulate(
        a,
        W,
        X,
        y,
        method="dropout",
        keep_prob=keep_prob,
        lr=lr,
        num_steps=num_steps,
        generator=generator,
        activation=activation,
        record_every=record_every,
        X_test=X_test,
        y_test=y_test,
        progress=progress,
        mask=mask,
    )
    f64 = torch.float64
    test = None if ens.test_loss is None else ens.test_loss[0].to(f64)
    return Trajectory(ens.steps, ens.train_loss[0].to(f64), test, ens.a[0], ens.W[0])
