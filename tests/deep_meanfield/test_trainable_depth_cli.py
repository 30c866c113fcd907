"""The trainable-depth experiments: CLI --quick writes resumable results; any Executor gives the same numbers."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from dropout_theory.deep_meanfield import trainable_depth_grid, training_speed
from dropout_theory.experiments.cli import main
from dropout_theory.experiments.trainable_depth import run_trainable_depth, run_training_speed


def test_cli_quick_is_resumable(tmp_path, capsys):
    out = tmp_path / "td.jsonl"
    args = ["trainable-depth", "--quick", "--out", str(out), "--workers", "1", "--keep-probs", "0.9"]
    assert main(args) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 1 + 3  # the run's header, then one job per depth of the quick grid
    assert main(args) == 0  # second run: everything already done, nothing appended
    assert out.read_text().splitlines() == lines
    assert "keep_prob 0.9" in capsys.readouterr().out


def test_executor_is_pluggable_and_results_match():
    """Any Executor gives the same numbers, and they are those of the in-process science functions (up to the
    rounding of the stored accuracies to 6 decimals)."""
    kw = dict(width=8, num_steps=5, batch_size=8)
    a = run_trainable_depth([2, 3], [1.0, 2.0], [0.9], max_workers=1, progress=False, **kw)
    with ThreadPoolExecutor(2) as ex:
        b = run_trainable_depth([2, 3], [1.0, 2.0], [0.9], executor=ex, progress=False, **kw)
    assert a[0.9].accuracy.shape == (2, 2)
    assert np.array_equal(a[0.9].accuracy, b[0.9].accuracy)
    np.testing.assert_allclose(a[0.9].accuracy, trainable_depth_grid([2, 3], [1.0, 2.0], [0.9], **kw)[0.9].accuracy,
                               atol=5e-7)  # fmt: skip
    opts = dict(width=8, num_steps=10, eval_every=5)
    s = run_training_speed([2], [0.01, 0.1], [1.0], max_workers=1, progress=False, **opts)
    assert s[1.0].steps_to_threshold.shape == (1, 2) and abs(s[1.0].sigma_w2 - 2.0) < 0.5
    assert np.array_equal(
        s[1.0].steps_to_threshold, training_speed([2], [0.01, 0.1], [1.0], **opts)[1.0].steps_to_threshold
    )
