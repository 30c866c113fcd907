"""Dropout or random geometry? The phase paper's teacher–student experiment, a penalty sweep and digits curves.

* :func:`teacher_student_run` — a student of width n trained from one initialization with one mask stream as four
  coupled variants (``"dropout"``, ``"random_metric"``, ``"propagation_noise_random_metric"``, ``"no_dropout"``);
  it returns the RMS particle distance from dropout to each variant along the run, and the training and validation
  losses. Paper scale (arXiv:2510.07554; the master step, the distributions and the validation set are in the authors'
  public code, GitHub ``PierreMarion23/dropout-phase-diagram``): d = 20, 500 points, a 15-neuron ReLU teacher,
  widths 200…5000, master step τ = 0.5 (per-parameter learning rate 0.5·n), keep 0.7, 1000 steps, 10 repeats.
  :func:`teacher_student_experiment` runs widths × repeats and collects them (:class:`TeacherStudentSummary`, with
  means, standard errors and log–log slopes against the width).
* :func:`penalty_visibility` — at width n and keep rate q, the ratio d(dropout, penalized)/d(dropout, no dropout) at
  mean-field time t for a master step τ: near 1 when the penalty is invisible under the jump noise, near 0 when
  dropout follows the penalized flow.
* :func:`digits_parity_curves` — coupled variants trained on the 8×8 digits' parity task at a practical master
  step, with train and test losses and test accuracy.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from dropout_theory._checks import (
    check_allocation,
    check_choice,
    check_iterations,
    check_positive,
    check_positive_int,
)
from dropout_theory.data import digits_parity
from dropout_theory.phase.particles import VARIANT_NAMES, init_particles, network_output, simulate_coupled
from dropout_theory.phase.teacher_student import init_student, make_teacher_student
from dropout_theory.rng import GeneratorLike, torch_generator
from dropout_theory.stats import Estimate, LogLinearFit, fit_power_law
from dropout_theory.tables import Table, TabularResult

#: The four coupled variants of the paper's experiment (dropout is the reference).
VARIANTS4: tuple[str, ...] = ("dropout", "random_metric", "propagation_noise_random_metric", "no_dropout")
#: The paper's widths.
PAPER_WIDTHS: tuple[int, ...] = (200, 500, 1000, 2000, 5000)
#: Book-scale widths.
BOOK_WIDTHS: tuple[int, ...] = (50, 150, 500)

DTYPES = {"float64": torch.float64, "float32": torch.float32}


@dataclass(frozen=True)
class TeacherStudentRun:
    """One (width, repeat) run of the teacher–student experiment (lists, so ``dataclasses.asdict`` is JSON).

    Attributes:
        steps: recorded steps.
        rms: variant → RMS particle distance of dropout to it at those steps.
        loss: variant → unmasked training loss at those steps.
        val_loss: variant → loss on the validation set at those steps.
    """

    steps: list[int]
    rms: dict[str, list[float]]
    loss: dict[str, list[float]]
    val_loss: dict[str, list[float]]


def teacher_student_run(
    width: int,
    *,
    setup: str = "authors",
    tau: float = 0.5,
    keep_prob: float = 0.7,
    num_steps: int = 1000,
    record_every: int = 50,
    generator: GeneratorLike = 0,
    dtype: str = "float64",
    d: int = 20,
    num_points: int = 500,
    teacher_width: int = 15,
    device: torch.device | str | None = None,
) -> TeacherStudentRun:
    """One run of the teacher–student experiment: four coupled variants from one initialization.

    Args:
        width: student width n.
        setup: ``"authors"`` (the distributions of the authors' code) or ``"book"``
            (:mod:`dropout_theory.phase.teacher_student`).
        tau: master learning rate τ.
        keep_prob: keep rate q.
        num_steps: number of steps.
        record_every: record the distances every this many steps.
        generator: int r (the repeat index: initialization seed 1000 + r, masks 2000 + r; the data always use seed
            0) or a torch generator.
        dtype: "float64" or "float32".
        d: input dimension.
        num_points: number of training points (and of validation points).
        teacher_width: teacher neurons.
        device: where the run is simulated (data and initialization are the same numbers on every device; with
            an int ``generator`` the masks come from a generator on that device).

    Returns:
        A :class:`TeacherStudentRun` (dropout is the reference of the distances).
    """
    dt = DTYPES[check_choice(dtype, "dtype", tuple(DTYPES))]
    data = make_teacher_student(
        d=d, num_points=num_points, teacher_width=teacher_width, setup=setup, generator=0, dtype=dt, device=device
    )
    a0, W0 = init_student(
        width, d=d, setup=setup, generator=torch_generator(generator, offset=1000), dtype=dt, device=device
    )
    run = simulate_coupled(
        a0,
        W0,
        data.X,
        data.y,
        tau=tau,
        keep_prob=keep_prob,
        num_steps=num_steps,
        variants=VARIANTS4,
        generator=torch_generator(generator, offset=2000, device=device),
        record_every=record_every,
        validation=(data.X_val, data.y_val),
    )
    return TeacherStudentRun(
        steps=run.steps.tolist(),
        rms={v: run.rms_to_reference[i, 0].tolist() for i, v in enumerate(VARIANTS4) if v != "dropout"},
        loss={v: run.loss[i, 0].tolist() for i, v in enumerate(VARIANTS4)},
        val_loss={v: run.val_loss[i, 0].tolist() for i, v in enumerate(VARIANTS4)},
    )


def _column(rows: list[list[float]], j: int) -> Estimate:
    return Estimate.from_samples([r[j] for r in rows])


@dataclass(frozen=True)
class WidthSummary:
    """The repeats of :func:`teacher_student_run` at one width (those that did not diverge).

    Attributes:
        steps: (T,) recorded steps.
        rms: variant → (R, T) RMS distance of dropout to it, one row per repeat.
        loss: variant → (R, T) unmasked training loss.
        val_loss: variant → (R, T) validation loss (empty for records made before it was logged).
        num_diverged: repeats that diverged and are left out.
    """

    steps: list[int]
    rms: dict[str, list[list[float]]]
    loss: dict[str, list[list[float]]]
    val_loss: dict[str, list[list[float]]]
    num_diverged: int = 0

    @property
    def num_repeats(self) -> int:
        """R, the repeats summarized."""
        return len(next(iter(self.rms.values()), []))

    @property
    def rms_mean(self) -> dict[str, list[float]]:
        """Variant → (T,) mean over the repeats of the RMS distance."""
        return {v: torch.tensor(c, dtype=torch.float64).mean(0).tolist() for v, c in self.rms.items()}

    @property
    def rms_sd(self) -> dict[str, list[float]]:
        """Variant → (T,) standard deviation over the repeats (zeros for one repeat)."""
        return {
            v: (torch.tensor(c, dtype=torch.float64).std(0) if len(c) > 1 else torch.zeros(len(c[0]))).tolist()
            for v, c in self.rms.items()
        }

    def _index(self, step: int) -> int:
        if step not in self.steps:
            raise ValueError(f"step {step} was not recorded; recorded steps are {self.steps[0]}…{self.steps[-1]} "
                             f"every {self.steps[1] - self.steps[0] if len(self.steps) > 1 else 0}")  # fmt: skip
        return self.steps.index(step)

    def rms_at(self, step: int) -> dict[str, Estimate]:
        """Variant → mean ± standard error over the repeats of the RMS distance at ``step``."""
        j = self._index(step)
        return {v: _column(c, j) for v, c in self.rms.items()}

    def loss_at(self, step: int, *, validation: bool = False) -> dict[str, Estimate]:
        """Variant → mean ± standard error of the training (or validation) loss at ``step``."""
        j = self._index(step)
        return {v: _column(c, j) for v, c in (self.val_loss if validation else self.loss).items()}


@dataclass(frozen=True)
class TeacherStudentSummary(TabularResult):
    """The experiment's runs, one :class:`WidthSummary` per width (``summary[width]``), with statistics over repeats.

    Attributes:
        widths: width → its summary, widths increasing.
    """

    widths: dict[int, WidthSummary]

    def __getitem__(self, width: int) -> WidthSummary:
        return self.widths[width]

    @property
    def variants(self) -> list[str]:
        """The variants dropout is compared with."""
        first = next((s for s in self.widths.values() if s.steps), None)
        return [] if first is None else list(first.rms)

    @property
    def steps(self) -> list[int]:
        """The recorded steps (of the first width with a run)."""
        return next((s.steps for s in self.widths.values() if s.steps), [])

    @classmethod
    def from_runs(
        cls, widths: Sequence[int], runs: Sequence[TeacherStudentRun | dict[str, Any]]
    ) -> TeacherStudentSummary:
        """Collect runs (or their ``asdict`` records) by width; ``widths[i]`` is the width of ``runs[i]``. Records
        marked ``"diverged"`` (experiment jobs whose run blew up) are left out and counted."""
        out: dict[int, WidthSummary] = {}
        records = [r if isinstance(r, dict) else vars(r) for r in runs]
        for n in sorted(set(widths)):
            every = [r for w, r in zip(widths, records, strict=True) if w == n]
            rs = [r for r in every if not r.get("diverged")]

            def gather(field: str, rs: list[dict[str, Any]] = rs) -> dict[str, list[list[float]]]:
                return {v: [list(r[field][v]) for r in rs] for v in (rs[0].get(field) or {})} if rs else {}

            steps = list(rs[0]["steps"]) if rs else []
            out[int(n)] = WidthSummary(steps, gather("rms"), gather("loss"), gather("val_loss"), len(every) - len(rs))
        return cls(out)

    def rms_at(self, step: int) -> dict[str, dict[int, Estimate]]:
        """Variant → width → mean ± standard error of the RMS distance of dropout to it at ``step``."""
        return {v: {n: s.rms_at(step)[v] for n, s in self.widths.items() if s.steps} for v in self.variants}

    def slopes(self, step: int) -> dict[str, LogLinearFit]:
        """Variant → least-squares fit of log(mean RMS distance at ``step``) against log(width)
        (:func:`dropout_theory.stats.fit_power_law`: its ``exponent`` and ``stderr`` are the slope and its standard
        error from the residuals)."""
        out = {}
        for v, by_width in self.rms_at(step).items():
            out[v] = fit_power_law(list(by_width), [e.value for e in by_width.values()])
        return out

    def table_at(self, step: int) -> Table:
        """Mean ± standard error over the repeats of the RMS distance of dropout to each variant at ``step``."""
        variants, at = self.variants, self.rms_at(step)
        rows = [(n, *(at[v].get(n) for v in variants), s.num_diverged) for n, s in self.widths.items()]
        reps = sorted({s.num_repeats for s in self.widths.values()})
        return Table.build(
            ("width", *(VARIANT_NAMES[v] for v in variants), "diverged"),
            rows,
            formats=("d", *([""] * len(variants)), "d"),
            title=f"RMS distance of dropout at step {step} to (mean ± s.e. over {'/'.join(map(str, reps))} repeats):",
        )

    def slopes_table(self, steps: Sequence[int]) -> Table:
        """Fitted log–log slopes (± standard error) of the RMS distances against the width, one column per step."""
        fits = {k: self.slopes(k) for k in steps}
        rows = [(VARIANT_NAMES[v], *(Estimate(fits[k][v].exponent, fits[k][v].stderr) for k in steps))
                for v in self.variants]  # fmt: skip
        widths = list(self.widths)
        return Table.build(
            ("dropout vs", *(f"slope at step {k}" for k in steps)),
            rows,
            formats=("", *([""] * len(steps))),
            title=f"log–log slope of the RMS distance against the width ({widths[0]}…{widths[-1]}, "
            f"{len(widths)} widths; ± s.e. of the fit)",
        )

    def ordering_table(self, steps: Sequence[int], *, z: float = 2.0) -> Table:
        """Per width and step, the variants sorted by their mean RMS distance to dropout (nearest first), joined by
        ``<`` where the two neighbours differ by more than ``z`` standard errors and by ``≈`` where they do not.

        The difference of two neighbours is paired (the variants of one repeat share its initialization and masks):
        its mean ± standard error over the repeats (:meth:`dropout_theory.stats.Estimate.from_samples`; with one
        repeat the error is infinite, so every neighbour is ``≈``).

        Args:
            steps: recorded steps, one column each.
            z: the number of standard errors a gap must exceed.

        Returns:
            The table: width, then one ordering per step.
        """
        rows = []
        for n, s in self.widths.items():
            if not s.steps:
                continue
            row: list[Any] = [n]
            for step in steps:
                j = s._index(step)
                samples = {v: [r[j] for r in c] for v, c in s.rms.items()}
                ranked = sorted(samples, key=lambda v: Estimate.from_samples(samples[v]).value)
                text = VARIANT_NAMES[ranked[0]]
                for near, far in itertools.pairwise(ranked):
                    gap = Estimate.from_samples([b - a for a, b in zip(samples[near], samples[far], strict=True)])
                    text += (" < " if gap.value > z * gap.stderr else " ≈ ") + VARIANT_NAMES[far]
                row.append(text)
            rows.append(row)
        return Table.build(
            ("width", *(f"step {k}" for k in steps)),
            rows,
            formats=("d", *([""] * len(steps))),
            title=f"distances from dropout, nearest first ('<': paired gap above {z:g} standard errors, '≈': not)",
        )

    def loss_table(self, step: int) -> Table:
        """Training and validation loss of each of the four variants at ``step`` (mean ± s.e. over the repeats)."""
        rows = []
        for n, s in self.widths.items():
            if not s.steps:
                continue
            train, val = s.loss_at(step), s.loss_at(step, validation=True)
            rows += [(n, VARIANT_NAMES[v], train[v], val.get(v)) for v in train]
        return Table.build(
            ("width", "variant", "training loss", "validation loss"),
            rows,
            formats=("d", "", "", ""),
            title=f"losses at step {step} (mean ± s.e. over the repeats)",
        )

    def table(self) -> Table:
        return self.table_at(self.steps[-1])


def _check_widths(widths: Any) -> list[int]:
    if isinstance(widths, str) or not isinstance(widths, Sequence) or not widths:
        raise TypeError(f"widths must be a non-empty sequence of integers, got {widths!r}")
    return [check_positive_int(n, "widths") for n in widths]


def teacher_student_experiment(
    widths: Sequence[int] = BOOK_WIDTHS, *, repeats: int = 2, **kwargs: Any
) -> TeacherStudentSummary:
    """:func:`teacher_student_run` for every width × repeat (repeat r uses ``generator=r``), in this process.

    Args:
        widths: student widths.
        repeats: repeats per width.
        **kwargs: keyword arguments of :func:`teacher_student_run` (e.g. ``setup``).
    """
    widths = _check_widths(widths)
    repeats = check_positive_int(repeats, "repeats")
    check_allocation(len(widths) * repeats, "the runs", itemsize=4096, names=f"repeats = {repeats}")
    jobs = [(n, r) for n in widths for r in range(repeats)]
    runs = [teacher_student_run(n, generator=r, **kwargs) for n, r in jobs]
    return TeacherStudentSummary.from_runs([n for n, _ in jobs], runs)


@dataclass(frozen=True)
class PenaltyVisibility:
    """Coupled distances at mean-field time t of :func:`penalty_visibility` (means over repeats).

    Attributes:
        to_penalized: RMS distance from dropout to the explicitly penalized run.
        to_no_dropout: RMS distance from dropout to plain gradient descent.
        ratio: to_penalized / to_no_dropout.
        steps: number of steps.
    """

    to_penalized: float
    to_no_dropout: float
    ratio: float
    steps: int


def penalty_visibility(
    width: int,
    *,
    tau: float,
    keep_prob: float,
    t_final: float = 1.0,
    repeats: int = 2,
    generator: GeneratorLike = 0,
    d: int = 5,
    num_points: int = 30,
) -> PenaltyVisibility:
    """Is the dropout penalty visible at this master step? Coupled distances at mean-field time t.

    Args:
        width: n.
        tau: master learning rate τ.
        keep_prob: q.
        t_final: horizon; ceil(t/τ) steps.
        repeats: batched repeats.
        generator: int seed s (particles s, masks s + 1) or a torch generator.
        d: input dimension of the small teacher–student problem.
        num_points: data points.

    Returns:
        :class:`PenaltyVisibility`.
    """
    tau, t_final = check_positive(tau, "tau"), check_positive(t_final, "t_final")
    steps = check_iterations(math.ceil(t_final / tau - 1e-9), "t_final/tau (the number of steps)")
    data = make_teacher_student(d=d, num_points=num_points, teacher_width=4, setup="book", generator=0)
    a0, W0 = init_student(width, d=d, repeats=repeats, setup="book", generator=torch_generator(generator))
    run = simulate_coupled(
        a0,
        W0,
        data.X,
        data.y,
        tau=tau,
        keep_prob=keep_prob,
        num_steps=steps,
        variants=("dropout", "penalized", "no_dropout"),
        generator=torch_generator(generator, offset=1),
        record_every=steps,
    )
    pen = float(run.rms_to_reference[1, :, -1].mean())
    nod = float(run.rms_to_reference[2, :, -1].mean())
    return PenaltyVisibility(pen, nod, pen / nod, steps)


@dataclass(frozen=True)
class DigitsCurves(TabularResult):
    """Coupled variants on the digits' parity task (:func:`digits_parity_curves`); lists per variant.

    Attributes:
        steps: recorded steps.
        train_loss, test_loss, test_accuracy: variant → values at those steps.
        rms_to_dropout: variant → RMS particle distance to the dropout run.
    """

    steps: list[int]
    train_loss: dict[str, list[float]]
    test_loss: dict[str, list[float]]
    test_accuracy: dict[str, list[float]]
    rms_to_dropout: dict[str, list[float]]

    def table(self) -> Table:
        rows = [
            (v, self.train_loss[v][-1], self.test_loss[v][-1], self.test_accuracy[v][-1], self.rms_to_dropout[v][-1])
            for v in self.train_loss
        ]
        return Table.build(
            ("variant", "train loss", "test loss", "test accuracy", "RMS to dropout"),
            rows,
            formats=("", ".3f", ".3f", ".3f", ".3f"),
            title=f"after {self.steps[-1]} steps",
        )


def digits_parity_curves(
    *,
    width: int = 200,
    tau: float = 1.0,
    keep_prob: float = 0.5,
    num_steps: int = 300,
    record_every: int = 10,
    generator: GeneratorLike = 0,
    variants: Sequence[str] = ("dropout", "random_metric", "no_dropout"),
) -> DigitsCurves:
    """Training curves on 8×8 digits (parity, :func:`dropout_theory.data.digits_parity`) at a practical master step.

    The mean-field student (a_i ~ N(0, 1), w_i ~ N(0, I/d), ReLU) sees the 64 pixels scaled to [0, 1] and divided
    by 4 plus a constant feature, so that pre-activations are of order one.

    Args:
        width: n.
        tau: master learning rate τ (per-parameter learning rate τ·n).
        keep_prob: q.
        num_steps: steps.
        record_every: record every this many steps.
        generator: int seed s (initialization s, masks s + 1) or a torch generator.
        variants: coupled variants to train.

    Returns:
        :class:`DigitsCurves`.
    """
    split = digits_parity(generator=0)
    Xtr, ytr, Xte, yte = split.X_train, split.y_train, split.X_test, split.y_test
    a0, W0 = init_particles(width, Xtr.shape[1], generator=torch_generator(generator))
    run = simulate_coupled(
        a0,
        W0,
        Xtr,
        ytr,
        tau=tau,
        keep_prob=keep_prob,
        num_steps=num_steps,
        variants=tuple(variants),
        generator=torch_generator(generator, offset=1),
        record_every=record_every,
        record_particles=True,
    )
    f_test = network_output(run.a_path[:, 0], run.W_path[:, 0], Xte)  # (V, T, N_test)
    test_loss = 0.5 * ((f_test - yte) ** 2).mean(-1)
    acc = (torch.sign(f_test) == yte).to(torch.float64).mean(-1)
    return DigitsCurves(
        steps=run.steps.tolist(),
        train_loss={v: run.loss[i, 0].tolist() for i, v in enumerate(run.variants)},
        test_loss={v: test_loss[i].tolist() for i, v in enumerate(run.variants)},
        test_accuracy={v: acc[i].tolist() for i, v in enumerate(run.variants)},
        rms_to_dropout={v: run.rms_to_reference[i, 0].tolist() for i, v in enumerate(run.variants)},
    )
