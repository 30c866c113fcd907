"""Stochastic modified equations beyond the two-layer network (SME paper, App. C): SGD and deep dropout networks.

Any update θ ← θ − η g(θ; ξ) with a random ξ of finite support (a dropout mask, a mini-batch) has an order-1 SME

    dΘ = −E_ξ g(Θ; ξ) dt + √η Σ(Θ)^{1/2} dW,    Σ(θ) = Cov_ξ g(θ; ξ),

with the same first two moments per step. When ξ takes finitely many values ξ_k with probabilities w_k, the
covariance factors exactly, Σ = Σ_k w_k (g_k − ḡ)(g_k − ḡ)ᵀ = FᵀF with rows F_k = √w_k (g_k − ḡ), so Gaussian noise
with covariance Σ is Fᵀz, z ~ N(0, I): no D×D matrix and no square root (the two-layer chapter's sampler does the
same with the structured sources of its closed form). This module computes drift and factor for

* dropout on every hidden layer of a multilayer perceptron (:func:`dropout_sme_coefficients`): all 2^U masks of the
  U hidden units are enumerated (tiny networks), shared by the batch (``mask="shared"``: 2^U sources) or one per
  example (``mask="per_example"``: the n examples' gradients are independent, n·2^U sources);
* mini-batch SGD without replacement (:func:`sgd_sme_coefficients`): with per-example gradients ∇ℓ_i and
  s² = (1/n) Σ_i (∇ℓ_i − ∇L)(∇ℓ_i − ∇L)ᵀ, Cov = (n − B)/(B(n − 1)) s² (a batch of B of n), factor rows
  √((n − B)/(B(n − 1)n)) (∇ℓ_i − ∇L);

and simulates the discrete processes and their SMEs batched over runs (:func:`simulate_mlp`), with a weak-error
study (:func:`mlp_weak_error_study`) as for the two-layer network.

The network is functional: θ is flat, layer by layer (weight (out, in) row-major, then bias), tanh (or any
activation of :mod:`dropout_theory.activations`) on every hidden layer followed by dropout multipliers δ ∈ {0, 1/p},
a linear output, and the loss ½‖f(x) − y‖² averaged over examples (the two-layer chapters' R_S). With one hidden
layer and no bias it is the two-layer network f(x) = Σ_r a_r σ(w_r·x) with a = W₂ᵀ.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.func import grad, vmap

from dropout_theory._checks import (
    as_tensor,
    check_allocation,
    check_choice,
    check_finite_step,
    check_iterations,
    check_keep_prob,
    check_positive,
    check_positive_int,
    traced,
)
from dropout_theory.activations import get_activation
from dropout_theory.rng import MASK_CONVENTIONS, GeneratorLike, bernoulli_mask, torch_generator
from dropout_theory.stats import fit_power_law
from dropout_theory.two_layer import WeakErrorStudy

#: Largest number of hidden units whose 2^U masks are enumerated.
MAX_ENUMERATED_UNITS = 14
NOISES_SME: tuple[str, ...] = ("dropout", "sgd")


def _widths(widths: Sequence[int]) -> tuple[int, ...]:
    out = tuple(check_positive_int(w, "widths") for w in widths)
    if len(out) < 3:
        raise ValueError(f"widths needs at least (input, hidden, output), got {list(widths)}")
    return out


def mlp_num_params(widths: Sequence[int], *, bias: bool = True) -> int:
    """Number D of parameters of the functional MLP with layer sizes ``widths``."""
    w = _widths(widths)
    return sum(o * i + (o if bias else 0) for i, o in itertools.pairwise(w))


def init_mlp(
    widths: Sequence[int], *, generator: GeneratorLike = None, bias: bool = True, dtype: torch.dtype = torch.float64
) -> torch.Tensor:
    """Flat parameters θ (D,) drawn N(0, 1/fan_in) for weights and biases (no global random state)."""
    w = _widths(widths)
    gen = torch_generator(generator)
    parts = []
    for i, o in itertools.pairwise(w):
        parts.append(torch.randn(o * i, generator=gen, dtype=dtype) / math.sqrt(i))
        if bias:
            parts.append(torch.randn(o, generator=gen, dtype=dtype) / math.sqrt(i))
    return torch.cat(parts)


def mlp_forward(
    theta: torch.Tensor,
    X: torch.Tensor,
    *,
    widths: Sequence[int],
    mask: torch.Tensor | None = None,
    activation: str = "tanh",
    bias: bool = True,
) -> torch.Tensor:
    """Outputs (n, K) of the MLP at θ; ``mask`` multiplies the hidden units (after the activation).

    Args:
        theta: (D,) flat parameters.
        X: (n, d) inputs.
        widths: (d, h_1, …, h_L, K).
        mask: ``None`` (no dropout), (U,) one multiplier per hidden unit shared by the examples, or (n, U) one per
            example, U = h_1 + … + h_L, in layer order.
        activation: activation name.
        bias: whether the layers have biases.
    """
    w = _widths(widths)
    theta = as_tensor(theta, "theta", ndim=1)
    X = as_tensor(X, "X", ndim=2, dtype=theta.dtype, device=theta.device, like="theta")
    D = mlp_num_params(w, bias=bias)
    if theta.numel() != D or X.shape[1] != w[0] or X.shape[0] == 0:
        raise ValueError(
            f"theta must have D = {D} entries and X be (n >= 1, {w[0]}) for widths {list(w)}, got "
            f"{tuple(theta.shape)} and {tuple(X.shape)}"
        )
    mask = _check_mask(mask, X.shape[0], sum(w[1:-1]), theta)
    return _mlp_forward(theta, X, w, mask, get_activation(activation), bias)


def _check_mask(mask, n: int, U: int, theta: torch.Tensor) -> torch.Tensor | None:
    if mask is None:
        return None
    mask = as_tensor(mask, "mask", dtype=theta.dtype, device=theta.device, like="theta")
    if mask.shape not in ((U,), (n, U)) or (not traced(mask) and bool((mask < 0).any())):
        raise ValueError(
            f"mask must be (U,) = ({U},) or (n, U) = ({n}, {U}) with entries >= 0, got {tuple(mask.shape)}"
        )
    return mask


def _mlp_forward(theta, X, w, mask, act, bias: bool) -> torch.Tensor:
    """:func:`mlp_forward` without the entry checks (inside the simulators, whose inputs were checked once)."""
    h, pos, unit = X, 0, 0
    for layer, (i, o) in enumerate(itertools.pairwise(w)):
        W = theta[pos : pos + o * i].reshape(o, i)
        pos += o * i
        h = h @ W.T
        if bias:
            h = h + theta[pos : pos + o]
            pos += o
        if layer < len(w) - 2:
            h = act.f(h)
            if mask is not None:
                h = h * mask[..., unit : unit + o]
            unit += o
    return h


def mlp_loss(theta, X, y, *, widths, mask=None, activation: str = "tanh", bias: bool = True) -> torch.Tensor:
    """½‖f(x) − y‖² averaged over the examples (y: (n, K))."""
    theta, X, y, w = _check_problem(theta, X, y, widths, bias)
    mask = _check_mask(mask, X.shape[0], sum(w[1:-1]), theta)
    return _mlp_loss(theta, X, y, widths=w, mask=mask, activation=activation, bias=bias)


def _mlp_loss(theta, X, y, *, widths, mask=None, activation: str = "tanh", bias: bool = True) -> torch.Tensor:
    """:func:`mlp_loss` without the entry checks (differentiated at every step of the simulators)."""
    out = _mlp_forward(theta, X, widths, mask, get_activation(activation), bias)
    return 0.5 * ((out - y) ** 2).sum(-1).mean()


@dataclass(frozen=True)
class SMECoefficients:
    """Drift and noise of the order-1 SME at one θ.

    Attributes:
        drift: (D,) b(θ) = −E_ξ g(θ; ξ).
        factor: (S, D) rows F_k with Σ = FᵀF (S noise sources).
    """

    drift: torch.Tensor
    factor: torch.Tensor

    @property
    def covariance(self) -> torch.Tensor:
        """(D, D) Σ = FᵀF."""
        return self.factor.T @ self.factor


def _check_problem(theta, X, y, widths, bias):
    w = _widths(widths)
    theta = as_tensor(theta, "theta", ndim=1)
    X = as_tensor(X, "X", ndim=2, dtype=theta.dtype)
    y = as_tensor(y, "y", ndim=(1, 2), dtype=theta.dtype)
    y = y[:, None] if y.dim() == 1 else y
    D = mlp_num_params(w, bias=bias)
    if theta.numel() != D:
        raise ValueError(f"theta must have D = {D} entries for widths {list(w)}, got {theta.numel()}")
    if X.shape[1] != w[0] or y.shape != (X.shape[0], w[-1]):
        raise ValueError(
            f"X must be (n, {w[0]}) and y (n, {w[-1]}) for widths {list(w)}, got {tuple(X.shape)} and {tuple(y.shape)}"
        )
    return theta, X, y, w


def _all_masks(units: int, keep_prob: float, dtype) -> tuple[torch.Tensor, torch.Tensor]:
    if units > MAX_ENUMERATED_UNITS:
        raise ValueError(f"enumerating masks needs at most {MAX_ENUMERATED_UNITS} hidden units, got {units}")
    keep = torch.tensor(list(itertools.product([0.0, 1.0], repeat=units)), dtype=dtype)
    weights = keep_prob ** keep.sum(1) * (1.0 - keep_prob) ** (units - keep.sum(1))
    return keep / keep_prob, weights


def _dropout_coefficients(theta, X, y, w, p, activation, bias, per_example) -> tuple[torch.Tensor, torch.Tensor]:
    """(drift (…, D), factor (…, S, D)) for θ (…, D), by enumeration; vmapped over leading θ dims by callers."""
    units = sum(w[1:-1])
    masks, weights = _all_masks(units, p, theta.dtype)

    def loss(t, x, t_y, m):
        return _mlp_loss(t, x, t_y, widths=w, mask=m, activation=activation, bias=bias)

    g = grad(loss)
    if not per_example:
        G = vmap(g, in_dims=(None, None, None, 0))(theta, X, y, masks)  # (2^U, D)
        mean = weights @ G
        return -mean, weights.sqrt()[:, None] * (G - mean)
    n = X.shape[0]
    # example i alone: its loss is ½‖f(x_i) − y_i‖², and the batch gradient is the mean of the n of them
    Gi = vmap(vmap(g, in_dims=(None, None, None, 0)), in_dims=(None, 0, 0, None))(theta, X[:, None], y[:, None], masks)
    means = torch.einsum("k,ikd->id", weights, Gi)  # (n, D)
    factor = (weights.sqrt()[None, :, None] * (Gi - means[:, None, :]) / n).reshape(-1, theta.shape[-1])
    return -means.mean(0), factor


def dropout_sme_coefficients(
    theta,
    X,
    y,
    *,
    widths: Sequence[int],
    keep_prob: float,
    activation: str = "tanh",
    bias: bool = True,
    mask: str = "shared",
) -> SMECoefficients:
    """Exact drift and noise factor of full-batch dropout GD on the MLP, by enumerating all masks.

    Args:
        theta: (D,) parameters.
        X: (n, d) inputs; y: (n,) or (n, K) targets.
        widths: (d, h_1, …, h_L, K), with U = h_1 + … + h_L ≤ :data:`MAX_ENUMERATED_UNITS`.
        keep_prob: keep probability p in (0, 1] of every hidden unit.
        activation: activation name.
        bias: whether the layers have biases.
        mask: ``"shared"`` (one mask per unit for the batch) or ``"per_example"``.

    Returns:
        :class:`SMECoefficients` (2^U or n·2^U noise sources).
    """
    theta, X, y, w = _check_problem(theta, X, y, widths, bias)
    p = check_keep_prob(keep_prob)
    per_example = check_choice(mask, "mask", MASK_CONVENTIONS) == "per_example"
    drift, factor = _dropout_coefficients(theta, X, y, w, p, activation, bias, per_example)
    return SMECoefficients(drift, factor)


def _sgd_coefficients(theta, X, y, w, batch_size, activation, bias) -> tuple[torch.Tensor, torch.Tensor]:
    n = X.shape[0]

    def loss(t, x, t_y):
        return _mlp_loss(t, x, t_y, widths=w, activation=activation, bias=bias)

    Gi = vmap(grad(loss), in_dims=(None, 0, 0))(theta, X[:, None], y[:, None])  # (n, D)
    mean = Gi.mean(0)
    scale = math.sqrt((n - batch_size) / (batch_size * (n - 1) * n)) if n > 1 else 0.0
    return -mean, scale * (Gi - mean)


def sgd_sme_coefficients(
    theta, X, y, *, widths: Sequence[int], batch_size: int, activation: str = "tanh", bias: bool = True
) -> SMECoefficients:
    """Exact drift −∇L and noise factor of SGD with batches of B of the n examples drawn without replacement.

    Args:
        theta: (D,) parameters.
        X: (n, d) inputs; y: (n,) or (n, K) targets.
        widths: layer sizes.
        batch_size: B in [1, n].
        activation: activation name.
        bias: whether the layers have biases.

    Returns:
        :class:`SMECoefficients` with n sources (Σ = (n − B)/(B(n − 1)) · (1/n) Σ_i (∇ℓ_i − ∇L)(∇ℓ_i − ∇L)ᵀ).
    """
    theta, X, y, w = _check_problem(theta, X, y, widths, bias)
    B = _check_batch(batch_size, X.shape[0])
    drift, factor = _sgd_coefficients(theta, X, y, w, B, activation, bias)
    return SMECoefficients(drift, factor)


def _check_batch(batch_size, n: int) -> int:
    B = check_positive_int(batch_size, "batch_size")
    if B > n:
        raise ValueError(f"batch_size must lie in [1, n] = [1, {n}], got {B}")
    return B


def simulate_mlp(
    theta,
    X,
    y,
    *,
    widths: Sequence[int],
    method: str,
    noise: str,
    lr: float,
    num_steps: int,
    num_runs: int = 1,
    keep_prob: float = 1.0,
    batch_size: int | None = None,
    mask: str = "shared",
    substeps: int = 1,
    activation: str = "tanh",
    bias: bool = True,
    generator: GeneratorLike = None,
) -> torch.Tensor:
    """``num_runs`` runs from θ of the discrete process or of its order-1 SME, batched; returns the final θ.

    Args:
        theta: (D,) starting parameters.
        X: (n, d) inputs; y: (n,) or (n, K) targets.
        widths: layer sizes.
        method: ``"discrete"`` (dropout GD or SGD itself) or ``"sme"`` (Euler–Maruyama with ``substeps`` steps of
            dt = η/substeps per learning-rate step and the exact factor of the noise).
        noise: ``"dropout"`` (full-batch dropout GD, masks as ``mask``) or ``"sgd"`` (batches of ``batch_size``
            without replacement, a fresh batch every step).
        lr: learning rate η > 0 (also the η of the SME's diffusion).
        num_steps: learning-rate steps N (time t = ηN).
        num_runs: independent runs R.
        keep_prob: keep probability of the dropout noise.
        batch_size: SGD batch size B (required for ``noise="sgd"``).
        mask: dropout mask convention.
        substeps: SME integrator steps per learning-rate step.
        activation: activation name.
        bias: whether the layers have biases.
        generator: torch generator (or int seed) of masks, batches and Gaussian noise.

    Returns:
        (R, D) parameters at step N.

    Raises:
        DivergenceError: non-finite or exploding parameters (names the first such step).
    """
    theta, X, y, w = _check_problem(theta, X, y, widths, bias)
    method = check_choice(method, "method", ("discrete", "sme"))
    noise = check_choice(noise, "noise", NOISES_SME)
    eta = check_positive(lr, "lr")
    num_steps = check_iterations(num_steps, "num_steps")
    R = check_positive_int(num_runs, "num_runs")
    substeps = check_iterations(substeps, "substeps")
    per_example = check_choice(mask, "mask", MASK_CONVENTIONS) == "per_example"
    n, units = X.shape[0], sum(w[1:-1])
    D = theta.numel()
    check_allocation(R * D * (4 + n), "the runs' parameters and noise factors", names=f"num_runs = {R}, D = {D}")
    if noise == "dropout":
        p = check_keep_prob(keep_prob)
        coefficients = vmap(lambda t: _dropout_coefficients(t, X, y, w, p, activation, bias, per_example))
    else:
        B = _check_batch(batch_size, n)
        coefficients = vmap(lambda t: _sgd_coefficients(t, X, y, w, B, activation, bias))
    gen = torch_generator(generator)
    thetas = theta.expand(R, -1).clone()

    def loss(t, m, x, t_y):
        return _mlp_loss(t, x, t_y, widths=w, mask=m, activation=activation, bias=bias)

    batched_grad = vmap(grad(loss), in_dims=(0, 0, None, None))
    batch_grad = vmap(grad(loss), in_dims=(0, None, 0, 0))
    dt = eta / substeps
    for step in range(num_steps):
        if method == "discrete":
            if noise == "dropout":
                shape = (R, n, units) if per_example else (R, units)
                masks = bernoulli_mask(shape, keep_prob=p, generator=gen, dtype=theta.dtype)
                g = batched_grad(thetas, masks, X, y)
            else:
                idx = torch.rand(R, n, generator=gen, dtype=theta.dtype).argsort(1)[:, :B]
                g = batch_grad(thetas, None, X[idx], y[idx])
            thetas = thetas - eta * g
        else:
            for _ in range(substeps):
                drift, factor = coefficients(thetas)  # (R, D), (R, S, D)
                z = torch.randn(factor.shape[:2], generator=gen, dtype=theta.dtype)
                thetas = thetas + dt * drift + math.sqrt(dt * eta) * torch.einsum("rs,rsd->rd", z, factor)
        check_finite_step(step + 1, "parameters", thetas, 1e12)
    return thetas


def mlp_weak_error_study(
    theta,
    X,
    y,
    *,
    widths: Sequence[int],
    noise: str,
    lrs: Sequence[float],
    time: float,
    num_runs: int,
    keep_prob: float = 1.0,
    batch_size: int | None = None,
    mask: str = "shared",
    substeps: int = 1,
    activation: str = "tanh",
    bias: bool = True,
    generator: GeneratorLike = None,
) -> WeakErrorStudy:
    """‖E Θ_t − E θ_t‖ of the order-1 SME against the discrete process for several learning rates.

    For each η both ensembles run N = round(time/η) steps from θ with ``num_runs`` runs; the result holds the
    errors, their Monte Carlo standard errors and the fitted log–log slope (the measured weak order), as
    :func:`dropout_theory.two_layer.weak_error_study` does for the two-layer network. ``keep_prob`` is recorded as
    given (1 for SGD).
    """
    time = check_positive(time, "time")
    lrs = [check_positive(lr, "lrs") for lr in lrs]
    if len(lrs) < 2:
        raise ValueError(f"lrs needs at least two learning rates, got {lrs!r}")
    gen = torch_generator(generator)
    opts = dict(
        widths=widths,
        noise=noise,
        num_runs=num_runs,
        keep_prob=keep_prob,
        batch_size=batch_size,
        mask=mask,
        activation=activation,
        bias=bias,
        generator=gen,
    )
    errors, ses = [], []
    for lr in lrs:
        N = max(1, round(time / lr))
        disc = simulate_mlp(theta, X, y, method="discrete", lr=lr, num_steps=N, **opts)
        sme = simulate_mlp(theta, X, y, method="sme", lr=lr, num_steps=N, substeps=substeps, **opts)
        errors.append(float((disc.mean(0) - sme.mean(0)).norm()))
        ses.append(float(((disc.var(0) + sme.var(0)).sum() / disc.shape[0]).sqrt()))
    lr_arr, err_arr = np.asarray(lrs), np.asarray(errors)
    return WeakErrorStudy(lr_arr, err_arr, np.asarray(ses), fit_power_law(lr_arr, err_arr), 1, float(keep_prob), time)
