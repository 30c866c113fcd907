"""Dropout vs random geometry: the teacher–student runs, their summary, the penalty ratio and the digits curves."""

from __future__ import annotations

from dataclasses import asdict

import pytest
import torch

from dropout_theory.phase import (
    TeacherStudentSummary,
    digits_parity_curves,
    init_student,
    make_teacher_student,
    network_output,
    penalty_visibility,
    teacher_student_experiment,
    teacher_student_run,
)
from dropout_theory.rng import torch_generator
from dropout_theory.stats import Estimate, fit_power_law


def test_authors_setup_follows_their_distributions():
    """x ~ N(0, I), teacher rows ~ N(0, I/d), a* ~ N(0, 1), y = a*·relu(W* x)/√m*, validation set alike; students
    a ~ N(0, 1), w ~ N(0, I/d). Moments of 20,000-80,000 draws within 5 standard errors."""
    d, N, m = 20, 4000, 15
    data = make_teacher_student(d=d, num_points=N, teacher_width=m, setup="authors")
    for X in (data.X, data.X_val):
        assert abs(float(X.mean())) < 5 / (N * d) ** 0.5 and abs(float(X.var()) - 1) < 5 * (2 / (N * d)) ** 0.5
    assert abs(float(data.teacher_W.var()) * d - 1) < 5 * (2 / (m * d)) ** 0.5
    assert not torch.equal(data.teacher_a.abs(), torch.ones(m))  # Gaussian, not ±1
    torch.testing.assert_close(data.y, torch.relu(data.X @ data.teacher_W.T) @ data.teacher_a / m**0.5)
    torch.testing.assert_close(data.y_val, torch.relu(data.X_val @ data.teacher_W.T) @ data.teacher_a / m**0.5)
    a, W = init_student(5000, d=d, setup="authors")
    assert abs(float(a.var()) - 1) < 0.1 and abs(float(W.var()) * d - 1) < 5 * (2 / (5000 * d)) ** 0.5


def test_book_setup_keeps_the_book_data():
    """The book's training data are the draws of its earlier implementation (seed 0: teacher, then inputs)."""
    data = make_teacher_student(d=5, num_points=30, teacher_width=4, setup="book", generator=0)
    g = torch.Generator().manual_seed(0)
    Wt = torch.randn((4, 5), generator=g, dtype=torch.float64)
    X = torch.randn((30, 5), generator=g, dtype=torch.float64) / 5**0.5
    assert torch.equal(data.teacher_W, Wt) and torch.equal(data.X, X)
    assert data.teacher_a.tolist() == [1.0, -1.0, 1.0, -1.0]
    _, W = init_student(3000, d=5, setup="book")
    assert abs(float(W.var()) - 1) < 0.05


def test_run_logs_the_validation_loss():
    r = teacher_student_run(12, generator=3, num_steps=2, record_every=1, num_points=25)
    data = make_teacher_student(num_points=25, setup="authors")
    a0, W0 = init_student(12, generator=torch_generator(3, offset=1000))
    f0 = network_output(a0, W0, data.X_val)
    assert set(r.val_loss) == set(r.loss) and r.val_loss["dropout"][0] == pytest.approx(
        float(0.5 * ((f0 - data.y_val) ** 2).mean()), rel=1e-12
    )
    assert r.val_loss["dropout"][0] == r.val_loss["no_dropout"][0] != r.val_loss["dropout"][-1]


def test_teacher_student_run_shapes_and_repeat_seeding():
    r = teacher_student_run(20, generator=0, num_steps=4, record_every=2, num_points=30)
    assert r.steps == [0, 2, 4] and set(r.rms) == {"random_metric", "propagation_noise_random_metric", "no_dropout"}
    assert r.rms["no_dropout"][0] == 0.0 and r.rms["no_dropout"][-1] > 0
    again = teacher_student_run(20, generator=torch.Generator().manual_seed(0), num_steps=4, record_every=2,
                                num_points=30)  # fmt: skip
    assert again != r  # a generator object draws sub-seeds instead of using 1000 + r, 2000 + r


