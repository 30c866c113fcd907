"""Benchmark: the phase paper's teacher–student sweep (5 widths × 10 repeats × 4 variants × 1000 steps).

Usage: python bench/bench_phase_sweep.py [--quick] [--steps K] [--full-job]

What it measures, in this process, with ONE torch thread (as each worker of the experiments' process pool runs):

* the time of one step of the job :func:`dropout_theory.experiments.random_geometry.teacher_student_run` (4 coupled
  variants batched) at every width, float64 and float32, averaged over K steps after a warm-up;
* the FLOP count of that step (the forward and backward matrix products of 4 variants: 4·(4nNd + 4nN)) and the
  achieved GFLOP/s, as a ratio to a matrix-product baseline of the same shapes measured in the same run;
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

from dropout_theory.experiments.random_geometry import PAPER_WIDTHS, VARIANTS4, teacher_student_run
from dropout_theory.phase import init_student, make_teacher_student, simulate_coupled

D, N_POINTS, REPEATS, STEPS, WORKERS = 20, 500, 10, 1000, 2
PAPER_ANCHOR_S = 30 * 60


def step_time(width: int, dtype: torch.dtype, steps: int) -> float:
    """Seconds per step of 4 coupled variants at this width (one repeat), after a 2-step warm-up."""
    data = make_teacher_student(d=D, num_points=N_POINTS, teacher_width=15, generator=0, dtype=dtype)
    a0, W0 = init_student(width, d=D, generator=0, dtype=dtype)
    kw = {"tau": 0.5, "keep_prob": 0.7, "variants": VARIANTS4, "generator": torch.Generator().manual_seed(1)}
    simulate_coupled(a0, W0, data.X, data.y, num_steps=2, record_every=2, **kw)
    t = time.perf_counter()
    simulate_coupled(a0, W0, data.X, data.y, num_steps=steps, record_every=steps, **kw)
    return (time.perf_counter() - t) / steps


def matmul_gflops(width: int, dtype: torch.dtype, reps: int = 5) -> float:
    """GFLOP/s of the step's two big products at this width: (4n × d)(d × N) and (4n × N)(N × d)."""
    g = torch.Generator().manual_seed(0)
    A = torch.randn((4 * width, D), generator=g, dtype=dtype)
    B = torch.randn((D, N_POINTS), generator=g, dtype=dtype)
    C = torch.randn((4 * width, N_POINTS), generator=g, dtype=dtype)
    Bt = B.T.contiguous()
    (A @ B, C @ Bt)
    t = time.perf_counter()
    for _ in range(reps):
        A @ B
        C @ Bt
    el = (time.perf_counter() - t) / reps
    return 2 * 2 * 4 * width * N_POINTS * D / el / 1e9


def step_flops(width: int) -> float:
    """FLOPs of one step of 4 variants: pre-activations, output, a-gradient, w-gradient."""
    return 4 * (4 * width * N_POINTS * D + 4 * width * N_POINTS)


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
    print(f"one torch thread; {steps} timed steps per width; 4 coupled variants per step; N = {N_POINTS}, d = {D}")
    print(
        f"{'dtype':8s} {'width':>6s} {'s/step':>9s} {'GFLOP/step':>11s} {'GFLOP/s':>8s} {'matmul GFLOP/s':>15s} "
        f"{'ratio':>6s}"
    )
    for dtype in dtypes:
        total = 0.0
        for n in PAPER_WIDTHS:
            s = step_time(n, dtype, steps)
            gf = step_flops(n) / 1e9
            mm = matmul_gflops(n, dtype)
            total += s
            print(f"{str(dtype)[6:]:8s} {n:6d} {s:9.4f} {gf:11.3f} {gf / s:8.2f} {mm:15.2f} {gf / s / mm:6.2f}")
        sweep = total * STEPS * REPEATS / WORKERS
        print(
            f"{str(dtype)[6:]:8s} extrapolated full sweep on {WORKERS} workers: {sweep / 60:.1f} min "
            f"(ratio to the paper's 30 min anchor: {sweep / PAPER_ANCHOR_S:.2f})"
        )
    if args.full_job:
        t = time.perf_counter()
        teacher_student_run(200, generator=0, num_steps=STEPS, record_every=10)
        el = time.perf_counter() - t
        pred = step_time(200, torch.float64, steps) * STEPS
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
