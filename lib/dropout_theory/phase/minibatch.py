"""Coupled variants of mini-batch SGD with dropout for the mean-field two-layer network (squared or logistic loss).

Model and loss. f(x) = (1/n) Σ_i a_i relu(w_i·x) (no bias, as in the phase paper's authors' code); on a mini-batch
of B points the loss is (1/B) Σ_k ℓ(f(x_k), y_k) with ℓ = ½(f − y)² (``"squared"``) or ℓ = log(1 + e^(−y f))
(``"logistic"``, y ∈ {−1, +1}). One step of a variant with forward multipliers m^fwd and backward multipliers
m^back moves every particle X_i = (a_i, w_i) by

    X_i ← X_i − τ m_i^back (1/B) Σ_k ℓ'(f_{m^fwd}(x_k), y_k) ∇_X [a_i relu(w_i·x_k)],

where f_m is the network with neuron j's output multiplied by m_j. With m^fwd = m^back this is SGD with dropout on
the loss at the per-parameter learning rate τ·n (the master step τ of the mean-field scaling).

Variants (:data:`MINIBATCH_VARIANTS`, the names of :data:`dropout_theory.phase.VARIANTS`), all driven by one mask
stream and one batch stream: every step draws the batch (B indices without replacement, shared by all variants) and
two independent masks m₁, m₂ ∈ {0, 1/q}ⁿ whatever the variants requested.

* ``"dropout"`` — forward m₁, backward m₁;
* ``"no_dropout"`` — no mask (plain SGD);
* ``"random_metric"`` — forward unmasked, backward m₁ (the gradients thinned after the pass: "random geometry");
* ``"propagation_noise"`` — forward m₁, backward unmasked (the other neurons' masks only);
* ``"propagation_noise_random_metric"`` — forward m₂, backward m₁ (independent masks).

With ``batch_size=None`` every step uses all N points and draws no batch; with the squared loss the run is then
:func:`dropout_theory.phase.simulate_coupled` (same masks from the same seed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from dropout_theory._checks import (
    as_tensor,
    check_choice,
    check_finite_step,
    check_iterations,
    check_keep_prob,
    check_positive,
    check_positive_int,
)
from dropout_theory.rng import GeneratorLike, torch_generator

#: Loss functions of :func:`simulate_coupled_sgd`.
LOSSES: tuple[str, ...] = ("squared", "logistic")
#: The five coupled variants of the authors' MNIST experiment.
MINIBATCH_VARIANTS: tuple[str, ...] = (
    "no_dropout",
    "dropout",
    "random_metric",
    "propagation_noise",
    "propagation_noise_random_metric",
)
_FORWARD = {"dropout": 1, "propagation_noise": 1, "propagation_noise_random_metric": 2}
_BACKWARD = {"dropout": 1, "random_metric": 1, "propagation_noise_random_metric": 1}
#: Magnitude above which a loss or a parameter counts as diverged.
DIVERGENCE_LIMIT = 1e12


def loss_and_slope(f: torch.Tensor, y: torch.Tensor, loss: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Pointwise loss ℓ(f, y) and its derivative ∂ℓ/∂f.

    Args:
        f: (..., N) outputs.
        y: (N,) targets (±1 for the logistic loss).
        loss: ``"squared"`` (½(f − y)²) or ``"logistic"`` (log(1 + e^(−y f)), computed as softplus(−y f)).

    Returns:
        ``(ℓ (..., N), ∂ℓ/∂f (..., N))``.
    """
    if loss == "squared":
        r = f - y
        return 0.5 * r * r, r
    margin = -y * f
    return torch.nn.functional.softplus(margin), -y * torch.sigmoid(margin)


