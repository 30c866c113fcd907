"""Shared argument validation and divergence reporting."""

import math

import numpy as np
import pytest
import torch

from dropout_theory import DivergenceError
from dropout_theory._checks import (
    as_tensor,
    check_finite_step,
    check_keep_prob,
    check_positive,
    check_positive_int,
)


@pytest.mark.parametrize("bad", [0, -0.1, 1.0001, float("nan"), "half", None])
def test_keep_prob_range(bad):
    with pytest.raises(ValueError, match="keep_prob"):
        check_keep_prob(bad)


def test_keep_prob_accepts_numpy_and_tensor_scalars():
    assert check_keep_prob(np.float32(0.5)) == 0.5
    assert check_keep_prob(torch.tensor(1.0)) == 1.0


def test_positive_and_int_checks():
    assert check_positive(0, "x", allow_zero=True) == 0.0
    for bad in (0, math.inf, -1):
        with pytest.raises(ValueError, match=r"x must be finite and lie in \(0, inf\)"):
            check_positive(bad, "x")
    assert check_positive_int(np.int64(3), "n") == 3
    for bad in (True, 2.0, 0):
        with pytest.raises(ValueError, match="n must be an integer >= 1"):
            check_positive_int(bad, "n")


def test_as_tensor():
    t = as_tensor([[1, 2]], "X", ndim=2)
    assert t.dtype == torch.float64 and t.shape == (1, 2)
    with pytest.raises(ValueError, match=r"X must have 1 dimensions, got shape \(1, 2\)"):
        as_tensor([[1, 2]], "X", ndim=1)
    with pytest.raises(ValueError, match="X must contain only finite values"):
        as_tensor([math.inf], "X")


def test_divergence_error_reports_step_and_quantity():
    check_finite_step(3, "loss", torch.tensor([1.0, -2.0]))
    with pytest.raises(DivergenceError, match=r"step 4: loss = nan") as info:
        check_finite_step(4, "loss", torch.tensor([1.0, float("nan")]))
    assert info.value.step == 4 and info.value.quantity == "loss"
    with pytest.raises(DivergenceError, match="step 5"):
        check_finite_step(5, "loss", 1e13)
