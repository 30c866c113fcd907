"""Hessian–variance alignment for a general torch ``nn.Module`` with dropout layers (SME paper §5.2).

Σ is the covariance of the dropout gradient at FROZEN parameters over resampled masks (the paper's "random
gradient data"); H is either the Hessian of the expected dropout loss E_δ L(θ; δ) (``hessian="expected"``,
estimated from ``num_hessian_masks`` fixed masks split into two independent halves A and B: H ≈ (H_A + H_B)/2
in Tr(HΣ), and ‖H‖_F² ≈ ⟨H_A, H_B⟩_F, which is unbiased — the plain ‖(H_A + H_B)/2‖_F² is biased upwards by
the Monte Carlo variance of the masks, which lowers α; the appendix *Reproducing the papers* records by how much)
or the Hessian of the loss without dropout (``hessian="no_dropout"``, exact).

Masks are drawn from an explicit ``torch.Generator`` (no global random state) through
:func:`dropout_theory.networks.controlled_dropout`: every ``nn.Dropout`` layer gets a forward hook that, while the
model is in eval mode, multiplies its input by a Bernoulli(keep_prob)/keep_prob mask, keep_prob = 1 − layer.p.
The convention is the ``mask`` argument: with ``mask="shared"`` (default) one mask per unit is shared by the whole
batch, as in full-batch dropout GD of the two-layer chapters; with ``mask="per_example"`` each example has its own
mask, as ``nn.Dropout`` does in training mode. The expected loss, hence H, is the same for both; Σ is not: with n
examples the shared-mask noise keeps the correlations between examples that share a mask, the per-example noise
is an average of n independent terms (the book's chapter on alignment compares them).

Gradient draws are paired, d_k = (g_{2k} − g_{2k+1})/√2, so that E[d dᵀ] = Σ exactly with independent d_k.
Then Tr(HΣ) = mean_k d_kᵀ H d_k and ‖Σ‖_F² = mean_{k≠l} (d_kᵀ d_l)² are unbiased and need only K×K
inner products and K Hessian-vector products; ``method="exact"`` forms the dense H for ‖H‖_F, while
``method="matrix_free"`` estimates ‖H‖_F² from products (:func:`dropout_theory.alignment.deflated_frobenius_sq`).
``subset`` restricts both matrices to chosen coordinates (:func:`parameter_indices` names whole tensors).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call

from dropout_theory._checks import check_allocation, check_choice, check_iterations, check_positive_int
from dropout_theory.alignment.estimators import deflated_frobenius_sq
from dropout_theory.alignment.hessian_variance import AlignmentResult, combine_alignment
from dropout_theory.alignment.hvp import flat_hvp
from dropout_theory.networks import DropoutMasks, check_examples, controlled_dropout, trainable_parameters
from dropout_theory.rng import GeneratorLike, torch_generator
from dropout_theory.stats import Estimate


def _params(model: nn.Module) -> tuple[list[str], list[torch.Tensor]]:
    names, values = trainable_parameters(model)
    return names, [v.detach() for v in values]


def parameter_indices(model: nn.Module, names: str | list[str] | tuple[str, ...]) -> torch.Tensor:
    """Positions in the flat parameter vector θ (trainable parameters in ``named_parameters`` order) of the
    named parameters, for the ``subset`` argument of :func:`module_hessian_variance_alignment`.

    Args:
        model: the module.
        names: one or several parameter names as in ``model.named_parameters()`` (e.g. ``"0.weight"``).

    Returns:
        (S,) int64 indices, increasing.
    """
    if not isinstance(names, str | list | tuple):
        raise TypeError(f"names must be a parameter name or a list of them, got {type(names).__name__} {names!r}")
    wanted = [names] if isinstance(names, str) else list(names)
    all_names, values = _params(model)
    unknown = sorted(set(wanted) - set(all_names))
    if unknown or not wanted:
        raise ValueError(f"unknown parameter names {unknown or wanted}; trainable parameters are {all_names}")
    out, start = [], 0
    for name, v in zip(all_names, values, strict=True):
        if name in wanted:
            out.append(torch.arange(start, start + v.numel()))
        start += v.numel()
    return torch.cat(out)


def _subset_indices(subset: torch.Tensor | None, D: int) -> torch.Tensor | None:
    if subset is None:
        return None
    if not isinstance(subset, torch.Tensor | list | tuple):
        raise TypeError(f"subset must be an index tensor or a (D,) boolean mask, got {type(subset).__name__}")
    subset = torch.as_tensor(subset)
    if subset.dtype == torch.bool:
        if subset.shape != (D,):
            raise ValueError(f"a boolean subset must have shape ({D},), got {tuple(subset.shape)}")
        subset = subset.nonzero().flatten()
    if subset.dim() != 1 or subset.numel() == 0 or subset.dtype not in (torch.int64, torch.int32):
        raise ValueError("subset must be a non-empty 1-d index tensor or a (D,) boolean mask")
    subset = subset.to(torch.int64)
    if int(subset.min()) < 0 or int(subset.max()) >= D or subset.unique().numel() != subset.numel():
        raise ValueError(
            f"subset indices must be distinct and in [0, {D}), got range [{int(subset.min())}, {int(subset.max())}]"
        )
    return subset


def _flat_loss_fn(model, names, shapes, X, y, loss_fn, state, mask_sets):
    """θ ↦ mean over ``mask_sets`` (replayed masks) of loss_fn(model(X), y).

    The copies of X under the different mask sets go through the model as ONE stacked batch (each copy with its
    own masks), which is several times faster than a loop over the sets for small networks; the loss is still
    evaluated per copy, so any ``loss_fn`` reduction is respected. Needs layers that treat examples independently
    (true in eval mode for the usual layers, BatchNorm included)."""
    sizes = [math.prod(s) for s in shapes]
    n, copies = X.shape[0], len(mask_sets)
    if copies == 1:
        stacked_X, replay = X, list(mask_sets[0])
    else:
        stacked_X = torch.cat([X] * copies)
        per_copy = [[m if state.per_example else m.expand((n, *m.shape)) for m in masks] for masks in mask_sets]
        replay = [torch.cat(layer_masks) for layer_masks in zip(*per_copy, strict=True)]

    def loss(theta: torch.Tensor) -> torch.Tensor:
        parts = torch.split(theta, sizes)
        params = {k: p.reshape(s) for k, p, s in zip(names, parts, shapes, strict=True)}
        state.start(replay)
        out = functional_call(model, params, (stacked_X,))
        if copies == 1:
            return loss_fn(out, y)
        return sum(loss_fn(o, y) for o in out.split(n)) / copies

    return loss


def _check_draws(
    model: nn.Module, loss_fn, X, y, num_masks: int, hessian: str, num_hessian_masks: int
) -> tuple[torch.Tensor, torch.Tensor, int, str, int]:
    """The checked data and draw counts (model, loss and data once at entry; the (num_masks/2, D) gradient
    differences must fit in memory; the Hessian masks are a loop, bounded by ``MAX_ITERATIONS``)."""
    X, y = check_examples(X, y, model=model, loss_fn=loss_fn)
    hessian = check_choice(hessian, "hessian", ("expected", "no_dropout"))
    num_masks = check_positive_int(num_masks, "num_masks", minimum=4)
    D = sum(v.numel() for v in _params(model)[1])
    check_allocation(num_masks * D, "the gradient draws", names=f"num_masks = {num_masks}, D = {D}")
    if num_masks % 2:
        raise ValueError(f"num_masks must be even (draws are paired), got {num_masks}")
    num_hessian_masks = check_iterations(num_hessian_masks, "num_hessian_masks", minimum=2)
    if hessian == "expected" and num_hessian_masks % 2:
        raise ValueError(f"num_hessian_masks must be even (two independent halves), got {num_hessian_masks}")
    return X, y, num_masks, hessian, num_hessian_masks


@contextmanager
def _noise_and_curvature(model, loss_fn, X, y, num_masks, hessian, num_hessian_masks, mask, idx, generator):
    """Inside the dropout hooks: yield (d, hvp_a, hvp_b) with d (K, S) the paired dropout-gradient differences
    restricted to ``idx`` and the products with the two independent Hessian estimates (hvp_b is None for
    ``hessian="no_dropout"``). Random draws in a fixed order: first the gradients, then the Hessian masks."""
    names, values = _params(model)
    shapes = [v.shape for v in values]
    theta = torch.cat([v.reshape(-1) for v in values])
    D = theta.numel()
    state = DropoutMasks(generator, mask=mask)
    with controlled_dropout(model, state):
        grads = []
        for _ in range(num_masks):
            state.start()
            params = {k: v.clone().requires_grad_(True) for k, v in zip(names, values, strict=True)}
            loss = loss_fn(functional_call(model, params, (X,)), y)
            g = torch.autograd.grad(loss, list(params.values()), allow_unused=True)
            g = [gi if gi is not None else torch.zeros_like(v) for gi, v in zip(g, values, strict=True)]
            grads.append(torch.cat([gi.reshape(-1) for gi in g]))
        G = torch.stack(grads)
        Dd = (G[0::2] - G[1::2]) / math.sqrt(2.0)  # (K, D), E[d dᵀ] = Σ
        if idx is not None:
            Dd = Dd[:, idx]
        # two independent halves of the mask sets defining H (unbiased ‖E_δ H_δ‖_F² = E⟨H_A, H_B⟩_F)
        mask_sets = []
        for _ in range(num_hessian_masks if hessian == "expected" else 1):
            state.start()
            with torch.no_grad():
                functional_call(model, dict(zip(names, values, strict=True)), (X,))
            mask_sets.append(list(state.masks))
        if hessian == "no_dropout":
            halves = [[[torch.ones_like(m) for m in mask_sets[0]]]]
        else:
            half = num_hessian_masks // 2
            halves = [mask_sets[:half], mask_sets[half:]]
        hvps = [flat_hvp(_flat_loss_fn(model, names, shapes, X, y, loss_fn, state, sets), theta) for sets in halves]

        def restricted(full_hvp: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
            if idx is None:
                return full_hvp

            def hvp(V: torch.Tensor) -> torch.Tensor:
                embedded = torch.zeros(V.shape[0], D, dtype=theta.dtype, device=theta.device)
                embedded[:, idx] = V.to(theta.dtype)
                return full_hvp(embedded)[:, idx]

            return hvp

        yield Dd, restricted(hvps[0]), (restricted(hvps[1]) if len(hvps) == 2 else None)


def _apply(fn: Callable[[torch.Tensor], torch.Tensor], V: torch.Tensor, batch: int = 64) -> torch.Tensor:
    return torch.cat([fn(V[s : s + batch]) for s in range(0, V.shape[0], batch)])


def _pieces(Dd: torch.Tensor, quad: torch.Tensor, fh: Estimate, method: str) -> AlignmentResult:
    trace = Estimate.from_samples(quad)
    fs = _frob_sq_ustat(Dd)
    alpha, se = combine_alignment(trace, fh, fs)
    return AlignmentResult(alpha, se, trace, fh, fs, method, Dd.shape[1])


@dataclass(frozen=True)
class AlignmentMatrices:
    """Dense pieces of the alignment of a module over S measured coordinates (small S).

    Attributes:
        differences: (K, S) paired dropout-gradient differences d_k = (g_{2k} − g_{2k+1})/√2, E[d dᵀ] = Σ.
        hessian_a: (S, S) first estimate of H (mean Hessian over the first half of the masks).
        hessian_b: (S, S) second, independent estimate (the same tensor for ``hessian="no_dropout"``).
    """

    differences: torch.Tensor
    hessian_a: torch.Tensor
    hessian_b: torch.Tensor

    @property
    def hessian(self) -> torch.Tensor:
        """(S, S) symmetrized mean (H_A + H_B)/2."""
        H = 0.5 * (self.hessian_a + self.hessian_b)
        return 0.5 * (H + H.T)

    @property
    def covariance(self) -> torch.Tensor:
        """(S, S) plug-in Σ̂ = (1/K) Σ_k d_k d_kᵀ (rank <= K; its Frobenius norm is biased upwards)."""
        return self.differences.T @ self.differences / self.differences.shape[0]

    def alignment(self) -> AlignmentResult:
        """α with the unbiased pieces: Tr(HΣ) = mean d_kᵀ H d_k, ‖H‖_F² = ⟨H_A, H_B⟩_F, ‖Σ‖_F² a U-statistic."""
        Dd = self.differences
        quad = ((Dd @ (0.5 * (self.hessian_a + self.hessian_b))) * Dd).sum(-1)
        fh = Estimate.exact(float((self.hessian_a * self.hessian_b).sum()))
        return _pieces(Dd, quad, fh, "exact")


def module_alignment_matrices(
    model: nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    num_masks: int = 1000,
    hessian: str = "expected",
    num_hessian_masks: int = 64,
    mask: str = "shared",
    subset: torch.Tensor | None = None,
    generator: GeneratorLike = None,
) -> AlignmentMatrices:
    """The dense H estimates and the gradient differences behind ``module_hessian_variance_alignment(...,
    method="exact")`` (same arguments, same random draws in the same order), for spectra and baselines.

    Returns:
        :class:`AlignmentMatrices`; ``.alignment()`` equals the exact method's result for the same generator state.
    """
    X, y, num_masks, hessian, num_hessian_masks = _check_draws(
        model, loss_fn, X, y, num_masks, hessian, num_hessian_masks
    )
    generator = torch_generator(generator)
    D = sum(v.numel() for v in _params(model)[1])
    idx = _subset_indices(subset, D)
    with _noise_and_curvature(
        model, loss_fn, X, y, num_masks, hessian, num_hessian_masks, mask, idx, generator
    ) as (Dd, hvp_a, hvp_b):
        eye = torch.eye(Dd.shape[1], dtype=Dd.dtype, device=Dd.device)
        H_a = _apply(hvp_a, eye)
        H_b = H_a if hvp_b is None else _apply(hvp_b, eye)
    return AlignmentMatrices(Dd, H_a, H_b)


def module_hessian_variance_alignment(
    model: nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    num_masks: int = 1000,
    method: str = "exact",
    hessian: str = "expected",
    num_hessian_masks: int = 64,
    num_probes: int = 64,
    sketch_size: int | None = None,
    mask: str = "shared",
    subset: torch.Tensor | None = None,
    generator: GeneratorLike = None,
) -> AlignmentResult:
    """α = Tr(HΣ)/(‖H‖_F ‖Σ‖_F) over the trainable parameters of ``model`` (or a subset) at their current values.

    Both methods share the dropout gradient draws: Tr(HΣ) = mean_k d_kᵀ H d_k and ‖Σ‖_F² = mean_{k≠l} (d_kᵀd_l)²
    over the K = ``num_masks``/2 paired draws, unbiased, with their Monte Carlo standard errors. They differ in
    ‖H‖_F²: ``method="exact"`` forms the dense Hessian (one Hessian-vector product per parameter, O(D²) memory),
    ``method="matrix_free"`` estimates it from 3·``sketch_size`` + ``num_probes`` products with
    :func:`dropout_theory.alignment.deflated_frobenius_sq` (exact on the dominant eigenspace, Hutchinson on the
    rest). So on the same draws the two differ only by that estimate.

    Args:
        model: a module containing ``nn.Dropout`` layers (their ``p`` is the DROP probability, keep_prob = 1 − p).
        loss_fn: ``loss_fn(model(X), y)`` → scalar (e.g. 0.5·mean squared error or cross-entropy).
        X: (n, …) inputs (full batch).
        y: targets accepted by ``loss_fn``.
        num_masks: dropout gradient draws N for Σ (even, >= 4).
        method: ``"exact"`` (dense H, small D) or ``"matrix_free"`` (Hessian-vector products only).
        hessian: ``"expected"`` (Hessian of the loss averaged over ``num_hessian_masks`` masks) or
            ``"no_dropout"`` (Hessian of the loss with dropout switched off).
        num_hessian_masks: masks (even, >= 2) in the Monte Carlo estimate of H for ``hessian="expected"``.
        num_probes: Hutchinson probes for the deflated part of ‖H‖_F² (matrix-free), >= 2.
        sketch_size: width of the sketch whose span is treated exactly (matrix-free), >= 0, at most the
            number S of measured parameters; 0 = plain Hutchinson; ``None`` = min(32, S).
        mask: ``"shared"`` (one mask per unit for the whole batch) or ``"per_example"`` (independent masks per
            example, as ``nn.Dropout``); see :data:`dropout_theory.rng.MASK_CONVENTIONS`.
        subset: restrict H and Σ to these coordinates of θ (an index tensor, e.g. from :func:`parameter_indices`,
            or a (D,) boolean mask), as the SME paper does for lack of compute; ``None`` = all parameters.
        generator: torch generator (or int seed) of masks, sketch and probes.

    Returns:
        :class:`dropout_theory.alignment.AlignmentResult` with ``num_params`` the number of measured
        coordinates. Its standard error covers the finite number of gradient draws and probes, not the Monte
        Carlo error of H itself for ``hessian="expected"`` (which adds variance but, with the split, no bias to
        the pieces).
    """
    method = check_choice(method, "method", ("exact", "matrix_free"))
    X, y, num_masks, hessian, num_hessian_masks = _check_draws(
        model, loss_fn, X, y, num_masks, hessian, num_hessian_masks
    )
    num_probes = check_iterations(num_probes, "num_probes", minimum=2)
    generator = torch_generator(generator)
    kw = dict(num_masks=num_masks, hessian=hessian, num_hessian_masks=num_hessian_masks, mask=mask)
    if method == "exact":
        return module_alignment_matrices(model, loss_fn, X, y, subset=subset, generator=generator, **kw).alignment()
    D = sum(v.numel() for v in _params(model)[1])
    idx = _subset_indices(subset, D)
    S = D if idx is None else idx.numel()
    sketch_size = min(32, S) if sketch_size is None else check_positive_int(sketch_size, "sketch_size", minimum=0)
    if sketch_size > S:
        raise ValueError(f"sketch_size must be <= the number of measured parameters {S}, got {sketch_size}")
    with _noise_and_curvature(
        model, loss_fn, X, y, num_masks, hessian, num_hessian_masks, mask, idx, generator
    ) as (Dd, hvp_a, hvp_b):
        quad = (Dd * _apply(hvp_a, Dd)).sum(-1)
        if hvp_b is not None:
            quad = 0.5 * (quad + (Dd * _apply(hvp_b, Dd)).sum(-1))
        fh = deflated_frobenius_sq(
            hvp_a,
            S,
            sketch_size=sketch_size,
            num_probes=num_probes,
            generator=generator,
            matvec_b=hvp_b,
            dtype=Dd.dtype,
            device=Dd.device,
        )
    return _pieces(Dd, quad, fh, "matrix_free")


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
