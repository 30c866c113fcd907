"""A sweep whose jobs wait for a gate file, for the runner's shutdown tests (run as a script in a subprocess).

``python -m tests.experiments.gated_sweep RESULTS GATE NUM_JOBS`` runs ``NUM_JOBS`` jobs through
:func:`dropout_theory.experiments.run_jobs` on a local pool of two workers. Job 0 returns at once; the others wait
until the file GATE exists (at most two minutes), so that a test can signal the sweep while jobs are running,
then open the gate and resume. Exits like the ``dropout-experiments`` command: 128 + the signal number when
stopped by a signal.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from dropout_theory.experiments import RunInterrupted, run_jobs


def gated(i: int, gate: str) -> dict[str, int]:
    """Return ``{"i": i, "square": i * i}``, for ``i > 0`` only once ``gate`` exists."""
    deadline = time.monotonic() + 120.0
    while i > 0 and not Path(gate).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gate {gate} never opened")
        time.sleep(0.02)
    return {"i": i, "square": i * i}


def jobs(gate: str, num_jobs: int) -> list[dict[str, object]]:
    """The sweep's job list."""
    return [{"i": i, "gate": gate} for i in range(num_jobs)]


if __name__ == "__main__":
    from tests.experiments.gated_sweep import gated as job  # by its module name (not __main__): resumable elsewhere

    out, gate, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    try:
        run_jobs(job, jobs(gate, n), results_path=out, max_workers=2, progress=False)
    except RunInterrupted as stop:
        print(stop, file=sys.stderr)
        sys.exit(128 + stop.signum)
