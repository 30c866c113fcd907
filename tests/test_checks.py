"""Shared argument validation and divergence reporting."""

import math

import numpy as np
import pytest
import torch

from dropout_theory import DivergenceError
from dropout_theory._checks import (
    MAX_ITERATIONS,
    as_mask,
    as_tensor,
    check_allocation,
    check_finite_step,
    check_iterations,
    check_keep_prob,
    check_positive,
    check_positive_int,
    check_shapes_match,
    memory_bytes,
    plain,
    traced,
)


@pytest.mark.parametrize("bad", [0, -0.1, 1.0001, float("nan")])
def test_keep_prob_range(bad):
    with pytest.raises(ValueError, match="keep_prob"):
        check_keep_prob(bad)


@pytest.mark.parametrize("bad", ["half", "0.5", None, True])
def test_keep_prob_must_be_a_number(bad):
    with pytest.raises(TypeError, match=r"keep_prob must be a number in \(0, 1\], got"):
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


def test_messages_print_plain_numbers():
    assert repr(plain(np.float64(-1.0))) == "-1.0" and repr(plain(torch.tensor(2))) == "2"
    assert plain("x") == "x"
    with pytest.raises(ValueError, match=r"got float64 -1.5$"):
        check_positive_int(np.float64(-1.5), "n")


def test_as_tensor_refuses_strings_meta_and_other_devices():
    with pytest.raises(TypeError, match="X must be a tensor or an array of numbers, got str"):
        as_tensor("tensor", "X")
    with pytest.raises(TypeError, match="X must be a tensor or an array of numbers"):
        as_tensor([["a", 1]], "X")
    with pytest.raises(ValueError, match="X is on the meta device"):
        as_tensor(torch.ones(2, device="meta"), "X")
    with pytest.raises(ValueError, match="X is on cpu but must be on meta like W"):
        as_tensor(torch.ones(2), "X", device="meta", like="W")


def test_as_mask():
    W = torch.ones(3, 2, dtype=torch.float64)
    assert as_mask([0.0, 2.0, 2.0], "mask", (3,), like=W, like_name="W").dtype == torch.float64
    with pytest.raises(ValueError, match=r"mask must have shape \(3,\) to match W, got \(2,\)"):
        as_mask([1.0, 1.0], "mask", (3,), like=W, like_name="W")
    with pytest.raises(ValueError, match="mask must be >= 0"):
        as_mask([1.0, -1.0, 1.0], "mask", (3,), like=W, like_name="W")


def test_allocation_is_refused_with_the_size_it_needs():
    check_allocation(1000, "the result", names="n = 1000")
    with pytest.raises(ValueError, match=r"num_samples = 10\^12: the result would need 7.3 TiB, more than the"):
        check_allocation(10**12, "the result", names="num_samples = 10^12")
    assert 0 < memory_bytes() < 10**13 * 8


def test_iteration_counts_and_shapes():
    assert check_iterations(MAX_ITERATIONS, "substeps") == MAX_ITERATIONS
    with pytest.raises(ValueError, match=f"substeps must be an integer <= {MAX_ITERATIONS}"):
        check_iterations(MAX_ITERATIONS + 1, "substeps")
    check_shapes_match("X", np.ones((4, 2)), 0, "y", np.ones(4), 0, "number of rows")
    with pytest.raises(ValueError, match=r"X and y must have the same number of rows: got shapes \(4, 2\) and \(3,\)"):
        check_shapes_match("X", np.ones((4, 2)), 0, "y", np.ones(3), 0, "number of rows")


def test_value_checks_are_skipped_inside_torch_func_transforms():
    """vmap/grad cannot inspect values: as_tensor still checks shapes there, and checks values outside."""
    from torch.func import vmap

    def f(x):
        assert traced(x)
        return as_tensor(x, "x", ndim=1).sum()

    assert torch.equal(vmap(f)(torch.ones(2, 3, dtype=torch.float64)), torch.full((2,), 3.0, dtype=torch.float64))
    with pytest.raises(ValueError, match="x must have 1 dimensions"):
        vmap(f)(torch.ones(2, 3, 1, dtype=torch.float64))
    assert not traced(torch.ones(2))
