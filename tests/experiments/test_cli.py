"""The ``dropout-experiments`` command: option checks, default and identified results files, declared job inputs,
and a clean stop of a real paper-scale sweep on SIGTERM."""

from __future__ import annotations

import importlib
import json
import pkgutil
import signal
import subprocess
import sys

import pytest
import torch

import dropout_theory.experiments as experiments
import dropout_theory.jobs as job_store
from dropout_theory import __version__
from dropout_theory.experiments import check_results_path, load_results, read_run_header
from dropout_theory.experiments.cli import build_parser, default_results_path, main, run_options
from tests.experiments.test_runner import assert_all_gone, descendants, lines_of, subprocess_env, wait_for_records

COMMANDS = sorted(build_parser()._subparsers._group_actions[0].choices)


def test_every_experiment_module_is_a_command():
    assert COMMANDS == [
        "alignment",
        "gradient-statistics",
        "minima-flatness",
        "mnist",
        "phase-diagram",
        "random-geometry",
        "sme",
        "trainable-depth",
        "training-speed",
        "variance-flatness",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sme", "--workers", "0"], "argument --workers: must be an integer >= 1, got 0"),
        (["sme", "--workers", "two"], "argument --workers: must be an integer >= 1, got 'two'"),
        (["sme", "--out", "a_folder"], "is a directory"),
        (["sme", "--out", "notes.txt/sme.jsonl"], "which is a file"),
        (["sme", "--out", "notes.txt"], "is not a results file"),
        (["alignment", "--num-masks", "6", "--seeds", "0"], "argument --seeds: must be an integer >= 1, got 0"),
        (["alignment", "--num-masks", "5"], "argument --num-masks: must be an even integer >= 4, got 5"),
        (["minima-flatness", "--keep-probs", "0.8", "1.5"], "must be a finite number in (0, 1], got 1.5"),
        (["minima-flatness", "--lr", "nan"], "argument --lr: must be a finite number in (0, inf), got nan"),
        (["trainable-depth", "--activation", "sigmoid"], "argument --activation: invalid choice: 'sigmoid'"),
        (["trainable-depth", "--sigma-b2", "-0.1"], "argument --sigma-b2: must be a finite number in [0, inf)"),
        (["sme", "--executor", "ray"], "argument --executor: invalid choice: 'ray'"),
        (["sme", "--scheduler", "tcp://127.0.0.1:1"], "argument --scheduler: needs --executor dask"),
        (
            ["sme", "--executor", "dask", "--scheduler", "tcp://127.0.0.1:1", "--workers", "2"],
            "argument --workers: sizes a local pool or LocalCluster, not the cluster at --scheduler",
        ),
        (["sme", "--device", "tpu"], "argument --device: must be cpu, cuda or cuda:K, got 'tpu'"),
        (["sme", "--device", "cuda:x"], "argument --device: must be cpu, cuda or cuda:K, got 'cuda:x'"),
    ],
)
def test_bad_options_exit_2_with_a_message_and_write_nothing(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a_folder").mkdir()
    (tmp_path / "notes.txt").write_text("my notes\n")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(SystemExit) as stop:
        main(args)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert message in err and f"dropout-experiments {args[0]}: error" in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert (tmp_path / "notes.txt").read_text() == "my notes\n"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_a_gpu_run_without_a_gpu_exits_2_before_anything_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main(["random-geometry", "--quick", "--device", "cuda"])
    assert stop.value.code == 2
    assert "argument --device: cuda: CUDA is not available on this machine" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_quick_and_paper_runs_have_separate_default_files_and_never_share_one(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert default_results_path("sme", False) == "runs/sme.jsonl"
    assert default_results_path("sme", True) == "runs/sme-quick.jsonl"
    args = ["random-geometry", "--quick", "--workers", "1"]
    assert main(args) == 0
    out = tmp_path / "runs" / "random-geometry-quick.jsonl"
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [out.name]
    header = read_run_header(out)
    # float32 is the default of sweeps; the size options, which --quick replaces by its own, are not recorded
    options = {"device": "cpu", "dtype": "float32", "keep_prob": 0.7, "setup": "authors", "tau": 0.5}
    assert (header["command"], header["scale"], header["options"]) == ("random-geometry", "quick", options)
    assert header["argv"] == ["dropout-experiments", *args] and header["library_version"] == __version__
    before = out.read_text()
    capsys.readouterr()
    for other, field in (
        (["random-geometry"], "scale: file 'quick', now 'paper'"),  # a paper-scale run into the quick file
        (
            ["random-geometry", "--quick", "--dtype", "float64"],
            "options: file {'device': 'cpu', 'dtype': 'float32', 'keep_prob': 0.7",
        ),
        (["phase-diagram", "--quick"], "command: file 'random-geometry', now 'phase-diagram'"),
    ):
        with pytest.raises(SystemExit) as stop:
            main([*other, "--out", str(out)])
        assert stop.value.code == 2
        assert field in capsys.readouterr().err
    assert out.read_text() == before  # refused runs append nothing
    assert main(args) == 0 and out.read_text() == before  # the same run resumes (nothing left to do)


class _Captured(Exception):
    def __init__(self, fn, jobs):
        self.fn, self.jobs = fn, [dict(j) for j in jobs]


def _capture(fn, jobs, **kwargs):
    raise _Captured(fn, jobs)


def _floats(obj):
    if isinstance(obj, float):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _floats(v)
    elif isinstance(obj, list | tuple):
        for v in obj:
            yield from _floats(v)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("quick", [True, False])
def test_job_inputs_are_declared_not_computed(tmp_path, monkeypatch, command, quick):
    """Every float in every job of every command, at both scales, is a number as one writes it (at most six
    significant digits), so that its resume key does not depend on the last bits of a computation."""
    for info in pkgutil.iter_modules(experiments.__path__):
        if info.name not in {"__main__", "cli", "executors"}:
            importlib.import_module(f"{experiments.__name__}.{info.name}")
    original = job_store.run_jobs
    for name, module in list(sys.modules.items()):  # the shells and the science functions that run stored sweeps
        if name.startswith("dropout_theory") and getattr(module, "run_jobs", None) is original:
            monkeypatch.setattr(module, "run_jobs", _capture)
    with pytest.raises(_Captured) as got:
        main([command, "--out", str(tmp_path / "r.jsonl"), *(["--quick"] if quick else [])])
    jobs = got.value.jobs
    assert jobs and not (tmp_path / "r.jsonl").exists()
    computed = sorted({x for job in jobs for x in _floats(job) if float(f"{x:.6g}") != x})
    assert not computed, f"{command}: job parameters that look computed: {computed[:5]}"


def test_sigterm_stops_a_real_sweep_cleanly(tmp_path):
    """The paper-scale phase-diagram sweep on two workers, SIGTERM'd once its first job is saved: exit status 143
    with a message, no process left (workers, resource tracker), no leaked-semaphore warning, a valid file that the
    same command resumes."""
    out = tmp_path / "pd.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "dropout_theory.experiments", "phase-diagram", "--workers", "2", "--out", str(out)],
        cwd=tmp_path,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_records(out, proc, 1)
        children = descendants(proc.pid)
        assert len(children) >= 2
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 128 + signal.SIGTERM
        err = proc.stderr.read()
        assert_all_gone(children, timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert "dropout-experiments phase-diagram: stopped by SIGTERM:" in err and "of 78 jobs finished and saved" in err
    assert "leaked" not in err
    header, *records = lines_of(out)
    assert (header["command"], header["scale"]) == ("phase-diagram", "paper")
    assert 1 <= len(records) < 78 and all(r["status"] == "ok" for r in records)
    assert len(load_results(out)) == len(records)
    args = build_parser().parse_args(["phase-diagram", "--out", str(out)])
    identity = {"command": "phase-diagram", "options": run_options(args), "scale": "paper"}
    assert check_results_path(out, identity | {"library_version": __version__}) == out  # the same command resumes


def test_a_file_from_before_the_device_option_resumes_on_the_cpu_only(tmp_path):
    """Results files written before ``--device`` existed have no device in their options: they ran on the CPU."""
    out = tmp_path / "old.jsonl"
    old = {"command": "sme", "options": {"n_train": 10}, "scale": "paper"}
    out.write_text(json.dumps({"record": "run", **old}) + "\n")
    assert check_results_path(out, {**old, "options": {"n_train": 10, "device": "cpu"}}) == out
    assert check_results_path(out, {**old, "device": "cpu", "options": {"n_train": 10, "device": "cpu"}}) == out
    with pytest.raises(job_store.RunMismatchError, match="device"):
        check_results_path(out, {**old, "device": "cuda", "options": {"n_train": 10, "device": "cpu"}})
    with pytest.raises(job_store.RunMismatchError, match="device"):
        check_results_path(out, {**old, "options": {"n_train": 10, "device": "cuda"}})
    with pytest.raises(job_store.RunMismatchError, match="n_train"):
        check_results_path(out, {**old, "options": {"n_train": 20, "device": "cpu"}})
