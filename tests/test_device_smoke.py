"""``bench/device_smoke.py``: the CPU half runs here (float32 against float64 within the stated tolerances); the GPU
half, and a sweep of the command on the GPU, run only where CUDA is available."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.experiments.test_runner import subprocess_env

ROOT = Path(__file__).resolve().parents[1]
needs_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")


def _smoke(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / "device_smoke.py"), "--quick", *args],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cpu_half_agrees_in_float32_and_float64():
    run = _smoke("--no-gpu")
    assert run.returncode == 0, run.stdout + run.stderr
    rows = [line.split() for line in run.stdout.splitlines() if line.startswith("part")]
    assert len(rows) == 6 and {r[1] for r in rows} == {"cpu"} and "all agreements hold" in run.stdout


@needs_gpu
def test_gpu_half_agrees_with_the_cpu():
    run = _smoke()
    assert run.returncode == 0, run.stdout + run.stderr
    rows = [line.split() for line in run.stdout.splitlines() if line.startswith("part")]
    assert len(rows) == 12 and sum(r[1] == "cuda" for r in rows) == 6


@needs_gpu
def test_a_quick_sweep_runs_on_the_gpu(tmp_path):
    out = tmp_path / "rg.jsonl"
    run = subprocess.run(
        [sys.executable, "-m", "dropout_theory.experiments", "random-geometry", "--quick", "--device", "cuda",
         "--workers", "1", "--out", str(out)],
        env=subprocess_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert '"device": "cuda"' in out.read_text().splitlines()[0]
