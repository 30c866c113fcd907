"""Lanczos top eigenvalues and the Hutch++ and Hutchinson traces against dense Hessians and a known matrix."""

from __future__ import annotations

import math

import pytest
import torch

from dropout_theory import ConvergenceError
from dropout_theory.alignment import flat_hvp, hessian_trace, top_hessian_eigenvalues
from dropout_theory.networks import dropout_mlp, module_flat_loss


def _half_mse(out, target):
    return 0.5 * ((out - target) ** 2).sum(1).mean()


def _tiny_net_hessian():
    """A 3-5-4-2 tanh net (D = 52) on 12 points: flat HVPs and the dense autograd Hessian."""
    g = torch.Generator().manual_seed(0)
    net = dropout_mlp((3, 5, 4, 2), keep_prob=0.7, generator=g)
    X = torch.randn(12, 3, generator=g, dtype=torch.float64)
    y = torch.randn(12, 2, generator=g, dtype=torch.float64)
    loss, theta = module_flat_loss(net, _half_mse, X, y)
    H = torch.autograd.functional.hessian(loss, theta)
    return flat_hvp(loss, theta), H, theta.numel()


def _matvec(A):
    return lambda V: V @ A.T


def test_top_eigenvalues_match_dense_eigvalsh():
    """Lanczos with tol 1e-10 vs eigvalsh of the autograd Hessian: relative error < 1e-8 for the top 3."""
    hvp, H, D = _tiny_net_hessian()
    dense = torch.linalg.eigvalsh(H).flip(0)[:3]
    top = top_hessian_eigenvalues(hvp, D, k=3, tol=1e-10, generator=torch.Generator().manual_seed(1))
    assert top.shape == (3,) and top.dtype == torch.float64
    assert bool((top[:-1] >= top[1:]).all())  # largest first
    assert torch.allclose(top, dense, rtol=1e-8, atol=1e-10)


def test_top_eigenvalue_is_algebraic_not_magnitude():
    """diag(1, 2, 3, -10): the largest algebraic eigenvalue is 3, not -10."""
    A = torch.diag(torch.tensor([1.0, 2.0, 3.0, -10.0, 0.5], dtype=torch.float64))
    top = top_hessian_eigenvalues(_matvec(A), 5, k=2, tol=1e-12, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(top, torch.tensor([3.0, 2.0], dtype=torch.float64), atol=1e-10)


def test_same_generator_same_result():
    hvp, _, D = _tiny_net_hessian()
    a = top_hessian_eigenvalues(hvp, D, k=2, generator=torch.Generator().manual_seed(5))
    b = top_hessian_eigenvalues(hvp, D, k=2, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


def test_non_convergence_is_an_error():
    """A 300×300 matrix with a clustered top of the spectrum, one restart allowed, tol 1e-15: ARPACK stops early."""
    g = torch.Generator().manual_seed(0)
    Q, _ = torch.linalg.qr(torch.randn(300, 300, generator=g, dtype=torch.float64))
    lam = 1.0 - torch.logspace(-8, 0, 300, dtype=torch.float64)
    A = (Q * lam) @ Q.T
    with pytest.raises(ConvergenceError, match="did not converge"):
        top_hessian_eigenvalues(_matvec(A), 300, k=6, tol=1e-15, maxiter=1, generator=torch.Generator().manual_seed(1))


def test_trace_of_tiny_net_within_four_standard_errors():
    """Hutchinson, 2,000 Rademacher probes vs Tr of the dense Hessian: |error| < 4 s.e.; the reported s.e. is within
    10 % of the exact one, √(2 Σ_{i≠j} H_ij² / N)."""
    hvp, H, D = _tiny_net_hessian()
    est = hessian_trace(
        hvp, D, num_probes=2000, generator=torch.Generator().manual_seed(2), batch_size=500, method="hutchinson"
    )
    exact = float(H.trace())
    assert est.num_samples == 2000
    assert abs(est.value - exact) < 4 * est.stderr
    off = H - torch.diag(H.diagonal())
    assert abs(est.stderr / math.sqrt(2.0 * float((off**2).sum()) / 2000) - 1.0) < 0.1


def test_trace_unbiased_with_the_exact_variance_on_a_known_matrix():
    """Hutchinson on a symmetric 6×6 A: 400 independent estimates of 50 probes each. Their mean is within 4 s.e. of Tr A
    (s.e. from the exact per-probe variance 2 Σ_{i≠j} A_ij²), their spread matches that variance within 20 %,
    and the reported standard errors average to the exact one within 10 %."""
    g = torch.Generator().manual_seed(3)
    B = torch.randn(6, 6, generator=g, dtype=torch.float64)
    A = B + B.T
    off = A - torch.diag(A.diagonal())
    per_probe_var = 2.0 * float((off**2).sum())
    gen = torch.Generator().manual_seed(4)
    ests = [hessian_trace(_matvec(A), 6, num_probes=50, generator=gen, method="hutchinson") for _ in range(400)]
    vals = torch.tensor([e.value for e in ests], dtype=torch.float64)
    exact_se = math.sqrt(per_probe_var / 50)
    assert abs(float(vals.mean()) - float(A.trace())) < 4 * exact_se / math.sqrt(400)
    assert abs(float(vals.std()) / exact_se - 1.0) < 0.2
    assert abs(sum(e.stderr for e in ests) / 400 / exact_se - 1.0) < 0.1


def test_trace_of_diagonal_matrix_is_exact():
    """Hutchinson: zᵀ diag(d) z = Σ d_i for every ±1 vector z: zero spread."""
    d = torch.tensor([3.0, -1.0, 0.25, 7.0], dtype=torch.float64)
    est = hessian_trace(
        lambda V: V * d, 4, num_probes=10, generator=torch.Generator().manual_seed(0), method="hutchinson"
    )
    assert est.value == pytest.approx(float(d.sum()), abs=1e-12) and est.stderr == pytest.approx(0.0, abs=1e-12)


def _decaying_spectrum(dim: int = 60, seed: int = 5) -> torch.Tensor:
    """Symmetric (dim, dim) matrix with eigenvalues 100·0.8^i, i = 0…dim−1, in random directions (a Hessian-like
    spectrum: a few large eigenvalues, many small ones)."""
    g = torch.Generator().manual_seed(seed)
    Q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=g, dtype=torch.float64))
    return (Q * (100.0 * 0.8 ** torch.arange(dim, dtype=torch.float64))) @ Q.T