def minibatch_velocity(
    A: torch.Tensor, W: torch.Tensor, X: torch.Tensor, y: torch.Tensor, *, forward_mask: torch.Tensor | None, loss: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(1/B) Σ_k ℓ'(f_m(x_k), y_k) ∇_X[a_i relu(w_i·x_k)] for every particle, batched over leading dims.

    Args:
        A: (..., n) output weights; W: (..., n, d) input weights; X: (B, d) inputs; y: (B,) targets.
        forward_mask: (..., n) multipliers of the forward pass, or ``None``.
        loss: ``"squared"`` or ``"logistic"``.

    Returns:
        ``(v_a (..., n), v_W (..., n, d), mean loss of the masked network (...))``.
    """
    n, B = A.shape[-1], X.shape[0]
    Z = W @ X.T  # (..., n, B)
    H = torch.relu(Z)
    Am = A if forward_mask is None else A * forward_mask
    f = (Am.unsqueeze(-2) @ H).squeeze(-2) / n  # (..., B)
    values, r = loss_and_slope(f, y, loss)
    v_a = (H @ r.unsqueeze(-1)).squeeze(-1) / B
    v_W = A.unsqueeze(-1) * ((Z > 0).to(A.dtype) @ (r.unsqueeze(-1) * X)) / B
    return v_a, v_W, values.mean(-1)


@dataclass(frozen=True)
class SGDRun:
    """Trajectories of :func:`simulate_coupled_sgd`.

    Attributes:
        variants: names of the variants (leading dimension V).
        steps: (T,) recorded steps (0 = initialization).
        rms_to_reference: (V, T) RMS particle distance sqrt((1/n) Σ_i ‖X_i − X_i^ref‖²) to the reference variant.
        reference: the reference variant.
        metrics: ``"<set>_loss"`` (and ``"<set>_accuracy"`` for the logistic loss, the fraction with y f > 0) →
            (V, T) values of the unmasked network on each evaluation set.
        snapshots: step → ``(a (V, n), W (V, n, d))`` at the steps of ``snapshot_steps``.
        a: (V, n) final output weights.
        W: (V, n, d) final input weights.
        tau: master learning rate τ; keep_prob: q; batch_size: B (``None``: full batch).
    """

    variants: tuple[str, ...]
    steps: torch.Tensor
    rms_to_reference: torch.Tensor
    reference: str
    metrics: dict[str, torch.Tensor]
    snapshots: dict[int, tuple[torch.Tensor, torch.Tensor]]
    a: torch.Tensor
    W: torch.Tensor
    tau: float
    keep_prob: float
    batch_size: int | None

    def index(self, variant: str) -> int:
        """Position of ``variant`` along the leading dimension."""
        check_choice(variant, "variant", self.variants)
        return self.variants.index(variant)


def simulate_coupled_sgd(
    a0,
    W0,
    X,
    y,
    *,
    tau: float,
    keep_prob: float,
    num_steps: int,
    batch_size: int | None = 64,
    loss: str = "logistic",
    variants: Sequence[str] = MINIBATCH_VARIANTS,
    reference: str = "dropout",
    evaluate: Mapping[str, tuple[torch.Tensor, torch.Tensor]] | None = None,
    record_every: int = 100,
    snapshot_steps: Sequence[int] = (),
    generator: GeneratorLike = None,
    progress: bool = False,
) -> SGDRun:
    """Run coupled variants of mini-batch SGD with dropout from one initialization, one batch and one mask stream.

    Args:
        a0: (n,) initial output weights.
        W0: (n, d) initial input weights.
        X: (N, d) training inputs.
        y: (N,) training targets (±1 for the logistic loss).
        tau: master learning rate τ > 0 (per-parameter learning rate τ·n).
        keep_prob: keep rate q in (0, 1].
        num_steps: number of steps >= 1.
        batch_size: B in [1, N], drawn without replacement at every step; ``None``: full batch.
        loss: ``"logistic"`` or ``"squared"``.
        variants: names from :data:`MINIBATCH_VARIANTS`.
        reference: the variant the RMS distances are measured to (must be in ``variants``).
        evaluate: set name → ``(X_set, y_set)`` on which the unmasked loss (and accuracy) are recorded; the
            training set is always recorded as ``"train"``.
        record_every: record every this many steps (and the last step).
        snapshot_steps: steps at which all variants' particles are kept (0 = initialization).
        generator: torch generator or int seed s: masks from seed s, batches from seed s + 1
            (:func:`dropout_theory.rng.torch_generator` with ``offset=1``).
        progress: tqdm progress bar.

    Returns:
        An :class:`SGDRun`.

    Raises:
        ValueError: invalid argument.
        DivergenceError: a mini-batch loss or the parameters became non-finite or exceeded 1e12 (the loss is checked
            at every step, the parameters at every recorded step; names the step and the variant).
    """
    q = check_keep_prob(keep_prob)
    tau = check_positive(tau, "tau")
    num_steps = check_iterations(num_steps, "num_steps")
    record_every = check_positive_int(record_every, "record_every")
    loss = check_choice(loss, "loss", LOSSES)
    if isinstance(variants, str) or not isinstance(variants, Sequence):
        raise TypeError(f"variants must be a sequence of names from {list(MINIBATCH_VARIANTS)}, got {variants!r}")
    variants = tuple(check_choice(v, "variants", MINIBATCH_VARIANTS) for v in variants)
    if not variants:
        raise ValueError("variants must name at least one of " + ", ".join(MINIBATCH_VARIANTS))
    reference = check_choice(reference, "reference", variants)
    W0 = as_tensor(W0, "W0", ndim=2)
    kw = {"dtype": W0.dtype, "device": W0.device}
    a0 = as_tensor(a0, "a0", ndim=1, **kw)
    X = as_tensor(X, "X", ndim=2, **kw)
    y = as_tensor(y, "y", ndim=1, **kw)
    n, d = W0.shape
    N = X.shape[0]
    if a0.shape[0] != n or X.shape[1] != d or y.shape[0] != N:
        raise ValueError(f"shapes do not match: a0 {tuple(a0.shape)}, W0 {tuple(W0.shape)}, X {tuple(X.shape)}, "
                         f"y {tuple(y.shape)}; need (n,), (n, d), (N, d), (N,)")  # fmt: skip
    if batch_size is not None:
        batch_size = check_positive_int(batch_size, "batch_size")
        if batch_size > N:
            raise ValueError(f"batch_size must be at most the number of training points {N}, got {batch_size}")
    if loss == "logistic" and not bool(((y == 1) | (y == -1)).all()):
        raise ValueError("the logistic loss needs targets y in {-1, +1}")
    if isinstance(snapshot_steps, str) or not isinstance(snapshot_steps, Sequence):
        raise TypeError(f"snapshot_steps must be a sequence of step indices, got {snapshot_steps!r}")
    snapshot_steps = sorted({check_positive_int(s, "snapshot_steps", minimum=0) for s in snapshot_steps})
    if snapshot_steps and not 0 <= snapshot_steps[0] <= snapshot_steps[-1] <= num_steps:
        raise ValueError(f"snapshot_steps must lie in [0, num_steps = {num_steps}], got {snapshot_steps}")
    sets = {"train": (X, y)}
    for name, (Xe, ye) in (evaluate or {}).items():
        Xe = as_tensor(Xe, f"evaluate[{name!r}] inputs", ndim=2, **kw)
        sets[name] = (Xe, as_tensor(ye, f"evaluate[{name!r}] targets", ndim=1, **kw))
    mask_gen = torch_generator(generator, device=W0.device)
    batch_gen = torch_generator(generator, offset=1, device="cpu")
    V = len(variants)
    A = a0.unsqueeze(0).expand(V, n).clone()
    Wc = W0.unsqueeze(0).expand(V, n, d).clone()
    ones = torch.ones(n, **kw)
    fwd_pick = [_FORWARD.get(v, 0) for v in variants]
    bwd_pick = [_BACKWARD.get(v, 0) for v in variants]
    iref = variants.index(reference)
    steps, rms, metrics, snapshots = [], [], {}, {}

    def check(k: int, quantity: str, values: torch.Tensor) -> None:
        worst = values.detach().abs().reshape(V, -1).amax(1)
        bad = ~torch.isfinite(worst) | (worst > DIVERGENCE_LIMIT)
        if bool(bad.any()):
            vi = int(bad.nonzero()[0, 0])
            check_finite_step(k, f"{quantity} of variant {variants[vi]!r}", worst[vi], DIVERGENCE_LIMIT)

    def record(k: int) -> None:
        check(k, "parameters", Wc)
        check(k, "output weights", A)
        dA, dW = A - A[iref], Wc - Wc[iref]
        rms.append(torch.sqrt((dA * dA + (dW * dW).sum(-1)).mean(-1)))
        for name, (Xe, ye) in sets.items():
            f = (A.unsqueeze(-2) @ torch.relu(Wc @ Xe.T)).squeeze(-2) / n  # (V, N_set)
            metrics.setdefault(f"{name}_loss", []).append(loss_and_slope(f, ye, loss)[0].mean(-1))
            if loss == "logistic":
                metrics.setdefault(f"{name}_accuracy", []).append((ye * f > 0).to(f.dtype).mean(-1))
        steps.append(k)

    def snapshot(k: int) -> None:
        if k in snapshot_steps:
            snapshots[k] = (A.clone(), Wc.clone())

    record(0)
    snapshot(0)
    for k in tqdm(range(1, num_steps + 1), disable=not progress, desc="coupled SGD"):
        u = torch.rand((2, n), generator=mask_gen, **kw)
        masks = (ones, (u[0] < q).to(A.dtype) / q, (u[1] < q).to(A.dtype) / q)
        fwd = torch.stack([masks[i] for i in fwd_pick])
        bwd = torch.stack([masks[i] for i in bwd_pick])
        if batch_size is None:
            Xb, yb = X, y
        else:
            idx = torch.randperm(N, generator=batch_gen)[:batch_size].to(X.device)
            Xb, yb = X[idx], y[idx]
        v_a, v_W, batch_loss = minibatch_velocity(A, Wc, Xb, yb, forward_mask=fwd, loss=loss)
        check(k - 1, "mini-batch loss", batch_loss)
        A = A - tau * bwd * v_a
        Wc = Wc - tau * bwd.unsqueeze(-1) * v_W
        if k % record_every == 0 or k == num_steps:
            record(k)
        snapshot(k)
    return SGDRun(
        variants=variants,
        steps=torch.tensor(steps),
        rms_to_reference=torch.stack(rms, -1),
        reference=reference,
        metrics={name: torch.stack(vals, -1) for name, vals in metrics.items()},
        snapshots=snapshots,
        a=A,
        W=Wc,
        tau=tau,
        keep_prob=q,
        batch_size=batch_size,
    )
