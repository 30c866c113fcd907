"""Full-batch gradient descent with dropout on the two-layer network (SME paper eqs. 4–6).

One step draws a fresh mask δ_r ∈ {0, 1/p} (keep probability p) for every hidden neuron and moves
θ_N = θ_{N−1} − η ∇_θ R_S^drop(θ_{N−1}; δ_N), where R_S^drop is the empirical risk of the masked network
f(x; δ) = Σ_r δ_r a_r σ(w_r·x). Gradients are computed in closed form (no autograd), which is exact and
about three times cheaper than a backward pass; the unit tests check them against autograd.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from dropout_theory._checks import check_finite_step, check_keep_prob, check_positive, check_positive_int
from dropout_theory.activations import get_activation
from dropout_theory.two_layer.model import Problem, as_problem


def sample_mask(
    m: int,
    keep_prob: float,
    generator: torch.Generator | None = None,
    *,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
    shape: tuple[int, ...] = (),
) -> torch.Tensor:
    """Dropout multipliers δ with P(δ = 1/p) = p, P(δ = 0) = 1 − p, so E δ = 1 and Var δ = (1 − p)/p.

    Args:
        m: number of neurons.
        keep_prob: p in (0, 1].
        generator: torch generator for reproducibility.
        dtype: floating dtype.
        device: device.
        shape: leading batch shape; the result has shape ``shape + (m,)``.

    Returns:
        Tensor of shape ``shape + (m,)``.
    """
    p = check_keep_prob(keep_prob)
    u = torch.rand((*shape, m), generator=generator, dtype=dtype, device=device)
    return (u < p).to(dtype) / p


def _grads(prob: Problem, act, mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Loss and closed-form gradients (grad_a (m, K), grad_W (m, d)) of R_S with multipliers ``mask``."""
    z = prob.X @ prob.W.T  # (n, m)
    h = act.f(z)
    hm = h if mask is None else h * mask
    r = hm @ prob.a - prob.y  # (n, K) residual
    loss = 0.5 * (r * r).sum() / prob.n
    grad_a = hm.T @ r / prob.n  # (m, K)
    g = (r @ prob.a.T) * act.df(z)  # (n, m): ∂(n·loss)/∂z without the mask
    if mask is not None:
        g = g * mask
    grad_W = g.T @ prob.X / prob.n  # (m, d)
    return loss, grad_a, grad_W


def dropout_gradient(a, W, X, y, mask, activation: str = "tanh") -> tuple[torch.Tensor, torch.Tensor]:
    """Gradient of the masked empirical risk R_S^drop(θ; δ) with respect to (a, W).

    Args:
        a: (m,) or (m, K) output weights.
        W: (m, d) input weights.
        X: (n, d) inputs.
        y: (n,) or (n, K) targets.
        mask: (m,) dropout multipliers δ (e.g. from :func:`sample_mask`); ones give the plain gradient.
        activation: activation name.

    Returns:
        ``(grad_a, grad_W)`` with the shapes of ``a`` and ``W``.
    """
    prob = as_problem(a, W, X, y)
    mask_t = torch.as_tensor(mask, dtype=prob.W.dtype, device=prob.W.device)
    if mask_t.shape != (prob.m,):
        raise ValueError(f"mask must have shape ({prob.m},), got {tuple(mask_t.shape)}")
    _, ga, gW = _grads(prob, get_activation(activation), mask_t)
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
    keep_prob: float,
    lr: float,
    num_steps: int,
    *,
    generator: torch.Generator | None = None,
    activation: str = "tanh",
    record_every: int = 1,
    X_test=None,
    y_test=None,
    progress: bool = False,
) -> Trajectory:
    """Full-batch gradient descent with dropout (SME paper eq. 6), a fresh mask every step.

    ``keep_prob=1`` is plain gradient descent on R_S.

    Args:
        a: (m,) or (m, K) initial output weights (not modified).
        W: (m, d) initial input weights (not modified).
        X: (n, d) training inputs.
        y: (n,) or (n, K) training targets.
        keep_prob: probability p of keeping a neuron, in (0, 1].
        lr: learning rate η > 0.
        num_steps: number of steps N >= 1.
        generator: torch generator for the masks.
        activation: activation name.
        record_every: record the losses every this many steps (and at the last step).
        X_test: optional test inputs.
        y_test: optional test targets.
        progress: show a tqdm progress bar.

    Returns:
        A :class:`Trajectory`.

    Raises:
        ValueError: invalid argument.
        DivergenceError: the loss or the parameters became non-finite or exceeded 1e12 in magnitude; the
            error names the step and the quantity.
    """
    prob = as_problem(a, W, X, y)
    p = check_keep_prob(keep_prob)
    eta = check_positive(lr, "lr")
    num_steps = check_positive_int(num_steps, "num_steps")
    record_every = check_positive_int(record_every, "record_every")
    a_user = prob.a[:, 0] if prob.scalar_output else prob.a
    test = None if X_test is None else as_problem(a_user, prob.W, X_test, y_test)
    act = get_activation(activation)
    A, Wc = prob.a.clone(), prob.W.clone()
    steps, train, tests = [], [], []

    def record(step: int, loss: torch.Tensor) -> None:
        check_finite_step(step, "train loss", loss)
        steps.append(step)
        train.append(float(loss))
        if test is not None:
            r = act.f(test.X @ Wc.T) @ A - test.y
            tests.append(float(0.5 * (r * r).sum() / test.n))

    for step in tqdm(range(num_steps + 1), disable=not progress, desc="dropout GD"):
        cur = Problem(A, Wc, prob.X, prob.y, prob.scalar_output)
        if step % record_every == 0 or step == num_steps:
            record(step, _grads(cur, act, None)[0])
        if step == num_steps:
            break
        mask = None if p == 1.0 else sample_mask(prob.m, p, generator, dtype=A.dtype, device=A.device)
        _, ga, gW = _grads(cur, act, mask)
        A = A - eta * ga
        Wc = Wc - eta * gW
        check_finite_step(step + 1, "output weights a", A)
        check_finite_step(step + 1, "input weights W", Wc)
    return Trajectory(
        torch.tensor(steps),
        torch.tensor(train, dtype=torch.float64),
        torch.tensor(tests, dtype=torch.float64) if test is not None else None,
        A[:, 0] if prob.scalar_output else A,
        Wc,
    )
