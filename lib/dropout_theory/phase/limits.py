"""The limit dynamics of the dropout particle system as the width n → ∞ (our reconstruction from the update rule).

Writing τ = τ₀ n^(−a) and q = q₀ n^(−b) (see :mod:`dropout_theory.phase.classify`), each nondegenerate phase
has a limit, simulated here on a finite cloud of particles (of the LIMIT dynamics, not of dropout):

* :func:`wasserstein_gradient_flow` — dX_i/dt = −Dφ(X_i)ᵀ(f_μ − y) (τ/q → 0, nq → ∞);
* :func:`penalized_flow` — the same plus −κ Dφ(X_i)ᵀ φ(X_i), κ = lim (1−q)/(qn) (nq → 1/κ, τ/q → 0);
* :func:`poisson_jump_process` — each particle carries an independent Poisson clock of rate 1/c and at each
  ring jumps X_i ↦ X_i − c Dφ(X_i)ᵀ(f_μ − y), c = lim τ/q (τ → 0);
* :func:`bernoulli_jump_process` — discrete time t = kτ, at every step each particle independently jumps with
  probability q by −(τ/q) Dφ(X_i)ᵀ(f_μ − y) (τ, q fixed);
* :func:`critical_corner_process` — τ ~ q ~ 1/n: Poisson clocks of rate 1/c, and a jumping particle sees the
  output of itself and a Poisson(ν) sample of partners, (1/ν)(φ(X_i) + Σ_{j∈P} φ(Y_j)), ν = lim nq: the
  propagation noise and the self term both stay of order one.

The flows are integrated with classical Runge–Kutta (order 4); the jump processes are simulated exactly
(event by event, exponential waiting times), with the output f_μ updated incrementally after each jump.
All functions accept the same particle shapes as :mod:`dropout_theory.phase.particles`: a (n,), W (n, d).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from dropout_theory._checks import (
    as_tensor,
    check_allocation,
    check_finite_step,
    check_iterations,
    check_keep_prob,
    check_positive,
    check_positive_int,
)
from dropout_theory.activations import Activation, get_activation
from dropout_theory.phase.particles import DIVERGENCE_LIMIT, velocity_kernel
from dropout_theory.rng import GeneratorLike, torch_generator


@dataclass(frozen=True)
class LimitPath:
    """A path of a limit dynamics on a finite cloud of n particles.

    Attributes:
        times: (T,) recorded mean-field times t.
        a: (T, n) output weights at those times.
        W: (T, n, d) input weights at those times.
        outputs: (T, N) network outputs f on the data at those times.
        loss: (T,) loss (1/2N) Σ (f − y)².
        jump_counts: (n,) number of jumps of each particle up to the final time (``None`` for flows).
        name: which limit.
    """

    times: torch.Tensor
    a: torch.Tensor
    W: torch.Tensor
    outputs: torch.Tensor
    loss: torch.Tensor
    jump_counts: torch.Tensor | None
    name: str


def _prepare(a0, W0, X, y) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    W0 = as_tensor(W0, "W0", ndim=2)
    kw = {"dtype": W0.dtype, "device": W0.device}
    a0 = as_tensor(a0, "a0", ndim=1, **kw)
    X = as_tensor(X, "X", ndim=2, **kw)
    y = as_tensor(y, "y", ndim=1, **kw)
    if a0.shape[0] != W0.shape[0]:
        raise ValueError(f"a0 has {a0.shape[0]} particles but W0 has {W0.shape[0]}")
    if X.shape[1] != W0.shape[1]:
        raise ValueError(f"X has {X.shape[1]} features but W0 expects d = {W0.shape[1]}")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y has {y.shape[0]} entries but X has {X.shape[0]} rows")
    return a0.clone(), W0.clone(), X, y


def _record_grid(t_final: float, num_records: int) -> torch.Tensor:
    num_records = check_positive_int(num_records, "num_records", minimum=2)
    check_allocation(num_records, "the record times", names=f"num_records = {num_records}")
    return torch.linspace(0.0, t_final, num_records, dtype=torch.float64)


def _path(name, times, As, Ws, X, y, act, counts) -> LimitPath:
    A = torch.stack(As)
    Wt = torch.stack(Ws)
    f = (A.unsqueeze(-2) @ act.f(Wt @ X.T)).squeeze(-2) / A.shape[-1]
    r = f - y
    return LimitPath(times, A, Wt, f, 0.5 * (r * r).mean(-1), counts, name)


def _flow(name, a0, W0, X, y, t_final, dt, penalty, activation, num_records, freeze_w) -> LimitPath:
    A, Wc, X, y = _prepare(a0, W0, X, y)
    t_final = check_positive(t_final, "t_final")
    dt = check_positive(dt, "dt")
    kappa = check_positive(penalty, "penalty", allow_zero=True)
    act = get_activation(activation)
    grid = _record_grid(t_final, num_records)

    def field(a, w):
        va, vw, _ = velocity_kernel(a, w, X, y, act=act, penalty=kappa, freeze_w=freeze_w)
        return -va, (torch.zeros_like(w) if vw is None else -vw)

    As, Ws = [A.clone()], [Wc.clone()]
    t = 0.0
    step = 0
    for target in grid[1:].tolist():
        while t < target - 1e-12:
            h = min(dt, target - t)
            k1 = field(A, Wc)
            k2 = field(A + 0.5 * h * k1[0], Wc + 0.5 * h * k1[1])
            k3 = field(A + 0.5 * h * k2[0], Wc + 0.5 * h * k2[1])
            k4 = field(A + h * k3[0], Wc + h * k3[1])
            A = A + h / 6.0 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
            Wc = Wc + h / 6.0 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
            t += h
            step += 1
            check_finite_step(step, f"{name} particles", A, DIVERGENCE_LIMIT)
            check_finite_step(step, f"{name} particles", Wc, DIVERGENCE_LIMIT)
        As.append(A.clone())
        Ws.append(Wc.clone())
    return _path(name, grid, As, Ws, X, y, act, None)


def wasserstein_gradient_flow(
    a0,
    W0,
    X,
    y,
    *,
    t_final: float,
    dt: float = 0.01,
    activation: str = "relu",
    num_records: int = 51,
    freeze_w: bool = False,
) -> LimitPath:
    """Particle discretization of the Wasserstein gradient flow dX_i/dt = −Dφ(X_i)ᵀ(f − y) (RK4, step dt).

    Args:
        a0: (n,) initial output weights.
        W0: (n, d) initial input weights.
        X: (N, d) inputs.
        y: (N,) targets.
        t_final: horizon t > 0 (mean-field time, t = kτ for the discrete dynamics).
        dt: integration step > 0.
        activation: activation name.
        num_records: number of equally spaced recorded times (including 0 and ``t_final``).
        freeze_w: keep the w_i fixed (random-features model).

    Returns:
        A :class:`LimitPath` (``jump_counts`` is ``None``).
    """
    return _flow("gradient flow", a0, W0, X, y, t_final, dt, 0.0, activation, num_records, freeze_w)


def penalized_flow(
    a0,
    W0,
    X,
    y,
    *,
    penalty: float,
    t_final: float,
    dt: float = 0.01,
    activation: str = "relu",
    num_records: int = 51,
    freeze_w: bool = False,
) -> LimitPath:
    """Gradient flow of the penalized energy: dX_i/dt = −Dφ(X_i)ᵀ(f − y) − κ Dφ(X_i)ᵀ φ(X_i) (RK4).

    κ = ``penalty`` is the limit of (1−q)/(qn); when q → 0 with nq → ν it equals 1/ν.

    Args:
        a0: (n,) initial output weights.
        W0: (n, d) initial input weights.
        X: (N, d) inputs.
        y: (N,) targets.
        penalty: κ >= 0.
        t_final: horizon t > 0.
        dt: integration step > 0.
        activation: activation name.
        num_records: number of recorded times.
        freeze_w: keep the w_i fixed.

    Returns:
        A :class:`LimitPath`.
    """
    return _flow("penalized flow", a0, W0, X, y, t_final, dt, penalty, activation, num_records, freeze_w)


def _single_velocity(a_i, w_i, X, resid, act: Activation, freeze_w: bool):
    """Dφ(X_i)ᵀ resid for one particle: (scalar, (d,) or None) and φ(X_i, ·)."""
    z = X @ w_i
    h = act.f(z)
    N = X.shape[0]
    va = (h * resid).sum() / N
    vw = None if freeze_w else a_i * ((act.df(z) * resid) @ X) / N
    return va, vw, a_i * h


def _jump_events(
    name, a0, W0, X, y, t_final, rate, jump_size, generator, activation, num_records, freeze_w, partners
) -> LimitPath:
    A, Wc, X, y = _prepare(a0, W0, X, y)
    n = A.shape[0]
    act = get_activation(activation)
    grid = _record_grid(t_final, num_records)
    generator = torch_generator(generator, device=A.device)
    kw = {"dtype": A.dtype, "device": A.device}
    Phi = A.unsqueeze(-1) * act.f(Wc @ X.T)  # (n, N) current φ(X_i, ·)
    f = Phi.mean(0)
    counts = torch.zeros(n, dtype=torch.int64)
    As, Ws = [A.clone()], [Wc.clone()]
    total_rate = n * rate
    t, event, chunk = 0.0, 0, 4096
    rec = 1
    while rec < len(grid):
        waits = -torch.log(torch.rand(chunk, generator=generator, **kw)) / total_rate
        who = torch.randint(0, n, (chunk,), generator=generator, device=A.device).tolist()
        if partners is not None:
            sizes = torch.poisson(torch.full((chunk,), partners, **kw), generator=generator).long().tolist()
        for e, dtw in enumerate(waits.tolist()):
            t += dtw
            while rec < len(grid) and t > grid[rec].item():
                As.append(A.clone())
                Ws.append(Wc.clone())
                rec += 1
            if rec >= len(grid):
                break
            i = who[e]
            if partners is None:
                resid = f - y
            else:
                k = sizes[e]
                idx = torch.randint(0, n, (k,), generator=generator, device=A.device)
                resid = (Phi[i] + Phi[idx].sum(0)) / partners - y
            va, vw, _ = _single_velocity(A[i], Wc[i], X, resid, act, freeze_w)
            A[i] = A[i] - jump_size * va
            if vw is not None:
                Wc[i] = Wc[i] - jump_size * vw
            new_phi = A[i] * act.f(X @ Wc[i])
            f = f + (new_phi - Phi[i]) / n
            Phi[i] = new_phi
            counts[i] += 1
            event += 1
            check_finite_step(event, f"{name} output", new_phi, DIVERGENCE_LIMIT)  # the jumping particle's φ
            if event % n == 0:  # refresh the running output against round-off
                f = Phi.mean(0)
                check_finite_step(event, f"{name} output", f, DIVERGENCE_LIMIT)
    check_finite_step(event, f"{name} particles", A, DIVERGENCE_LIMIT)
    check_finite_step(event, f"{name} particles", Wc, DIVERGENCE_LIMIT)
    return _path(name, grid, As, Ws, X, y, act, counts)


def poisson_jump_process(
    a0,
    W0,
    X,
    y,
    *,
    jump_size: float,
    t_final: float,
    generator: GeneratorLike = None,
    activation: str = "relu",
    num_records: int = 51,
    freeze_w: bool = False,
) -> LimitPath:
    """Mean-field jump process with independent Poisson clocks (the limit when τ/q → c > 0 and τ → 0).

    Each particle rings at rate 1/c (mean waiting time c, so its expected displacement per unit time is the
    gradient-flow velocity) and then jumps X_i ↦ X_i − c Dφ(X_i)ᵀ(f − y), f the current output of the cloud.
    Simulated exactly, one event at a time.

    Args:
        a0: (n,) initial output weights.
        W0: (n, d) initial input weights.
        X: (N, d) inputs.
        y: (N,) targets.
        jump_size: c = lim τ/q > 0.
        t_final: horizon t > 0.
        generator: torch generator or int seed of the clocks.
        activation: activation name.
        num_records: number of recorded times.
        freeze_w: keep the w_i fixed.

    Returns:
        A :class:`LimitPath` with ``jump_counts`` (each is Poisson(t/c) in law).
    """
    c = check_positive(jump_size, "jump_size")
    t_final = check_positive(t_final, "t_final")
    return _jump_events(
        "Poisson jump process",
        a0,
        W0,
        X,
        y,
        t_final,
        1.0 / c,
        c,
        generator,
        activation,
        num_records,
        freeze_w,
        None,
    )


def critical_corner_process(
    a0,
    W0,
    X,
    y,
    *,
    jump_size: float,
    mean_kept: float,
    t_final: float,
    generator: GeneratorLike = None,
    activation: str = "relu",
    num_records: int = 51,
    freeze_w: bool = False,
) -> LimitPath:
    """Limit at the critical corner τ = cν/n, q = ν/n: Poisson clocks and a random finite forward pass.

    Particle i rings at rate 1/c; it then draws K ~ Poisson(ν) partners uniformly from the cloud (the other
    neurons kept in the same step) and jumps X_i ↦ X_i − c Dφ(X_i)ᵀ[(1/ν)(φ(X_i) + Σ_{j∈P} φ(X_j)) − y].
    The mean of the bracket is f − y + φ(X_i)/ν (the penalty κ = 1/ν); its fluctuation is the
    propagation noise.

    Args:
        a0: (n,) initial output weights.
        W0: (n, d) initial input weights.
        X: (N, d) inputs.
        y: (N,) targets.
        jump_size: c = lim τ/q > 0.
        mean_kept: ν = lim nq > 0 (expected number of neurons kept per step).
        t_final: horizon t > 0.
        generator: torch generator or int seed.
        activation: activation name.
        num_records: number of recorded times.
        freeze_w: keep the w_i fixed.

    Returns:
        A :class:`LimitPath` with ``jump_counts``.
    """
    c = check_positive(jump_size, "jump_size")
    nu = check_positive(mean_kept, "mean_kept")
    t_final = check_positive(t_final, "t_final")
    return _jump_events(
        "critical corner process",
        a0,
        W0,
        X,
        y,
        t_final,
        1.0 / c,
        c,
        generator,
        activation,
        num_records,
        freeze_w,
        nu,
    )


def bernoulli_jump_process(
    a0,
    W0,
    X,
    y,
    *,
    tau: float,
    keep_prob: float,
    num_steps: int,
    generator: GeneratorLike = None,
    activation: str = "relu",
    record_every: int = 1,
    freeze_w: bool = False,
) -> LimitPath:
    """Discrete-time mean-field jump process with Bernoulli clocks (the limit when τ and q stay fixed).

    At every step each particle independently rings with probability q and then jumps by
    −(τ/q) Dφ(X_i)ᵀ(f − y), with f the UNMASKED output of the cloud. (On a finite cloud this is the
    ``"random_metric"`` variant of :func:`~dropout_theory.phase.particles.simulate_coupled`; with the same
    generator state both functions produce the same path.)

    Args:
        a0: (n,) initial output weights.
        W0: (n, d) initial input weights.
        X: (N, d) inputs.
        y: (N,) targets.
        tau: master learning rate τ > 0 (time step).
        keep_prob: ring probability q in (0, 1].
        num_steps: number of steps >= 1.
        generator: torch generator or int seed of the clocks.
        activation: activation name.
        record_every: record every this many steps (and the last).
        freeze_w: keep the w_i fixed.

    Returns:
        A :class:`LimitPath` whose ``times`` are kτ and with ``jump_counts`` (Binomial(k, q) in law).
    """
    A, Wc, X, y = _prepare(a0, W0, X, y)
    tau = check_positive(tau, "tau")
    q = check_keep_prob(keep_prob)
    num_steps = check_iterations(num_steps, "num_steps")
    record_every = check_positive_int(record_every, "record_every")
    act = get_activation(activation)
    generator = torch_generator(generator, device=A.device)
    n = A.shape[0]
    counts = torch.zeros(n, dtype=torch.int64, device=A.device)
    As, Ws, times = [A.clone()], [Wc.clone()], [0.0]
    for k in range(1, num_steps + 1):
        # same draws as simulate_coupled (two masks per step, the first one used): the paths coincide
        ring = torch.rand((2, 1, n), generator=generator, dtype=A.dtype, device=A.device)[0, 0] < q
        va, vw, _ = velocity_kernel(A, Wc, X, y, act=act, freeze_w=freeze_w)
        step = (tau / q) * ring.to(A.dtype)
        A = A - step * va
        if vw is not None:
            Wc = Wc - step.unsqueeze(-1) * vw
        counts += ring.long()
        check_finite_step(k, "Bernoulli jump process particles", A, DIVERGENCE_LIMIT)
        check_finite_step(k, "Bernoulli jump process particles", Wc, DIVERGENCE_LIMIT)
        if k % record_every == 0 or k == num_steps:
            As.append(A.clone())
            Ws.append(Wc.clone())
            times.append(k * tau)
    return _path("Bernoulli jump process", torch.tensor(times, dtype=torch.float64), As, Ws, X, y, act, counts.cpu())
