"""Matrix-free vs exact Hessian–variance alignment (two-layer network on the 8×8 digits).

Rows: (1) a two-layer tanh net 64 → m → 10 with a few thousand parameters: exact α (dense H and Σ) vs
matrix-free α (HVPs over the m + m(m−1)/2 noise sources, Hutchinson for ‖H‖_F), agreement and speed ratio
measured in the same run; (2) matrix-free α with all pieces estimated (Hutchinson, N(0, Σ) draws, Σ products
through the adjoint noise map) for a net with >= 100k parameters, where the dense path would need D² numbers.

Usage: ``python bench/bench_alignment.py [--quick]``.
"""

from __future__ import annotations

import argparse
import time

import torch
from sklearn.datasets import load_digits

from dropout_theory.alignment import hessian_variance_alignment
from dropout_theory.two_layer import init_params


def _digits(n: int, d_extra: int = 0, generator: torch.Generator | None = None):
    data = load_digits()
    X = torch.tensor(data.data[:n] / 16.0, dtype=torch.float64)
    if d_extra:
        X = torch.cat([X, torch.randn(n, d_extra, generator=generator, dtype=torch.float64) * 0.1], dim=1)
    y = torch.nn.functional.one_hot(torch.tensor(data.target[:n]), 10).to(torch.float64)
    return X, y


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    args = parser.parse_args()
    torch.set_num_threads(2)
    g = torch.Generator().manual_seed(0)
    rows = []
    m1, n1 = (20, 300) if args.quick else (50, 500)
    X, y = _digits(n1)
    a, W = init_params(m1, X.shape[1], 10, generator=g, scale_a=2.0)
    ex, t_ex = _timed(lambda: hessian_variance_alignment(a, W, X, y, 0.8, method="exact"))
    mf, t_mf = _timed(
        lambda: hessian_variance_alignment(
            a, W, X, y, 0.8, method="matrix_free", num_probes=400, generator=torch.Generator().manual_seed(1)
        )
    )
    rows.append((f"two-layer 64-{m1}-10, n={n1}", ex.num_params, ex.alpha, t_ex, "exact"))
    rows.append(
        (
            f"two-layer 64-{m1}-10, n={n1}",
            mf.num_params,
            mf.alpha,
            t_mf,
            f"matrix-free ±{mf.stderr:.3f}, x{t_ex / t_mf:.1f}",
        )
    )
    ms, t_ms = _timed(
        lambda: hessian_variance_alignment(
            a,
            W,
            X,
            y,
            0.8,
            method="matrix_free",
            num_probes=200,
            num_sigma_probes=400,
            generator=torch.Generator().manual_seed(3),
        )
    )
    rows.append(
        (
            f"two-layer 64-{m1}-10, n={n1}",
            ms.num_params,
            ms.alpha,
            t_ms,
            f"sampled Σ ±{ms.stderr:.3f}, x{t_ex / t_ms:.1f}",
        )
    )
    m2, n2, extra = (300, 300, 36) if args.quick else (1000, 500, 36)
    X2, y2 = _digits(n2, extra, g)
    a2, W2 = init_params(m2, X2.shape[1], 1, generator=g, scale_a=2.0)
    big, t_big = _timed(
        lambda: hessian_variance_alignment(
            a2,
            W2,
            X2,
            y2[:, :1],
            0.8,
            method="matrix_free",
            num_probes=128,
            num_sigma_probes=256,
            generator=torch.Generator().manual_seed(2),
            batch_size=16,
        )
    )
    rows.append(
        (f"two-layer {X2.shape[1]}-{m2}-1, n={n2}", big.num_params, big.alpha, t_big, f"matrix-free ±{big.stderr:.3f}")
    )
    print(f"{'network':<28} {'D':>8} {'alpha':>8} {'time s':>8}  note")
    for name, D, alpha, t, note in rows:
        print(f"{name:<28} {D:>8d} {alpha:>8.4f} {t:>8.2f}  {note}")
    print(f"agreement |alpha_mf - alpha_exact| / alpha_exact = {abs(mf.alpha - ex.alpha) / abs(ex.alpha):.4f}")


if __name__ == "__main__":
    main()