def test_hutch_plus_plus_is_unbiased_with_calibrated_errors_and_beats_hutchinson():
    """A 60×60 matrix with a decaying spectrum, 300 independent estimates of 30 products each: the Hutch++ mean is
    within 4 of its standard errors of Tr A, its reported standard errors average to its spread within 25 %, and
    its spread is under half of Hutchinson's at the same number of products."""
    A = _decaying_spectrum()
    exact = float(A.trace())
    gen = torch.Generator().manual_seed(6)
    runs = {
        m: [hessian_trace(_matvec(A), 60, num_probes=30, generator=gen, method=m) for _ in range(300)]
        for m in ("hutch++", "hutchinson")
    }
    vals = {m: torch.tensor([e.value for e in ests], dtype=torch.float64) for m, ests in runs.items()}
    spread = float(vals["hutch++"].std())
    assert all(e.num_samples == 30 for e in runs["hutch++"])
    assert abs(float(vals["hutch++"].mean()) - exact) < 4 * spread / math.sqrt(300)
    assert abs(sum(e.stderr for e in runs["hutch++"]) / 300 / spread - 1.0) < 0.25
    assert spread < 0.5 * float(vals["hutchinson"].std())


def test_hutch_plus_plus_is_exact_when_the_sketch_spans_a_low_rank_matrix():
    """Rank-3 A and a sketch of 6 columns: Q spans the range of A, the deflated part vanishes, error ~ round-off."""
    g = torch.Generator().manual_seed(7)
    B = torch.randn(20, 3, generator=g, dtype=torch.float64)
    A = B @ B.T
    est = hessian_trace(_matvec(A), 20, num_probes=20, generator=torch.Generator().manual_seed(8))
    assert est.value == pytest.approx(float(A.trace()), rel=1e-12) and est.stderr < 1e-10 * float(A.trace())


def test_hutch_plus_plus_on_a_tiny_net_within_four_standard_errors():
    hvp, H, D = _tiny_net_hessian()
    est = hessian_trace(hvp, D, num_probes=60, generator=torch.Generator().manual_seed(9))
    assert abs(est.value - float(H.trace())) < 4 * est.stderr


def test_bad_input():
    A = torch.eye(4, dtype=torch.float64)
    with pytest.raises(ValueError, match="k must lie in"):
        top_hessian_eigenvalues(_matvec(A), 4, k=4)
    with pytest.raises(ValueError, match="k must be an integer >= 1, got 0"):
        top_hessian_eigenvalues(_matvec(A), 4, k=0)
    with pytest.raises(ValueError, match="dim must be an integer >= 2"):
        top_hessian_eigenvalues(_matvec(A), 1)
    with pytest.raises(ValueError, match="tol"):
        top_hessian_eigenvalues(_matvec(A), 4, tol=0.0)
    with pytest.raises(ValueError, match="matvec must map"):
        top_hessian_eigenvalues(lambda V: V[:, :2], 4)
    with pytest.raises(ValueError, match="num_probes must be an integer >= 2, got 1"):
        hessian_trace(_matvec(A), 4, num_probes=1)
    with pytest.raises(ValueError, match="matvec must map"):
        hessian_trace(lambda V: V.sum(1), 4, num_probes=4)
    with pytest.raises(ValueError, match="matvec must map"):
        hessian_trace(lambda V: V.sum(1), 4, num_probes=4, method="hutchinson")
    with pytest.raises(ValueError, match="method must be one of"):
        hessian_trace(_matvec(A), 4, num_probes=4, method="exact")
