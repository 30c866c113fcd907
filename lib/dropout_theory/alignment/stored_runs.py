"""Summaries of stored α-along-training runs (``dropout-experiments alignment``), read back by the chapters.

The runs are jobs of the job store (:mod:`dropout_theory.jobs`); :func:`summary_table` turns the records of
:func:`dropout_theory.jobs.load_results` into one row per (model, mask convention, learning rate, keep probability),
with α along training as a mean over seeds and its standard error (:class:`dropout_theory.stats.Estimate`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from dropout_theory.rng import MASK_CONVENTIONS
from dropout_theory.stats import Estimate

#: The networks of the alignment runs: the fully connected ``dropout_mlp`` and the VGG-style ``dropout_convnet``.
MODELS: tuple[str, ...] = ("fnn", "conv")


def _stats(values: list[float | None]) -> tuple[float, float, float]:
    """Min, mean and max; a value stored as ``None`` (non-finite) makes them NaN."""
    t = torch.tensor([math.nan if v is None else v for v in values], dtype=torch.float64)
    return float(t.min()), float(t.mean()), float(t.max())


def _curve_over_seeds(curves: list[Mapping[str, list[float]]], field: str) -> tuple[list[float], list[float]]:
    """Mean over seeds and its standard error (:class:`dropout_theory.stats.Estimate`) at each measured step."""
    length = min(len(c[field]) for c in curves)
    ests = [
        Estimate.from_samples([math.nan if c[field][t] is None else c[field][t] for c in curves]) for t in range(length)
    ]
    return [e.value for e in ests], [e.stderr for e in ests]


def summary_table(results: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per (model, mask, lr, keep_prob), from :func:`load_results`'s mapping: min/mean/max of α over training (all
    measurements of all seeds pooled; all parameters and the subset), the largest standard error, α along training
    as a mean over seeds with its standard error (``steps``, ``alpha_curve``, ``alpha_curve_stderr``,
    ``subset_curve``, ``subset_curve_stderr``; the standard error over seeds covers both the seed-to-seed spread and
    the Monte Carlo error of each α), and seed means of the final dense subset α, the random baselines, the final
    training loss and test accuracy. Records without a ``mask`` parameter count as ``"shared"``."""
    groups: dict[tuple[str, str, float, float], list[dict[str, Any]]] = {}
    diverged: dict[tuple[str, str, float, float], int] = {}
    for rec in results.values():
        prm, res = rec["params"], rec["result"]
        key = (prm["model"], prm.get("mask", "shared"), prm["lr"], prm["keep_prob"])
        groups.setdefault(key, [])
        if res["diverged"]:
            diverged[key] = diverged.get(key, 0) + 1
        else:
            groups[key].append(res)
    order = {m: i for i, m in enumerate(MODELS)}
    mask_order = {m: i for i, m in enumerate(MASK_CONVENTIONS)}
    table = []
    for key in sorted(groups, key=lambda k: (order[k[0]], k[2], -k[3], mask_order[k[1]])):
        runs = groups[key]
        entry: dict[str, Any] = {
            "model": key[0],
            "mask": key[1],
            "lr": key[2],
            "keep_prob": key[3],
            "num_seeds": len(runs),
            "num_diverged": diverged.get(key, 0),
        }
        if runs:
            c = [r["curve"] for r in runs]
            f = [r["final"] for r in runs if r["final"] is not None]
            nan = {"alpha_exact": math.nan, "baseline_expected": math.nan, "baseline_unbiased": math.nan}
            f = f or [{**nan, "baseline_samples": [math.nan]}]
            with_subset = all(x["subset_alpha"] is not None for x in c)
            entry["alpha_min"], entry["alpha_mean"], entry["alpha_max"] = _stats([a for x in c for a in x["alpha"]])
            entry["subset_min"], entry["subset_mean"], entry["subset_max"] = (
                _stats([a for x in c for a in x["subset_alpha"]]) if with_subset else (math.nan,) * 3
            )
            errors = [e for x in c for e in x["alpha_stderr"] + (x["subset_stderr"] if with_subset else [])]
            entry["max_stderr"] = _stats(errors)[2]
            entry["subset"] = runs[0]["subset"]
            entry["steps"] = c[0]["steps"][: min(len(x["steps"]) for x in c)]
            entry["alpha_curve"], entry["alpha_curve_stderr"] = _curve_over_seeds(c, "alpha")
            entry["subset_curve"], entry["subset_curve_stderr"] = (
                _curve_over_seeds(c, "subset_alpha") if with_subset else (None, None)
            )
            entry["loss_curve"], entry["loss_curve_stderr"] = _curve_over_seeds(c, "loss")
            for name, vals in (
                ("final_subset_exact", [x["alpha_exact"] for x in f]),
                ("baseline_expected", [x["baseline_expected"] for x in f]),
                ("baseline_unbiased", [x["baseline_unbiased"] for x in f]),
                ("baseline_sampled", [_stats(x["baseline_samples"])[1] for x in f]),
                ("final_loss", [x["loss"][-1] for x in c]),
                ("final_test_accuracy", [x["test_accuracy"][-1] for x in c]),
                ("wall_s", [r.get("wall_s") for r in runs]),
            ):
                entry[name] = _stats(vals)[1]
        table.append(entry)
    return table


__all__: Sequence[str] = ["MODELS", "summary_table"]
