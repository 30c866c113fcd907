"""Ensembles of runs, batched over runs: dropout GD, GD on L_S or R_S, and the SMEs of order 1 and 2.

All runs start from the same initialization (θ_0 = Θ_0) and are advanced together as batched tensors
(a: (R, m, K), W: (R, m, d)), so R independent runs cost one batched matrix product per step.

* ``"dropout"``: θ_N = θ_{N−1} − η ∇R_S^drop(θ_{N−1}; δ_N), fresh mask per run and step (eq. 6): one per neuron
  shared by all examples (``mask="shared"``, the paper's and the default) or one per example and neuron
  (``mask="per_example"``, as ``torch.nn.Dropout``).
* ``"gd_modified"``: θ_N = θ_{N−1} − η ∇L_S(θ_{N−1}) (deterministic; one run suffices).
* ``"gd"``: plain gradient descent on R_S.
* ``"sme"``: Euler–Maruyama for dΘ = b(Θ) dt + √η Σ(Θ)^{1/2} dW with b = −∇L_S (order 1) or
  b = −∇(L_S + (η/4)‖∇L_S‖²) (order 2), ``substeps`` steps of size dt = η/substeps per learning-rate step,
  the Gaussian noise drawn exactly by the structured sampler (:mod:`dropout_theory.two_layer.noise`), whose
  covariance is the shared-mask Σ (the SME of the paper; ``mask="per_example"`` is refused).

Time is t = ηN in every case; records are taken at multiples of η.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from dropout_theory._checks import (
    check_allocation,
    check_choice,
    check_finite_step,
    check_iterations,
    check_keep_prob,
    check_positive,
    check_positive_int,
)
from dropout_theory.activations import get_activation
from dropout_theory.rng import MASK_CONVENTIONS, GeneratorLike, bernoulli_mask, torch_generator
from dropout_theory.stats import LogLinearFit, fit_power_law
from dropout_theory.tables import Table, TabularResult
from dropout_theory.two_layer import kernels
from dropout_theory.two_layer.model import as_problem
from dropout_theory.two_layer.modified_loss import dropout_variance

METHODS = ("dropout", "sme", "gd_modified", "gd")

#: Magnitude above which a loss or a parameter counts as diverged.
DIVERGENCE_LIMIT = 1e12


@dataclass(frozen=True)
class Ensemble:
    """Result of R runs from one initialization.

    Attributes:
        steps: (T,) learning-rate step indices N of the records (time t = lr·N).
        train_loss: (R, T) empirical risk R_S (no mask) on the training set.
        test_loss: (R, T) R_S on the test set, or ``None``.
        test_accuracy: (R, T) accuracy of argmax f on the test set (needs ``labels_test``), or ``None``.
        a: (R, m) or (R, m, K) final output weights.
        W: (R, m, d) final input weights.
        theta: (R, D) final flattened parameters (neuron-major).
        theta_path: (R, T, D) flattened parameters at the recorded steps (only with ``record_parameters``).
    """

    steps: torch.Tensor
    train_loss: torch.Tensor
    test_loss: torch.Tensor | None
    test_accuracy: torch.Tensor | None
    a: torch.Tensor
    W: torch.Tensor
    theta: torch.Tensor
    theta_path: torch.Tensor | None = None


def simulate(
    a,
    W,
    X,
    y,
    *,
    method: str,
    keep_prob: float,
    lr: float,
    num_steps: int,
    num_runs: int = 1,
    order: int = 1,
    substeps: int = 1,
    scheme: str = "euler",
    generator: GeneratorLike = None,
    activation: str = "tanh",
    record_every: int = 1,
    record_parameters: bool = False,
    X_test=None,
    y_test=None,
    labels_test=None,
    progress: bool = False,
    mask: str = "shared",
) -> Ensemble:
    """Run ``num_runs`` independent runs of one method from the same initialization, batched.

    Args:
        a: (m,) or (m, K) initial output weights.
        W: (m, d) initial input weights.
        X: (n, d) training inputs.
        y: (n,) or (n, K) training targets.
        method: "dropout", "sme", "gd_modified" (GD on L_S) or "gd" (GD on R_S).
        keep_prob: keep probability p in (0, 1] (dropout draws no masks when p = 1).
        lr: learning rate η > 0 (also the η inside the SME's diffusion and order-2 drift).
        num_steps: number N of learning-rate steps (time horizon t = ηN).
        num_runs: number of independent runs R >= 1.
        order: SME order, 1 or 2 (ignored by the other methods).
        substeps: integrator steps per learning-rate step for the SME (dt = η/substeps).
        scheme: SME integrator: "euler" (Euler–Maruyama, weak order 1 in dt) or "heun" (Heun predictor–
            corrector on the drift with the exact Gaussian noise at the left point; weak error
            O(dt² + η·dt), which the weak-convergence study needs to resolve O(η²) errors).
        generator: torch generator (or int seed) for masks and Gaussian noise.
        activation: activation name (the SME theorem needs a smooth one; "relu" runs but is outside it).
        record_every: record losses every this many learning-rate steps (and at the last one).
        record_parameters: also keep the flattened parameters at the recorded steps (``theta_path``).
        X_test: optional test inputs; y_test: their targets; labels_test: optional (n_test,) integer labels.
        progress: show a tqdm progress bar.
        mask: mask convention of ``"dropout"``: ``"shared"`` or ``"per_example"``
            (:data:`dropout_theory.rng.MASK_CONVENTIONS`); the SME supports ``"shared"`` only, the deterministic
            methods draw no masks (both conventions have the same L_S).

    Returns:
        An :class:`Ensemble`.

    Raises:
        ValueError: invalid argument.
        DivergenceError: the training loss (checked at every step) or the parameters became non-finite or exceeded
            1e12; the error names the first such step and the quantity.
    """
    method = check_choice(method, "method", METHODS)
    prob = as_problem(a, W, X, y)
    p = check_keep_prob(keep_prob)
    eta = check_positive(lr, "lr")
    num_steps = check_positive_int(num_steps, "num_steps")
    R = check_positive_int(num_runs, "num_runs")
    substeps = check_iterations(substeps, "substeps")
    record_every = check_positive_int(record_every, "record_every")
    D = prob.m * (prob.K + prob.d)
    num_records = num_steps // record_every + 2
    check_allocation(
        num_records * R * (3 + (D if record_parameters else 0)) + 4 * R * D,
        "the runs and their records",
        names=f"num_steps = {num_steps}, num_runs = {R}, record_every = {record_every}, D = {D}",
    )
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    scheme = check_choice(scheme, "scheme", ("euler", "heun"))
    per_example = check_choice(mask, "mask", MASK_CONVENTIONS) == "per_example"
    if per_example and method == "sme":
        raise ValueError(
            "mask='per_example' is not available for method='sme': its Gaussian noise has the shared-mask covariance"
        )
    act = get_activation(activation)
    v = dropout_variance(p)
    generator = torch_generator(generator, device=prob.W.device)
    a_user = prob.a[:, 0] if prob.scalar_output else prob.a
    test = None if X_test is None else as_problem(a_user, prob.W, X_test, y_test)
    labels = None
    if labels_test is not None:
        if test is None:
            raise ValueError("labels_test needs X_test and y_test")
        labels = torch.as_tensor(labels_test, device=prob.W.device)
        if labels.shape != (test.n,):
            raise ValueError(f"labels_test must have shape ({test.n},), got {tuple(labels.shape)}")
    A = prob.a.expand(R, -1, -1).clone()
    Wc = prob.W.expand(R, -1, -1).clone()
    X_, y_ = prob.X, prob.y
    steps, train, tloss, tacc, path = [], [], [], [], []
    dt = eta / substeps
    noise_scale = math.sqrt(dt * eta)

    def drift(A_, W_):
        if order == 1:
            ga_, gW_ = kernels.modified_loss_gradient(A_, W_, X_, y_, v=v, act=act)
            return -ga_, -gW_
        return kernels.order2_drift(A_, W_, X_, y_, v=v, lr=eta, act=act)

    def record(step: int, loss: torch.Tensor) -> None:
        steps.append(step)
        train.append(loss)
        if record_parameters:
            path.append(torch.cat([A, Wc], dim=-1).reshape(R, -1))
        if test is not None:
            out = act.f(test.X @ Wc.mT) @ A
            r = out - test.y
            tloss.append(0.5 * (r * r).sum((-2, -1)) / test.n)
            if labels is not None:
                tacc.append((out.argmax(-1) == labels).to(A.dtype).mean(-1))

    desc = f"{method}{' order ' + str(order) if method == 'sme' else ''}"
    for step in tqdm(range(num_steps + 1), disable=not progress, desc=desc):
        # the forward pass at θ_N gives the loss checked at every step and, for most methods, the step itself
        h, dh, e = kernels.forward_parts(A, Wc, X_, y_, act=act)
        loss = kernels.risk_from_residual(e)
        check_finite_step(step, "train loss", loss, DIVERGENCE_LIMIT)
        if step % record_every == 0 or step == num_steps:
            record(step, loss)
        if step == num_steps:
            break
        if method == "dropout":
            if p == 1.0:
                ga, gW = kernels.masked_gradient_from_parts(A, h, dh, X_, y_, None)
            else:
                shape = (R, prob.n, prob.m) if per_example else (R, prob.m)
                delta = bernoulli_mask(shape, keep_prob=p, generator=generator, dtype=A.dtype, device=A.device)
                if per_example:
                    ga, gW = kernels.per_example_masked_gradient_from_parts(A, h, dh, X_, y_, delta)
                else:
                    ga, gW = kernels.masked_gradient_from_parts(A, h, dh, X_, y_, delta)
            A, Wc = A - eta * ga, Wc - eta * gW
        elif method in ("gd", "gd_modified"):
            ga, gW = kernels.modified_loss_gradient_from_parts(A, h, dh, e, X_, v=v if method == "gd_modified" else 0.0)
            A, Wc = A - eta * ga, Wc - eta * gW
        else:
            for sub in range(substeps):
                if v > 0 and order == 1:
                    if sub > 0:
                        h, dh, e = kernels.forward_parts(A, Wc, X_, y_, act=act)
                    ba, bW, Za, Zw = kernels.order1_drift_and_noise_from_parts(
                        A, h, dh, e, X_, v=v, generator=generator
                    )
                    Za, Zw = noise_scale * Za, noise_scale * Zw
                elif v > 0:
                    ba, bW = drift(A, Wc)
                    Za, Zw = kernels.order1_drift_and_noise(A, Wc, X_, y_, v=v, act=act, generator=generator)[2:]
                    Za, Zw = noise_scale * Za, noise_scale * Zw
                else:
                    ba, bW = drift(A, Wc)
                    Za, Zw = torch.zeros_like(A), torch.zeros_like(Wc)
                if scheme == "heun":
                    # predictor–corrector on the drift, noise at the left point (Itô): weak error
                    # O(dt² + η·dt) instead of Euler–Maruyama's O(dt)
                    ba2, bW2 = drift(A + dt * ba + Za, Wc + dt * bW + Zw)
                    ba, bW = 0.5 * (ba + ba2), 0.5 * (bW + bW2)
                A, Wc = A + dt * ba + Za, Wc + dt * bW + Zw
        check_finite_step(step + 1, "output weights a", A, DIVERGENCE_LIMIT)
        check_finite_step(step + 1, "input weights W", Wc, DIVERGENCE_LIMIT)
    theta = torch.cat([A, Wc], dim=-1).reshape(R, -1)
    stack = torch.stack
    return Ensemble(
        torch.tensor(steps),
        stack(train, dim=1),
        stack(tloss, dim=1) if test is not None else None,
        stack(tacc, dim=1) if labels is not None else None,
        A[..., 0] if prob.scalar_output else A,
        Wc,
        theta,
        stack(path, dim=1) if record_parameters else None,
    )


@dataclass(frozen=True)
class WeakErrorStudy(TabularResult):
    """Weak errors ‖E Θ_t − E θ_t‖ of an SME against dropout at one keep_prob, for several learning rates.

    Attributes:
        lrs: (L,) learning rates.
        errors: (L,) ‖mean over runs of Θ_t − mean over runs of θ_t‖₂.
        std_errors: (L,) Monte Carlo standard error of that difference (√(Σ_j (s²_{Θ,j} + s²_{θ,j})/R)).
        fit: power law error ∝ lr^slope fitted in log–log coordinates (:func:`dropout_theory.stats.fit_power_law`).
        order: SME order.
        keep_prob: keep probability.
        time: horizon t.
    """

    lrs: np.ndarray
    errors: np.ndarray
    std_errors: np.ndarray
    fit: LogLinearFit
    order: int
    keep_prob: float
    time: float

    @property
    def slope(self) -> float:
        """The measured order: the exponent of the fitted power law."""
        return self.fit.exponent

    def table(self) -> Table:
        rows = [(lr, e, se) for lr, e, se in zip(self.lrs, self.errors, self.std_errors, strict=True)]
        title = (
            f"order-{self.order} SME vs dropout, keep_prob {self.keep_prob:g}, t = {self.time:g}: "
            f"slope {self.fit.exponent:.2f} ± {self.fit.stderr:.2f}"
        )
        return Table.build(("lr", "weak error", "MC s.e."), rows, formats=(".4g", ".3e", ".1e"), title=title)


def weak_error_study(
    a,
    W,
    X,
    y,
    *,
    keep_prob: float,
    lrs: Sequence[float],
    time: float,
    num_runs: int,
    order: int = 1,
    substeps: int | Sequence[int] = 1,
    scheme: str = "heun",
    generator: GeneratorLike = None,
    activation: str = "tanh",
) -> WeakErrorStudy:
    """Measure the weak error of the order-``order`` SME against dropout at horizon ``time``.

    For each η in ``lrs`` both ensembles run N = round(time/η) steps from the same (a, W), with
    ``num_runs`` runs each (batched), and the distance of the ensemble means is recorded. The SME is
    integrated with ``substeps`` steps of ``scheme`` per η (a list gives one value per η): its own time
    discretization error must be small against the weak error being measured (Euler–Maruyama's O(dt)
    would swamp the O(η²) error of the order-2 SME unless dt = O(η²); Heun's O(dt² + η·dt) does not).

    Returns:
        A :class:`WeakErrorStudy` (the slope of the log–log fit is the measured order).
    """
    time = check_positive(time, "time")
    if isinstance(lrs, str) or not hasattr(lrs, "__len__"):
        raise TypeError(f"lrs must be a sequence of learning rates, got {type(lrs).__name__} {lrs!r}")
    lrs = [check_positive(lr, "lrs") for lr in lrs]
    if len(lrs) < 2:
        raise ValueError(f"lrs needs at least two learning rates, got {lrs!r}")
    subs = [substeps] * len(lrs) if isinstance(substeps, int | np.integer) else substeps
    if isinstance(subs, str) or not hasattr(subs, "__len__"):
        raise TypeError(f"substeps must be an int or a sequence of ints, got {type(substeps).__name__} {substeps!r}")
    subs = [check_iterations(s, "substeps") for s in subs]
    if len(subs) != len(lrs):
        raise ValueError(f"substeps must be an int or have one entry per lr ({len(lrs)}), got {len(subs)}")
    check_positive_int(num_runs, "num_runs")
    generator = torch_generator(generator)
    errors, ses = [], []
    for lr, sub in zip(lrs, subs, strict=True):
        N = max(1, round(time / lr))
        common = {
            "keep_prob": keep_prob,
            "lr": lr,
            "num_steps": N,
            "num_runs": num_runs,
            "generator": generator,
            "activation": activation,
            "record_every": N,
        }
        drop = simulate(a, W, X, y, method="dropout", **common).theta
        sme = simulate(a, W, X, y, method="sme", order=order, substeps=sub, scheme=scheme, **common).theta
        errors.append(float(torch.linalg.vector_norm(drop.mean(0) - sme.mean(0))))
        R = drop.shape[0]
        var = (drop.var(0) + sme.var(0)).sum() / R if R > 1 else torch.tensor(float("nan"))
        ses.append(float(var.sqrt()))
    lr_arr, err_arr = np.asarray(lrs), np.asarray(errors)
    fit = fit_power_law(lr_arr, err_arr)
    return WeakErrorStudy(lr_arr, err_arr, np.asarray(ses), fit, order, float(keep_prob), float(time))
