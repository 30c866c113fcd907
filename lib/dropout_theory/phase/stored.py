"""Stored runs of the Part III experiments, read back without running anything.

The ``dropout-experiments`` subcommands ``random-geometry``, ``phase-diagram`` and ``mnist`` store one JSON record per
job in a resumable results file (:mod:`dropout_theory.jobs`); the chapters read those files here, in the science
package, so that no chapter needs the command-line shell. A file is accepted only when its run header names the job
function that wrote it (:data:`TEACHER_STUDENT_JOB`, :data:`PHASE_JOB`, :data:`MNIST_JOB`).
"""

from __future__ import annotations

import os
from typing import Any

from dropout_theory._checks import Divergence
from dropout_theory.jobs import RunMismatchError, load_results, read_run_header
from dropout_theory.phase.compare import PhaseDiagram, PhasePoint
from dropout_theory.phase.mnist import MnistSummary
from dropout_theory.phase.random_geometry import TeacherStudentSummary

#: The job functions whose results files the loaders read (module path and name, as the run header records them).
TEACHER_STUDENT_JOB = "dropout_theory.experiments.random_geometry.teacher_student_job"
PHASE_JOB = "dropout_theory.experiments.phase_diagram.phase_job"
MNIST_JOB = "dropout_theory.experiments.mnist.mnist_job"


def _records(results_path: str | os.PathLike, function: str) -> list[dict[str, Any]]:
    header = read_run_header(results_path)
    if header is None or header.get("function") != function:
        raise RunMismatchError(f"{results_path} does not hold a run of {function}")
    records = list(load_results(results_path).values())
    if not records:
        raise ValueError(f"{results_path} holds no finished job")
    return records


def load_teacher_student(results_path: str | os.PathLike) -> TeacherStudentSummary:
    """A stored run of the teacher–student experiment (every finished job of the results file).

    Args:
        results_path: a results file written by ``dropout-experiments random-geometry``.

    Returns:
        The :class:`dropout_theory.phase.TeacherStudentSummary` of its jobs, repeats in increasing order.

    Raises:
        dropout_theory.jobs.RunMismatchError: the file holds another experiment's jobs.
        ValueError: the file holds no finished job.
    """
    records = sorted(_records(results_path, TEACHER_STUDENT_JOB),
                     key=lambda r: (r["params"]["width"], r["params"]["repeat"]))  # fmt: skip
    return TeacherStudentSummary.from_runs([r["params"]["width"] for r in records], [r["result"] for r in records])


def phase_point_from_record(record: dict[str, Any]) -> PhasePoint:
    """A :class:`dropout_theory.phase.PhasePoint` from its stored JSON record (divergence included)."""
    div = record.get("divergence")
    return PhasePoint(**{**record, "divergence": None if div is None else Divergence.from_dict(div)})


def load_phase_diagram(results_path: str | os.PathLike) -> PhaseDiagram:
    """A stored phase-diagram sweep: every finished job, grouped by point in the order of first appearance, widths
    increasing.

    Raises:
        dropout_theory.jobs.RunMismatchError: the file holds another experiment's jobs.
        ValueError: the file holds no finished job.
    """
    records = [r["result"] for r in _records(results_path, PHASE_JOB)]
    order = {key: i for i, key in enumerate(dict.fromkeys((r["a"], r["b"]) for r in records))}
    records.sort(key=lambda r: (order[(r["a"], r["b"])], r["width"]))
    return PhaseDiagram(tuple(phase_point_from_record(r) for r in records))


def mnist_summaries(records: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[int, MnistSummary]:
    """Width → :class:`dropout_theory.phase.MnistSummary` of (job parameters, result) pairs; runs that diverged
    are left out."""
    out: dict[int, list[dict[str, Any]]] = {}
    for params, result in records:
        if not result.get("diverged"):
            out.setdefault(int(params["width"]), []).append(result)
    return {n: MnistSummary.from_runs(rs) for n, rs in sorted(out.items())}


def load_mnist_runs(results_path: str | os.PathLike) -> dict[int, MnistSummary]:
    """A stored run of the MNIST 4-vs-7 experiment: width → :class:`dropout_theory.phase.MnistSummary` (repeats in
    increasing order).

    Raises:
        dropout_theory.jobs.RunMismatchError: the file holds another experiment's jobs.
        ValueError: the file holds no finished job.
    """
    records = sorted(_records(results_path, MNIST_JOB), key=lambda r: (r["params"]["width"], r["params"]["repeat"]))
    return mnist_summaries([(r["params"], r["result"]) for r in records])
