"""Dropout vs random geometry: the teacher–student runs, their summary, the penalty ratio and the digits curves."""

from __future__ import annotations

from dataclasses import asdict

import pytest
import torch

from dropout_theory.phase import (
    TeacherStudentSummary,
    digits_parity_curves,
    penalty_visibility,
    teacher_student_experiment,
    teacher_student_run,
)


def test_teacher_student_run_shapes_and_repeat_seeding():
    r = teacher_student_run(20, generator=0, num_steps=4, record_every=2, num_points=30)
    assert r.steps == [0, 2, 4] and set(r.rms) == {"random_metric", "propagation_noise_random_metric", "no_dropout"}
    assert r.rms["no_dropout"][0] == 0.0 and r.rms["no_dropout"][-1] > 0
    again = teacher_student_run(20, generator=torch.Generator().manual_seed(0), num_steps=4, record_every=2,
                                num_points=30)  # fmt: skip
    assert again != r  # a generator object draws sub-seeds instead of using 1000 + r, 2000 + r


def test_summary_averages_repeats():
    """The summary's mean and standard deviation over repeats equal those computed from the runs directly."""
    kw = {"num_steps": 4, "record_every": 2, "num_points": 30}
    summary = teacher_student_experiment((10,), repeats=3, **kw)
    runs = [teacher_student_run(10, generator=r, **kw) for r in range(3)]
    curves = torch.tensor([r.rms["random_metric"] for r in runs], dtype=torch.float64)
    assert summary[10].rms_mean["random_metric"] == pytest.approx(curves.mean(0).tolist(), rel=1e-15)
    assert summary[10].rms_sd["random_metric"] == pytest.approx(curves.std(0).tolist(), rel=1e-15)
    assert summary[10].num_repeats == 3
    assert TeacherStudentSummary.from_runs([10] * 3, [asdict(r) for r in runs]) == summary
    assert "random metric" in str(summary) and summary._repr_markdown_().startswith("**RMS distance")


def test_penalty_visibility_and_digits_curves():
    p = penalty_visibility(20, tau=0.05, keep_prob=0.5, repeats=1)
    assert p.steps == 20 and p.ratio == pytest.approx(p.to_penalized / p.to_no_dropout) and p.ratio > 0
    res = digits_parity_curves(width=20, tau=0.5, num_steps=6, record_every=3)
    assert res.steps == [0, 3, 6] and set(res.train_loss) == {"dropout", "random_metric", "no_dropout"}
    assert res.rms_to_dropout["dropout"] == [0.0, 0.0, 0.0]
    assert all(0.0 <= a <= 1.0 for a in res.test_accuracy["no_dropout"])
    assert "test accuracy" in str(res)
