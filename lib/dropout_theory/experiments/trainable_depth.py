"""How deep can a dropout network train? The trainable-depth and training-speed sweeps from the command line.

The science is :mod:`dropout_theory.deep_meanfield` (:func:`~dropout_theory.deep_meanfield.trainable_depth_sweep`,
:func:`~dropout_theory.deep_meanfield.training_speed_sweep`); this module only parses options. Without ``--quick``
the commands run the book's stored sweeps (:data:`dropout_theory.deep_meanfield.BOOK_TRAINABLE_DEPTH` and
:data:`~dropout_theory.deep_meanfield.BOOK_TRAINING_SPEED`), which the chapter *How deep can a dropout network
train?* reads back from ``results/part2/``:

* ``trainable-depth``: training accuracy over (panel × seed × depth × σ_w²) (the deep-dropout paper's Fig. 7);
* ``training-speed``: steps to a training-accuracy threshold against the learning rate on the critical line (Fig. 6).
"""

from __future__ import annotations

import argparse

from dropout_theory.deep_meanfield import (
    ACTIVATION_NAMES,
    BOOK_TRAINABLE_DEPTH,
    BOOK_TRAINING_SPEED,
    DATASETS,
    trainable_depth_sweep,
    training_speed_sweep,
)
from dropout_theory.experiments.cli import add_experiment, int_at_least, nonnegative_float

#: Book-scale (``--quick``) sizes: seconds on a laptop.
QUICK_TRAINABLE_DEPTH = {
    "depths": [4, 8, 12],
    "sigma_w2": [0.8, 1.6, 3.2],
    "panels": [(1.0, "sgd", "gaussian"), (0.9, "sgd", "gaussian")],
    "seeds": [0],
    "lr": 0.02,
    "width": 16,
    "num_steps": 40,
    "batch_size": 64,
}
QUICK_TRAINING_SPEED = {
    "depths": [4],
    "lrs": [0.01, 0.1],
    "keep_probs": [1.0],
    "seeds": [0],
    "width": 16,
    "num_steps": 40,
    "eval_every": 10,
    "threshold": 0.5,
}


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", choices=DATASETS, default="digits")
    p.add_argument("--activation", choices=ACTIVATION_NAMES, default="tanh")
    p.add_argument("--sigma-b2", type=nonnegative_float, default=0.05)
    p.add_argument("--seeds", type=int_at_least(1), default=None, help="number of seeds (default: the book's 3)")


def _sizes(args: argparse.Namespace, book: dict, quick: dict) -> dict:
    sizes = dict(quick if args.quick else book)
    if args.seeds is not None:
        sizes["seeds"] = list(range(args.seeds))
    return sizes


def _cmd_trainable_depth(args: argparse.Namespace) -> None:
    sweep = trainable_depth_sweep(
        **_sizes(args, BOOK_TRAINABLE_DEPTH, QUICK_TRAINABLE_DEPTH), activation=args.activation,
        sigma_b2=args.sigma_b2, dataset=args.dataset, results_path=args.out, max_workers=args.workers,
        executor=args.pool, device=args.device,
    )  # fmt: skip
    for p in sweep.panels:
        print(sweep.grid(p))
    print(sweep)


def _cmd_training_speed(args: argparse.Namespace) -> None:
    sweep = training_speed_sweep(
        **_sizes(args, BOOK_TRAINING_SPEED, QUICK_TRAINING_SPEED), activation=args.activation,
        sigma_b2=args.sigma_b2, dataset=args.dataset, results_path=args.out, max_workers=args.workers,
        executor=args.pool, device=args.device,
    )  # fmt: skip
    print(sweep)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``trainable-depth`` and ``training-speed`` subcommands."""
    quick = "book-scale sizes (a smoke test of seconds)"
    p = add_experiment(
        subparsers, "trainable-depth", help="Fig. 7: trainable depth heatmaps over (depth, sigma_w2)", quick_help=quick
    )
    _common(p)
    p.set_defaults(func=_cmd_trainable_depth, labels_own_runs=True)
    q = add_experiment(
        subparsers, "training-speed", help="Fig. 6: steps to a threshold accuracy vs learning rate", quick_help=quick
    )
    _common(q)
    q.set_defaults(func=_cmd_training_speed, labels_own_runs=True)
