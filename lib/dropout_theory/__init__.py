"""dropout_theory: simulators and derivations behind the executable book on dropout dynamics.

Subpackages (each exports its public API from its ``__init__``):

* :mod:`dropout_theory.two_layer` — two-layer networks with dropout, modified loss, noise covariance, SMEs;
* :mod:`dropout_theory.networks` — ``nn.Module`` networks with dropout layers: models, controlled masks, noisy
  training;
* :mod:`dropout_theory.alignment` — Hessian–variance alignment (exact and matrix-free) and flatness tools;
* :mod:`dropout_theory.deep_meanfield` — deep dropout networks at initialization: maps, fixed points, depth
  scales, gradient metrics with and without gradient independence, trainability;
* :mod:`dropout_theory.phase` — wide two-layer networks in the mean-field regime: coupled dropout variants,
  limit dynamics, distances, the phase map;
* :mod:`dropout_theory.symbolic` — the SymPy derivations the chapters display;
* the core every subpackage builds on: :mod:`dropout_theory.data` (data sets that ship with the environment),
  :mod:`dropout_theory.activations` (activations with derivatives), :mod:`dropout_theory.stats` (estimates with
  standard errors, power-law and decay fits), :mod:`dropout_theory.rng` (the ``generator`` argument),
  :mod:`dropout_theory.tables` (results that print as tables), the divergence record :class:`Divergence` and
  :class:`ConvergenceError` (an iterative routine stopped at its iteration bound, with the state it reached);
* :mod:`dropout_theory.plotting` — the book's figure helpers;
* :mod:`dropout_theory.widgets` — ipywidgets controls used by the chapters;
* :mod:`dropout_theory.experiments` — the command-line shell that runs paper-scale sweeps of the math packages'
  functions through a ``concurrent.futures.Executor``.

The keep probability is called ``keep_prob`` everywhere (the SME paper's p, the deep paper's ρ and the
phase paper's q); the dropout rate is 1 − keep_prob.
"""

from dropout_theory._checks import ConvergenceError, Divergence, DivergenceError

__version__ = "0.1.0"
__all__ = ["ConvergenceError", "Divergence", "DivergenceError", "__version__"]
