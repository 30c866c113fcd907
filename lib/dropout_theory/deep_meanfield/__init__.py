"""Deep dropout networks at initialization: mean-field maps, fixed points, depth scales, ensembles (part II).

Theory (numpy/scipy, Gauss–Hermite quadrature, vectorized over parameter grids): :func:`q_map`,
:func:`pair_map`, :func:`c_map`, :func:`q_trajectory`, :func:`pair_trajectory`, :func:`fixed_point_q`,
:func:`fixed_point_c`, :func:`chi_1`, :func:`chi_c`, :func:`chi_q`, :func:`depth_scale`, :func:`depth_scales`,
:func:`critical_sigma_w2`, :func:`order_chaos_boundary`.
Simulation (torch, batched over networks): :func:`inputs_for`, :func:`simulate_ensemble`,
:class:`EnsembleResult`. Gradient metrics: the predicted asymptotic rates with their conditions
(:func:`gradient_rates`, the linear surrogate :func:`linear_surrogate`) and layer-by-layer statistics of simulated
ensembles with fitted rates, relative-variance laws and powers (:func:`gradient_statistics`, stored through
:func:`gradient_statistics_sweep`); statistics: :func:`layer_mean_var`, :func:`bootstrap_power_law` (fits of decay
lengths and power laws: :mod:`dropout_theory.stats`).
Trainability (batched training of deep dropout networks): :func:`train_deep_ensemble` (:class:`TrainingResult`),
one stored job :func:`trainable_depth_job`, the sweeps :func:`trainable_depth_sweep` (:class:`Panel`,
:class:`TrainableDepthSweep`, :class:`DepthGrid`, :class:`DepthBoundary`) and :func:`training_speed_sweep`
(:class:`TrainingSpeedSweep`), resumable results files of :mod:`dropout_theory.jobs`, and the bounds
:func:`trainable_depth_bound`.

Data arguments: these functions are evaluated on a parameter point or grid — the activation, σ_w², σ_b² and the
keep probability (and the lengths/correlations a map acts on) — which they take positionally, in the order of the
formulas; every other argument is keyword-only.
"""

from dropout_theory.deep_meanfield._validate import ACTIVATION_NAMES
from dropout_theory.deep_meanfield.boundary import critical_sigma_w2, order_chaos_boundary
from dropout_theory.deep_meanfield.depth_scales import chi_1, chi_c, chi_q, depth_scale, depth_scales
from dropout_theory.deep_meanfield.depth_sweep import (
    BOOK_TRAINABLE_DEPTH,
    BOOK_TRAINING_SPEED,
    DepthBoundary,
    DepthGrid,
    Panel,
    TrainableDepthSweep,
    TrainingSpeedSweep,
    depth_crossing,
    trainable_depth_sweep,
    training_speed_sweep,
)
from dropout_theory.deep_meanfield.ensemble import READOUTS, EnsembleResult, inputs_for, simulate_ensemble
from dropout_theory.deep_meanfield.fixed_points import fixed_point_c, fixed_point_q
from dropout_theory.deep_meanfield.gradient_rates import (
    METRICS,
    RateRow,
    RateTable,
    SurrogateParameters,
    gradient_rates,
    linear_surrogate,
    realistic_gia_ratio,
    surrogate_parameters,
)
from dropout_theory.deep_meanfield.gradient_statistics import (
    BOOK_GRADIENT_STATISTICS,
    GradientStatistics,
    MetricStatistics,
    RateComparison,
    UniversalityTable,
    gradient_statistics,
    gradient_statistics_job,
    gradient_statistics_sweep,
    metric_statistics,
    rate_comparison,
    universality_table,
    width_exponent,
)
from dropout_theory.deep_meanfield.maps import c_map, pair_map, pair_trajectory, q_map, q_trajectory
from dropout_theory.deep_meanfield.quadrature import (
    activation_deriv,
    activation_fn,
    bivariate_expectation,
    gauss_hermite,
    gaussian_expectation,
)
from dropout_theory.deep_meanfield.statistics import bootstrap_power_law, layer_mean_var
from dropout_theory.deep_meanfield.trainability import (
    DATASETS,
    INITS,
    OPTIMIZERS,
    TrainingResult,
    initial_weights,
    train_deep_ensemble,
    trainable_depth_bound,
    trainable_depth_job,
)

__all__ = [
    "ACTIVATION_NAMES",
    "BOOK_GRADIENT_STATISTICS",
    "BOOK_TRAINABLE_DEPTH",
    "BOOK_TRAINING_SPEED",
    "DATASETS",
    "INITS",
    "METRICS",
    "OPTIMIZERS",
    "READOUTS",
    "DepthBoundary",
    "DepthGrid",
    "EnsembleResult",
    "GradientStatistics",
    "MetricStatistics",
    "Panel",
    "RateComparison",
    "RateRow",
    "RateTable",
    "SurrogateParameters",
    "TrainableDepthSweep",
    "TrainingResult",
    "TrainingSpeedSweep",
    "UniversalityTable",
    "activation_deriv",
    "activation_fn",
    "bivariate_expectation",
    "bootstrap_power_law",
    "c_map",
    "chi_1",
    "chi_c",
    "chi_q",
    "critical_sigma_w2",
    "depth_crossing",
    "depth_scale",
    "depth_scales",
    "fixed_point_c",
    "fixed_point_q",
    "gauss_hermite",
    "gaussian_expectation",
    "gradient_rates",
    "gradient_statistics",
    "gradient_statistics_job",
    "gradient_statistics_sweep",
    "initial_weights",
    "inputs_for",
    "layer_mean_var",
    "linear_surrogate",
    "metric_statistics",
    "order_chaos_boundary",
    "pair_map",
    "pair_trajectory",
    "q_map",
    "q_trajectory",
    "rate_comparison",
    "realistic_gia_ratio",
    "simulate_ensemble",
    "surrogate_parameters",
    "train_deep_ensemble",
    "trainable_depth_bound",
    "trainable_depth_job",
    "trainable_depth_sweep",
    "training_speed_sweep",
    "universality_table",
    "width_exponent",
]
