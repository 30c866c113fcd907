"""Paper-scale experiments: a resumable job runner over any ``concurrent.futures.Executor`` and the CLI.

Public API: :func:`run_jobs`, :func:`load_results`, :func:`job_records`, :func:`job_key`,
:func:`read_run_header`, :func:`check_results_path`, :func:`run_identity`, :func:`default_executor`, and the
exceptions :class:`RunInterrupted`, :class:`JobsFailed`, :class:`RunMismatchError`.
"""

from dropout_theory.experiments.runner import (
    JobsFailed,
    RunInterrupted,
    RunMismatchError,
    check_results_path,
    default_executor,
    job_key,
    job_records,
    load_results,
    read_run_header,
    run_identity,
    run_jobs,
)

__all__ = [
    "JobsFailed",
    "RunInterrupted",
    "RunMismatchError",
    "check_results_path",
    "default_executor",
    "job_key",
    "job_records",
    "load_results",
    "read_run_header",
    "run_identity",
    "run_jobs",
]
