"""The input contract of the public API, as a fuzz harness shared by ``tests/test_input_contract.py`` and a report.

Every public callable (the names in each subpackage's ``__all__``, the public functions of the core modules and of
:mod:`dropout_theory.symbolic`) is called once with small valid arguments (the *base call*, built from the parameter
names by :data:`VALID` and :data:`OVERRIDES`), then again with one argument replaced by a bad value of its class
(:func:`bad_values`). Each bad call is classified:

* ``clear``: ``ValueError``/``TypeError`` whose message names a parameter of the function (or a
  :class:`dropout_theory.DivergenceError`, the library's report of a run that blew up);
* ``obscure``: any other exception, or a ``ValueError``/``TypeError`` that names no parameter;
* ``nan``: returned a result holding NaN or inf;
* ``accepted``: returned a finite result (allowed by the contract: some "bad" values are legitimate for some
  functions, e.g. a negative bias variance is not, but ``penalty=0`` is);
* ``hang``: did not return within the per-call time limit.

The contract: no call is ``obscure``, ``nan`` or ``hang``. ``python -m tests.contract`` prints the counts per class
and the failing calls.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import inspect
import math
import re
import resource
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

import dropout_theory
from dropout_theory import DivergenceError

#: Packages whose ``__all__`` is the public API.
PACKAGES = ("two_layer", "networks", "alignment", "deep_meanfield", "phase", "experiments")
#: Modules whose public functions (defined there) are the API: the core and the SymPy derivations.
MODULES = (
    "activations",
    "data",
    "rng",
    "stats",
    "tables",
    "jobs",
    "symbolic.two_layer",
    "symbolic.deep_linear",
    "symbolic.phase",
)

#: Public names outside the fuzz, with the reason.
EXEMPT = {
    # the experiments shell works on files, processes and jobs (covered by tests/experiments)
    "experiments.default_executor": "starts worker processes",
    "experiments.run_jobs": "runs jobs in worker processes; argument checks tested in tests/experiments",
    "experiments.run_identity": "context manager writing run headers; tested in tests/experiments",
    "experiments.check_results_path": "file-system paths; tested in tests/experiments",
    "experiments.load_results": "file-system paths; tested in tests/experiments",
    "experiments.read_run_header": "file-system paths; tested in tests/experiments",
    "networks.controlled_dropout": "context manager over a model's dropout layers; tested in tests/networks",
    # data loaders read the data sets that ship with the environment (seconds per call)
    "data.load_digits_regression": "reads a data set from disk (seconds per call)",
    "data.standardized_mnist1d": "reads a data set from disk (seconds per call)",
    "data.standardized_digits": "reads a data set from disk (seconds per call)",
    "data.digits_parity": "reads a data set from disk (seconds per call)",
    "phase.digits_parity_curves": "trains on a data set read from disk (seconds per call)",
    "phase.mnist_run": "trains on MNIST read from disk (minutes per call)",
    "phase.load_mnist_runs": "reads stored runs from results files",
    "phase.load_phase_diagram": "reads stored runs from results files",
    "phase.load_teacher_student": "reads stored runs from results files",
    "alignment.stored_alignment_summary": "summarizes stored run records read from results files",
    "alignment.variance_flatness_summary": "summarizes stored run records read from results files",
    "alignment.format_variance_flatness_summary": "formats variance_flatness_summary's rows of stored runs",
    "alignment.minima_flatness_summary": "summarizes stored run records read from results files",
    "two_layer.weak_order_table": "summarizes stored run records read from results files",
    "two_layer.weak_order_studies": "summarizes stored run records read from results files",
    "two_layer.curve_summaries": "summarizes stored run records read from results files",
    "two_layer.gap_table": "summarizes stored run records read from results files",
    # resumable sweeps run their JSON job units through worker processes and results files (dropout_theory.jobs);
    # the units are thin JSON wrappers (seed → generator) around fuzzed functions
    "deep_meanfield.gradient_statistics_sweep": "runs jobs in worker processes; its science is gradient_statistics",
    "deep_meanfield.gradient_statistics_job": "JSON unit of a sweep around gradient_statistics (fuzzed)",
    "deep_meanfield.trainable_depth_sweep": "runs jobs in worker processes on a data set read from disk",
    "deep_meanfield.trainable_depth_job": "JSON unit of a sweep, trains on a data set read from disk",
    "deep_meanfield.training_speed_sweep": "runs jobs in worker processes on a data set read from disk",
    "deep_meanfield.trainable_depth_grid": "trains on a data set read from disk (seconds per call)",
    "deep_meanfield.training_speed": "trains on a data set read from disk (seconds per call)",
}


#: Result fields that are NaN by documentation for some bad calls (not counted as silent NaN), with the reason.
DOCUMENTED_NAN = {
    "alignment.variance_flatness": {".fit.stderr"},  # a fit through two directions: LogLinearFit documents nan
    "phase.unmoved_fraction": {""},  # documented: NaN for the degenerate phase (no limit)
    "phase.compare_with_limit": {".unmoved_theory"},  # the same, as a field
    "deep_meanfield.realistic_gia_ratio": {""},  # documented: inf for chi_1 >= 1 (the metric does not decay)
    "deep_meanfield.depth_crossing": {"[1]"},  # documented: the standard error of a censored crossing is NaN
}

#: Words that name an argument in messages besides the parameter names: the ``name`` of an activation is called
#: ``activation`` in every message (as in every other signature of the library).
ALIASES = {
    "activations.get_activation": ("activation",),
    "phase.as_exponent": ("a",),  # the default of its ``name``: the caller's argument
    "deep_meanfield.activation_fn": ("activation",),
    "deep_meanfield.activation_deriv": ("activation",),
}

#: Public names that propagate NaN by design, with the reason (their NaN outputs are not counted as silent).
NAN_PROPAGATING = {
    "networks.half_mse": "a loss evaluated inside training loops (like torch.nn.functional.mse_loss); every loop "
    "of the library checks the loss it returns",
}


# --------------------------------------------------------------------------------------------------- base arguments
def _problem(m: int = 3, d: int = 2, n: int = 5, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(m, generator=g, dtype=torch.float64),
        torch.randn(m, d, generator=g, dtype=torch.float64),
        torch.randn(n, d, generator=g, dtype=torch.float64),
        torch.randn(n, generator=g, dtype=torch.float64),
    )


def _mlp() -> nn.Module:
    from dropout_theory.networks import dropout_mlp

    return dropout_mlp((2, 4, 1), keep_prob=0.8, generator=0)


def _mlp_data():
    g = torch.Generator().manual_seed(1)
    return torch.randn(6, 2, generator=g, dtype=torch.float64), torch.randn(6, 1, generator=g, dtype=torch.float64)


def _matvec(v: torch.Tensor) -> torch.Tensor:
    scale = torch.arange(1.0, v.shape[-1] + 1, dtype=v.dtype)
    return v * scale


def _estimate(value: float = 1.0):
    from dropout_theory.stats import Estimate

    return Estimate(value, 0.1)


_GRADIENT_STATISTICS = {"sigma_w2": 1.5, "depth": 5, "width": 6, "num_networks": 4, "num_boot": 10}


def _gradient_statistics(width: int):
    from dropout_theory.deep_meanfield import gradient_statistics

    kw = {**_GRADIENT_STATISTICS, "width": width, "num_networks": 24, "depth": 10}
    return gradient_statistics("tanh", kw.pop("sigma_w2"), 0.05, 0.9, generator=0, **kw)


def _spd(seed: int) -> torch.Tensor:
    A = torch.randn(4, 4, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return A @ A.T + torch.eye(4, dtype=torch.float64)


def _mlp_kwargs(with_y: bool = True) -> dict[str, Any]:
    from dropout_theory.networks import init_mlp

    X, y = _mlp_data()
    out = {"theta": init_mlp((2, 3, 1), generator=0), "X": X, "widths": (2, 3, 1)}
    return {**out, "y": y} if with_y else out


def _loss_on_theta(theta: torch.Tensor) -> torch.Tensor:
    return 0.5 * (theta**2).sum() + 0.1 * (theta**4).sum()


#: Valid values by parameter name (small: every base call runs in milliseconds).
VALID: dict[str, Callable[[], Any]] = {
    "a": lambda: _problem()[0],
    "W": lambda: _problem()[1],
    "X": lambda: _problem()[2],
    "y": lambda: _problem()[3],
    "a0": lambda: _problem()[0],
    "W0": lambda: _problem()[1],
    "mask": lambda: torch.tensor([1.25, 0.0, 1.25], dtype=torch.float64),
    "z": lambda: torch.randn(2, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64),
    "zeta": lambda: torch.zeros(2, 3, 3, dtype=torch.float64),
    "theta": lambda: torch.tensor([0.3, -0.2, 0.1], dtype=torch.float64),
    "thetas": lambda: torch.randn(6, 3, generator=torch.Generator().manual_seed(3), dtype=torch.float64),
    "direction": lambda: torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64),
    "P": lambda: torch.randn(5, 2, generator=torch.Generator().manual_seed(4), dtype=torch.float64),
    "Q": lambda: torch.randn(6, 2, generator=torch.Generator().manual_seed(5), dtype=torch.float64),
    "samples": lambda: torch.randn(4, 3, generator=torch.Generator().manual_seed(6), dtype=torch.float64),
    "h_eigenvalues": lambda: torch.tensor([3.0, 1.0, 0.5], dtype=torch.float64),
    "sigma_eigenvalues": lambda: torch.tensor([2.0, 0.5, 0.1], dtype=torch.float64),
    "keep_prob": lambda: 0.8,
    "keep0": lambda: 0.5,
    "lr": lambda: 0.05,
    "tau": lambda: 0.5,
    "tau0": lambda: 0.1,
    "t_final": lambda: 0.2,
    "t": lambda: 0.5,
    "time": lambda: 0.2,
    "jump_size": lambda: 0.1,
    "mean_kept": lambda: 0.5,
    "penalty": lambda: 0.1,
    "num_steps": lambda: 3,
    "num_samples": lambda: 4,
    "num_runs": lambda: 2,
    "num_probes": lambda: 4,
    "num_networks": lambda: 3,
    "sketch_size": lambda: 2,
    "num": lambda: 3,
    "dim": lambda: 3,
    "m": lambda: 3,
    "d": lambda: 2,
    "n": lambda: 5,
    "K": lambda: None,
    "width": lambda: 6,
    "depth": lambda: 3,
    "eval_every": lambda: 1,
    "method": lambda: "dropout",
    "activation": lambda: "tanh",
    "generator": lambda: 0,
    "sigma_w2": lambda: 1.5,
    "sigma_b2": lambda: 0.05,
    "q": lambda: 0.7,
    "c": lambda: 0.3,
    "q1": lambda: 1.0,
    "c1": lambda: 0.5,
    "q_a": lambda: 0.8,
    "q_b": lambda: 0.6,
    "q_ab": lambda: 0.3,
    "q_a1": lambda: 0.8,
    "q_b1": lambda: 0.6,
    "q_ab1": lambda: 0.3,
    "chi": lambda: 0.9,
    "sigma_b2_grid": lambda: np.array([0.05, 0.2]),
    "keep_probs": lambda: (0.9, 1.0),
    "lrs": lambda: (0.1, 0.05),
    "inputs": lambda: torch.randn(2, 6, generator=torch.Generator().manual_seed(7), dtype=torch.float64),
    "f": lambda: np.tanh,
    "g": lambda: np.tanh,
    "name": lambda: "tanh",
    "model": _mlp,
    "loss_fn": lambda: dropout_theory.networks.half_mse,
    "matvec": lambda: _matvec,
    "statistic": lambda: lambda v, hv: (v * hv).sum(-1),
    "loss": lambda: _loss_on_theta,
    "trace": lambda: _estimate(2.0),
    "frob_h_sq": lambda: _estimate(3.0),
    "frob_sigma_sq": lambda: _estimate(4.0),
    "x": lambda: np.array([1.0, 2.0, 4.0, 8.0]),
    "values": lambda: np.array([1.0, 2.0, 3.0]),
    "points": lambda: (("1", "1"),),
    "widths": lambda: (20,),
    "pair": lambda: True,
    "order": lambda: 2,
    "expr": lambda: __import__("sympy").Symbol("x") ** 2,
    "shape": lambda: (2, 3),
    "value": lambda: 0.5,
    "n_layers": lambda: 3,
    "k_max": lambda: 4,
    "deltas": lambda: list(__import__("sympy").symbols("delta1 delta2")),
    "T": lambda: __import__("sympy").Symbol("T"),
    "tau_G": lambda: __import__("sympy").Symbol("tau_G"),
    "output": lambda: torch.ones(3, 1, dtype=torch.float64),
    "target": lambda: torch.zeros(3, 1, dtype=torch.float64),
    "names": lambda: "0.weight",
    "params": lambda: {"x": 1, "y": "a"},
    "jobs": lambda: [{"x": 1}],
    "results": lambda: [{"x": 1, "status": "done"}],
    "num_params": lambda: 3,
}

#: Per-function base arguments that differ from :data:`VALID` (qualified name relative to ``dropout_theory``).
OVERRIDES: dict[str, Callable[[], dict[str, Any]]] = {
    "two_layer.simulate": lambda: {"method": "dropout"},
    "two_layer.weak_error_study": lambda: {"lrs": (0.1, 0.05), "time": 0.2, "num_runs": 2},
    "two_layer.unflatten_params": lambda: {"theta": torch.arange(9.0, dtype=torch.float64)},
    "two_layer.flatten_params": lambda: {},
    "alignment.alignment_along_training": lambda: {
        "X": _mlp_data()[0],
        "y": _mlp_data()[1],
        "num_steps": 2,
        "eval_every": 2,
        "num_masks": 8,
        "num_probes": 4,
        "num_hessian_masks": 2,
    },
    "alignment.minima_flatness": lambda: {"X": _mlp_data()[0], "y": _mlp_data()[1], "strategies": ("gd",)},
    "alignment.module_alignment_matrices": lambda: {
        "X": _mlp_data()[0],
        "y": _mlp_data()[1],
        "num_masks": 8,
        "num_hessian_masks": 2,
    },
    "alignment.module_hessian_variance_alignment": lambda: {
        "X": _mlp_data()[0],
        "y": _mlp_data()[1],
        "num_masks": 8,
        "num_hessian_masks": 2,
        "num_probes": 4,
    },
    "alignment.subset_baseline": lambda: {
        "X": _mlp_data()[0],
        "y": _mlp_data()[1],
        "subset": torch.tensor([0, 1]),
        "num_masks": 8,
    },
    "alignment.parameter_indices": lambda: {},
    "alignment.hessian_variance_alignment": lambda: {"num_probes": 4, "batch_size": 4},
    "alignment.matched_noise_levels": lambda: {"X": _mlp_data()[0], "y": _mlp_data()[1], "num_samples": 8},
    "alignment.flat_hvp": lambda: {},
    "alignment.loss_flatness": lambda: {"loss_fn": _loss_on_theta},
    "alignment.variance_flatness": lambda: {"loss_fn": _loss_on_theta},
    "alignment.sampled_trace_product": lambda: {"samples": torch.ones(4, 3, dtype=torch.float64)},
    "networks.train_with_noise": lambda: {"X": _mlp_data()[0], "y": _mlp_data()[1], "noise": "dropout"},
    "networks.evaluate_loss": lambda: {"X": _mlp_data()[0], "y": _mlp_data()[1]},
    "networks.module_flat_loss": lambda: {"X": _mlp_data()[0], "y": _mlp_data()[1]},
    "networks.check_examples": lambda: {"X": _mlp_data()[0], "y": _mlp_data()[1]},
    "networks.dropout_mlp": lambda: {"widths": (2, 4, 1)},
    "networks.dropout_convnet": lambda: {"channels": (1, 1), "hidden": 2, "num_classes": 2},
    "deep_meanfield.simulate_ensemble": lambda: {"width": 6, "num_networks": 3},
    "deep_meanfield.train_deep_ensemble": lambda: {
        "depth": 2,
        "width": 4,
        "lr": 0.05,
        "num_steps": 2,
        "batch_size": 4,
        "eval_every": 1,
        "data": (
            torch.randn(8, 6, generator=torch.Generator().manual_seed(0)),
            torch.arange(8) % 10,
            torch.randn(4, 6, generator=torch.Generator().manual_seed(1)),
            torch.arange(4) % 10,
        ),
    },
    "deep_meanfield.bootstrap_power_law": lambda: {
        "samples": [np.abs(np.random.default_rng(s).normal(size=(4, 3))) * (s + 1) + 0.1 for s in range(3)],
        "num_boot": 10,
    },
    "deep_meanfield.layer_mean_var": lambda: {"samples": np.abs(np.random.default_rng(0).normal(size=(4, 3))) + 0.1},
    "deep_meanfield.activation_fn": lambda: {"name": "tanh"},
    "deep_meanfield.depth_crossing": lambda: {
        "depths": np.array([2.0, 4.0, 8.0, 16.0]),
        "accuracy": np.array([0.9, 0.8, 0.5, 0.2]),
        "stderr": np.full(4, 0.02),
        "threshold": 0.6,
    },
    "deep_meanfield.gradient_statistics": lambda: dict(_GRADIENT_STATISTICS),
    "deep_meanfield.initial_weights": lambda: {"shape": (2, 3, 4), "sigma_w": torch.ones(2, 1, 1)},
    "deep_meanfield.metric_statistics": lambda: {
        "samples": np.exp(-0.3 * np.arange(5.0))[None, :] * (1.0 + 0.1 * np.random.default_rng(0).normal(size=(6, 5))),
        "window": (0, 4),
        "num_boot": 10,
    },
    "deep_meanfield.rate_comparison": lambda: {"stats": [_gradient_statistics(8)]},
    "deep_meanfield.universality_table": lambda: {"stats": [_gradient_statistics(8)]},
    "deep_meanfield.width_exponent": lambda: {"stats": [_gradient_statistics(8), _gradient_statistics(16)]},
    "deep_meanfield.realistic_gia_ratio": lambda: {"chi_1": 0.9, "kappa_1": 0.5},
    "phase.simulate_coupled": lambda: {"num_steps": 3},
    "phase.simulate_limit": lambda: {"a": "1", "b": "1", "num_steps": 3},
    "phase.classify_phase": lambda: {"a": "1", "b": "1/4"},
    "phase.limit_parameters": lambda: {"a": "1", "b": "1/4"},
    "phase.unmoved_fraction": lambda: {"a": "1", "b": "1/4"},
    "phase.compare_with_limit": lambda: {"a": "1", "b": "1", "width": 6, "num_points": 5, "d": 2},
    "phase.compare_with_limits": lambda: {"points": (("1", "1"),), "width": 6, "num_points": 5, "d": 2},
    "phase.phase_point": lambda: {
        "a": "1",
        "b": "1",
        "width": 4,
        "num_points": 3,
        "d": 2,
        "repeats": 2,
        "t_final": 0.1,
    },
    "phase.phase_diagram": lambda: {
        "points": (("1", "1"),),
        "widths": (4, 6),
        "num_points": 3,
        "d": 2,
        "t_final": 0.1,
        "repeats": 2,
    },
    "phase.penalty_visibility": lambda: {"width": 6, "num_points": 5, "d": 2},
    "phase.teacher_student_run": lambda: {"width": 6, "num_steps": 3, "record_every": 1, "num_points": 5, "d": 2},
    "phase.teacher_student_experiment": lambda: {
        "widths": (6,),
        "num_steps": 3,
        "record_every": 1,
        "num_points": 5,
        "d": 2,
    },
    "phase.make_teacher_student": lambda: {"d": 2, "num_points": 5, "teacher_width": 2},
    "phase.init_student": lambda: {"width": 6, "d": 2},
    "phase.init_particles": lambda: {"width": 6, "d": 2},
    "phase.penalty_coefficient": lambda: {"width": 6},
    "phase.pack_particles": lambda: {},
    "phase.rms_distance": lambda: {"Q": VALID["P"]() + 0.1},
    "rng.bernoulli_mask": lambda: {"keep_prob": 0.8, "generator": torch.Generator().manual_seed(0)},
    "symbolic.deep_linear.linear_gradient_theory": lambda: {"q_layers": np.array([1.0, 0.9, 0.8])},
    "symbolic.phase.phase_from_exponents": lambda: {"a": "1", "b": "1/4"},
    "symbolic.phase.monte_carlo_part_moments": lambda: {
        "values": {"q": 0.5, "n": 10.0, "g": 0.3, "c_ii": 1.0, "c_ij": 0.2, "c_ik": 0.1},
        "num_samples": 200,
    },
    "phase.network_output": lambda: {},
    "phase.mmd": lambda: {},
    "phase.sliced_wasserstein": lambda: {"num_projections": 8, "generator": torch.Generator().manual_seed(0)},
    "phase.wasserstein_gradient_flow": lambda: {"num_records": 3},
    "phase.penalized_flow": lambda: {"num_records": 3},
    "phase.poisson_jump_process": lambda: {"num_records": 3},
    "phase.critical_corner_process": lambda: {"num_records": 3},
    "phase.bernoulli_jump_process": lambda: {"num_steps": 3},
    "symbolic.two_layer.modified_loss_derivation": lambda: {"m": 2},
    "symbolic.two_layer.covariance_blocks": lambda: {"m": 2},
    "symbolic.deep_linear.check_closed_form": lambda: {"n_layers": 2},
    "symbolic.deep_linear.induction_table": lambda: {"n_layers": 2},
    "symbolic.deep_linear.T_numeric": lambda: {"sigma_w2": 1.0},
    "activations.get_activation": lambda: {"name": "tanh"},
    "alignment.effective_rank": lambda: {"eigenvalues": torch.tensor([3.0, 1.0, 0.5], dtype=torch.float64)},
    "alignment.eigenvector_overlap": lambda: {"A": _spd(0), "B": _spd(1), "k": 2},
    "alignment.frobenius_cosine": lambda: {"A": _spd(0), "B": _spd(1)},
    "networks.init_mlp": lambda: {"widths": (2, 3, 1)},
    "networks.mlp_num_params": lambda: {"widths": (2, 3, 1)},
    "networks.mlp_forward": lambda: _mlp_kwargs(with_y=False),
    "networks.mlp_loss": lambda: _mlp_kwargs(),
    "networks.dropout_sme_coefficients": lambda: _mlp_kwargs(),
    "networks.sgd_sme_coefficients": lambda: {**_mlp_kwargs(), "batch_size": 3},
    "networks.simulate_mlp": lambda: {
        **_mlp_kwargs(),
        "method": "discrete",
        "noise": "dropout",
        "keep_prob": 0.8,
        "num_steps": 3,
    },
    "networks.mlp_weak_error_study": lambda: {
        **_mlp_kwargs(),
        "noise": "dropout",
        "keep_prob": 0.8,
        "lrs": (0.1, 0.05),
        "time": 0.2,
        "num_runs": 2,
    },
    "phase.batch_sharpness": lambda: {"batch_size": 3, "num_batches": 2, "y": torch.sign(VALID["y"]())},
    "phase.sharpness": lambda: {"y": torch.sign(VALID["y"]())},
    "phase.mean_field_loss": lambda: {
        "theta": torch.randn(6 * 3, generator=torch.Generator().manual_seed(8), dtype=torch.float64),
        "width": 6,
        "y": torch.sign(VALID["y"]()),
    },
    "phase.simulate_coupled_sgd": lambda: {"batch_size": 3, "num_steps": 3, "y": torch.sign(VALID["y"]())},
    "phase.num_steps_at": lambda: {"a": "1", "b": "1", "width": 6},
    "phase.predicted_slope": lambda: {"a": "1", "b": "1"},
    "phase.as_exponent": lambda: {"value": "1/4"},
    "stats.squared_distance_of_mean": lambda: {"samples": VALID["samples"](), "reference": torch.zeros(3)},
    "stats.fit_power_law": lambda: {"y": np.array([1.0, 4.1, 15.9, 64.2])},
    "stats.fit_exponential": lambda: {"y": np.array([1.0, 0.5, 0.26, 0.12])},
    "tables.cell": lambda: {"value": 0.5},
}


def public_callables() -> dict[str, Callable[..., Any]]:
    """Qualified name (relative to ``dropout_theory``) → callable, for every fuzzed public name."""
    out: dict[str, Callable[..., Any]] = {}
    for package in PACKAGES:
        module = importlib.import_module(f"dropout_theory.{package}")
        for name in module.__all__:
            obj = getattr(module, name)
            if not callable(obj) or _is_record(obj):
                continue
            out[f"{package}.{name}"] = obj
    for mod in MODULES:
        try:
            module = importlib.import_module(f"dropout_theory.{mod}")
        except ModuleNotFoundError:  # an older library (the before-measurement of the closing note)
            continue
        for name, obj in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(obj) or obj.__module__ != module.__name__:
                continue
            out[f"{mod}.{name}"] = obj
    seen: set[int] = set()
    unique = {}
    for k, v in out.items():  # a name re-exported by another package (experiments ↔ jobs) is fuzzed once
        if id(v) not in seen:
            seen.add(id(v))
            unique[k] = v
    return {k: v for k, v in sorted(unique.items()) if k not in EXEMPT}


def _is_record(obj: Any) -> bool:
    """Result records (dataclasses), exceptions and contextmanager-free classes are built by the library itself."""
    return inspect.isclass(obj) and (dataclasses.is_dataclass(obj) or issubclass(obj, BaseException))


def base_arguments(qualname: str, fn: Callable[..., Any]) -> dict[str, Any]:
    """Valid keyword arguments for ``fn`` (required parameters from :data:`VALID`, overrides applied)."""
    override = OVERRIDES.get(qualname, dict)()
    kwargs: dict[str, Any] = {}
    for p in inspect.signature(fn).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.name in override:
            kwargs[p.name] = override.pop(p.name)
        elif p.name == "generator":
            kwargs[p.name] = 0  # deterministic base calls
        elif p.default is p.empty:
            if p.name not in VALID:
                raise KeyError(f"{qualname}: no valid value for its parameter {p.name!r} (add it to VALID/OVERRIDES)")
            kwargs[p.name] = VALID[p.name]()
    kwargs.update(override)  # **kwargs passed through
    return kwargs


# -------------------------------------------------------------------------------------------------------- bad values
NAN = float("nan")
INF = float("inf")
HUGE = 10**12


class _Opaque:
    def __repr__(self) -> str:
        return "<object>"


def _tensor_variants(t: torch.Tensor) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    if t.is_floating_point() and t.numel() > 0:
        nan_t = t.clone()
        nan_t.view(-1)[0] = NAN
        inf_t = t.clone()
        inf_t.view(-1)[-1] = INF
        out += [("nan entry", nan_t), ("inf entry", inf_t)]
        out.append(("float32", t.to(torch.float32) if t.dtype == torch.float64 else t.to(torch.float64)))
        out.append(("meta device", t.to("meta")))
    if t.dim() >= 1:
        out.append(("empty", t[:0]))
        out.append(("extra dim", t.unsqueeze(-1).expand(*t.shape, 2).clone()))
        if t.shape[-1] > 1:
            out.append(("one short", t[..., :-1].clone()))
    out.append(("string", "tensor"))
    return out


def bad_values(name: str, base: Any) -> list[tuple[str, Any]]:
    """(label, value) pairs of the bad-input classes for a parameter with this name and valid value."""
    if name == "generator":
        return [("seed -1", -1), ("float seed", 1.5), ("string", "seed"), ("object", _Opaque())] + (
            [] if isinstance(base, np.random.Generator) else [("numpy Generator", np.random.default_rng(0))]
        )
    if isinstance(base, torch.Tensor):
        return _tensor_variants(base)
    if isinstance(base, np.ndarray):
        return [
            (label, v.numpy() if isinstance(v, torch.Tensor) and v.device.type == "cpu" else v)
            for label, v in _tensor_variants(torch.as_tensor(base))
        ]
    if isinstance(base, bool):
        return [("string", "yes")]
    if isinstance(base, int | np.integer):
        return [("-1", -1), ("0", 0), ("2.5", 2.5), ("huge", HUGE), ("string", "3")]
    if isinstance(base, float):
        if "keep" in name or name == "mean_kept":
            return [("0", 0.0), ("-0.1", -0.1), ("1.5", 1.5), ("nan", NAN), ("string", "0.5")]
        return [("0", 0.0), ("-1", -1.0), ("nan", NAN), ("inf", INF), ("string", "0.1")]
    if isinstance(base, str):
        return [("unknown name", "no_such_name"), ("int", 3)]
    if isinstance(base, tuple | list) and base and all(isinstance(v, int | float) for v in base):
        return [
            ("empty", type(base)()),
            ("nan", type(base)([NAN] * len(base))),
            ("-1", type(base)([-1] * len(base))),
            ("string", "0.5"),
        ]
    if isinstance(base, nn.Module):
        return [("string", "model"), ("None", None)]
    if callable(base) and not inspect.isclass(base):
        return [("returns nan", _nan_like(base)), ("string", "fn")]
    return [("None", None), ("string", "value")]


def _nan_like(fn: Callable[..., Any]) -> Callable[..., Any]:
    def bad(*args: Any, **kwargs: Any) -> Any:
        out = fn(*args, **kwargs)
        if isinstance(out, torch.Tensor):
            return out * NAN
        if isinstance(out, np.ndarray | float):
            return out * NAN
        return out

    return bad


def bad_calls(qualname: str, fn: Callable[..., Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(parameter, label, kwargs) for every bad call of ``fn``: each parameter in turn gets each bad value."""
    base = base_arguments(qualname, fn)
    sig = inspect.signature(fn)
    out = []
    for pname, p in sig.parameters.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        value = base.get(pname, p.default)
        if value is None or pname in ("dtype", "device", "progress", "ax", "axes"):
            continue
        for label, bad in bad_values(pname, value):
            out.append((pname, label, {**base, pname: bad}))
    return out


