"""Hessian–variance alignment for a general torch ``nn.Module`` with dropout layers (SME paper §5.2).

Σ is the covariance of the dropout gradient at FROZEN parameters over resampled masks (the paper's "random
gradient data"); H is either the Hessian of the expected dropout loss E_δ L(θ; δ) (``hessian="expected"``,
estimated as the Hessian of the loss averaged over ``num_hessian_masks`` fixed masks, which is unbiased for
E_δ ∇²L(θ; δ)) or the Hessian of the loss without dropout (``hessian="no_dropout"``, exact).

Masks are drawn by this module from an explicit ``torch.Generator`` (no global random state): every
``nn.Dropout`` layer gets a forward hook that, while the model is in eval mode, multiplies its input by a
Bernoulli(keep_prob)/keep_prob mask, keep_prob = 1 − layer.p. With ``per_example=False`` (default) one mask
per unit is shared by the whole batch, as in full-batch dropout GD of the two-layer chapters; with
``per_example=True`` each example has its own mask, as ``nn.Dropout`` does in training mode.

Gradient draws are paired, d_k = (g_{2k} − g_{2k+1})/√2, so that E[d dᵀ] = Σ exactly with independent d_k.
Then Tr(HΣ) = mean_k d_kᵀ H d_k and ‖Σ‖_F² = mean_{k≠l} (d_kᵀ d_l)² are unbiased and need only N×N
inner products and HVPs (``method="matrix_free"``), while ``method="exact"`` forms dense H and Σ̂ = DᵀD/K.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import contextmanager

import torch
from torch import nn
from torch.func import functional_call

from dropout_theory._checks import check_choice, check_positive_int
from dropout_theory.alignment.estimators import Estimate, hutchinson_frobenius_sq
from dropout_theory.alignment.hessian_variance import AlignmentResult, combine_alignment


class _MaskState:
    def __init__(self, generator: torch.Generator | None, per_example: bool) -> None:
        self.generator = generator
        self.per_example = per_example
        self.masks: list[torch.Tensor] = []
        self.replay: list[torch.Tensor] | None = None
        self.index = 0

    def mask(self, layer: nn.Dropout, x: torch.Tensor) -> torch.Tensor:
        if self.replay is not None:
            m = self.replay[self.index]
        else:
            p = 1.0 - float(layer.p)
            shape = x.shape if self.per_example else x.shape[1:]
            u = torch.rand(shape, generator=self.generator, dtype=x.dtype, device=x.device)
            m = (u < p).to(x.dtype) / p if p > 0 else torch.zeros(shape, dtype=x.dtype, device=x.device)
            self.masks.append(m)
        self.index += 1
        return m


@contextmanager
def _controlled_dropout(model: nn.Module, state: _MaskState):
    layers = [mod for mod in model.modules() if isinstance(mod, nn.Dropout)]
    if not layers:
        raise ValueError("model has no nn.Dropout layer: the dropout gradient covariance is zero")
    was_training = model.training
    handles = [layer.register_forward_hook(lambda mod, inp, out: inp[0] * state.mask(mod, inp[0])) for layer in layers]
    model.eval()
    try:
        yield
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)


def _params(model: nn.Module) -> tuple[list[str], list[torch.Tensor]]:
    named = [(k, v.detach()) for k, v in model.named_parameters() if v.requires_grad]
    return [k for k, _ in named], [v for _, v in named]


def _flat_loss_fn(model, names, shapes, X, y, loss_fn, state, mask_sets):
    """θ ↦ mean over ``mask_sets`` (replayed masks; ``None`` = no dropout) of loss_fn(model(X), y)."""
    sizes = [math.prod(s) for s in shapes]

    def loss(theta: torch.Tensor) -> torch.Tensor:
        parts = torch.split(theta, sizes)
        params = {k: p.reshape(s) for k, p, s in zip(names, parts, shapes, strict=True)}
        total = 0.0
        for masks in mask_sets:
            state.replay, state.index = masks, 0
            total = total + loss_fn(functional_call(model, params, (X,)), y)
        return total / len(mask_sets)

    return loss


def module_hessian_variance_alignment(
    model: nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    X: torch.Tensor,
    y: torch.Tensor,
    num_masks: int = 1000,
    method: str = "exact",
    hessian: str = "expected",
    num_hessian_masks: int = 64,
    num_probes: int = 64,
    per_example: bool = False,
    generator: torch.Generator | None = None,
) -> AlignmentResult:
    """α = Tr(HΣ)/(‖H‖_F ‖Σ‖_F) over all trainable parameters of ``model`` at their current values.

    Args:
        model: a module containing ``nn.Dropout`` layers (their ``p`` is the DROP probability, keep_prob = 1 − p).
        loss_fn: ``loss_fn(model(X), y)`` → scalar (e.g. 0.5·mean squared error or cross-entropy).
        X: (n, …) inputs (full batch).
        y: targets accepted by ``loss_fn``.
        num_masks: dropout gradient draws N for Σ (even, >= 4).
        method: ``"exact"`` (dense H and Σ̂, small D) or ``"matrix_free"`` (HVPs, N×N inner products).
        hessian: ``"expected"`` (Hessian of the loss averaged over ``num_hessian_masks`` masks) or
            ``"no_dropout"`` (Hessian of the loss with dropout switched off).
        num_hessian_masks: masks in the Monte Carlo average defining H for ``hessian="expected"``.
        num_probes: Rademacher probes for ‖H‖_F² (matrix-free), >= 2.
        per_example: independent masks per example (as nn.Dropout) instead of one mask per unit.
        generator: torch generator of masks and probes.

    Returns:
        :class:`dropout_theory.alignment.AlignmentResult`. Its standard error covers the finite number of
        gradient draws and probes, not the Monte Carlo error of H itself for ``hessian="expected"``.
    """
    method = check_choice(method, "method", ("exact", "matrix_free"))
    hessian = check_choice(hessian, "hessian", ("expected", "no_dropout"))
    num_masks = check_positive_int(num_masks, "num_masks", minimum=4)
    if num_masks % 2:
        raise ValueError(f"num_masks must be even (draws are paired), got {num_masks}")
    num_hessian_masks = check_positive_int(num_hessian_masks, "num_hessian_masks")
    num_probes = check_positive_int(num_probes, "num_probes", minimum=2)
    names, values = _params(model)
    shapes = [v.shape for v in values]
    theta = torch.cat([v.reshape(-1) for v in values])
    D = theta.numel()
    state = _MaskState(generator, per_example)
    with _controlled_dropout(model, state):
        # dropout gradients at frozen θ
        grads = []
        for _ in range(num_masks):
            state.replay, state.masks, state.index = None, [], 0
            params = {k: v.clone().requires_grad_(True) for k, v in zip(names, values, strict=True)}
            loss = loss_fn(functional_call(model, params, (X,)), y)
            g = torch.autograd.grad(loss, list(params.values()), allow_unused=True)
            g = [gi if gi is not None else torch.zeros_like(v) for gi, v in zip(g, values, strict=True)]
            grads.append(torch.cat([gi.reshape(-1) for gi in g]))
        G = torch.stack(grads)
        Dd = (G[0::2] - G[1::2]) / math.sqrt(2.0)  # (K, D), E[d dᵀ] = Σ
        K = Dd.shape[0]
        # mask sets defining H
        mask_sets = []
        for _ in range(num_hessian_masks if hessian == "expected" else 1):
            state.replay, state.masks, state.index = None, [], 0
            with torch.no_grad():
                functional_call(model, dict(zip(names, values, strict=True)), (X,))
            mask_sets.append(list(state.masks))
        if hessian == "no_dropout":
            mask_sets = [[torch.ones_like(m) for m in mask_sets[0]]]
        flat_loss = _flat_loss_fn(model, names, shapes, X, y, loss_fn, state, mask_sets)
        if method == "exact":
            H = torch.autograd.functional.hessian(flat_loss, theta)
            sigma = Dd.T @ Dd / K
            trace = Estimate(float((H * sigma).sum()), 0.0, 0)
            fh = Estimate(float((H * H).sum()), 0.0, 0)
            fs = Estimate(float((sigma * sigma).sum()), 0.0, 0)
        else:
            theta_req = theta.clone().requires_grad_(True)
            (gflat,) = torch.autograd.grad(flat_loss(theta_req), theta_req, create_graph=True)

            def hvp(V: torch.Tensor) -> torch.Tensor:
                return torch.stack(
                    [torch.autograd.grad(gflat, theta_req, v, retain_graph=True)[0] for v in V.to(theta.dtype)]
                )

            quad = (Dd * hvp(Dd)).sum(-1)
            trace = Estimate(float(quad.mean()), float(quad.std()) / math.sqrt(K), K)
            fh = hutchinson_frobenius_sq(hvp, D, num_probes, generator, dtype=theta.dtype, device=theta.device)
            fs = _frob_sq_ustat(Dd)
    alpha, se = combine_alignment(trace, fh, fs)
    return AlignmentResult(alpha, se, trace, fh, fs, method, D)


def _frob_sq_ustat(Dd: torch.Tensor, groups: int = 8) -> Estimate:
    """Unbiased ‖Σ‖_F² = mean_{k≠l} (d_kᵀd_l)² for independent d_k with E d dᵀ = Σ; standard error from
    ``groups`` disjoint groups (each an unbiased U-statistic)."""
    K = Dd.shape[0]
    gram = (Dd @ Dd.T) ** 2
    full = float((gram.sum() - gram.diagonal().sum()) / (K * (K - 1)))
    size = K // groups
    if size < 2:
        return Estimate(full, math.inf, K)
    vals = []
    for i in range(groups):
        g = gram[i * size : (i + 1) * size, i * size : (i + 1) * size]
        vals.append(float((g.sum() - g.diagonal().sum()) / (size * (size - 1))))
    se = float(torch.tensor(vals).std()) / math.sqrt(groups)  # conservative: the full U-statistic is better
    return Estimate(full, se, K)
