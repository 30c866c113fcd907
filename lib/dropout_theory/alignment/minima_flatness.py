"""Which minima do noisy trainings reach? Dropout vs SGD noise vs parametric noise injection (SME paper App. D).

The same network is trained from the same start, with the same learning rate η and step count, by the four
strategies of :func:`dropout_theory.networks.train_with_noise`: full-batch GD (dropout off), full-batch dropout GD,
mini-batch SGD and perturbed GD θ ← θ − η ∇L(θ + σε), whose mean step is the gradient of the smoothed loss
E_ε L(θ + σε) = L(θ) + (σ²/2) Tr H + O(σ⁴).

**How the noise levels are matched** (:func:`matched_noise_levels`): at the common starting point θ₀ we
measure the size of dropout's gradient noise (with the ``mask`` convention of the dropout run: one mask per unit
shared by the batch, or one per example and unit), T = Tr Σ_drop(θ₀) = E‖∇L(θ₀; δ) − E_δ∇L(θ₀; δ)‖², and choose
the batch size and σ that give SGD and parametric noise the same trace at θ₀:

* SGD without replacement: Tr Σ_B = s² (n − B) / (B (n − 1)) with s² = (1/n) Σ_i ‖∇ℓ_i − ∇L‖² (per-example
  gradients, exact), so B = n s² / ((n − 1) T + s²), rounded and clipped to [1, n];
* parametric: ∇L(θ + σε) − ∇L(θ) ≈ σ H ε, so Tr Σ_σ ≈ σ² ‖H‖_F² and σ = √(T / ‖H‖_F²) (‖H‖_F² by Hutchinson);
  the actual trace at that σ is then measured by sampling and reported, so the linearisation can be checked.

The match holds at θ₀ only: along training SGD noise shrinks with the per-example residuals, dropout noise
does not vanish at a minimum of the training loss, and parametric noise tracks ‖H‖_F. Same learning rate,
same number of steps, same starting point, same noise trace at the start — nothing else is equalised.

At each end point :func:`minima_flatness` measures the training loss (dropout off), the test loss and accuracy,
the top Hessian eigenvalue(s) of the training loss (dropout off) by Lanczos and its trace by Hutch++
(:mod:`dropout_theory.alignment.hessian_spectrum`, with :func:`dropout_theory.alignment.flat_hvp`).

``loss_fn(output, target)`` must be the MEAN of per-example losses (e.g. :func:`dropout_theory.networks.half_mse`)
so that a mini-batch gradient is an unbiased estimate of the full-batch one.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call, grad, vmap

from dropout_theory._checks import (
    check_allocation,
    check_choice,
    check_iterations,
    check_positive,
    check_positive_int,
)
from dropout_theory.alignment.estimators import hutchinson_frobenius_sq
from dropout_theory.alignment.hessian_spectrum import hessian_trace, top_hessian_eigenvalues
from dropout_theory.alignment.hvp import flat_hvp
from dropout_theory.networks import (
    NOISES,
    DropoutMasks,
    LossCurve,
    check_examples,
    controlled_dropout,
    keep_probs,
    module_flat_loss,
    train_with_noise,
    trainable_parameters,
)
from dropout_theory.networks.functional import LossFn
from dropout_theory.rng import MASK_CONVENTIONS, GeneratorLike, torch_generator
from dropout_theory.stats import Estimate
from dropout_theory.tables import Table, TabularResult


@dataclass(frozen=True)
class NoiseLevels(TabularResult):
    """Noise strengths matched at the starting point θ₀ (rule in the module docstring).

    Attributes:
        keep_probs: keep probabilities of the model's dropout layers.
        dropout_trace: Tr Σ_drop(θ₀), estimated from paired dropout gradients (the target T).
        per_example_variance: s² = (1/n) Σ_i ‖∇ℓ_i − ∇L‖² at θ₀ (exact).
        batch_size: matched mini-batch size B.
        sgd_trace: Tr Σ_B(θ₀) = s² (n − B)/(B (n − 1)) at that B (exact).
        hessian_frobenius_sq: ‖H(θ₀)‖_F² (Hutchinson).
        sigma: matched σ = √(T / ‖H‖_F²).
        parametric_trace: Tr Σ_σ(θ₀) measured by sampling perturbed gradients at that σ.
    """

    keep_probs: tuple[float, ...]
    dropout_trace: Estimate
    per_example_variance: float
    batch_size: int
    sgd_trace: float
    hessian_frobenius_sq: Estimate
    sigma: float
    parametric_trace: Estimate

    def table(self) -> Table:
        rows = [
            ("dropout", "keep_prob " + "/".join(f"{p:.3g}" for p in self.keep_probs), self.dropout_trace),
            ("sgd", f"batch {self.batch_size}", self.sgd_trace),
            ("parametric", f"sigma {self.sigma:.3g}", self.parametric_trace),
        ]
        return Table.build(("noise", "setting", "trace at the start"), rows, title="noise levels matched at θ₀")


def _paired_trace(draws: torch.Tensor) -> Estimate:
    """Tr Cov(g) from independent draws (2K, D): ‖(g_{2k} − g_{2k+1})‖²/2 has mean Tr Cov(g)."""
    d = (draws[0::2] - draws[1::2]) / math.sqrt(2.0)
    return Estimate.from_samples((d * d).sum(-1))


def _per_example_grads(model: nn.Module, loss_fn: LossFn, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    names, params = trainable_parameters(model)
    values = {k: p.detach() for k, p in zip(names, params, strict=True)}

    def one(prm, x, t):
        return loss_fn(functional_call(model, prm, (x.unsqueeze(0),)), t.unsqueeze(0))

    was_training = model.training
    model.eval()
    try:
        g = vmap(grad(one), in_dims=(None, 0, 0))(values, X, y)
    finally:
        model.train(was_training)
    return torch.cat([g[k].reshape(X.shape[0], -1) for k in names], dim=1)


def matched_noise_levels(
    model: nn.Module,
    loss_fn: LossFn,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    num_samples: int = 64,
    generator: GeneratorLike = None,
    mask: str = "shared",
) -> NoiseLevels:
    """Batch size and σ giving SGD and parametric noise the trace of dropout's noise at the current θ.

    Args:
        model: network with ``nn.Dropout`` layers, at the common starting point θ₀ (not modified).
        loss_fn: ``loss_fn(model(X), y)``, a mean of per-example losses.
        X: (n, …) training inputs; y: (n, …) targets.
        num_samples: dropout gradients, Hutchinson probes and perturbed gradients used (even, >= 4).
        generator: torch generator (or int seed) of masks, probes and perturbations.
        mask: dropout mask convention, ``"shared"`` or ``"per_example"``
            (:data:`dropout_theory.rng.MASK_CONVENTIONS`).

    Returns:
        :class:`NoiseLevels`.
    """
    num_samples = check_positive_int(num_samples, "num_samples", minimum=4)
    if num_samples % 2:
        raise ValueError(f"num_samples must be even (draws are paired), got {num_samples}")
    kp = keep_probs(model)  # checks that model is an nn.Module
    X, y = check_examples(X, y, model=model, loss_fn=loss_fn)
    num_params = sum(p.numel() for p in model.parameters())
    check_allocation(
        (num_samples + X.shape[0]) * num_params, "the gradient draws", names=f"num_samples = {num_samples}"
    )
    if not kp:
        raise ValueError("matching noise levels needs a model with nn.Dropout layers (give batch_size and sigma)")
    n = X.shape[0]
    _, params = trainable_parameters(model)
    generator = torch_generator(generator, device=X.device)
    masks = DropoutMasks(generator, mask=mask)
    # dropout noise at θ₀
    draws = []
    for _ in range(num_samples):
        with controlled_dropout(model, masks):
            masks.start()
            g = torch.autograd.grad(loss_fn(model(X), y), params)
        draws.append(torch.cat([gi.reshape(-1) for gi in g]))
    target = _paired_trace(torch.stack(draws))
    # SGD without replacement: exact from per-example gradients
    G = _per_example_grads(model, loss_fn, X, y)
    s2 = float(((G - G.mean(0)) ** 2).sum(1).mean())
    T = max(target.value, 0.0)
    if n == 1 or s2 == 0.0:
        B = n
    else:
        B = min(n, max(1, round(n * s2 / ((n - 1) * T + s2))))
    sgd_trace = s2 * (n - B) / (B * (n - 1)) if n > 1 else 0.0
    # parametric noise: σ² ‖H‖_F² to first order, then measured
    loss, theta = module_flat_loss(model, loss_fn, X, y)
    D = theta.numel()
    fh = hutchinson_frobenius_sq(
        flat_hvp(loss, theta), D, num_probes=num_samples, generator=generator, dtype=theta.dtype, device=theta.device
    )
    sigma = math.sqrt(T / fh.value) if fh.value > 0 else 0.0
    pert = []
    for _ in range(num_samples):
        eps = torch.randn(D, generator=generator, dtype=theta.dtype, device=theta.device)
        point = (theta + sigma * eps).requires_grad_(True)
        (gp,) = torch.autograd.grad(loss(point), point)
        pert.append(gp)
    return NoiseLevels(kp, target, s2, int(B), float(sgd_trace), fh, float(sigma), _paired_trace(torch.stack(pert)))


@dataclass(frozen=True)
class MinimumFlatness:
    """One strategy's end point.

    Attributes:
        strategy: ``"gd"``, ``"dropout"``, ``"sgd"`` or ``"parametric"``.
        setting: its noise parameter in words (e.g. ``"keep_prob 0.8"``, ``"batch 37"``, ``"sigma 0.012"``).
        noise_trace: trace of the per-step gradient-noise covariance at θ₀ (0 for gd; ``nan`` if not measured).
        train_loss: training loss with dropout off.
        test_loss: test loss (``nan`` without test data).
        test_accuracy: test accuracy from the argmax of the outputs (``nan`` without test data or labels).
        top_eigenvalues: largest Hessian eigenvalues of the training loss (dropout off), largest first.
        trace: Hutch++ estimate of the Hessian trace (:func:`hessian_trace`).
        curve: training loss along the run.
    """

    strategy: str
    setting: str
    noise_trace: float
    train_loss: float
    test_loss: float
    test_accuracy: float
    top_eigenvalues: tuple[float, ...]
    trace: Estimate
    curve: LossCurve

    def as_dict(self) -> dict[str, object]:
        """JSON-serializable summary (without the curve)."""
        return {
            "strategy": self.strategy,
            "setting": self.setting,
            "noise_trace": self.noise_trace,
            "train_loss": self.train_loss,
            "test_loss": self.test_loss,
            "test_accuracy": self.test_accuracy,
            "top_eigenvalues": list(self.top_eigenvalues),
            "trace": self.trace.value,
            "trace_stderr": self.trace.stderr,
        }


@dataclass(frozen=True)
class FlatnessComparison(TabularResult):
    """End points of several noisy trainings from one start (one :class:`MinimumFlatness` row per strategy).

    Attributes:
        rows: one row per strategy, in the order asked.
        lr: common learning rate.
        num_steps: common number of steps.
        num_params: number D of trainable parameters.
        noise: the matched noise levels at θ₀, or ``None`` when batch size and σ were given.
    """

    rows: tuple[MinimumFlatness, ...]
    lr: float
    num_steps: int
    num_params: int
    noise: NoiseLevels | None

    def __getitem__(self, strategy: str) -> MinimumFlatness:
        for row in self.rows:
            if row.strategy == strategy:
                return row
        raise KeyError(f"no strategy {strategy!r}; have {[r.strategy for r in self.rows]}")

    def to_rows(self) -> list[dict[str, object]]:
        """One JSON-serializable dict per strategy (see :meth:`MinimumFlatness.as_dict`)."""
        return [row.as_dict() for row in self.rows]

    def table(self) -> Table:
        rows = [
            (
                r.strategy,
                r.setting,
                r.noise_trace,
                r.train_loss,
                r.test_loss,
                r.test_accuracy,
                r.top_eigenvalues[0],
                r.trace,
            )
            for r in self.rows
        ]
        return Table.build(
            ("strategy", "setting", "noise tr", "train loss", "test loss", "test acc", "top eig", "Hessian trace"),
            rows,
            title=f"lr {self.lr:g}, {self.num_steps} steps, D = {self.num_params}",
        )


def _labels(y: torch.Tensor) -> torch.Tensor | None:
    if y.dim() == 2 and y.shape[1] > 1:
        return y.argmax(1)
    if y.dim() == 1 and not y.is_floating_point():
        return y
    return None


def minima_flatness(
    model: nn.Module,
    loss_fn: LossFn,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    lr: float,
    num_steps: int,
    strategies: Sequence[str] = NOISES,
    batch_size: int | None = None,
    sigma: float | None = None,
    X_test: torch.Tensor | None = None,
    y_test: torch.Tensor | None = None,
    num_eigenvalues: int = 1,
    num_probes: int = 64,
    num_match_samples: int = 64,
    tol: float = 1e-6,
    record_every: int | None = None,
    generator: GeneratorLike = None,
    mask: str = "shared",
) -> FlatnessComparison:
    """Train copies of one model with each strategy and measure the flatness of the end points.

    Args:
        model: the common start (not modified; each strategy trains a deep copy). For ``"dropout"`` it must
            contain ``nn.Dropout`` layers, whose keep probability is used.
        loss_fn: ``loss_fn(model(X), y)`` → scalar, a mean of per-example losses.
        X: (n, …) training inputs; y: (n, …) targets.
        lr: common learning rate η > 0.
        num_steps: common number of steps N >= 1.
        strategies: subset of ``("gd", "dropout", "sgd", "parametric")``, no repeats.
        batch_size: SGD batch size; ``None`` matches it to dropout's noise at θ₀ (:func:`matched_noise_levels`).
        sigma: parametric noise scale; ``None`` matches it likewise.
        X_test: optional test inputs; y_test: their targets (accuracy from the argmax when one-hot or labels).
        num_eigenvalues: number k of top Hessian eigenvalues (Lanczos).
        num_probes: Hessian-vector products for the Hessian trace (Hutch++).
        num_match_samples: samples used by the matching (even, >= 4).
        tol: Lanczos tolerance.
        record_every: loss recording period of the training curves.
        generator: torch generator (or int seed) of everything random, used in a fixed order (matching, then each
            strategy's training in the order of ``strategies``). After each training run one seed is drawn from it
            for that end point's measurements (Lanczos start, trace probes), so the training runs do not depend on
            how many numbers the estimators draw.
        mask: mask convention of the dropout run and of the matching, ``"shared"`` or ``"per_example"``.

    Returns:
        :class:`FlatnessComparison`; ``print`` it for a table.

    Raises:
        ValueError: bad argument.
        DivergenceError: a training run diverged (names the step and the quantity).
        RuntimeError: Lanczos did not converge.
    """
    if isinstance(strategies, str) or not isinstance(strategies, tuple | list):
        raise TypeError(f"strategies must be a list of names from {list(NOISES)}, got {strategies!r}")
    strategies = tuple(check_choice(s, "strategies", NOISES) for s in strategies)
    if not strategies or len(set(strategies)) != len(strategies):
        raise ValueError(f"strategies must be a non-empty list without repeats from {list(NOISES)}, got {strategies}")
    eta = check_positive(lr, "lr")
    num_steps = check_iterations(num_steps, "num_steps")
    num_eigenvalues = check_positive_int(num_eigenvalues, "num_eigenvalues")
    num_probes = check_iterations(num_probes, "num_probes", minimum=2)
    if check_positive_int(num_match_samples, "num_match_samples", minimum=4) % 2:
        raise ValueError(f"num_match_samples must be even (draws are paired), got {num_match_samples}")
    X, y = check_examples(X, y, model=model, loss_fn=loss_fn)
    num_params = sum(p.numel() for p in trainable_parameters(model)[1])
    if num_eigenvalues >= num_params:
        raise ValueError(f"num_eigenvalues must be < the {num_params} trainable parameters, got {num_eigenvalues}")
    if (X_test is None) != (y_test is None):
        raise ValueError("give both X_test and y_test, or neither")
    if X_test is not None:
        X_test, y_test = check_examples(X_test, y_test, name_x="X_test", name_y="y_test")
    n = X.shape[0]
    if batch_size is not None:
        batch_size = check_positive_int(batch_size, "batch_size")
        if batch_size > n:
            raise ValueError(f"batch_size must lie in [1, n] = [1, {n}], got {batch_size}")
    if sigma is not None:
        sigma = check_positive(sigma, "sigma", allow_zero=True)
    generator = torch_generator(generator, device=X.device)
    mask = check_choice(mask, "mask", MASK_CONVENTIONS)
    kp = keep_probs(model)
    if "dropout" in strategies and not kp:
        raise ValueError("strategy 'dropout' needs a model with nn.Dropout layers")
    levels = None
    need = ("sgd" in strategies and batch_size is None) or ("parametric" in strategies and sigma is None)
    if need:
        levels = matched_noise_levels(
            model, loss_fn, X, y, num_samples=num_match_samples, generator=generator, mask=mask
        )
        batch_size = levels.batch_size if batch_size is None else batch_size
        sigma = levels.sigma if sigma is None else sigma
    rows = []
    for strategy in strategies:
        net = copy.deepcopy(model)
        opts: dict[str, object] = {}
        trace0 = math.nan
        if strategy == "gd":
            setting, trace0 = "-", 0.0
        elif strategy == "dropout":
            setting = "keep_prob " + "/".join(f"{p:.3g}" for p in kp) + ("" if mask == "shared" else f", {mask}")
            opts["mask"] = mask
            if levels is not None:
                trace0 = levels.dropout_trace.value
        elif strategy == "sgd":
            opts["batch_size"] = batch_size
            setting = f"batch {batch_size}"
            if levels is not None and batch_size == levels.batch_size:
                trace0 = levels.sgd_trace
        else:
            opts["sigma"] = sigma
            setting = f"sigma {sigma:.3g}"
            if levels is not None and sigma == levels.sigma:
                trace0 = levels.parametric_trace.value
        curve = train_with_noise(
            net,
            loss_fn,
            X,
            y,
            noise=strategy,
            lr=eta,
            num_steps=num_steps,
            generator=generator,
            record_every=record_every,
            **opts,
        )
        loss, theta = module_flat_loss(net, loss_fn, X, y)
        hvp = flat_hvp(loss, theta)
        D = theta.numel()
        measure = torch_generator(generator, offset=1)  # one draw: the next training run never sees the probes
        eig = top_hessian_eigenvalues(
            hvp, D, k=num_eigenvalues, tol=tol, generator=measure, dtype=theta.dtype, device=theta.device
        )
        tr = hessian_trace(hvp, D, num_probes=num_probes, generator=measure, dtype=theta.dtype, device=theta.device)
        test_loss = test_acc = math.nan
        if X_test is not None:
            net.eval()
            with torch.no_grad():
                out = net(X_test)
                test_loss = float(loss_fn(out, y_test))
                labels = _labels(y_test)
                if labels is not None and out.dim() == 2 and out.shape[1] > 1:
                    test_acc = float((out.argmax(1) == labels).to(torch.float64).mean())
        rows.append(
            MinimumFlatness(
                strategy,
                setting,
                float(trace0),
                float(curve.loss[-1]),
                test_loss,
                test_acc,
                tuple(float(v) for v in eig),
                tr,
                curve,
            )
        )
    num_params = sum(p.numel() for p in trainable_parameters(model)[1])
    return FlatnessComparison(tuple(rows), eta, num_steps, num_params, levels)