# ----------------------------------------------------------------------------------------------------- classifying
class _Timeout(BaseException):
    pass


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`_Timeout` in the main thread after ``seconds`` (SIGALRM; POSIX)."""

    def handler(signum, frame):
        raise _Timeout

    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@contextlib.contextmanager
def memory_limit(extra_bytes: int = 3 << 30) -> Iterator[None]:
    """Cap the address space at its current size plus ``extra_bytes`` (a bad call cannot eat the machine)."""
    with open("/proc/self/statm") as fh:
        current = int(fh.read().split()[0]) * resource.getpagesize()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = current + extra_bytes
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def non_finite_paths(obj: Any, path: str = "", _depth: int = 0) -> set[str]:
    """Where a result holds NaN or inf (tensors, arrays, numbers, records, containers), as attribute/key paths."""
    bad = False
    if _depth > 6:
        return set()
    if isinstance(obj, torch.Tensor):
        bad = obj.is_floating_point() and obj.device.type != "meta" and not bool(torch.isfinite(obj).all())
    elif isinstance(obj, np.ndarray):
        bad = obj.dtype.kind in "fc" and not bool(np.isfinite(obj).all())
    elif isinstance(obj, float | np.floating):
        bad = not math.isfinite(float(obj))
    elif dataclasses.is_dataclass(obj) and not inspect.isclass(obj):
        return set().union(
            *(non_finite_paths(getattr(obj, f.name), f"{path}.{f.name}", _depth + 1) for f in dataclasses.fields(obj))
        )
    elif isinstance(obj, Mapping):
        return set().union(*(non_finite_paths(v, f"{path}[{k!r}]", _depth + 1) for k, v in obj.items()))
    elif isinstance(obj, list | tuple):
        return set().union(*(non_finite_paths(v, f"{path}[{i}]", _depth + 1) for i, v in enumerate(obj[:1000])))
    elif isinstance(obj, nn.Module):
        bad = any(not bool(torch.isfinite(p).all()) for p in obj.parameters() if p.device.type != "meta")
    return {path} if bad else set()


def names_an_argument(
    message: str, fn: Callable[..., Any], passed: Mapping[str, Any] = {}, aliases: tuple[str, ...] = ()
) -> bool:
    """Whether an error message names one of ``fn``'s parameters (or an argument passed on through ``**kwargs``,
    or one of ``aliases``)."""
    params = [p for p in inspect.signature(fn).parameters if p not in ("kwargs", "args")] + list(passed)
    params += list(aliases)
    return any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(p)}(?![A-Za-z0-9_])", message) for p in params)


PLAIN_NUMBER = re.compile(r"np\.(float|int)\d*\(|tensor\(")


def classify(
    fn: Callable[..., Any],
    kwargs: dict[str, Any],
    *,
    timeout: float,
    allowed_nan: set[str] = frozenset(),
    aliases: tuple[str, ...] = (),
) -> tuple[str, str]:
    """(outcome class, detail) of one call; see the module docstring.

    ``allowed_nan``: result paths that are NaN/inf in the base call too (documented "not available" markers, e.g.
    the standard error of a fit through two points, or a test loss without a test set).
    """
    try:
        with time_limit(timeout):
            result = fn(**kwargs)
            if inspect.isgenerator(result) or hasattr(result, "__enter__"):
                result = None
    except _Timeout:
        return "hang", f"no return within {timeout} s"
    except DivergenceError as exc:
        return "clear", f"DivergenceError: {exc}"
    except (ValueError, TypeError) as exc:
        msg = str(exc)
        if not names_an_argument(msg, fn, kwargs, aliases):
            return "obscure", f"{type(exc).__name__} naming no argument: {msg[:200]}"
        if PLAIN_NUMBER.search(msg):
            return "obscure", f"{type(exc).__name__} printing a non-plain number: {msg[:200]}"
        return "clear", f"{type(exc).__name__}: {msg[:200]}"
    except Exception as exc:
        return "obscure", f"{type(exc).__name__}: {str(exc)[:200]}"
    new_nan = non_finite_paths(result) - set(allowed_nan)
    if new_nan:
        return "nan", f"result holds nan or inf at {sorted(new_nan)[:3]}"
    return "accepted", "finite result"


def base_call(qualname: str, fn: Callable[..., Any], *, timeout: float) -> tuple[dict[str, Any], set[str]]:
    """The base arguments and the non-finite paths of the base result (raises if the base call fails)."""
    kwargs = base_arguments(qualname, fn)
    with time_limit(timeout):
        result = fn(**kwargs)
    return kwargs, non_finite_paths(result) | DOCUMENTED_NAN.get(qualname, set())


def run_report(timeout: float = 5.0, only: str | None = None) -> Counter:
    """Call every bad call, print the problems and the counts per class (the before/after measurement)."""
    counts: Counter = Counter()
    per_name: dict[str, Counter] = {}
    fns = public_callables()
    t0 = time.perf_counter()
    with memory_limit():
        for qual, fn in fns.items():
            if only and only not in qual:
                continue
            try:
                _, allowed = base_call(qual, fn, timeout=timeout)
                calls = bad_calls(qual, fn)
            except (Exception, _Timeout) as exc:
                print(f"BASE {qual}: {type(exc).__name__}: {str(exc)[:300]}")
                counts["base call fails"] += 1
                continue
            per_name[qual] = Counter()
            for pname, label, kwargs in calls:
                outcome, detail = classify(
                    fn, kwargs, timeout=timeout, allowed_nan=allowed, aliases=ALIASES.get(qual, ())
                )
                if outcome == "nan" and qual in NAN_PROPAGATING:
                    outcome = "nan by design"
                counts[outcome] += 1
                per_name[qual][outcome] += 1
                if outcome not in ("clear",):
                    print(f"{outcome:8} {qual}({pname}={label}): {detail}")
    print(
        f"\n{len(per_name)} public callables fuzzed, {sum(v for k, v in counts.items() if k != 'base call fails')} "
        f"bad calls in {time.perf_counter() - t0:.0f} s"
    )
    for k in ("clear", "accepted", "obscure", "nan", "nan by design", "hang", "base call fails"):
        print(f"  {k:16} {counts[k]}")
    return counts


if __name__ == "__main__":
    run_report(only=sys.argv[1] if len(sys.argv) > 1 else None)
