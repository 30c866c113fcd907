"""Paper-scale experiments: a resumable job runner over any ``concurrent.futures.Executor`` and the CLI.

Public API: :func:`run_jobs`, :func:`load_results`, :func:`job_key`, :func:`default_executor`.
"""

from dropout_theory.experiments.runner import default_executor, job_key, load_results, run_jobs

__all__ = ["default_executor", "job_key", "load_results", "run_jobs"]
