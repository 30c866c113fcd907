"""Wide two-layer networks in the mean-field regime: dropout's update, its limits and the phase map
(part III).

Public API:

* particles — :func:`init_particles`, :func:`simulate_coupled` (variants "dropout", "random_metric",
  "propagation_noise_random_metric", "propagation_noise", "no_dropout", "penalized" on one shared random stream;
  their table names :data:`VARIANT_NAMES`),
  :class:`CoupledRun`, :func:`particle_velocity`, :func:`mask_average_velocity`, :func:`network_output`,
  :func:`penalized_objective`,
  :func:`penalty_coefficient`, :func:`pack_particles`, :data:`VARIANTS`;
* limits — :func:`wasserstein_gradient_flow`, :func:`penalized_flow`, :func:`poisson_jump_process`,
  :func:`bernoulli_jump_process`, :func:`critical_corner_process`, :class:`LimitPath`;
* distances — :func:`rms_distance`, :func:`sliced_wasserstein`, :func:`mmd`;
* classification — :func:`classify_phase`, :func:`limit_parameters`, :data:`PHASES`, :func:`as_exponent` (how
  exponents given as floats are rounded);
* data — :func:`make_teacher_student`, :func:`init_student`, :class:`TeacherStudentData`, :data:`SETUPS` (the
  authors' distributions or the book's);
* the numerical phase diagram — :func:`phase_point` (:class:`PhasePoint`), :func:`phase_diagram`
  (:class:`PhaseDiagram`, with log–log slopes against the predicted ones of :func:`predicted_slope`),
  :func:`num_steps_at`, :func:`simulate_limit`, :func:`compare_with_limit` /
  :func:`compare_with_limits` (:class:`LimitComparison`, :class:`LimitComparisons`), :func:`unmoved_fraction`,
  :data:`BOOK_POINTS`, :data:`BOOK_WIDTHS`;
* dropout vs random geometry — :func:`teacher_student_run` (:class:`TeacherStudentRun`),
  :func:`teacher_student_experiment` (:class:`TeacherStudentSummary` of :class:`WidthSummary`),
  :func:`penalty_visibility` (:class:`PenaltyVisibility`), :func:`digits_parity_curves` (:class:`DigitsCurves`);
* mini-batch SGD and the MNIST experiment — :func:`simulate_coupled_sgd` (:class:`SGDRun`; five coupled variants,
  squared or logistic loss), :func:`sharpness` (Lanczos), :func:`batch_sharpness`, :func:`mean_field_loss`,
  :func:`flatten_particles`, :func:`mnist_run` (:class:`MnistRun`) and :class:`MnistSummary` (digits 4 vs 7,
  :data:`MNIST_DROP_RATES`);
* stored runs of the Part III experiments — :func:`load_teacher_student`, :func:`load_phase_diagram`,
  :func:`load_mnist_runs` (module :mod:`dropout_theory.phase.stored`).

Master learning rate τ: the per-parameter learning rate of gradient descent on the loss is τ·n.
"""

from dropout_theory.phase.classify import PHASES, as_exponent, classify_phase, limit_parameters
from dropout_theory.phase.compare import (
    BOOK_POINTS,
    BOOK_WIDTHS,
    LimitComparison,
    LimitComparisons,
    PhaseDiagram,
    PhasePoint,
    compare_with_limit,
    compare_with_limits,
    num_steps_at,
    phase_diagram,
    phase_point,
    predicted_slope,
    simulate_limit,
    unmoved_fraction,
)
from dropout_theory.phase.distances import mmd, rms_distance, sliced_wasserstein
from dropout_theory.phase.limits import (
    LimitPath,
    bernoulli_jump_process,
    critical_corner_process,
    penalized_flow,
    poisson_jump_process,
    wasserstein_gradient_flow,
)
from dropout_theory.phase.minibatch import LOSSES, MINIBATCH_VARIANTS, SGDRun, simulate_coupled_sgd
from dropout_theory.phase.mnist import MNIST_DROP_RATES, MnistRun, MnistSummary, mnist_run
from dropout_theory.phase.particles import (
    VARIANT_NAMES,
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
from dropout_theory.phase.random_geometry import (
    DigitsCurves,
    PenaltyVisibility,
    TeacherStudentRun,
    TeacherStudentSummary,
    WidthSummary,
    digits_parity_curves,
    penalty_visibility,
    teacher_student_experiment,
    teacher_student_run,
)
from dropout_theory.phase.sharpness import batch_sharpness, flatten_particles, mean_field_loss, sharpness
from dropout_theory.phase.stored import load_mnist_runs, load_phase_diagram, load_teacher_student
from dropout_theory.phase.teacher_student import SETUPS, TeacherStudentData, init_student, make_teacher_student

__all__ = [
    "BOOK_POINTS",
    "BOOK_WIDTHS",
    "LOSSES",
    "MINIBATCH_VARIANTS",
    "MNIST_DROP_RATES",
    "PHASES",
    "SETUPS",
    "VARIANTS",
    "VARIANT_NAMES",
    "CoupledRun",
    "DigitsCurves",
    "LimitComparison",
    "LimitComparisons",
    "LimitPath",
    "MnistRun",
    "MnistSummary",
    "PenaltyVisibility",
    "PhaseDiagram",
    "PhasePoint",
    "SGDRun",
    "TeacherStudentData",
    "TeacherStudentRun",
    "TeacherStudentSummary",
    "WidthSummary",
    "as_exponent",
    "batch_sharpness",
    "bernoulli_jump_process",
    "classify_phase",
    "compare_with_limit",
    "compare_with_limits",
    "critical_corner_process",
    "digits_parity_curves",
    "flatten_particles",
    "init_particles",
    "init_student",
    "limit_parameters",
    "load_mnist_runs",
    "load_phase_diagram",
    "load_teacher_student",
    "make_teacher_student",
    "mask_average_velocity",
    "mean_field_loss",
    "mmd",
    "mnist_run",
    "network_output",
    "num_steps_at",
    "pack_particles",
    "particle_velocity",
    "penalized_flow",
    "penalized_objective",
    "penalty_coefficient",
    "penalty_visibility",
    "phase_diagram",
    "phase_point",
    "poisson_jump_process",
    "predicted_slope",
    "rms_distance",
    "sharpness",
    "simulate_coupled",
    "simulate_coupled_sgd",
    "simulate_limit",
    "sliced_wasserstein",
    "teacher_student_experiment",
    "teacher_student_run",
    "unmoved_fraction",
    "wasserstein_gradient_flow",
]
