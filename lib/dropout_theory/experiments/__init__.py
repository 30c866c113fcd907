"""Paper-scale experiments: the ``dropout-experiments`` command, a shell over the math packages.

The resumable job store it runs on is the core module :mod:`dropout_theory.jobs`; its public API is re-exported
here: ``run_jobs``, ``load_results``, ``job_records``, ``job_key``, ``read_run_header``, ``check_results_path``,
``run_identity``, ``default_executor``, and the exceptions ``RunInterrupted``, ``JobsFailed``, ``RunMismatchError``.
"""

from dropout_theory.jobs import (
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
