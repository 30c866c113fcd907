"""The Part II commands: --quick runs write resumable results that the science functions read back unchanged."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from dropout_theory.deep_meanfield import gradient_statistics_sweep, trainable_depth_sweep
from dropout_theory.experiments.cli import main
from dropout_theory.experiments.gradient_statistics import QUICK
from dropout_theory.experiments.trainable_depth import QUICK_TRAINABLE_DEPTH
from dropout_theory.jobs import read_run_header


def test_cli_quick_is_resumable_and_the_library_reads_its_file(tmp_path, capsys):
    out = tmp_path / "td.jsonl"
    args = ["trainable-depth", "--quick", "--out", str(out), "--workers", "1"]
    assert main(args) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 1 + 2 * 3  # the run's header, then one job per (panel, depth) of the quick grid
    header = read_run_header(out)
    assert header["command"] == "trainable-depth" and header["argv"][1:] == args
    assert main(args) == 0  # second run: everything already done, nothing appended
    assert out.read_text().splitlines() == lines
    assert "keep 0.9, sgd, gaussian" in capsys.readouterr().out
    sweep = trainable_depth_sweep(**QUICK_TRAINABLE_DEPTH, results_path=str(out), progress=False)  # as a chapter does
    assert out.read_text().splitlines() == lines and sweep.accuracy.shape == (2, 1, 3, 3)
    assert main([*args, "--seeds", "2"]) == 0  # more seeds extend the same run
    assert len(out.read_text().splitlines()) == 1 + 2 * 2 * 3


def test_executor_is_pluggable_and_results_match():
    kw = dict(seeds=[0], width=8, num_steps=5, batch_size=8, progress=False)
    a = trainable_depth_sweep([2, 3], [1.0, 2.0], [0.9], max_workers=1, **kw)
    with ThreadPoolExecutor(2) as ex:
        b = trainable_depth_sweep([2, 3], [1.0, 2.0], [0.9], executor=ex, **kw)
    np.testing.assert_array_equal(a.accuracy, b.accuracy)


def test_gradient_statistics_quick(tmp_path):
    out = tmp_path / "gs.jsonl"
    assert main(["gradient-statistics", "--quick", "--out", str(out), "--workers", "1"]) == 0
    stats = gradient_statistics_sweep(QUICK, results_path=str(out), progress=False)
    assert [g.backward for g in stats] == ["realistic", "gia"] and stats[0].metrics["single"].mean.shape == (8,)
