"""The teacher–student data of the phase paper's experiment, in two setups: the authors' and the book's.

Sizes (arXiv:2510.07554): inputs in dimension d = 20, 500 training points, a 15-neuron ReLU teacher. The
distributions come from the authors' public code (GitHub ``PierreMarion23/dropout-phase-diagram``, notebook
``teacher_student_dropout.ipynb``), not from the paper:

* ``setup="authors"`` — inputs x ~ N(0, I_d), teacher rows w*_j ~ N(0, I_d/d) with output weights a*_j ~ N(0, 1),
  targets y = (1/√m*) Σ_j a*_j relu(w*_j·x), and as many validation points as training points, drawn the same
  way; students a_i ~ N(0, 1), w_i ~ N(0, I_d/d) (:func:`init_student`).
* ``setup="book"`` — the book's earlier choice: x ~ N(0, I_d/d) (so ‖x‖ ≈ 1), w*_j ~ N(0, I_d) with output signs
  a*_j = ±1 alternating, the same targets; students a_i ~ N(0, 1), w_i ~ N(0, I_d).

In both, the pre-activations w·x of teacher and student are of order one; the authors' inputs are √d ≈ 4.5 times
longer and their targets have standard deviation about 1 (the book's about 0.5).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from dropout_theory._checks import check_allocation, check_choice, check_positive_int
from dropout_theory.rng import GeneratorLike, torch_generator

#: The two distributions of the teacher–student data (see the module docstring).
SETUPS: tuple[str, ...] = ("authors", "book")


@dataclass(frozen=True)
class TeacherStudentData:
    """Inputs, targets and the teacher that made them.

    Attributes:
        X: (N, d) training inputs.
        y: (N,) training targets.
        teacher_a: (m*,) teacher output weights.
        teacher_W: (m*, d) teacher input weights.
        X_val: (N, d) validation inputs, drawn after the training data.
        y_val: (N,) validation targets.
        setup: ``"authors"`` or ``"book"``.
    """

    X: torch.Tensor
    y: torch.Tensor
    teacher_a: torch.Tensor
    teacher_W: torch.Tensor
    X_val: torch.Tensor
    y_val: torch.Tensor
    setup: str


def make_teacher_student(
    *,
    d: int = 20,
    num_points: int = 500,
    teacher_width: int = 15,
    setup: str = "authors",
    generator: GeneratorLike = 0,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> TeacherStudentData:
    """Generate the teacher–student regression data set (training and validation points).

    Args:
        d: input dimension >= 1.
        num_points: number of training points N >= 1 (and of validation points).
        teacher_width: number of teacher neurons m* >= 1.
        setup: ``"authors"`` (the authors' code) or ``"book"`` (see the module docstring).
        generator: CPU torch generator or int seed (default: seed 0; the data do not depend on the device).
        dtype: floating dtype.
        device: device of the returned tensors.

    Returns:
        A :class:`TeacherStudentData`. The draws are made in float64 in the order teacher, training inputs,
        validation inputs, so the training set of a seed does not depend on the validation set.
    """
    d = check_positive_int(d, "d")
    N = check_positive_int(num_points, "num_points")
    m = check_positive_int(teacher_width, "teacher_width")
    setup = check_choice(setup, "setup", SETUPS)
    check_allocation(
        (m + N) * d + N, "the teacher and the data", names=f"d = {d}, num_points = {N}, teacher_width = {m}"
    )
    g = torch_generator(generator)
    f64 = torch.float64
    if setup == "authors":
        Wt = torch.randn((m, d), generator=g, dtype=f64) / d**0.5
        at = torch.randn(m, generator=g, dtype=f64)
        X = torch.randn((N, d), generator=g, dtype=f64)
        Xv = torch.randn((N, d), generator=g, dtype=f64)
    else:
        Wt = torch.randn((m, d), generator=g, dtype=f64)
        at = torch.tensor([1.0 if j % 2 == 0 else -1.0 for j in range(m)], dtype=f64)
        X = torch.randn((N, d), generator=g, dtype=f64) / d**0.5
        Xv = torch.randn((N, d), generator=g, dtype=f64) / d**0.5
    y = torch.relu(X @ Wt.T) @ at / m**0.5
    yv = torch.relu(Xv @ Wt.T) @ at / m**0.5
    tensors = (t.to(dtype=dtype, device=device) for t in (X, y, at, Wt, Xv, yv))
    return TeacherStudentData(*tensors, setup=setup)


def init_student(
    width: int,
    *,
    d: int = 20,
    repeats: int | None = None,
    setup: str = "authors",
    generator: GeneratorLike = 0,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Student particles: a_i ~ N(0, 1) and w_i ~ N(0, I_d/d) (``"authors"``) or N(0, I_d) (``"book"``).

    Args:
        width: n >= 1.
        d: input dimension.
        repeats: optional number of independent clouds (leading dimension).
        setup: ``"authors"`` or ``"book"``.
        generator: CPU torch generator or int seed (default: seed 0; the draws do not depend on the device).
        dtype: floating dtype.
        device: device.

    Returns:
        ``(a, W)`` of shapes (n,), (n, d) (or with a leading ``repeats`` dimension).
    """
    from dropout_theory.phase.particles import init_particles

    setup = check_choice(setup, "setup", SETUPS)
    scale_w = 1.0 if setup == "authors" else float(d) ** 0.5
    a, W = init_particles(width, d, repeats=repeats, scale_w=scale_w, generator=torch_generator(generator))
    return a.to(dtype=dtype, device=device), W.to(dtype=dtype, device=device)