def test_summary_statistics_over_repeats():
    """Means, standard deviations, standard errors and log–log slopes equal those computed from the runs directly."""
    kw = {"num_steps": 4, "record_every": 2, "num_points": 30, "setup": "book"}
    summary = teacher_student_experiment((10, 20, 40), repeats=3, **kw)
    runs = {n: [teacher_student_run(n, generator=r, **kw) for r in range(3)] for n in (10, 20, 40)}
    curves = torch.tensor([r.rms["random_metric"] for r in runs[10]], dtype=torch.float64)
    assert summary[10].rms_mean["random_metric"] == pytest.approx(curves.mean(0).tolist(), rel=1e-15)
    assert summary[10].rms_sd["random_metric"] == pytest.approx(curves.std(0).tolist(), rel=1e-15)
    assert summary[10].num_repeats == 3 and summary.steps == [0, 2, 4]
    assert summary.rms_at(4)["no_dropout"][20] == Estimate.from_samples([r.rms["no_dropout"][-1] for r in runs[20]])
    means = [float(torch.tensor([r.rms["no_dropout"][1] for r in runs[n]], dtype=torch.float64).mean())
             for n in (10, 20, 40)]  # fmt: skip
    fit = summary.slopes(2)["no_dropout"]
    assert fit.exponent == pytest.approx(fit_power_law([10, 20, 40], means).exponent, rel=1e-12)
    train = summary[40].loss_at(4)["dropout"]
    assert train == Estimate.from_samples([r.loss["dropout"][-1] for r in runs[40]])
    assert summary[40].loss_at(4, validation=True)["no_dropout"].num_samples == 3
    flat = [r for n in (10, 20, 40) for r in runs[n]]
    assert TeacherStudentSummary.from_runs([10] * 3 + [20] * 3 + [40] * 3, [asdict(r) for r in flat]) == summary
    assert "random metric" in str(summary) and summary._repr_markdown_().startswith("**RMS distance")
    assert "slope at step 2" in str(summary.slopes_table([2, 4])) and "validation loss" in str(summary.loss_table(4))
    with pytest.raises(ValueError, match="step 3 was not recorded"):
        summary.rms_at(3)


def test_ordering_table_uses_paired_gaps():
    """A gap is '<' only beyond z paired standard errors: here the random metric sits 0.1 below the other two in every
    repeat (a paired gap with zero spread), while those two differ by +0.01, −0.01, +0.01 (mean 0.0033, paired s.e.
    0.0067: half a standard error)."""

    def run(r: int) -> dict:
        pn = 0.5 + 0.01 * r
        nd = pn + (0.01 if r != 1 else -0.01)
        return {"steps": [0, 1], "rms": {"random_metric": [0.0, 0.4 + 0.01 * r], "propagation_noise_random_metric":
                [0.0, pn], "no_dropout": [0.0, nd]}, "loss": {}, "val_loss": {}}  # fmt: skip

    summary = TeacherStudentSummary.from_runs([7, 7, 7], [run(r) for r in range(3)])
    two = str(summary.ordering_table([1]))
    assert "random metric < PN + RM ≈ no dropout" in two
    assert "random metric < PN + RM < no dropout" in str(summary.ordering_table([1], z=0.4))
    single = TeacherStudentSummary.from_runs([7], [run(0)])
    assert "random metric ≈ PN + RM ≈ no dropout" in str(single.ordering_table([1]))


def test_penalty_visibility_and_digits_curves():
    p = penalty_visibility(20, tau=0.05, keep_prob=0.5, repeats=1)
    assert p.steps == 20 and p.ratio == pytest.approx(p.to_penalized / p.to_no_dropout) and p.ratio > 0
    res = digits_parity_curves(width=20, tau=0.5, num_steps=6, record_every=3)
    assert res.steps == [0, 3, 6] and set(res.train_loss) == {"dropout", "random_metric", "no_dropout"}
    assert res.rms_to_dropout["dropout"] == [0.0, 0.0, 0.0]
    assert all(0.0 <= a <= 1.0 for a in res.test_accuracy["no_dropout"])
    assert "test accuracy" in str(res)
