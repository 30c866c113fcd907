"""The Executor-based, resumable job runner and the CLI's discovery of experiment modules."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from dropout_theory.experiments import job_key, load_results, run_jobs
from dropout_theory.experiments.cli import build_parser, main

CALLS: list[dict] = []


def square(x: int, offset: int = 0) -> dict:
    CALLS.append({"x": x, "offset": offset})
    return {"value": x * x + offset}


def test_job_key_ignores_key_order():
    assert job_key({"a": 1, "b": 2.5}) == job_key({"b": 2.5, "a": 1})
    assert job_key({"a": 1}) != job_key({"a": 2})


def test_results_in_job_order_and_resume(tmp_path):
    CALLS.clear()
    out = tmp_path / "res.jsonl"
    jobs = [{"x": i} for i in range(5)]
    assert run_jobs(square, jobs, results_path=out, max_workers=1, progress=False) == [
        {"value": i * i} for i in range(5)
    ]
    assert len(CALLS) == 5
    # resuming with two more jobs runs only the new ones
    more = [*jobs, {"x": 7}, {"x": 2, "offset": 1}]
    res = run_jobs(square, more, results_path=out, max_workers=1, progress=False)
    assert res[-2:] == [{"value": 49}, {"value": 5}]
    assert len(CALLS) == 7
    assert len(load_results(out)) == 7


def test_truncated_last_line_is_ignored(tmp_path):
    out = tmp_path / "res.jsonl"
    out.write_text(
        json.dumps({"key": job_key({"x": 3}), "params": {"x": 3}, "result": {"value": 9}}) + '\n{"key": '
    )
    assert list(load_results(out).values()) == [{"params": {"x": 3}, "result": {"value": 9}}]


def test_any_executor_is_accepted_and_not_shut_down():
    with ThreadPoolExecutor(max_workers=2) as ex:
        res = run_jobs(square, [{"x": 2}, {"x": 3}], executor=ex, progress=False)
        assert res == [{"value": 4}, {"value": 9}]
        assert ex.submit(square, x=1).result() == {"value": 1}


def test_default_process_pool(tmp_path):
    res = run_jobs(
        square, [{"x": 4}, {"x": 5}], results_path=tmp_path / "r.jsonl", max_workers=2, progress=False
    )
    assert res == [{"value": 16}, {"value": 25}]


def test_bad_worker_count():
    with pytest.raises(ValueError, match="max_workers must be an integer >= 1, got 0"):
        run_jobs(square, [{"x": 1}], max_workers=0)


def test_cli_without_command_prints_help(capsys):
    assert main([]) == 2
    assert "dropout-experiments" in capsys.readouterr().out
    assert build_parser().prog == "dropout-experiments"
