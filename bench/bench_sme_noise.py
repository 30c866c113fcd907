"""Exact SME noise: structured sampler vs dense Σ + eigh / Cholesky, and SME and dropout steps against their floor.

Usage: python bench/bench_sme_noise.py [--quick] [--threads N] [--dense-max-D D]

All of scikit-learn's 1,797 8×8 digits with a bias feature (d = 65), scalar output (K = 1, target = label / 9),
tanh, keep_prob 0.5, float64. Every ratio is measured in the same run on the same machine.

1. One exact N(0, Σ) sample: ``sample_dropout_noise`` (Σ = A C Aᵀ, no D×D matrix) against the dense path
   (form Σ with ``dropout_gradient_covariance``, then ``torch.linalg.eigh`` or Cholesky of Σ + jitter·I; the
   jitter is needed because Σ has rank ≤ m(m+1)/2 < D, so the Cholesky path is not even exact), D = 66·m.
2. Steps at m = 50, 200, 1000 (the batched code paths of ``simulate``): a dropout-GD step (σ' from the stored
   activation, and as before, σ' = 1 − tanh(z)² from z), an order-1 SME step (drift + exact noise) and the noise
   sample alone. For each: the multiply–adds the code does (``noise_cost_model``), the achieved GFLOP/s, and the
   ratio to its FLOP floor (2 · multiply–adds at the matmul peak measured in this run); the measured SME/dropout
   ratio against the model's (goal: within 1.5×).
3. Memory: the largest intermediates of the sampler (n·m and m² numbers) against one D×D matrix.
"""

from __future__ import annotations

import argparse
import time

import torch
from peaks import copy_bandwidth, matmul_peak

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


def step_times(X, y, m: int, repeat: int) -> dict[str, float]:
    """Wall times of the steps at width m (batched code paths of ``simulate``)."""
    act = get_activation("tanh")
    a, W = init_params(m, X.shape[1], generator=torch.Generator().manual_seed(0))
    A, Wc, Y = a[None, :, None], W[None], y[:, None]
    gen = torch.Generator().manual_seed(2)
    v = (1 - KEEP) / KEEP

    def mask():
        return (torch.rand((1, m), generator=gen, dtype=A.dtype) < KEEP).to(A.dtype) / KEEP

    def dropout_step():
        ga, gW = kernels.masked_gradient(A, Wc, X, Y, mask(), act=act)
        return A - 0.1 * ga, Wc - 0.1 * gW

    def dropout_step_recomputing_slope():  # the kernel before σ' came from the stored activation
        z = X @ Wc.mT
        ga, gW = kernels.masked_gradient_from_parts(A, act.f(z), act.df(z), X, Y, mask())
        return A - 0.1 * ga, Wc - 0.1 * gW

    def noise():
        return kernels.order1_drift_and_noise(A, Wc, X, Y, v=v, act=act, generator=gen)[2:]

    def sme_step():  # the order-1 Euler–Maruyama step of ``simulate``
        ba, bW, Za, Zw = kernels.order1_drift_and_noise(A, Wc, X, Y, v=v, act=act, generator=gen)
        return A + 0.1 * ba + 0.1 * Za, Wc + 0.1 * bW + 0.1 * Zw

    fns = {"dropout": dropout_step, "dropout, slope from z": dropout_step_recomputing_slope, "sme": sme_step}
    fns["noise"] = noise
    return {k: timeit(f, repeat) for k, f in fns.items()}


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

    peak = matmul_peak(torch.float64)
    copy = copy_bandwidth()
    print(f"\n2. Steps against their FLOP floor (now: float64 matmul {peak:.1f} GFLOP/s, copy {copy:.1f} GB/s)")
    print(
        f"{'m':>5} {'step':>20} {'ms':>8} {'G mult-adds':>11} {'GFLOP/s':>8} {'x floor':>8}   "
        f"{'SME/dropout measured':>20} {'model':>6} {'meas/model':>10}"
    )
    for m in (20, 50, 200) if args.quick else (50, 200, 1000):
        t = step_times(X, y, m, 20 if m <= 200 else 5)
        c = noise_cost_model(n, m, d, 1)
        macs = {"dropout": c["dropout_step"], "dropout, slope from z": c["dropout_step"], "sme": c["sme_step"]}
        macs["noise"] = c["structured"]
        for name, sec in t.items():
            rate = 2 * macs[name] / sec / 1e9
            tail = ""
            if name == "sme":
                meas, model = t["sme"] / t["dropout"], c["sme_step"] / c["dropout_step"]
                tail = f"   {meas:20.2f} {model:6.2f} {meas / model:10.2f}"
            print(f"{m:5d} {name:>20} {sec * 1e3:8.2f} {macs[name] / 1e9:11.3f} {rate:8.2f} {peak / rate:8.1f}{tail}")
        saved = 1 - t["dropout"] / t["dropout, slope from z"]
        print(f"{m:5d} σ' from the stored activation saves {saved:.0%} of a dropout step")
    big = 200 if args.quick else 1000

    print(f"\n3. Memory of the sampler at m = {big}, n = {n}, float64")
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
