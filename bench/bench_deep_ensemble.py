"""Benchmark: batched simulation of random deep dropout networks vs the RNG bound and vs a per-network loop.

Usage: python bench/bench_deep_ensemble.py [--quick]

For each width N the same work is timed three ways, all in float32 on the CPU, two inputs per network:

* RNG bound — only drawing the Gaussian weights of every layer of every network (B × L × N² normals), the best of
  several chunkings (networks per ``torch.randn`` call: 1, 4, 16, all B; one large tensor is not the fastest, since
  smaller draws stay in cache); no simulation can be faster than drawing its random weights.
* ensemble — :func:`dropout_theory.deep_meanfield.simulate_ensemble` (weights, biases, masks, batched matmuls over
  the networks; forward only, and forward + realistic backward pass).
* loop — the naive implementation: a Python loop over networks, each drawing its layers and propagating (forward
  with explicit matmuls; forward + backward with autograd on the per-network graph).

Throughput is networks × layers × N² per second. Printed ratios: ensemble time / RNG-bound time (target ≤ 2) and
loop time / ensemble time (target ≥ 5). Distance to the machine's limits (``bench/peaks.py``, measured in the same
run): the normals drawn per second as GB/s of float32 written, against a large copy, and the ensemble's FLOPs
(2 inputs × 2·N² per layer and network forward, as much again backward) against a float32 matrix product.
Timings are the best of ``--repeats`` runs measured in the same process.
On a busy 2-core machine an OpenMP pool of 2 threads adds about a millisecond of wake-up time to every small
elementwise op, so the default is one torch thread (``--threads``).
"""

from __future__ import annotations

import argparse
import math
import time

import torch
from peaks import print_peaks

from dropout_theory.deep_meanfield import inputs_for, simulate_ensemble

S, B2, RHO = 1.5, 0.05, 0.9


def best_time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


CHUNKINGS = (1, 4, 16)


def rng_draw(B: int, L: int, N: int, chunk: int) -> None:
    """Draw the B × L × N² normals, ``chunk`` networks per call."""
    g = torch.Generator().manual_seed(0)
    for _ in range(L):
        for s in range(0, B, chunk):
            torch.randn(min(chunk, B - s), N, N, generator=g, dtype=torch.float32)


def rng_bound(B: int, L: int, N: int, repeats: int) -> tuple[float, int]:
    """The fastest way to draw the weights: (best time, networks per call) over :data:`CHUNKINGS` and all B."""
    times = {c: best_time(lambda c=c: rng_draw(B, L, N, c), repeats) for c in (*CHUNKINGS, B) if c <= B}
    chunk = min(times, key=times.get)
    return times[chunk], chunk


def loop_forward(B: int, L: int, N: int, x: torch.Tensor) -> None:
    g = torch.Generator().manual_seed(0)
    for _ in range(B):
        h = x
        for layer in range(L):
            W = torch.randn(N, h.shape[1], generator=g) * math.sqrt(S / h.shape[1])
            b = torch.randn(N, generator=g) * math.sqrt(B2)
            z = h @ W.T + b
            if layer < L - 1:
                m = (torch.rand(z.shape, generator=g) < RHO).float() / RHO
                h = torch.tanh(z) * m
        _ = (z * z).mean(-1)


def loop_backward(B: int, L: int, N: int, x: torch.Tensor) -> None:
    g = torch.Generator().manual_seed(0)
    for _ in range(B):
        h, zs = x, []
        for layer in range(L):
            W = torch.randn(N, h.shape[1], generator=g) * math.sqrt(S / h.shape[1])
            b = torch.randn(N, generator=g) * math.sqrt(B2)
            z = (h @ W.T + b).requires_grad_()
            zs.append(z)
            if layer < L - 1:
                m = (torch.rand(z.shape, generator=g) < RHO).float() / RHO
                h = torch.tanh(z) * m
        grads = torch.autograd.grad(0.5 * (zs[-1] ** 2).sum(), zs)
        _ = [(gr * gr).mean(-1) for gr in grads]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: no OpenMP wake-up cost on tiny ops)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    widths = [32, 128] if args.quick else [32, 128, 512]
    B, L = (16, 8) if args.quick else (64, 16)
    print(f"networks B = {B}, depth L = {L}, 2 inputs, float32, torch threads = {torch.get_num_threads()}")
    peaks = print_peaks((torch.float32,))
    print(
        f"{'N':>5} {'pass':>9} {'RNG bound s':>11} {'(chunk)':>7} {'RNG GB/s':>8} {'% copy':>6} {'ensemble s':>10} "
        f"{'GFLOP/s':>7} {'% matmul':>8} {'loop s':>8} {'Mnet*L*N^2/s':>12} {'ens/RNG':>8} {'loop/ens':>9}"
    )
    for N in widths:
        x = inputs_for(0.5, 0.3, width=N, sigma_w2=S, sigma_b2=B2, dtype=torch.float32)
        t_rng, chunk = rng_bound(B, L, N, args.repeats)
        rng_gbs = B * L * N * N * 4 / t_rng / 1e9
        for mode in ("none", "realistic"):
            t_ens = best_time(lambda mode=mode, N=N, x=x: simulate_ensemble(
                "tanh",
                S,
                B2,
                RHO,
                depth=L,
                width=N,
                num_networks=B,
                inputs=x,
                backward=mode,
                generator=0,
                dtype=torch.float32), args.repeats)  # fmt: skip
            loop = loop_forward if mode == "none" else loop_backward
            t_loop = best_time(lambda loop=loop, N=N, x=x: loop(B, L, N, x), max(1, args.repeats - 1))
            rate = B * L * N * N / t_ens / 1e6
            name = "forward" if mode == "none" else "fwd+bwd"
            gfs = B * L * 2 * 2 * N * N * (1 if mode == "none" else 2) / t_ens / 1e9
            print(
                f"{N:5d} {name:>9} {t_rng:11.4f} {chunk:7d} {rng_gbs:8.2f} {rng_gbs / peaks['copy']:6.0%} "
                f"{t_ens:10.4f} {gfs:7.2f} {gfs / peaks['float32']:8.0%} {t_loop:8.4f} {rate:12.1f} "
                f"{t_ens / t_rng:8.2f} {t_loop / t_ens:9.2f}"
            )


if __name__ == "__main__":
    main()
