"""The one conversion of ``generator`` arguments, and the dropout mask every simulator draws."""

import numpy as np
import pytest
import torch

from dropout_theory.rng import bernoulli_mask, numpy_generator, torch_generator
from dropout_theory.two_layer import init_params


def test_torch_generator_accepts_generators_seeds_and_offsets():
    g = torch.Generator().manual_seed(5)
    assert torch_generator(g) is g and torch_generator(None) is None
    same = torch.rand(4, generator=torch_generator(7))
    assert torch.equal(same, torch.rand(4, generator=torch.Generator().manual_seed(7)))
    assert torch.equal(torch.rand(3, generator=torch_generator(7, offset=2)),
                       torch.rand(3, generator=torch.Generator().manual_seed(9)))  # fmt: skip
    sub1 = torch_generator(torch.Generator().manual_seed(1), offset=1)
    sub2 = torch_generator(torch.Generator().manual_seed(1), offset=1)
    assert torch.equal(torch.rand(3, generator=sub1), torch.rand(3, generator=sub2))  # deterministic sub-seeds
    with pytest.raises(ValueError, match="int seed >= 0, got -1"):
        torch_generator(-1)
    for bad in (1.5, True, "0"):
        with pytest.raises(TypeError, match="int seed >= 0"):
            torch_generator(bad)
    with pytest.raises(TypeError, match="draws with torch"):
        torch_generator(np.random.default_rng(0))


def test_numpy_generator():
    rng = np.random.default_rng(3)
    assert numpy_generator(rng) is rng
    assert numpy_generator(3).integers(1000) == np.random.default_rng(3).integers(1000)
    assert numpy_generator(torch.Generator().manual_seed(0)).integers(10**9) == numpy_generator(
        torch.Generator().manual_seed(0)
    ).integers(10**9)
    with pytest.raises(TypeError, match="must be given"):
        numpy_generator(None)


def test_int_seed_equals_an_explicit_generator_in_the_library():
    """The notation page promises "a torch.Generator or a seed": both give the same draws."""
    a1, W1 = init_params(4, 3, generator=11)
    a2, W2 = init_params(4, 3, generator=torch.Generator().manual_seed(11))
    assert torch.equal(a1, a2) and torch.equal(W1, W2)


def test_bernoulli_mask_values_and_moments():
    """Values in {0, 1/p}; over 200,000 draws the keep frequency is p within 5 binomial standard errors."""
    p, n = 0.3, 200_000
    m = bernoulli_mask((n,), keep_prob=p, generator=torch.Generator().manual_seed(0))
    assert set(torch.unique(m).tolist()) <= {0.0, 1 / p}
    kept = float((m > 0).double().mean())
    assert abs(kept - p) < 5 * (p * (1 - p) / n) ** 0.5
    assert torch.equal(bernoulli_mask((5,), keep_prob=1.0, generator=None), torch.ones(5, dtype=torch.float64))
    assert torch.equal(bernoulli_mask((2, 3), keep_prob=0.0, generator=None), torch.zeros(2, 3, dtype=torch.float64))
