"""Wide two-layer networks in the mean-field regime: dropout's update, its limits and the phase map
(part III).

Public API:

* particles — :func:`init_particles`, :func:`simulate_coupled` (variants "dropout", "random_metric",
  "propagation_noise_random_metric", "no_dropout", "penalized" on one shared random stream),
  :class:`CoupledRun`, :func:`particle_velocity`, :func:`mask_average_velocity`, :func:`network_output`,
  :func:`penalized_objective`,
  :func:`penalty_coefficient`, :func:`pack_particles`, :data:`VARIANTS`;
* limits — :func:`wasserstein_gradient_flow`, :func:`penalized_flow`, :func:`poisson_jump_process`,
  :func:`bernoulli_jump_process`, :func:`critical_corner_process`, :class:`LimitPath`;
* distances — :func:`rms_distance`, :func:`sliced_wasserstein`, :func:`mmd`;
* classification — :func:`classify_phase`, :func:`limit_parameters`, :data:`PHASES`;
* data — :func:`make_teacher_student`, :func:`init_student`, :class:`TeacherStudentData`.

Master learning rate τ: the per-parameter learning rate of gradient descent on the loss is τ·n.
"""

from dropout_theory.phase.classify import PHASES, classify_phase, limit_parameters
from dropout_theory.phase.distances import mmd, rms_distance, sliced_wasserstein
from dropout_theory.phase.limits import (
    LimitPath,
    bernoulli_jump_process,
    critical_corner_process,
    penalized_flow,
    poisson_jump_process,
    wasserstein_gradient_flow,
)
from dropout_theory.phase.particles import (
    VARIANTS,
    CoupledRun,
    init_particles,
    mask_average_velocity,
    network_output,
    pack_particles,
    particle_velocity,
    penalized_objective,
    penalty_coefficient,
    simulate_coupled,
)
from dropout_theory.phase.teacher_student import TeacherStudentData, init_student, make_teacher_student

__all__ = [
    "PHASES",
    "VARIANTS",
    "CoupledRun",
    "LimitPath",
    "TeacherStudentData",
    "bernoulli_jump_process",
    "classify_phase",
    "critical_corner_process",
    "init_particles",
    "init_student",
    "limit_parameters",
    "make_teacher_student",
    "mask_average_velocity",
    "mmd",
    "network_output",
    "pack_particles",
    "particle_velocity",
    "penalized_flow",
    "penalized_objective",
    "penalty_coefficient",
    "poisson_jump_process",
    "rms_distance",
    "simulate_coupled",
    "sliced_wasserstein",
    "wasserstein_gradient_flow",
]
