"""The Hessian–variance alignment along training (SME paper §5.3, Fig. 3).

:func:`alignment_along_training`: full-batch gradient descent of a module with dropout layers (e.g. from
:func:`dropout_theory.networks.dropout_mlp`), masks drawn from an explicit ``torch.Generator``, measuring the
alignment α at the current parameters every ``eval_every`` steps. One ``mask`` argument sets the convention of both
the training masks and the measured Σ: ``"shared"`` (one mask per unit for the whole batch) or ``"per_example"``
(one per example and unit, as ``nn.Dropout``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from dropout_theory._checks import (
    DivergenceError,
    check_choice,
    check_finite_step,
    check_iterations,
    check_positive,
    check_positive_int,
)
from dropout_theory.alignment.module_alignment import module_hessian_variance_alignment
from dropout_theory.networks import check_examples, train_with_noise
from dropout_theory.rng import MASK_CONVENTIONS, GeneratorLike, torch_generator
from dropout_theory.tables import Table, TabularResult


@dataclass(frozen=True)
class AlignmentCurve(TabularResult):
    """α along a training run.

    Attributes:
        steps: (T,) steps at which α was measured (0 = initialization).
        alpha: (T,) alignments.
        stderr: (T,) their standard errors.
        loss: (T,) training loss without dropout at those steps.
        subset_alpha: name → (T,) alignments over each extra parameter subset, at the same steps.
        subset_stderr: name → (T,) their standard errors.
        test_accuracy: (T,) argmax accuracy on the test data, when test data were given (else ``None``).
    """

    steps: torch.Tensor
    alpha: torch.Tensor
    stderr: torch.Tensor
    loss: torch.Tensor
    subset_alpha: dict[str, torch.Tensor] = field(default_factory=dict)
    subset_stderr: dict[str, torch.Tensor] = field(default_factory=dict)
    test_accuracy: torch.Tensor | None = None

    def table(self) -> Table:
        headers = ["step", "loss", "alpha", "s.e."]
        for name in self.subset_alpha:
            headers += [f"alpha {name}", "s.e."]
        if self.test_accuracy is not None:
            headers.append("test acc")
        rows = []
        for t in range(len(self.steps)):
            row: list[object] = [int(self.steps[t]), float(self.loss[t]), float(self.alpha[t]), float(self.stderr[t])]
            for name in self.subset_alpha:
                row += [float(self.subset_alpha[name][t]), float(self.subset_stderr[name][t])]
            if self.test_accuracy is not None:
                row.append(float(self.test_accuracy[t]))
            rows.append(row)
        formats = ["d", ".4g", ".3f", ".2f", *([".3f", ".2f"] * len(self.subset_alpha))]
        if self.test_accuracy is not None:
            formats.append(".3f")
        return Table.build(headers, rows, formats=formats)


def alignment_along_training(
    model: nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    lr: float,
    num_steps: int,
    eval_every: int,
    generator: GeneratorLike = None,
    measurement_generator: GeneratorLike = None,
    X_test: torch.Tensor | None = None,
    y_test: torch.Tensor | None = None,
    num_masks: int = 128,
    num_probes: int = 32,
    num_hessian_masks: int = 8,
    sketch_size: int | None = None,
    hessian: str = "expected",
    subset: torch.Tensor | None = None,
    extra_subsets: dict[str, torch.Tensor] | None = None,
    mask: str = "shared",
) -> AlignmentCurve:
    """Full-batch dropout GD on ``model`` (modified in place), with α measured every ``eval_every`` steps.

    α is measured matrix-free by :func:`dropout_theory.alignment.module_hessian_variance_alignment`, over all
    trainable parameters unless ``subset`` is given.

    Args:
        model: module with ``nn.Dropout`` layers, e.g. from :func:`dropout_theory.networks.dropout_mlp`.
        loss_fn: ``loss_fn(model(X), y)`` → scalar.
        X: (n, …) inputs; y: targets.
        lr: learning rate η > 0.
        num_steps: number of steps N >= 1 (α is also measured at step N).
        eval_every: measurement period, >= 1.
        generator: torch generator (or int seed) of the training masks (and of the measurements, unless
            ``measurement_generator`` is given).
        measurement_generator: separate generator (or int seed) of the measurements, so that the trajectory does
            not depend on the measurement sample sizes.
        X_test: optional test inputs; y_test: their one-hot targets (accuracy of the argmax at each measurement).
        num_masks: dropout gradient draws per α (even, >= 4).
        num_probes: Rademacher probes for ‖H‖_F² per α.
        num_hessian_masks: masks averaged in H per α.
        sketch_size: exact sketch width for ‖H‖_F² (``None``: the default of the alignment function).
        hessian: ``"expected"`` or ``"no_dropout"`` (see the alignment function).
        subset: coordinates of θ to measure (index tensor or boolean mask), ``None`` = all.
        extra_subsets: further named subsets measured at the same parameters right after the main α (e.g. all
            parameters vs one layer, from :func:`dropout_theory.alignment.parameter_indices`).
        mask: mask convention of training and measurement, ``"shared"`` or ``"per_example"``
            (:data:`dropout_theory.rng.MASK_CONVENTIONS`).

    Returns:
        :class:`AlignmentCurve`.

    Raises:
        DivergenceError: the training loss became non-finite or exploded; names the first such step of the whole
            run and carries the curve measured until then as ``partial``.
    """
    eta = check_positive(lr, "lr")
    X, y = check_examples(X, y, model=model, loss_fn=loss_fn)
    num_steps = check_iterations(num_steps, "num_steps")
    eval_every = check_positive_int(eval_every, "eval_every")
    extra_subsets = dict(extra_subsets or {})
    if "" in extra_subsets:
        raise ValueError("extra_subsets names must be non-empty strings")
    subsets = {"": subset, **extra_subsets}
    generator = torch_generator(generator, device=X.device)
    kw = dict(
        num_masks=num_masks,
        method="matrix_free",
        num_hessian_masks=num_hessian_masks,
        num_probes=num_probes,
        sketch_size=sketch_size,
        hessian=hessian,
        generator=generator,
        mask=check_choice(mask, "mask", MASK_CONVENTIONS),
    )
    if (X_test is None) != (y_test is None):
        raise ValueError("give both X_test and y_test, or neither")
    if measurement_generator is not None:
        kw["generator"] = torch_generator(measurement_generator, device=X.device)
    names = list(subsets)
    rows: list[tuple[int, float, list[tuple[float, float]], float]] = []

    def curve() -> AlignmentCurve:
        f64 = torch.float64
        values = torch.tensor([[a for a, _ in r[2]] for r in rows], dtype=f64).reshape(len(rows), len(names))
        errors = torch.tensor([[e for _, e in r[2]] for r in rows], dtype=f64).reshape(len(rows), len(names))
        return AlignmentCurve(
            torch.tensor([r[0] for r in rows], dtype=torch.int64),
            values[:, 0],
            errors[:, 0],
            torch.tensor([r[1] for r in rows], dtype=f64),
            {name: values[:, i] for i, name in enumerate(names) if i},
            {name: errors[:, i] for i, name in enumerate(names) if i},
            None if X_test is None else torch.tensor([r[3] for r in rows], dtype=f64),
        )

    checkpoints = sorted(set(range(0, num_steps, eval_every)) | {num_steps})
    for step, next_step in zip(checkpoints, [*checkpoints[1:], None], strict=True):
        res = [module_hessian_variance_alignment(model, loss_fn, X, y, subset=idx, **kw) for idx in subsets.values()]
        with torch.no_grad():
            model.eval()
            loss = float(loss_fn(model(X), y))
            accuracy = (
                math.nan if X_test is None else float((model(X_test).argmax(1) == y_test.argmax(1)).double().mean())
            )
        try:
            check_finite_step(step, "training loss", loss)
        except DivergenceError as err:
            raise err.with_partial(curve()) from err
        rows.append((step, loss, [(r.alpha, r.stderr) for r in res], accuracy))
        if next_step is not None:
            length = next_step - step
            try:
                train_with_noise(
                    model,
                    loss_fn,
                    X,
                    y,
                    noise="dropout",
                    lr=eta,
                    num_steps=length,
                    generator=generator,
                    record_every=length,
                    mask=mask,
                )
            except DivergenceError as err:  # report the step of the whole run, not of the segment
                raise err.with_partial(curve(), offset=step) from err
    return curve()
