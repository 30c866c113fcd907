"""Exact SME noise: structured sampler vs dense Σ + eigh / Cholesky, and an SME step vs a dropout step.

Usage: python bench/bench_sme_noise.py [--quick] [--threads N] [--dense-max-D D]

All of scikit-learn's 1,797 8×8 digits with a bias feature (d = 65), scalar output (K = 1, target = label / 9),
tanh, keep_prob 0.5, float64. Every ratio is measured in the same run on the same machine.

1. One exact N(0, Σ) sample: ``sample_dropout_noise`` (Σ = A C Aᵀ, no D×D matrix) against the dense path
   (form Σ with ``dropout_gradient_covariance``, then ``torch.linalg.eigh`` or Cholesky of Σ + jitter·I; the
   jitter is needed because Σ has rank ≤ m(m+1)/2 < D, so the Cholesky path is not even exact), D = 66·m.
2. One SME step (order-1 drift + structured noise, batched code of ``simulate``) against one dropout-GD step, m = 50.
3. Cost model at m = 1000: measured (noise sample / dropout step) against the multiply–add model
   (n·m² + n·m·d + m²K) / (2n·m·d + 2n·m·K).
4. Memory: the largest intermediates of the sampler (n·m and m² numbers) against one D×D matrix.
"""

from __future__ import annotations

import argparse
import time

import torch

from dropout_theory.activations import get_activation
from dropout_theory.data import load_digits_regression
from dropout_theory.two_layer import (
    dropout_gradient_covariance,
    init_params,
    kernels,
    noise_cost_model,
    sample_dropout_noise,
)

KEEP = 0.5


def timeit(fn, repeat: int, warmup: bool = True) -> float:
    """Best (minimum) wall time of ``repeat`` calls, after one warm-up call; the minimum is the estimate
    least disturbed by other processes on a shared machine."""
    if warmup:
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def data():
    dg = load_digits_regression(test_fraction=0.0, generator=0)
    return dg.X_train, dg.labels_train.to(torch.float64) / 9.0


def bench_sampler(X, y, widths, dense_max_D: int) -> None:
    print(f"\n1. One exact noise sample: structured vs dense Σ (n = {X.shape[0]}, K = 1)")
    hdr = (
        f"{'m':>4} {'D':>6} {'structured':>11} {'form Σ':>9} {'eigh':>9} {'cholesky':>9} "
        f"{'(Σ+eigh)/str':>13} {'eigh/str':>10} {'(Σ+chol)/str':>13}"
    )
    print(hdr)
    for m in widths:
        a, W = init_params(m, X.shape[1], generator=torch.Generator().manual_seed(0))
        D = m * (1 + X.shape[1])
        gen = torch.Generator().manual_seed(1)
        t_s = timeit(
            lambda a=a, W=W, gen=gen: sample_dropout_noise(a, W, X, y, keep_prob=KEEP, num_samples=1, generator=gen), 7
        )
        if D > dense_max_D:
            print(f"{m:>4} {D:>6} {t_s * 1e3:>9.2f}ms {'skipped (D > --dense-max-D)':>40}")
            continue
        rep = 3 if D <= 1500 else 1
        t_form = timeit(lambda a=a, W=W: dropout_gradient_covariance(a, W, X, y, keep_prob=KEEP), rep, warmup=False)
        sigma = dropout_gradient_covariance(a, W, X, y, keep_prob=KEEP)
        t_eigh = timeit(lambda sigma=sigma: torch.linalg.eigh(sigma), rep, warmup=False)
        jittered = sigma + 1e-10 * float(sigma.diagonal().max()) * torch.eye(D, dtype=sigma.dtype)
        t_chol = timeit(lambda j=jittered: torch.linalg.cholesky(j), rep, warmup=False)
        print(
            f"{m:>4} {D:>6} {t_s * 1e3:>9.2f}ms {t_form:>8.3f}s {t_eigh:>8.3f}s {t_chol:>8.3f}s "
            f"{(t_form + t_eigh) / t_s:>12.0f}x {t_eigh / t_s:>9.0f}x {(t_form + t_chol) / t_s:>12.0f}x"
        )


