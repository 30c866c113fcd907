"""Dropout or random geometry? The phase paper's teacher–student experiment, a penalty sweep and digits curves.

* :func:`teacher_student_run` — a student of width n trained from one initialization with one mask stream as four
  coupled variants (``"dropout"``, ``"random_metric"``, ``"propagation_noise_random_metric"``, ``"no_dropout"``);
  it returns the RMS particle distance from dropout to each variant along the run. Paper scale (arXiv:2510.07554):
  d = 20, 500 points, a 15-neuron ReLU teacher, widths 200…5000, master step τ = 0.5 (per-parameter learning rate
  0.5·n), keep 0.7, 1000 steps, 10 repeats. :func:`teacher_student_experiment` runs widths × repeats and averages
  them (:class:`TeacherStudentSummary`).
* :func:`penalty_visibility` — at width n and keep rate q, the ratio d(dropout, penalized)/d(dropout, no dropout) at
  mean-field time t for a master step τ: near 1 when the penalty is invisible under the jump noise, near 0 when
  dropout follows the penalized flow.
* :func:`digits_parity_curves` — coupled variants trained on the 8×8 digits' parity task at a practical master
  step, with train and test losses and test accuracy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from dropout_theory.data import digits_parity
from dropout_theory.phase.particles import init_particles, network_output, simulate_coupled
from dropout_theory.phase.teacher_student import init_student, make_teacher_student
from dropout_theory.rng import GeneratorLike, torch_generator
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
        loss: variant → unmasked loss at those steps.
    """

    steps: list[int]
    rms: dict[str, list[float]]
    loss: dict[str, list[float]]


def teacher_student_run(
    width: int,
    *,
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
        tau: master learning rate τ.
        keep_prob: keep rate q.
        num_steps: number of steps.
        record_every: record the distances every this many steps.
        generator: int r (the repeat index: initialization seed 1000 + r, masks 2000 + r) or a torch generator.
        dtype: "float64" or "float32".
        d: input dimension.
        num_points: number of data points.
        teacher_width: teacher neurons.
        device: where the run is simulated (data and initialization are the same numbers on every device; with
            an int ``generator`` the masks come from a generator on that device).

    Returns:
        A :class:`TeacherStudentRun` (dropout is the reference of the distances).
    """
    dt = DTYPES[dtype]
    data = make_teacher_student(
        d=d, num_points=num_points, teacher_width=teacher_width, generator=0, dtype=dt, device=device
    )
    a0, W0 = init_student(width, d=d, generator=torch_generator(generator, offset=1000), dtype=dt, device=device)
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
    )
    return TeacherStudentRun(
        steps=run.steps.tolist(),
        rms={v: run.rms_to_reference[i, 0].tolist() for i, v in enumerate(VARIANTS4) if v != "dropout"},
        loss={v: run.loss[i, 0].tolist() for i, v in enumerate(VARIANTS4)},
    )


@dataclass(frozen=True)
class WidthSummary:
    """Repeats of :func:`teacher_student_run` at one width, averaged.

    Attributes:
        steps: recorded steps.
        rms_mean: variant → mean over repeats of the RMS distance to dropout at those steps.
        rms_sd: variant → standard deviation over repeats (zeros for one repeat).
        final_loss: variant → mean final loss.
        num_repeats: number of repeats averaged.
        num_diverged: repeats that diverged and are left out.
    """

    steps: list[int]
    rms_mean: dict[str, list[float]]
    rms_sd: dict[str, list[float]]
    final_loss: dict[str, float]
    num_repeats: int
    num_diverged: int = 0


@dataclass(frozen=True)
class TeacherStudentSummary(TabularResult):
    """The experiment averaged over repeats, one :class:`WidthSummary` per width (``summary[width]``).

    Attributes:
        widths: width → its summary, widths increasing.
    """

    widths: dict[int, WidthSummary]

    def __getitem__(self, width: int) -> WidthSummary:
        return self.widths[width]

    @classmethod
    def from_runs(
        cls, widths: Sequence[int], runs: Sequence[TeacherStudentRun | dict[str, Any]]
    ) -> TeacherStudentSummary:
        """Average runs (or their ``asdict`` records) by width; ``widths[i]`` is the width of ``runs[i]``. Records
        marked ``"diverged"`` (experiment jobs whose run blew up) are left out and counted."""
        out: dict[int, WidthSummary] = {}
        records = [r if isinstance(r, dict) else vars(r) for r in runs]
        for n in sorted(set(widths)):
            every = [r for w, r in zip(widths, records, strict=True) if w == n]
            rs = [r for r in every if not r.get("diverged")]
            mean, sd, final = {}, {}, {}
            for v in rs[0]["rms"] if rs else ():
                curves = torch.tensor([r["rms"][v] for r in rs], dtype=torch.float64)
                mean[v] = curves.mean(0).tolist()
                sd[v] = (curves.std(0) if len(rs) > 1 else torch.zeros_like(curves[0])).tolist()
            for v in rs[0]["loss"] if rs else ():
                final[v] = sum(r["loss"][v][-1] for r in rs) / len(rs)
            steps = list(rs[0]["steps"]) if rs else []
            out[int(n)] = WidthSummary(steps, mean, sd, final, len(rs), len(every) - len(rs))
        return cls(out)

    def table(self) -> Table:
        first = next((s for s in self.widths.values() if s.steps), None)
        variants = [] if first is None else list(first.rms_mean)
        rows = [
            (n, *(s.rms_mean[v][-1] if s.rms_mean else None for v in variants), s.num_diverged)
            for n, s in self.widths.items()
        ]
        names = {"random_metric": "random metric", "propagation_noise_random_metric": "prop. noise + RM"}
        title = "RMS distance of dropout to (mean over the repeats):"
        if first is not None:
            title = f"RMS distance of dropout at step {first.steps[-1]} to (mean over {first.num_repeats} repeats):"
        return Table.build(
            ("width", *(names.get(v, v.replace("_", " ")) for v in variants), "diverged"),
            rows,
            formats=("d", *([".3f"] * len(variants)), "d"),
            title=title,
        )


def teacher_student_experiment(
    widths: Sequence[int] = BOOK_WIDTHS, *, repeats: int = 2, **kwargs: Any
) -> TeacherStudentSummary:
    """:func:`teacher_student_run` for every width × repeat (repeat r uses ``generator=r``), in this process.

    Args:
        widths: student widths.
        repeats: repeats per width.
        **kwargs: keyword arguments of :func:`teacher_student_run`.
    """
    jobs = [(int(n), r) for n in widths for r in range(repeats)]
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
    steps = math.ceil(t_final / tau - 1e-9)
    data = make_teacher_student(d=d, num_points=num_points, teacher_width=4, generator=0)
    a0, W0 = init_student(width, d=d, repeats=repeats, generator=torch_generator(generator))
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
