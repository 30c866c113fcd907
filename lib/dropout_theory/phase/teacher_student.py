"""The paper's teacher–student data: d = 20, 500 points, a 15-neuron ReLU teacher (our concrete choices).

The paper (arXiv:2510.07554) names the sizes; the distributions are ours: inputs x ~ N(0, I_d/d) (so
‖x‖ ≈ 1), teacher neurons w*_j ~ N(0, I_d) with output signs a*_j = ±1 alternating, and targets
y = (1/√m*) Σ_j a*_j relu(w*_j·x) (standard deviation about 0.5 for m* = 15). Students are initialized by
:func:`init_student`: a_i ~ N(0, 1) and w_i ~ N(0, I_d), so pre-activations are of order one.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from dropout_theory._checks import check_allocation, check_positive_int
from dropout_theory.rng import GeneratorLike, torch_generator


@dataclass(frozen=True)
class TeacherStudentData:
    """Inputs, targets and the teacher that made them.

    Attributes:
        X: (N, d) inputs.
        y: (N,) targets.
        teacher_a: (m*,) teacher output weights.
        teacher_W: (m*, d) teacher input weights.
    """

    X: torch.Tensor
    y: torch.Tensor
    teacher_a: torch.Tensor
    teacher_W: torch.Tensor


def make_teacher_student(
    *,
    d: int = 20,
    num_points: int = 500,
    teacher_width: int = 15,
    generator: GeneratorLike = 0,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> TeacherStudentData:
    """Generate the teacher–student regression data set.

    Args:
        d: input dimension >= 1.
        num_points: number of data points N >= 1.
        teacher_width: number of teacher neurons m* >= 1.
        generator: CPU torch generator or int seed (default: seed 0; the data do not depend on the device).
        dtype: floating dtype.
        device: device of the returned tensors.

    Returns:
        A :class:`TeacherStudentData`.
    """
    d = check_positive_int(d, "d")
    N = check_positive_int(num_points, "num_points")
    m = check_positive_int(teacher_width, "teacher_width")
    check_allocation(
        (m + N) * d + N, "the teacher and the data", names=f"d = {d}, num_points = {N}, teacher_width = {m}"
    )
    g = torch_generator(generator)
    Wt = torch.randn((m, d), generator=g, dtype=torch.float64)
    at = torch.tensor([1.0 if j % 2 == 0 else -1.0 for j in range(m)], dtype=torch.float64)
    X = torch.randn((N, d), generator=g, dtype=torch.float64) / d**0.5
    y = torch.relu(X @ Wt.T) @ at / m**0.5
    return TeacherStudentData(*(t.to(dtype=dtype, device=device) for t in (X, y, at, Wt)))


def init_student(
    width: int,
    *,
    d: int = 20,
    repeats: int | None = None,
    generator: GeneratorLike = 0,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Student particles for the teacher–student data: a_i ~ N(0, 1), w_i ~ N(0, I_d).

    Args:
        width: n >= 1.
        d: input dimension.
        repeats: optional number of independent clouds (leading dimension).
        generator: CPU torch generator or int seed (default: seed 0; the draws do not depend on the device).
        dtype: floating dtype.
        device: device.

    Returns:
        ``(a, W)`` of shapes (n,), (n, d) (or with a leading ``repeats`` dimension).
    """
    from dropout_theory.phase.particles import init_particles

    a, W = init_particles(width, d, repeats=repeats, scale_w=float(d) ** 0.5, generator=torch_generator(generator))
    return a.to(dtype=dtype, device=device), W.to(dtype=dtype, device=device)
