"""General nn.Module path: the same two-layer net as a module agrees with the closed forms."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dropout_theory.alignment import (
    hessian_variance_alignment,
    modified_loss_hessian,
    module_alignment_matrices,
    module_hessian_variance_alignment,
    parameter_indices,
)
from dropout_theory.networks import DropoutMasks, controlled_dropout, trainable_parameters
from dropout_theory.two_layer import dropout_gradient_covariance, init_params

M, D_IN, N, K, P = 4, 3, 7, 2, 0.6


def _setup():
    g = torch.Generator().manual_seed(0)
    a, W = init_params(M, D_IN, K, generator=g, scale_a=2.0, scale_w=1.5)
    X = torch.randn(N, D_IN, generator=g, dtype=torch.float64)
    y = torch.randn(N, K, generator=g, dtype=torch.float64)
    net = nn.Sequential(
        nn.Linear(D_IN, M, bias=False), nn.Tanh(), nn.Dropout(1 - P), nn.Linear(M, K, bias=False)
    ).double()
    with torch.no_grad():
        net[0].weight.copy_(W)
        net[3].weight.copy_(a.T)
    return a, W, X, y, net


def _loss(out, target):
    return 0.5 * ((out - target) ** 2).sum() / target.shape[0]


def test_exact_path_matches_two_layer_closed_form():
    """4,000 gradient draws and H averaged over 300 masks: |α − α_closed| < 0.05 (measured ≈ 0.015).
    α is invariant under the reordering of parameters between the module and the neuron-major θ."""
    a, W, X, y, net = _setup()
    ref = hessian_variance_alignment(a, W, X, y, keep_prob=P).alpha
    res = module_hessian_variance_alignment(
        net, _loss, X, y, num_masks=4000, num_hessian_masks=300, generator=torch.Generator().manual_seed(1)
    )
    assert res.num_params == M * (K + D_IN)
    assert abs(res.alpha - ref) < 0.05
    assert net.training  # mode restored


def test_matrix_free_no_dropout_hessian_matches_closed_form():
    """H = ∇²R_S (no dropout, exact) with the closed-form Σ: matrix-free α within 4 reported standard errors
    + 0.01 (4,000 draws, 400 probes)."""
    a, W, X, y, net = _setup()
    HR = modified_loss_hessian(a, W, X, y, keep_prob=1.0)
    S = dropout_gradient_covariance(a, W, X, y, keep_prob=P)
    ref = float((HR * S).sum() / (HR.norm() * S.norm()))
    res = module_hessian_variance_alignment(
        net,
        _loss,
        X,
        y,
        num_masks=4000,
        method="matrix_free",
        hessian="no_dropout",
        num_probes=400,
        generator=torch.Generator().manual_seed(2),
    )
    assert 0 < res.stderr < 0.05
    assert abs(res.alpha - ref) < 4 * res.stderr + 0.01


def test_exact_and_matrix_free_share_the_draws_and_differ_only_in_the_hessian_norm():
    """Same generator seed: identical Tr(HΣ) and ‖Σ‖_F² estimates; ‖H‖_F² within 4 standard errors with a
    4-column sketch, and exactly equal (1e-10) when the sketch spans all 20 parameters."""
    *_, X, y, net = _setup()
    kw = dict(num_masks=200, num_hessian_masks=4)
    ex = module_hessian_variance_alignment(net, _loss, X, y, generator=torch.Generator().manual_seed(5), **kw)
    mf = module_hessian_variance_alignment(
        net, _loss, X, y, method="matrix_free", sketch_size=4, generator=torch.Generator().manual_seed(5), **kw
    )
    assert mf.trace.value == pytest.approx(ex.trace.value, rel=1e-10)
    assert mf.frob_sigma_sq.value == pytest.approx(ex.frob_sigma_sq.value, rel=1e-12)
    assert ex.trace.stderr > 0 and ex.frob_h_sq.stderr == 0
    assert 0 < mf.frob_h_sq.stderr and abs(mf.frob_h_sq.value - ex.frob_h_sq.value) < 4 * mf.frob_h_sq.stderr
    full = module_hessian_variance_alignment(
        net, _loss, X, y, method="matrix_free", sketch_size=20, generator=torch.Generator().manual_seed(5), **kw
    )
    assert full.alpha == pytest.approx(ex.alpha, rel=1e-10)


def test_expected_hessian_norm_unbiased_with_few_masks():
    """‖∇²L_S‖_F² (closed form, L_S the expected dropout loss) vs the exact path's ⟨H_A, H_B⟩_F with four masks per
    half: over 60 seeds the mean is within 4 standard errors of the spread."""
    a, W, X, y, net = _setup()
    target = float((modified_loss_hessian(a, W, X, y, keep_prob=P) ** 2).sum())
    vals = torch.tensor(
        [
            module_hessian_variance_alignment(
                net, _loss, X, y, num_masks=16, num_hessian_masks=8, generator=torch.Generator().manual_seed(seed)
            ).frob_h_sq.value
            for seed in range(60)
        ]
    )
    se = float(vals.std()) / 60**0.5
    assert abs(float(vals.mean()) - target) < 4 * se
    assert se < 0.2 * target  # the check has power


def test_subset_matches_restricted_closed_form():
    """α over the output weights only (module parameter "3.weight" = aᵀ, neuron-major indices r(K+d)+k in the
    closed form): H = ∇²R_S and the exact Σ restricted to those 8 coordinates; 4,000 draws, within 4 s.e. + 0.01."""
    a, W, X, y, net = _setup()
    idx = parameter_indices(net, "3.weight")
    assert torch.equal(idx, torch.arange(M * D_IN, M * D_IN + K * M))
    # module order of aᵀ is (k, r) row-major; closed form is neuron-major (r, then k)
    ref_idx = torch.tensor([r * (K + D_IN) + k for k in range(K) for r in range(M)])
    HR = modified_loss_hessian(a, W, X, y, keep_prob=1.0)[ref_idx][:, ref_idx]
    S = dropout_gradient_covariance(a, W, X, y, keep_prob=P)[ref_idx][:, ref_idx]
    ref = float((HR * S).sum() / (HR.norm() * S.norm()))
    res = module_hessian_variance_alignment(
        net, _loss, X, y, num_masks=4000, hessian="no_dropout", subset=idx, generator=torch.Generator().manual_seed(3)
    )
    assert res.num_params == K * M
    assert abs(res.alpha - ref) < 4 * res.stderr + 0.01
    mask = torch.zeros(M * (K + D_IN), dtype=torch.bool)
    mask[idx] = True
    again = module_hessian_variance_alignment(
        net, _loss, X, y, num_masks=4000, hessian="no_dropout", subset=mask, generator=torch.Generator().manual_seed(3)
    )
    assert again.alpha == pytest.approx(res.alpha, rel=1e-12)


def test_bad_input():
    _, _, X, y, net = _setup()
    with pytest.raises(ValueError, match="no nn\\.Dropout"):
        module_hessian_variance_alignment(nn.Linear(D_IN, K).double(), _loss, X, y, num_masks=8)
    with pytest.raises(ValueError, match="even"):
        module_hessian_variance_alignment(net, _loss, X, y, num_masks=9)
    with pytest.raises(ValueError, match="hessian"):
        module_hessian_variance_alignment(net, _loss, X, y, num_masks=8, hessian="sgd")
    with pytest.raises(ValueError, match="method"):
        module_hessian_variance_alignment(net, _loss, X, y, num_masks=8, method="dense")
    with pytest.raises(ValueError, match="num_hessian_masks"):
        module_hessian_variance_alignment(net, _loss, X, y, num_masks=8, num_hessian_masks=3)
    with pytest.raises(ValueError, match="subset"):
        module_hessian_variance_alignment(net, _loss, X, y, num_masks=8, subset=torch.tensor([0, 0]))
    with pytest.raises(ValueError, match="subset"):
        module_hessian_variance_alignment(net, _loss, X, y, num_masks=8, subset=torch.tensor([99]))
    with pytest.raises(ValueError, match="boolean subset"):
        module_hessian_variance_alignment(net, _loss, X, y, num_masks=8, subset=torch.ones(3, dtype=torch.bool))
    with pytest.raises(ValueError, match="sketch_size"):
        module_hessian_variance_alignment(
            net, _loss, X, y, num_masks=8, method="matrix_free", subset=torch.tensor([1, 2]), sketch_size=3
        )
    with pytest.raises(ValueError, match="unknown parameter"):
        parameter_indices(net, ["3.bias"])


def test_alignment_matrices_are_the_exact_methods_pieces():
    """Same generator seed: the dense pieces reproduce the exact method's α bit for bit; Σ̂ = DᵀD/K is PSD of rank
    <= K; the symmetrized H is symmetric; ⟨H_A, H_B⟩_F is the reported ‖H‖_F²."""
    *_, X, y, net = _setup()
    idx = parameter_indices(net, "0.weight")
    kw = dict(num_masks=12, num_hessian_masks=16, subset=idx)
    mats = module_alignment_matrices(net, _loss, X, y, generator=torch.Generator().manual_seed(7), **kw)
    res = module_hessian_variance_alignment(net, _loss, X, y, generator=torch.Generator().manual_seed(7), **kw)
    assert mats.alignment().alpha == res.alpha and mats.alignment().stderr == res.stderr
    assert mats.differences.shape == (6, idx.numel()) and mats.hessian_a.shape == (idx.numel(), idx.numel())
    assert not torch.equal(mats.hessian_a, mats.hessian_b)  # independent halves
    eig = torch.linalg.eigvalsh(mats.covariance)
    assert float(eig.min()) > -1e-12 and int((eig > 1e-10).sum()) <= 6
    assert torch.equal(mats.hessian, mats.hessian.T)
    assert res.frob_h_sq.value == pytest.approx(float((mats.hessian_a * mats.hessian_b).sum()), rel=1e-12)


@pytest.mark.parametrize("mask", ["shared", "per_example"])
def test_stacked_mask_copies_equal_the_loop_over_mask_sets(mask):
    """The Hessian's loss over several mask sets is evaluated as one stacked batch. Independent check: replay the
    same draws with the public mask controller (the gradient draws first, then the Hessian's mask sets) and form
    the Hessian of the mean of separate per-set losses with autograd; it equals the first half's H (1e-12)."""
    *_, X, y, net = _setup()
    num_masks, num_hessian_masks = 4, 6
    mats = module_alignment_matrices(
        net,
        _loss,
        X,
        y,
        num_masks=num_masks,
        num_hessian_masks=num_hessian_masks,
        mask=mask,
        generator=torch.Generator().manual_seed(0),
    )
    masks = DropoutMasks(torch.Generator().manual_seed(0), mask=mask)
    sets = []
    with controlled_dropout(net, masks):
        for i in range(num_masks + num_hessian_masks):
            masks.start()
            net(X)
            if i >= num_masks:
                sets.append(list(masks.masks))
    names, params = trainable_parameters(net)
    shapes = [p.shape for p in params]
    theta = torch.cat([p.detach().reshape(-1) for p in params])

    def mean_loss(t):
        chunks = t.split([s.numel() for s in shapes])
        parts = {k: c.reshape(s) for k, c, s in zip(names, chunks, shapes, strict=True)}
        total = 0.0
        with controlled_dropout(net, masks):
            for replay in sets[: num_hessian_masks // 2]:
                masks.start(replay)
                total = total + _loss(torch.func.functional_call(net, parts, (X,)), y)
        return total / (num_hessian_masks // 2)

    H = torch.autograd.functional.hessian(mean_loss, theta)
    torch.testing.assert_close(mats.hessian_a, H, rtol=1e-12, atol=1e-12)
