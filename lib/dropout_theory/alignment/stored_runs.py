"""Summaries of stored runs of Part I's alignment and flatness sweeps, read back by the chapters.

The runs are jobs of the job store (:mod:`dropout_theory.jobs`); each function turns the records of
:func:`dropout_theory.jobs.load_results` into one row per group, with means over seeds and their standard errors
(:class:`dropout_theory.stats.Estimate`):

* :func:`summary_table` — α along training (``dropout-experiments alignment``), per (model, mask convention,
  learning rate, keep probability);
* :func:`variance_flatness_summary` — the inverse variance–flatness fits and eigenvector overlaps
  (``dropout-experiments variance-flatness``), per (keep probability, mask convention);
* :func:`minima_flatness_summary` — the minima reached by dropout, SGD and parametric noise
  (``dropout-experiments minima-flatness``), per (keep probability, mask convention, strategy).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from dropout_theory.networks import NOISES
from dropout_theory.rng import MASK_CONVENTIONS
from dropout_theory.stats import Estimate
from dropout_theory.tables import Table

#: The networks of the alignment runs: the fully connected ``dropout_mlp`` and the VGG-style ``dropout_convnet``.
MODELS: tuple[str, ...] = ("fnn", "conv")


def _nan_for_none(values: list[float | None]) -> list[float]:
    """The values with NaN for each stored ``None`` (the job store writes a non-finite number as ``None``)."""
    return [math.nan if v is None else v for v in values]


def _group_runs(
    results: Mapping[str, Mapping[str, Any]], key: Callable[[Mapping[str, Any]], tuple]
) -> tuple[dict[tuple, list[dict[str, Any]]], dict[tuple, int]]:
    """The results of the runs that did not diverge, grouped by ``key(params)``, and the number that diverged per
    group; a group whose every run diverged is present with no results."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    diverged: dict[tuple, int] = {}
    for rec in results.values():
        group, res = key(rec["params"]), rec["result"]
        groups.setdefault(group, [])
        if res["diverged"]:
            diverged[group] = diverged.get(group, 0) + 1
        else:
            groups[group].append(res)
    return groups, diverged


def _stats(values: list[float | None]) -> tuple[float, float, float]:
    """Min, mean and max; a value stored as ``None`` (non-finite) makes them NaN."""
    t = torch.tensor(_nan_for_none(values), dtype=torch.float64)
    return float(t.min()), float(t.mean()), float(t.max())


def _curve_over_seeds(curves: list[Mapping[str, list[float]]], field: str) -> tuple[list[float], list[float]]:
    """Mean over seeds and its standard error (:class:`dropout_theory.stats.Estimate`) at each measured step."""
    length = min(len(c[field]) for c in curves)
    ests = [Estimate.from_samples(_nan_for_none([c[field][t] for c in curves])) for t in range(length)]
    return [e.value for e in ests], [e.stderr for e in ests]


def summary_table(results: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per (model, mask, lr, keep_prob), from :func:`load_results`'s mapping: min/mean/max of α over training (all
    measurements of all seeds pooled; all parameters and the subset), the largest standard error, α along training
    as a mean over seeds with its standard error (``steps``, ``alpha_curve``, ``alpha_curve_stderr``,
    ``subset_curve``, ``subset_curve_stderr``; the standard error over seeds covers both the seed-to-seed spread and
    the Monte Carlo error of each α), and seed means of the final dense subset α, the random baselines, the final
    training loss and test accuracy. Records without a ``mask`` parameter count as ``"shared"``."""
    groups, diverged = _group_runs(
        results, lambda prm: (prm["model"], prm.get("mask", "shared"), prm["lr"], prm["keep_prob"])
    )
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


def variance_flatness_summary(results: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per (keep_prob, mask): the numbers of seeds that ran and that diverged and, as
    :class:`dropout_theory.stats.Estimate` over seeds (mean ± standard error), every fitted exponent and r², α and
    every overlap with its random baseline."""
    groups, diverged = _group_runs(results, lambda prm: (prm["keep_prob"], prm.get("mask", "shared")))
    order = {m: i for i, m in enumerate(MASK_CONVENTIONS)}
    table = []
    for (p, mask), runs in sorted(groups.items(), key=lambda kv: (-kv[0][0], order[kv[0][1]])):

        def est(values: list[float | None]) -> Estimate:
            return Estimate.from_samples(_nan_for_none(values))

        entry: dict[str, Any] = {
            "keep_prob": p,
            "mask": mask,
            "num_seeds": len(runs),
            "num_diverged": diverged.get((p, mask), 0),
        }
        if not runs:
            table.append(entry)
            continue
        for fit in ("raw", "detrended"):
            for field in ("exponent", "r_squared", "exponent_without_first"):
                entry[f"{fit}_{field}"] = est([r["fits"][fit][field] for r in runs])
        entry["alpha"] = est([r["alpha"] for r in runs])
        for name in runs[0]["overlaps"]:
            entry[f"overlap_{name}"] = est([r["overlaps"][name]["subspace"] for r in runs])
            entry[f"random_{name}"] = runs[0]["overlaps"][name]["random"]
        entry["final_risk"] = est([r["final_risk"] for r in runs])
        table.append(entry)
    return table


