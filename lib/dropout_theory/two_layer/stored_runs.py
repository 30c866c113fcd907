"""Summaries of stored runs of the ``dropout-experiments sme`` sweep (SME paper Figs. 1 and 2, the modified-loss
gap), read back by the chapters.

The runs are jobs of the job store (:mod:`dropout_theory.jobs`): :func:`dropout_theory.jobs.load_results` gives a
mapping from job key to ``{"params", "result"}``; the functions below tabulate it. A job's ``params["kind"]`` is
``"bands"`` (Fig. 1a), ``"test"`` (Fig. 2), ``"gap"`` (distance of the mean of dropout to GD on L_S) or ``"weak"``
(one point of a weak-order study, Fig. 1b,c).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dropout_theory.stats import Estimate, fit_power_law
from dropout_theory.two_layer.sme import WeakErrorStudy


def weak_order_table(results: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Fitted log–log slopes (with their standard errors, :func:`dropout_theory.stats.fit_power_law`) per
    (problem, order, keep_prob) from a results mapping (:func:`load_results`, or
    :func:`dropout_theory.jobs.job_records` of one sweep). ``slope`` fits every learning rate,
    ``slope_resolved`` only those whose error is at least 3 Monte Carlo standard errors (a plug-in error at the
    noise floor flattens the line). Diverged jobs are left out of the fit and counted (``num_diverged``); a slope
    is NaN with fewer than two learning rates."""
    groups: dict[tuple[str, int, float], list[tuple[float, float, float]]] = {}
    diverged: dict[tuple[str, int, float], int] = {}
    for rec in results.values():
        prm, res = rec["params"], rec["result"]
        if prm.get("kind") != "weak":
            continue
        key = (prm.get("problem", "toy"), prm["order"], prm["keep_prob"])
        groups.setdefault(key, [])
        if res.get("diverged"):
            diverged[key] = diverged.get(key, 0) + 1
        else:
            groups[key].append((prm["lr"], res["error"], res["std_error"]))
    table = []
    for (problem, order, p), pts in sorted(groups.items(), key=lambda kv: (kv[0][0] != "toy", *kv[0])):
        pts.sort()
        lrs, errs, ses = (np.asarray(c, dtype=np.float64) for c in (list(zip(*pts, strict=True)) or [(), (), ()]))
        fit = fit_power_law(lrs, errs) if len(pts) > 1 else None
        ok = errs >= 3 * ses
        fit_ok = fit_power_law(lrs[ok], errs[ok]) if ok.sum() > 1 else None
        table.append(
            {
                "problem": problem,
                "order": order,
                "keep_prob": p,
                "lrs": lrs.tolist(),
                "errors": errs.tolist(),
                "std_errors": ses.tolist(),
                "slope": math.nan if fit is None else fit.exponent,
                "slope_stderr": math.nan if fit is None else fit.stderr,
                "slope_resolved": math.nan if fit_ok is None else fit_ok.exponent,
                "slope_resolved_stderr": math.nan if fit_ok is None else fit_ok.stderr,
                "num_resolved": int(ok.sum()),
                "num_diverged": diverged.get((problem, order, p), 0),
            }
        )
    return table


def weak_order_studies(results: Mapping[str, Mapping[str, Any]], *, problem: str, order: int) -> list[WeakErrorStudy]:
    """The weak-order points of one problem and order as :class:`dropout_theory.two_layer.WeakErrorStudy` objects
    (one per keep probability, fitted over every learning rate), e.g. for
    :func:`dropout_theory.plotting.two_layer.plot_weak_errors`."""
    studies = []
    for row in weak_order_table(results):
        if row["problem"] == problem and row["order"] == order and len(row["lrs"]) > 1:
            lrs, errs = np.asarray(row["lrs"]), np.asarray(row["errors"])
            fit = fit_power_law(lrs, errs)
            studies.append(WeakErrorStudy(lrs, errs, np.asarray(row["std_errors"]), fit, order, row["keep_prob"], 1.0))
    return studies


def curve_summaries(results: Mapping[str, Mapping[str, Any]], *, kind: str = "test") -> dict[tuple[float, float], dict]:
    """The stored "test" (Fig. 2) or "bands" (Fig. 1a) records by (lr, keep_prob) and method: ``steps``,
    ``num_runs``, ``num_diverged``, ``substeps``, the summaries (``{"mean", "min", "max"}`` over the runs that
    stayed bounded) of ``train_loss`` and, for "test", ``test_loss`` and ``test_accuracy``, and ``final``: the
    final value of each of those quantities per bounded run (``None`` in records written before it existed)."""
    out: dict[tuple[float, float], dict] = {}
    for rec in results.values():
        prm, res = rec["params"], rec["result"]
        if prm.get("kind") != kind:
            continue
        entry = {k: res.get(k) for k in ("steps", "train_loss", "test_loss", "test_accuracy", "num_runs", "final")}
        entry |= {"num_diverged": res["num_diverged"], "substeps": prm.get("substeps", 1)}
        out.setdefault((prm["lr"], prm["keep_prob"]), {})[prm["method"]] = entry
    return dict(sorted(out.items()))


def gap_table(results: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The "gap" jobs by learning rate: the unbiased squared relative distance of the mean dropout parameters to
    gradient descent on L_S (``modified``) and on R_S (``plain``), each an :class:`~dropout_theory.stats.Estimate`,
    with the plug-in relative distances for comparison."""
    rows = []
    for rec in results.values():
        prm, res = rec["params"], rec["result"]
        if prm.get("kind") != "gap" or res.get("diverged"):
            continue
        row: dict[str, Any] = {"lr": prm["lr"], "keep_prob": prm["keep_prob"], "num_runs": res["num_runs"]}
        for name in ("modified", "plain"):
            r = res[name]
            row[name] = Estimate(r["relative_sq"], r["relative_sq_stderr"], res["num_runs"])
            row[name + "_plug_in"] = r["plug_in"]
        rows.append(row)
    return sorted(rows, key=lambda r: r["lr"])


__all__: Sequence[str] = ["curve_summaries", "gap_table", "weak_order_studies", "weak_order_table"]
