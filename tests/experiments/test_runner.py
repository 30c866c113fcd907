"""The Executor-based, resumable job runner: results file format, exact resume, run identity, failures, shutdown."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

from dropout_theory import __version__
from dropout_theory.experiments import (
    JobsFailed,
    RunMismatchError,
    job_key,
    job_records,
    load_results,
    read_run_header,
    run_identity,
    run_jobs,
)
from dropout_theory.experiments.cli import build_parser, main
from tests.experiments import gated_sweep

REPO = Path(__file__).resolve().parents[2]
CALLS: list[dict] = []


def square(x: int, offset: int = 0) -> dict:
    CALLS.append({"x": x, "offset": offset})
    if str(x) == os.environ.get("RUNNER_TEST_FAIL_ON"):  # read from the environment: pool workers see it too
        raise ValueError(f"cannot square {x}")
    return {"value": x * x + offset}


def cube(x: int) -> dict:
    return {"value": x**3}


def not_json(x: int) -> dict:
    return {"x": x, "tensor": object()}


def odd_numbers(x: float) -> dict:
    return {"ratio": x * math.inf, "ok": [1.0, -math.inf], "x": x}


def lines_of(path: Path) -> list[dict]:
    """Every line of a results file as JSON; fails unless the file ends with a newline."""
    text = path.read_text()
    assert text.endswith("\n"), "a results file must end with a newline"
    return [json.loads(line) for line in text.splitlines()]


def test_job_key_is_stable_under_last_digit_noise():
    assert job_key({"a": 1, "b": 2.5}) == job_key({"b": 2.5, "a": 1})
    assert job_key({"a": 1}) != job_key({"a": 2})
    assert job_key({"a": [1, 2]}) == job_key({"a": (1, 2)})
    # a computed float and its neighbour one ulp away (as on another machine) give the same key ...
    x = 1.7609546396060811
    assert job_key({"sigma_w2": x}) == job_key({"sigma_w2": math.nextafter(x, 2.0)})
    # ... while values that differ as written do not
    assert job_key({"sigma_w2": 1.761}) != job_key({"sigma_w2": 1.7609})
    with pytest.raises(ValueError, match=r"params\['lr'\] must be finite"):
        job_key({"lr": math.nan})


def test_results_in_job_order_and_resume(tmp_path):
    CALLS.clear()
    out = tmp_path / "res.jsonl"
    jobs = [{"x": i} for i in range(5)]
    assert run_jobs(square, jobs, results_path=out, max_workers=1, progress=False) == [
        {"value": i * i} for i in range(5)
    ]
    assert len(CALLS) == 5
    header, *records = lines_of(out)
    assert header["record"] == "run" and header["function"] == f"{__name__}.square"
    assert header["library_version"] == __version__ and header["command"] is None
    assert [r["status"] for r in records] == ["ok"] * 5 and records[2]["params"] == {"x": 2}
    # resuming with two more jobs runs only the new ones
    more = [*jobs, {"x": 7}, {"x": 2, "offset": 1}]
    res = run_jobs(square, more, results_path=out, max_workers=1, progress=False)
    assert res[-2:] == [{"value": 49}, {"value": 5}]
    assert len(CALLS) == 7
    assert len(load_results(out)) == 7
    assert job_records(more, res) == {job_key(j): {"params": j, "result": r} for j, r in zip(more, res, strict=True)}


@pytest.mark.parametrize("cut", ["mid_record", "mid_header"])
def test_one_resume_restores_every_job_after_a_cut_write(tmp_path, cut):
    """A run killed while writing leaves a partial last line; one resume cuts it, recomputes only that job and
    leaves a valid file with every job."""
    CALLS.clear()
    out = tmp_path / "res.jsonl"
    jobs = [{"x": i} for i in range(6)]
    run_jobs(square, jobs, results_path=out, max_workers=1, progress=False)
    text = out.read_text()
    if cut == "mid_record":
        last = text.rstrip("\n").rfind("\n") + 1
        out.write_text(text[: last + 25])  # the last record, cut in the middle
        expected_calls = 6 + 1
    else:
        out.write_text(text[:30])  # only the beginning of the header was written
        expected_calls = 6 + 6
    assert len(load_results(out)) == (5 if cut == "mid_record" else 0)  # the partial line is not a result
    with pytest.warns(UserWarning, match="cut a partial last line"):
        res = run_jobs(square, jobs, results_path=out, max_workers=1, progress=False)
    assert res == [{"value": i * i} for i in range(6)]
    assert len(CALLS) == expected_calls
    header, *records = lines_of(out)
    assert header["record"] == "run" and len(records) == 6
    assert sorted(r["params"]["x"] for r in records) == list(range(6))
    assert len(load_results(out)) == 6


def test_a_line_that_is_not_json_is_skipped_with_a_warning(tmp_path):
    out = tmp_path / "res.jsonl"
    run_jobs(square, [{"x": 1}, {"x": 2}], results_path=out, max_workers=1, progress=False)
    header, first, second = out.read_text().splitlines()
    out.write_text("\n".join([header, first[:20] + second, second]) + "\n")  # what the old runner could leave
    with pytest.warns(UserWarning, match="line 2: not a JSON record"):
        assert [r["params"]["x"] for r in load_results(out).values()] == [2]


def test_nonfinite_numbers_are_null_with_a_status(tmp_path):
    out = tmp_path / "res.jsonl"
    (fresh,) = run_jobs(odd_numbers, [{"x": 1.0}], results_path=out, max_workers=1, progress=False)
    assert fresh == {"ratio": None, "ok": [1.0, None], "x": 1.0}
    _, rec = lines_of(out)  # json.loads would accept bare NaN: check the text has none
    assert "NaN" not in out.read_text() and "Infinity" not in out.read_text()
    assert rec["status"] == "nonfinite" and rec["nonfinite"] == ["ratio", "ok[1]"]
    (resumed,) = run_jobs(odd_numbers, [{"x": 1.0}], results_path=out, max_workers=1, progress=False)
    assert resumed == fresh  # a resumed run sees exactly what a fresh one returned
    assert next(iter(load_results(out).values()))["status"] == "nonfinite"


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_job_is_a_record_the_others_finish_and_resume_retries(tmp_path, monkeypatch, workers):
    out = tmp_path / "res.jsonl"
    jobs = [{"x": i} for i in range(5)]
    monkeypatch.setenv("RUNNER_TEST_FAIL_ON", "3")
    with pytest.raises(JobsFailed, match=r"1 job\(s\) failed; the first, \{'x': 3\}, raised ValueError"):
        run_jobs(square, jobs, results_path=out, max_workers=workers, progress=False)
    monkeypatch.delenv("RUNNER_TEST_FAIL_ON")
    records = lines_of(out)[1:]
    (err,) = [r for r in records if r["status"] == "error"]
    assert err["params"] == {"x": 3} and err["result"] is None
    assert err["error"]["type"] == "ValueError" and "cannot square 3" in err["error"]["traceback"]
    assert sorted(load_results(out)) == sorted(job_key({"x": i}) for i in (0, 1, 2, 4))  # errors are not results
    CALLS.clear()
    assert run_jobs(square, jobs, results_path=out, max_workers=1, progress=False)[3] == {"value": 9}
    assert CALLS == [{"x": 3, "offset": 0}]  # only the failed job ran again


def test_a_result_json_cannot_hold_is_an_error_record(tmp_path):
    out = tmp_path / "res.jsonl"
    with pytest.raises(JobsFailed, match="TypeError: Object of type object is not JSON serializable"):
        run_jobs(not_json, [{"x": 1}], results_path=out, max_workers=1, progress=False)
    _, rec = lines_of(out)
    assert (rec["status"], rec["result"], rec["error"]["type"]) == ("error", None, "TypeError")


def test_a_results_file_holds_one_run(tmp_path):
    out = tmp_path / "res.jsonl"
    with run_identity("demo", {"n": 1}, "quick", argv=["demo", "--quick"]):
        run_jobs(square, [{"x": 1}], results_path=out, max_workers=1, progress=False)
    header = read_run_header(out)
    assert (header["command"], header["options"], header["scale"]) == ("demo", {"n": 1}, "quick")
    assert header["argv"] == ["demo", "--quick"] and header["started"]
    before = out.read_text()
    with run_identity("demo", {"n": 2}, "quick"), pytest.raises(RunMismatchError, match="options: file"):
        run_jobs(square, [{"x": 1}], results_path=out, max_workers=1, progress=False)
    with run_identity("demo", {"n": 1}, "paper"), pytest.raises(RunMismatchError, match="scale: file 'quick'"):
        run_jobs(square, [{"x": 2}], results_path=out, max_workers=1, progress=False)
    with run_identity("demo", {"n": 1}, "quick"), pytest.raises(RunMismatchError, match="function"):
        run_jobs(cube, [{"x": 1}], results_path=out, max_workers=1, progress=False)
    assert out.read_text() == before  # nothing appended by a refused run
    with run_identity("demo", {"n": 1}, "quick"):
        assert run_jobs(square, [{"x": 1}, {"x": 2}], results_path=out, max_workers=1, progress=False)[1] == {
            "value": 4
        }
    other = tmp_path / "notes.txt"
    other.write_text("my notes\n")
    with pytest.raises(RunMismatchError, match="not a results file"):
        run_jobs(square, [{"x": 1}], results_path=other, max_workers=1, progress=False)
    assert other.read_text() == "my notes\n"
    with pytest.raises(ValueError, match="is a directory"):
        run_jobs(square, [{"x": 1}], results_path=tmp_path, max_workers=1, progress=False)


def test_any_executor_is_accepted_and_not_shut_down():
    with ThreadPoolExecutor(max_workers=2) as ex:
        res = run_jobs(square, [{"x": 2}, {"x": 3}], executor=ex, progress=False)
        assert res == [{"value": 4}, {"value": 9}]
        assert ex.submit(square, x=1).result() == {"value": 1}


def test_default_process_pool(tmp_path):
    res = run_jobs(square, [{"x": 4}, {"x": 5}], results_path=tmp_path / "r.jsonl", max_workers=2, progress=False)
    assert res == [{"value": 16}, {"value": 25}]


def test_bad_worker_count():
    with pytest.raises(ValueError, match="max_workers must be an integer >= 1, got 0"):
        run_jobs(square, [{"x": 1}], max_workers=0)


def test_cli_without_command_prints_help(capsys):
    assert main([]) == 2
    assert "dropout-experiments" in capsys.readouterr().out
    assert build_parser().prog == "dropout-experiments"


def wait_for_records(path: Path, proc: subprocess.Popen, count: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and sum(1 for line in path.read_text().splitlines() if '"record": "job"' in line) >= count:
            return
        if proc.poll() is not None:
            raise AssertionError(f"the sweep ended early (status {proc.returncode}): {proc.stderr.read()}")
        time.sleep(0.05)
    raise AssertionError(f"no {count} job record(s) in {path} after {timeout} s")


def descendants(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def assert_all_gone(procs: list[psutil.Process], timeout: float) -> None:
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    assert not alive, f"processes left behind: {[(p.pid, p.name()) for p in alive]}"


def subprocess_env() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL])
def test_a_signalled_sweep_leaves_no_process_and_one_resume_completes_it(tmp_path, signum):
    """A real process-pool sweep (two workers, jobs 1… blocked on a gate) is signalled once job 0 is saved. SIGINT
    is handled: workers terminated, exit status 130. SIGKILL cannot be handled: the workers notice that their
    parent is gone and exit. Either way no descendant (workers, multiprocessing's resource tracker) survives, the
    file is valid, and opening the gate, one resume finishes every job."""
    out, gate, n = tmp_path / "sweep.jsonl", tmp_path / "gate", 6
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.experiments.gated_sweep", str(out), str(gate), str(n)],
        cwd=REPO,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_records(out, proc, 1)
        children = descendants(proc.pid)
        assert len(children) >= 2  # the two pool workers (and the resource tracker)
        proc.send_signal(signum)
        status = proc.wait(timeout=60)
        assert status == (128 + signal.SIGINT if signum == signal.SIGINT else -signal.SIGKILL)
        if signum == signal.SIGINT:
            assert "stopped by SIGINT: 1 of 6 jobs finished and saved" in proc.stderr.read()
        assert_all_gone(children, timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    header, *records = lines_of(out)
    assert header["function"] == "tests.experiments.gated_sweep.gated"
    assert [r["params"]["i"] for r in records] == [0]
    gate.touch()
    res = run_jobs(gated_sweep.gated, gated_sweep.jobs(str(gate), n), results_path=out, max_workers=1, progress=False)
    assert res == [{"i": i, "square": i * i} for i in range(n)]
    assert len(lines_of(out)) == 1 + n and len(load_results(out)) == n
