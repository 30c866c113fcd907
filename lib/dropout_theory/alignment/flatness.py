"""Flatness along the principal directions of a parameter trajectory (SME paper §5.3, Feng & Tu's inverse
variance–flatness relation).

For parameters θ_t sampled over a window of training, the principal directions u_i of the trajectory carry
variances σ_i². Along u_i the loss-based flatness F_i is the width of the interval of s around θ̄ (here the
last point of the window, or any centre given) on which L(θ̄ + s u_i) ≤ factor · L(θ̄). The inverse relation
states σ_i² ∝ F_i^(−ψ) with ψ > 0: directions in which the noise spreads the parameters more are sharper.
:func:`dropout_parameter_window` records the window θ_1, …, θ_N of dropout gradient descent on the two-layer net.

A window still drifting along a flat valley puts the drift into the leading principal directions, whose variance
then measures the drift, not the fluctuation; ``detrend=True`` removes the least-squares line in time from every
coordinate first. :func:`eigenvector_overlap` compares the leading eigenvectors of two symmetric matrices (the
Hessian and the noise covariance, or the trajectory's covariance; SME paper App. B) against the overlap k/D of
random subspaces.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from dropout_theory._checks import ConvergenceError, as_tensor, check_callable, check_positive, check_positive_int
from dropout_theory.rng import GeneratorLike
from dropout_theory.stats import LogLinearFit, fit_power_law
from dropout_theory.two_layer import simulate


@dataclass(frozen=True)
class TrajectoryPCA:
    """Principal components of a window of parameters.

    Attributes:
        mean: (D,) mean parameter over the window.
        directions: (k, D) orthonormal principal directions, by decreasing variance.
        variances: (k,) variance of the projections on each direction (divisor T − 1).
    """

    mean: torch.Tensor
    directions: torch.Tensor
    variances: torch.Tensor


def trajectory_pca(thetas, *, num_components: int | None = None, detrend: bool = False) -> TrajectoryPCA:
    """PCA of a (T, D) window of flattened parameters via the SVD of the centred window (no D×D matrix).

    Args:
        thetas: (T, D) parameters θ_t, T >= 3 with ``detrend`` (2 without).
        num_components: number k of components kept (default min(T − 1, D), or min(T − 2, D) with ``detrend``).
        detrend: subtract from every coordinate its least-squares line in t (the drift) instead of its mean only;
            the variances are then those of the residual fluctuations (divisor T − 2).

    Returns:
        :class:`TrajectoryPCA` (``mean`` is the window mean in both cases).
    """
    thetas = as_tensor(thetas, "thetas", ndim=2)
    T, D = thetas.shape
    lost = 2 if detrend else 1
    if T < lost + 1:
        raise ValueError(f"thetas needs at least {lost + 1} time points, got shape {tuple(thetas.shape)}")
    kmax = min(T - lost, D)
    k = kmax if num_components is None else check_positive_int(num_components, "num_components")
    if k > kmax:
        raise ValueError(f"num_components must be <= {kmax} (time points − {lost}, or D), got {k}")
    mean = thetas.mean(0)
    centred = thetas - mean
    if detrend:
        t = torch.arange(T, dtype=thetas.dtype, device=thetas.device)
        t = (t - t.mean()) / (t - t.mean()).norm()
        centred = centred - t[:, None] * (t @ centred)[None, :]
    _, s, Vh = torch.linalg.svd(centred, full_matrices=False)
    return TrajectoryPCA(mean, Vh[:k], s[:k] ** 2 / (T - lost))


#: Bound on the bisection steps of :func:`loss_flatness`: each halves the bracket, so 200 steps reach any relative
#: tolerance >= machine epsilon from any bracket.
#: Smallest relative tolerance of :func:`loss_flatness` (float64 machine epsilon).
EPS = float(np.finfo(np.float64).eps)
MAX_BISECTION_STEPS = 200


def _crossing(f: Callable[[float], float], level: float, step: float, max_distance: float, tol: float) -> float:
    """Smallest s > 0 (to ``tol`` relative) with f(s) >= level, bracketing by doubling then bisecting.

    The doubling stops beyond ``max_distance`` (at most log2(max_distance/step) + 1 steps), the bisection after
    :data:`MAX_BISECTION_STEPS` (a :class:`ConvergenceError` with the bracket reached).
    """
    lo, hi = 0.0, step
    while f(hi) < level:
        lo, hi = hi, 2.0 * hi
        if hi > max_distance:
            return math.inf
    for _ in range(MAX_BISECTION_STEPS):
        if hi - lo <= tol * hi:
            return 0.5 * (lo + hi)
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if f(mid) >= level else (mid, hi)
    raise ConvergenceError("loss_flatness bisection", MAX_BISECTION_STEPS, {"lo": lo, "hi": hi, "tol": tol})


def loss_flatness(
    loss_fn: Callable[[torch.Tensor], torch.Tensor],
    theta,
    direction,
    *,
    factor: float = 2.0,
    initial_step: float = 1e-3,
    max_distance: float = 1e3,
    tol: float = 1e-6,
) -> float:
    """Width of the interval of s on which loss(θ + s u) <= factor · loss(θ), u = direction/‖direction‖.

    Args:
        loss_fn: maps a (D,) parameter vector to a scalar loss (> 0 at ``theta``).
        theta: (D,) centre.
        direction: (D,) nonzero direction.
        factor: the loss rise defining the interval edges, > 1.
        initial_step: first trial distance of the bracketing (doubled until the level is crossed).
        max_distance: distance beyond which a side is reported as infinitely flat (``inf``).
        tol: relative bisection tolerance.

    Returns:
        s₊ + s₋, the interval width (``inf`` if the loss never reaches the level on one side).
    """
    check_callable(loss_fn, "loss_fn", "loss_fn(theta) -> scalar")
    initial_step = check_positive(initial_step, "initial_step")
    max_distance = check_positive(max_distance, "max_distance")
    if max_distance <= initial_step:
        raise ValueError(f"max_distance must exceed initial_step = {initial_step!r}, got {max_distance!r}")
    tol = check_positive(tol, "tol")
    if not EPS <= tol < 1.0:
        raise ValueError(f"tol must lie in [{EPS!r}, 1) (a relative tolerance, at least machine epsilon), got {tol!r}")
    theta = as_tensor(theta, "theta", ndim=1)
    u = as_tensor(direction, "direction", ndim=1, dtype=theta.dtype, device=theta.device, like="theta")
    if u.shape != theta.shape or float(u.norm()) == 0.0:
        raise ValueError(f"direction must be a nonzero vector of shape {tuple(theta.shape)}, got {tuple(u.shape)}")
    factor = check_positive(factor, "factor")
    if factor <= 1.0:
        raise ValueError(f"factor must be > 1, got {factor}")
    u = u / u.norm()
    base = float(loss_fn(theta))
    if not base > 0.0 or not math.isfinite(base):
        raise ValueError(f"loss_fn at theta must be finite and > 0 for a multiplicative rise, got {base!r}")
    level = factor * base

    def along(s: float, sign: float) -> float:
        value = float(loss_fn(theta + sign * s * u))
        if math.isnan(value):
            raise ValueError(f"loss_fn returned nan at distance {s!r} from theta")
        return value

    widths = [
        _crossing(lambda s, sg=sign: along(s, sg), level, initial_step, max_distance, tol) for sign in (1.0, -1.0)
    ]
    return widths[0] + widths[1]


@dataclass(frozen=True)
class VarianceFlatness:
    """Variance and flatness per principal direction, and the fitted power σ² ∝ F^exponent.

    Attributes:
        variances: (k,) variances σ_i².
        flatness: (k,) interval widths F_i.
        fit: power law of variance against flatness (the inverse relation has exponent < 0), fitted over the
            directions with finite flatness (``fit.num_dropped`` counts the others).
    """

    variances: np.ndarray
    flatness: np.ndarray
    fit: LogLinearFit


def variance_flatness(
    thetas,
    loss_fn: Callable[[torch.Tensor], torch.Tensor],
    *,
    num_components: int | None = None,
    factor: float = 2.0,
    center=None,
    detrend: bool = False,
) -> VarianceFlatness:
    """PCA of a parameter window, flatness along each principal direction, and the power-law fit.

    Args:
        thetas: (T, D) parameters over the window.
        loss_fn: (D,) ↦ scalar loss.
        num_components: number of principal directions (default all, min(T − 1, D)).
        factor: loss rise defining the flatness interval, > 1.
        center: (D,) point at which flatness is measured (default the window mean).
        detrend: remove each coordinate's linear drift before the PCA (:func:`trajectory_pca`).

    Returns:
        :class:`VarianceFlatness`.
    """
    pca = trajectory_pca(thetas, num_components=num_components, detrend=detrend)
    c = pca.mean if center is None else as_tensor(center, "center", ndim=1, dtype=pca.mean.dtype)
    flat = np.array([loss_flatness(loss_fn, c, u, factor=factor) for u in pca.directions])
    var = pca.variances.detach().cpu().numpy()
    return VarianceFlatness(var, flat, fit_power_law(flat, var, drop_invalid=True))


@dataclass(frozen=True)
class EigenvectorOverlap:
    """How much the leading eigenvectors of two symmetric D×D matrices A and B share.

    Attributes:
        overlaps: (k, k) squared cosines (u_iᵀ v_j)² between the top-k eigenvectors u_i of A and v_j of B (by
            decreasing eigenvalue); each row and column sums to at most 1.
        subspace: ‖U_kᵀ V_k‖_F² / k in [0, 1], the mean squared cosine of the principal angles between the two top-k
            eigenspaces (1: the same subspace).
        random_subspace: k/D, the expected ``subspace`` for independent uniformly random k-dimensional subspaces.
    """

    overlaps: np.ndarray
    subspace: float
    random_subspace: float

    @property
    def diagonal(self) -> np.ndarray:
        """(k,) squared cosines (u_iᵀ v_i)² of the eigenvectors of the same rank."""
        return np.diagonal(self.overlaps).copy()


def eigenvector_overlap(A, B, *, k: int) -> EigenvectorOverlap:
    """Overlap of the top-k eigenvectors of symmetric A and B (dense, D up to a few thousand).

    Args:
        A: (D, D) symmetric matrix (e.g. the Hessian).
        B: (D, D) symmetric matrix (e.g. the dropout covariance).
        k: number of leading eigenvectors, 1 <= k <= D.

    Returns:
        :class:`EigenvectorOverlap`.
    """
    A = as_tensor(A, "A", ndim=2)
    B = as_tensor(B, "B", ndim=2, dtype=A.dtype)
    D = A.shape[0]
    if A.shape != (D, D) or B.shape != (D, D):
        raise ValueError(f"A and B must be square of the same size, got {tuple(A.shape)} and {tuple(B.shape)}")
    k = check_positive_int(k, "k")
    if k > D:
        raise ValueError(f"k must be <= D = {D}, got {k}")
    U = torch.linalg.eigh(0.5 * (A + A.T))[1].flip(1)[:, :k]
    V = torch.linalg.eigh(0.5 * (B + B.T))[1].flip(1)[:, :k]
    O = (U.T @ V) ** 2
    return EigenvectorOverlap(O.detach().cpu().numpy(), float(O.sum()) / k, k / D)


def dropout_parameter_window(
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
    mask: str = "shared",
) -> torch.Tensor:
    """θ_1, …, θ_N of dropout GD on the two-layer net from (a, W), flattened neuron-major (one
    :func:`dropout_theory.two_layer.simulate` run recording its parameters at every step).

    Args:
        a: (m,) or (m, K) starting output weights; W: (m, d) starting input weights.
        X: (n, d) inputs; y: targets.
        keep_prob: keep probability p in (0, 1].
        lr: learning rate η > 0.
        num_steps: window length N >= 1.
        generator: torch generator (or int seed) of the masks.
        activation: activation name.
        mask: ``"shared"`` or ``"per_example"`` masks.

    Returns:
        (N, D) parameters after each step.
    """
    ens = simulate(
        a,
        W,
        X,
        y,
        method="dropout",
        keep_prob=keep_prob,
        lr=lr,
        num_steps=check_positive_int(num_steps, "num_steps"),
        generator=generator,
        activation=activation,
        record_parameters=True,
        mask=mask,
    )
    return ens.theta_path[0, 1:]
