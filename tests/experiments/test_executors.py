"""The Dask executor: a real ``LocalCluster`` (two worker processes on loopback) runs a quick sweep through the
command line, killed and restarted, and gives the serial run's results; option checks of :func:`open_executor`."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import psutil
import pytest
import torch

from dropout_theory.experiments.cli import main
from dropout_theory.experiments.executors import open_executor
from tests.experiments.test_runner import assert_all_gone, descendants, lines_of, subprocess_env, wait_for_records

SWEEP = ["phase-diagram", "--quick"]  # 12 jobs of 0.05–0.9 s on one thread: a kill lands while jobs remain


def _cli(out, *extra) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "dropout_theory.experiments", *SWEEP, "--out", str(out), *extra],
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _results(path) -> dict[str, dict]:
    return {r["key"]: r["result"] for r in lines_of(path)[1:]}


def test_a_killed_dask_sweep_resumes_without_repeating_jobs_and_matches_the_serial_run(tmp_path):
    """``--executor dask --workers 2``: a LocalCluster of two worker processes with one thread each, listening on
    127.0.0.1 only. SIGKILL of the command once its first job is saved (nothing can be cleaned up): the cluster's
    worker processes exit by themselves, the saved records stay as they were, and the same command resumes, runs
    only the jobs that were missing and closes its cluster. Every result equals the serial run's exactly (same
    code, one thread, float64 on the CPU)."""
    serial, out = tmp_path / "serial.jsonl", tmp_path / "dask.jsonl"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in every worker
    try:
        assert main([*SWEEP, "--workers", "1", "--out", str(serial)]) == 0
    finally:
        torch.set_num_threads(threads)
    dask = ("--executor", "dask", "--workers", "2")
    proc = _cli(out, *dask)
    try:
        wait_for_records(out, proc, 1)
        workers = descendants(proc.pid)
        assert len(workers) >= 2  # the two worker processes (and multiprocessing's helpers)
        for w in workers:
            try:
                conns = w.net_connections(kind="inet")
            except psutil.NoSuchProcess:  # a short-lived helper of multiprocessing
                continue
            assert all(c.laddr.ip == "127.0.0.1" for c in conns if c.status == "LISTEN"), conns
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert_all_gone(workers, timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    saved = out.read_text()
    header, *before = lines_of(out)
    assert header["options"]["device"] == "cpu" and header["scale"] == "quick"
    assert 1 <= len(before) < 12, f"{len(before)} of 12 jobs were saved before the kill: nothing left to resume"

    proc = _cli(out, *dask)
    try:
        wait_for_records(out, proc, len(before) + 1)
        workers = descendants(proc.pid)
        assert proc.wait(timeout=240) == 0, proc.stderr.read()
        assert_all_gone(workers, timeout=30)  # the command closed its cluster
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    text = out.read_text()
    assert text.startswith(saved)  # the saved records are kept as they were
    _, *records = lines_of(out)
    keys = [r["key"] for r in records]
    assert len(keys) == len(set(keys)) == 12  # each job ran once: the resume ran only the missing ones
    assert all(r["status"] == "ok" for r in records)
    assert _results(out) == _results(serial)
    assert json.loads(text.splitlines()[0]) == header  # one run, one header


def test_open_executor_checks_its_options():
    with open_executor("local", max_workers=2) as ex:
        assert ex is None  # run_jobs makes its own pool
    with pytest.raises(ValueError, match="executor must be one of"), open_executor("ray"):
        pass
    with pytest.raises(ValueError, match="needs the Dask executor"), open_executor("local", scheduler="tcp://x:1"):
        pass
    with (
        pytest.raises(ValueError, match="has its own workers"),
        open_executor("dask", max_workers=2, scheduler="tcp://127.0.0.1:1"),
    ):
        pass
    with pytest.raises(ValueError, match="max_workers must be"), open_executor("dask", max_workers=0):
        pass
