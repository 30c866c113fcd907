"""Benchmark: the phase paper's teacher–student sweep (5 widths × 10 repeats × 4 variants × 1000 steps).

Usage: python bench/bench_phase_sweep.py [--quick] [--steps K] [--full-job] [--fraction DTYPE]

What it measures, in this process, with ONE torch thread (as each worker of the experiments' process pool runs):

* the time of one step of the job :func:`dropout_theory.experiments.random_geometry.teacher_student_run` (4 coupled
  variants batched) at every width, float64 and float32, averaged over K steps after a warm-up, for the batched
  kernel (``chunk_size=0``: one pass over all particles) and the chunked in-place step (``chunk_size=128``);
* the distance to the machine's limits, measured in the same run (``bench/peaks.py``): the batched step's memory
  traffic (≈ 7 passes over the (4, n, N) pre-activations, activations and slopes) in GB/s against a large copy,
  and the chunked step's FLOPs (pre-activations twice, outputs, both gradients) in GFLOP/s against a large
  matrix product;
* the extrapolated wall time of the full sweep on 2 workers (10 repeats × 1000 steps per width, divided by 2),
  against the paper's anchor of about 30 minutes on a laptop (JAX);
* with ``--full-job``, one complete 1000-step job at width 200 to check the per-step extrapolation;
* with ``--fraction DTYPE``, a measured tenth of the sweep: one repeat of every width (4 variants, 1000 steps) in
  this process, and the full sweep extrapolated from it (× 10 repeats ÷ 2 workers).

The full sweep itself is ``dropout-experiments random-geometry --workers 2``; this script does not run it.
"""

from __future__ import annotations

import argparse
import time

import torch
from peaks import print_peaks

from dropout_theory.phase import init_student, make_teacher_student, simulate_coupled
from dropout_theory.phase.random_geometry import PAPER_WIDTHS, VARIANTS4, teacher_student_run

D, N_POINTS, REPEATS, STEPS, WORKERS, CHUNK = 20, 500, 10, 1000, 2, 128
PAPER_ANCHOR_S = 30 * 60
V = len(VARIANTS4)


def step_time(width: int, dtype: torch.dtype, steps: int, chunk_size: int) -> float:
    """Seconds per step of 4 coupled variants at this width (one repeat), after a 2-step warm-up."""
    data = make_teacher_student(d=D, num_points=N_POINTS, teacher_width=15, generator=0, dtype=dtype)
    a0, W0 = init_student(width, d=D, generator=0, dtype=dtype)
    kw = {"tau": 0.5, "keep_prob": 0.7, "variants": VARIANTS4, "generator": torch.Generator().manual_seed(1)}
    kw["chunk_size"] = chunk_size
    simulate_coupled(a0, W0, data.X, data.y, num_steps=2, record_every=2, **kw)
    t = time.perf_counter()
    simulate_coupled(a0, W0, data.X, data.y, num_steps=steps, record_every=steps, **kw)
    return (time.perf_counter() - t) / steps


def batched_bytes(width: int, dtype: torch.dtype) -> float:
    """Memory traffic of one batched step: ≈ 7 passes over (V, n, N) arrays (Z written; H written; H read by the
    masked output, the unmasked output and the a-gradient; the slopes written and read by the w-gradient)."""
    return 7 * V * width * N_POINTS * torch.finfo(dtype).bits / 8


def chunked_flops(width: int) -> float:
    """FLOPs of one chunked step of V variants: pre-activations twice (2·nNd each), the w-gradient (2·nNd), the
    masked and unmasked outputs and the a-gradient (2·nN each)."""
    return V * (3 * 2 * width * N_POINTS * D + 3 * 2 * width * N_POINTS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 steps per width, float64 only")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per width")
    parser.add_argument("--full-job", action="store_true", help="also time one full 1000-step job at width 200")
    parser.add_argument("--fraction", choices=("float32", "float64"), help="also run one repeat of the whole sweep")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    steps = 3 if args.quick else args.steps
    dtypes = (torch.float64,) if args.quick else (torch.float64, torch.float32)
    widths = PAPER_WIDTHS[:3] if args.quick else PAPER_WIDTHS
    print(f"one torch thread; {steps} timed steps per width; {V} coupled variants per step; N = {N_POINTS}, d = {D}")
    peaks = print_peaks(dtypes)
    print(
        f"{'dtype':8s} {'width':>6s} {'batched s':>10s} {'chunked s':>10s} {'speed-up':>8s} "
        f"{'batched GB/s':>12s} {'% copy':>7s} {'chunked GFLOP/s':>15s} {'% matmul':>8s}"
    )
    for dtype in dtypes:
        name = str(dtype).removeprefix("torch.")
        total = {0: 0.0, CHUNK: 0.0}
        for n in widths:
            t = {c: step_time(n, dtype, steps, c) for c in (0, CHUNK)}
            for c in t:
                total[c] += t[c]
            gbs = batched_bytes(n, dtype) / t[0] / 1e9
            gfs = chunked_flops(n) / t[CHUNK] / 1e9
            print(
                f"{name:8s} {n:6d} {t[0]:10.4f} {t[CHUNK]:10.4f} {t[0] / t[CHUNK]:7.2f}x {gbs:12.2f} "
                f"{gbs / peaks['copy']:6.0%} {gfs:15.2f} {gfs / peaks[name]:7.0%}"
            )
        for c, label in ((0, "batched"), (CHUNK, "chunked")):
            sweep = total[c] * STEPS * REPEATS / WORKERS
            print(
                f"{name:8s} {label} step: extrapolated sweep over widths {widths} on {WORKERS} workers "
                f"{sweep / 60:.1f} min (ratio to the paper's 30 min anchor: {sweep / PAPER_ANCHOR_S:.2f})"
            )
    if args.full_job:
        t = time.perf_counter()
        teacher_student_run(200, generator=0, num_steps=STEPS, record_every=10)
        el = time.perf_counter() - t
        pred = step_time(200, torch.float64, steps, 0) * STEPS
        print(
            f"full 1000-step job at width 200 (float64, with recording): {el:.1f} s; per-step extrapolation "
            f"{pred:.1f} s (ratio {el / pred:.2f})"
        )
    if args.fraction:
        t = time.perf_counter()
        for n in PAPER_WIDTHS:
            teacher_student_run(n, generator=0, num_steps=STEPS, record_every=10, dtype=args.fraction)
        el = time.perf_counter() - t
        sweep = el * REPEATS / WORKERS
        print(
            f"measured tenth of the sweep ({args.fraction}, one repeat of every width, one worker): {el:.0f} s; "
            f"full sweep on {WORKERS} workers: {sweep / 60:.1f} min "
            f"(ratio to the 30 min anchor {sweep / PAPER_ANCHOR_S:.2f})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
