"""The paper's teacher–student data: d = 20, 500 points, a 15-neuron ReLU teacher (our concrete choices).

The paper (arXiv:2510.07554) names the sizes; the distributions are ours: inputs x ~ N(0, I_d), teacher
neurons w*_j uniform on the unit sphere with signs a*_j = ±1 alternating, and targets
y = (1/m*) Σ_j a*_j relu(w*_j·x) (a mean-field teacher of width m* = 15, so that y is of order one).
Students are initialized by :func:`dropout_theory.phase.init_particles` (a_i ~ N(0, 1), w_i ~ N(0, I/d)).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from dropout_theory._checks import check_positive_int


@dataclass(frozen=True)
class TeacherStudentData:
    """Inputs, targets and the teacher that made them.

    Attributes:
        X: (N, d) inputs.
        y: (N,) targets.
        teacher_a: (m*,) teacher output weights.
        teacher_W: (m*, d) teacher input weights (unit rows).
    """

    X: torch.Tensor
    y: torch.Tensor
    teacher_a: torch.Tensor
    teacher_W: torch.Tensor


def make_teacher_student(
    d: int = 20,
    num_points: int = 500,
    teacher_width: int = 15,
    *,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> TeacherStudentData:
    """Generate the teacher–student regression data set.

    Args:
        d: input dimension >= 1.
        num_points: number of data points N >= 1.
        teacher_width: number of teacher neurons m* >= 1.
        seed: seed of a CPU torch generator (the data do not depend on the device).
        dtype: floating dtype.
        device: device of the returned tensors.

    Returns:
        A :class:`TeacherStudentData`.
    """
    d = check_positive_int(d, "d")
    N = check_positive_int(num_points, "num_points")
    m = check_positive_int(teacher_width, "teacher_width")
    check_positive_int(seed, "seed", minimum=0)
    g = torch.Generator().manual_seed(seed)
    Wt = torch.randn((m, d), generator=g, dtype=torch.float64)
    Wt = Wt / Wt.norm(dim=1, keepdim=True)
    at = torch.tensor([1.0 if j % 2 == 0 else -1.0 for j in range(m)], dtype=torch.float64)
    X = torch.randn((N, d), generator=g, dtype=torch.float64)
    y = torch.relu(X @ Wt.T) @ at / m
    return TeacherStudentData(*(t.to(dtype=dtype, device=device) for t in (X, y, at, Wt)))