def step_times(X, y, m: int, repeat: int) -> tuple[float, float, float]:
    """(dropout step, SME step, noise sample) wall times at width m, batched code paths of ``simulate``."""
    act = get_activation("tanh")
    a, W = init_params(m, X.shape[1], generator=torch.Generator().manual_seed(0))
    A, Wc, Y = a[None, :, None], W[None], y[:, None]
    gen = torch.Generator().manual_seed(2)
    v = (1 - KEEP) / KEEP

    def dropout_step():
        mask = (torch.rand((1, m), generator=gen, dtype=A.dtype) < KEEP).to(A.dtype) / KEEP
        ga, gW = kernels.masked_gradient(A, Wc, X, Y, mask, act=act)
        return A - 0.1 * ga, Wc - 0.1 * gW

    def noise():
        return kernels.order1_drift_and_noise(A, Wc, X, Y, v=v, act=act, generator=gen)[2:]

    def sme_step():  # the order-1 Euler–Maruyama step of ``simulate``
        ba, bW, Za, Zw = kernels.order1_drift_and_noise(A, Wc, X, Y, v=v, act=act, generator=gen)
        return A + 0.1 * ba + 0.1 * Za, Wc + 0.1 * bW + 0.1 * Zw

    return timeit(dropout_step, repeat), timeit(sme_step, repeat), timeit(noise, repeat)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small widths only (a smoke test, < 1 min)")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (default 1: on a shared machine threads contend)"
    )
    parser.add_argument("--dense-max-D", type=int, default=4000, help="skip the dense path above this D")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    X, y = data()
    n, d = X.shape
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float64, keep_prob {KEEP}, n = {n}, d = {d}")
    widths = [5, 10, 20] if args.quick else [5, 10, 20, 30, 40, 50]
    bench_sampler(X, y, widths, args.dense_max_D)

    m = 20 if args.quick else 50
    t_drop, t_sme, t_noise = step_times(X, y, m, 20)
    print(f"\n2. SME step vs dropout step at m = {m} (D = {m * (1 + d)})")
    print(
        f"   dropout step {t_drop * 1e3:.2f} ms, SME step (drift + exact noise) {t_sme * 1e3:.2f} ms, "
        f"ratio {t_sme / t_drop:.2f}x (target <= 3x)"
    )

    big = 200 if args.quick else 1000
    t_drop, t_sme, t_noise = step_times(X, y, big, 5)
    c = noise_cost_model(n, big, d, 1)
    model = c["structured"] / c["dropout_step"]
    measured = t_noise / t_drop
    print(f"\n3. Cost model at m = {big} (D = {big * (1 + d)})")
    print(f"   noise sample {t_noise * 1e3:.1f} ms, dropout step {t_drop * 1e3:.1f} ms, SME step {t_sme * 1e3:.1f} ms")
    print(
        f"   measured noise/dropout {measured:.2f}, model (n m^2 + n m d + m^2 K)/(2 n m d + 2 n m K) = {model:.2f}, "
        f"measured/model {measured / model:.2f} (target within 3x)"
    )
    print(
        f"   achieved rate: noise {c['structured'] / t_noise / 1e9:.2f} G multiply-adds/s, "
        f"dropout step {c['dropout_step'] / t_drop / 1e9:.2f} G multiply-adds/s"
    )

    print(f"\n4. Memory of the sampler at m = {big}, n = {n}, float64")
    D = big * (1 + d)
    sampler = (3 * n * big + 3 * big * big) * 8  # h, σ', V (n×m) and HᵀH, C, C∘aaᵀ (m×m)
    print(
        f"   largest intermediates 3·n·m + 3·m² numbers = {sampler / 2**20:.1f} MiB; "
        f"one D×D matrix = {D * D * 8 / 2**30:.1f} GiB "
        f"({D * D * 8 / sampler:.0f}x more)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