def format_variance_flatness_summary(table: Sequence[Mapping[str, Any]], *, k: int = 10) -> Table:
    """The summary (one row per (keep_prob, mask)); ``print`` it."""
    rows = [
        (
            r["keep_prob"], r["mask"], f"{r['num_seeds']} ({r['num_diverged']} diverged)", r["raw_exponent"],
            r["raw_r_squared"], r["detrended_exponent"], r["detrended_r_squared"], r["alpha"],
            r[f"overlap_hessian_sigma_{k}"], r[f"overlap_hessian_window_{k}"], r[f"random_hessian_sigma_{k}"],
        )
        for r in table
        if r["num_seeds"]
    ]  # fmt: skip
    headers = ("keep", "mask", "seeds", "psi raw", "r2", "psi detrended", "r2", "alpha", f"H~Sigma top {k}",
               f"H~window top {k}", "random")  # fmt: skip
    return Table.build(headers, rows, formats=(".3g", "", "", "", "", "", "", "", "", "", ".3g"))


def _mean_sd(values: list[float | None]) -> tuple[float, float]:
    """Mean and standard deviation; a value stored as ``None`` (non-finite) makes them NaN."""
    t = torch.tensor(_nan_for_none(values), dtype=torch.float64)
    return float(t.mean()), (float(t.std()) if len(values) > 1 else math.nan)


def minima_flatness_summary(results: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Mean, standard deviation and standard error (``_stderr``, a :class:`dropout_theory.stats.Estimate` of the
    mean) over seeds per (keep_prob, strategy), from :func:`load_results`'s mapping."""
    groups: dict[tuple[float, str, float, int, str], list[dict[str, Any]]] = {}
    diverged: dict[tuple[float, str, float, int], int] = {}
    for rec in results.values():
        prm, res = rec["params"], rec["result"]
        key = (prm["keep_prob"], prm.get("mask", "shared"), prm["lr"], prm["num_steps"])
        if res["diverged"]:
            diverged[key] = diverged.get(key, 0) + 1
            continue
        for row in res["rows"]:
            groups.setdefault((*key, row["strategy"]), []).append(row)
    table = []
    order = {s: i for i, s in enumerate(NOISES)}
    for (p, mask, lr, steps, strategy), rows in sorted(
        groups.items(), key=lambda kv: (-kv[0][0], kv[0][1] != "shared", *kv[0][2:4], order[kv[0][4]])
    ):
        entry: dict[str, Any] = {
            "keep_prob": p,
            "mask": mask,
            "lr": lr,
            "num_steps": steps,
            "strategy": strategy,
            "num_seeds": len(rows),
            "num_diverged": diverged.get((p, mask, lr, steps), 0),
        }
        values = {f: [r[f] for r in rows] for f in ("train_loss", "test_accuracy", "trace")}
        values["top_eigenvalue"] = [r["top_eigenvalues"][0] for r in rows]
        values["noise_trace"] = [r["noise_trace"] for r in rows]
        for field, vals in values.items():
            entry[field], entry[field + "_sd"] = _mean_sd(vals)
            entry[field + "_stderr"] = Estimate.from_samples(_nan_for_none(vals)).stderr
        table.append(entry)
    return table


__all__: Sequence[str] = [
    "MODELS",
    "format_variance_flatness_summary",
    "minima_flatness_summary",
    "summary_table",
    "variance_flatness_summary",
]
