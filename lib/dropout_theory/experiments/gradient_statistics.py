"""Gradient metrics layer by layer: rates, relative-variance laws and powers of the Part II chapters.

The science is :func:`dropout_theory.deep_meanfield.gradient_statistics_sweep`; without ``--quick`` this runs the book's
stored sweep (:data:`dropout_theory.deep_meanfield.BOOK_GRADIENT_STATISTICS`), which the chapters
*Backpropagation without gradient independence* and *Universality of gradient fluctuations* read back from
``results/part2/``.
"""

from __future__ import annotations

import argparse

from dropout_theory.deep_meanfield import BOOK_GRADIENT_STATISTICS, gradient_statistics_sweep
from dropout_theory.experiments.cli import add_experiment

#: ``--quick``: one small ensemble per backward pass.
QUICK = [
    dict(activation="tanh", sigma_w2=1.0, sigma_b2=0.05, keep_prob=0.9, depth=8, width=32, num_networks=10,
         backward=b, readout="loss", window=[1, 6], power_windows=[], seed=0, num_boot=20)
    for b in ("realistic", "gia")
]  # fmt: skip


def _cmd(args: argparse.Namespace) -> None:
    stats = gradient_statistics_sweep(QUICK if args.quick else BOOK_GRADIENT_STATISTICS, results_path=args.out,
                                      max_workers=args.workers, executor=args.pool, device=args.device)  # fmt: skip
    for g in stats:
        rates = ", ".join(f"{name} {m.rate}" for name, m in g.metrics.items())
        print(f"{g.activation} {g.sigma_w2:g}/{g.sigma_b2:g}/{g.keep_prob:g}, L = {g.depth}, N = {g.width}, "
              f"{g.backward}: rates per layer {rates}")  # fmt: skip


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``gradient-statistics`` subcommand."""
    p = add_experiment(subparsers, "gradient-statistics",
                       help="Part II: gradient metrics layer by layer (rates, Var/Mean^2 laws, powers)")  # fmt: skip
    p.set_defaults(func=_cmd, labels_own_runs=True)
