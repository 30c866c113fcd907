"""Random two-layer regression problems shared by the two_layer tests (float64, seeded)."""

from __future__ import annotations

import torch

from dropout_theory.two_layer import init_params


def random_problem(m=5, d=3, n=7, K=None, seed=0, scale_a=2.0, scale_w=1.5):
    """(a, W, X, y) with a (m,) or (m, K), W (m, d), X (n, d), y (n,) or (n, K), all float64."""
    g = torch.Generator().manual_seed(seed)
    a, W = init_params(m, d, K, generator=g, scale_a=scale_a, scale_w=scale_w)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.randn((n,) if K is None else (n, K), generator=g, dtype=torch.float64)
    return a, W, X, y
