"""Device smoke test: one hot loop of each part on the CPU and, when CUDA is available, on the GPU.

Usage: python bench/device_smoke.py [--quick] [--no-gpu]

Each loop starts from inputs drawn once on the CPU in float64 (a CUDA generator draws other numbers than the CPU's,
so every random input is drawn up front and moved), runs in float64 and float32 on every device, and is compared
with the CPU float64 run by the relative error max|x − x_ref| / max|x_ref| of its final state:

* Part I — full-batch dropout GD on the two-layer network (:mod:`dropout_theory.two_layer.kernels`, the kernel of
  ``simulate``): tanh, the 8×8 digits (n = 1,797, d = 65 with the bias, inputs of mean norm 1/2), width 200, keep
  0.8, learning rate 0.2, 20 steps, masks drawn up front;
* Part II — random deep dropout networks at initialization (the loop of
  ``dropout_theory.deep_meanfield.simulate_ensemble``): 16 networks, depth 10, width 256, tanh, keep 0.9, forward
  pass and back-propagated errors, weights and masks drawn up front; the state compared is the per-layer
  ‖z‖² and ‖δ‖² of every network;
* Part III — the coupled mean-field particles (``dropout_theory.phase.simulate_coupled``, the phase paper's
  teacher–student problem, d = 20, N = 500 points) at width 2,000 with keep rate 1, where the masks are ones and
  the trajectories are deterministic on every device, with the chunked in-place step (128 particles per chunk).

Asserted: float64 on the GPU agrees with the CPU to 1e-10 relative (:data:`FLOAT64_TOL`); float32 on any device
agrees with CPU float64 to the per-loop tolerances of :data:`FLOAT32_TOL` (several times the float32 errors measured
on the CPU). Printed: wall times (best of 3 after a warm-up, with ``torch.cuda.synchronize``) and the GPU/CPU
speed ratio. Exit status 1 if an agreement fails. Without CUDA only the CPU half runs (and says so).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable

import torch

from dropout_theory.activations import get_activation
from dropout_theory.data import load_digits_regression
from dropout_theory.phase import init_student, make_teacher_student, simulate_coupled
from dropout_theory.two_layer import init_params, kernels

FLOAT64_TOL = 1e-10
#: Relative tolerance of float32 against CPU float64, per loop.
FLOAT32_TOL = {"part1-dropout-gd": 1e-4, "part2-deep-ensemble": 1e-4, "part3-particles": 1e-4}

Loop = Callable[[torch.device, torch.dtype], torch.Tensor]


def part1(quick: bool) -> Loop:
    """Dropout GD, masks drawn up front."""
    steps, m, keep = (5, 50, 0.8) if quick else (20, 200, 0.8)
    dg = load_digits_regression(test_fraction=0.0, input_norm=0.5, generator=0)
    X, y = dg.X_train, (dg.labels_train.to(torch.float64) / 9.0)[:, None]
    a, W = init_params(m, X.shape[1], 1, generator=torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(1)
    masks = (torch.rand((steps, 1, m), generator=g, dtype=torch.float64) < keep).to(torch.float64) / keep
    act = get_activation("tanh")

    def run(device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        A, Wc, Xd, yd, md = (t.to(device=device, dtype=dtype) for t in (a[None], W[None], X, y, masks))
        for k in range(steps):
            ga, gW = kernels.masked_gradient(A, Wc, Xd, yd, md[k], act=act)
            A, Wc = A - 0.2 * ga, Wc - 0.2 * gW
        return torch.cat([A.flatten(), Wc.flatten()])

    return run


def part2(quick: bool) -> Loop:
    """Forward and backward passes of random deep dropout networks, weights and masks drawn up front."""
    B, L, N, keep, sw2, sb2 = (4, 4, 64, 0.9, 1.5, 0.05) if quick else (16, 10, 256, 0.9, 1.5, 0.05)
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, N, generator=g, dtype=torch.float64)
    Ws = torch.randn(L, B, N, N, generator=g, dtype=torch.float64) * math.sqrt(sw2 / N)
    bs = torch.randn(L, B, 1, N, generator=g, dtype=torch.float64) * math.sqrt(sb2)
    masks = (torch.rand(L, B, 2, N, generator=g, dtype=torch.float64) < keep).to(torch.float64) / keep
    act = get_activation("tanh")

    def run(device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        W, b, m = (t.to(device=device, dtype=dtype) for t in (Ws, bs, masks))
        h, zs = x.to(device=device, dtype=dtype).expand(B, 2, N), []
        for layer in range(L):
            z = torch.baddbmm(b[layer], h, W[layer].transpose(1, 2))
            zs.append(z)
            h = act.f(z) * m[layer]
        delta, d2 = zs[-1], []
        for layer in range(L - 2, -1, -1):
            delta = torch.bmm(delta, W[layer + 1]) * act.df(zs[layer]) * m[layer]
            d2.append((delta * delta).sum(-1))
        return torch.cat([torch.stack([(z * z).sum(-1) for z in zs]).flatten(), torch.stack(d2).flatten()])

    return run


def part3(quick: bool) -> Loop:
    """Coupled particles at keep rate 1 (deterministic), chunked step."""
    width, steps = (600, 3) if quick else (2000, 10)
    data = make_teacher_student(d=20, num_points=500, teacher_width=15, generator=0)
    a0, W0 = init_student(width, d=20, generator=0)

    def run(device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        a, W, X, y = (t.to(device=device, dtype=dtype) for t in (a0, W0, data.X, data.y))
        gen = torch.Generator(device=device).manual_seed(1)
        out = simulate_coupled(
            a, W, X, y, tau=0.5, keep_prob=1.0, num_steps=steps, generator=gen, record_every=steps, chunk_size=128
        )
        return torch.cat([out.a.flatten(), out.W.flatten()])

    return run


def timed(fn: Loop, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, float]:
    """Final state (float64, CPU) and the best wall time of 3 runs after a warm-up."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    out = fn(device, dtype)
    best = math.inf
    for _ in range(3):
        sync()
        t = time.perf_counter()
        out = fn(device, dtype)
        sync()
        best = min(best, time.perf_counter() - t)
    return out.to("cpu", torch.float64), best


def rel_error(x: torch.Tensor, ref: torch.Tensor) -> float:
    """max|x − ref| / max|ref| (NaN, and so a failure, when either is not finite)."""
    if not (bool(torch.isfinite(x).all()) and bool(torch.isfinite(ref).all())):
        return math.nan
    return float((x - ref).abs().max() / ref.abs().max())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    parser.add_argument("--no-gpu", action="store_true", help="run the CPU half only")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    devices = [torch.device("cpu")]
    if torch.cuda.is_available() and not args.no_gpu:
        devices.append(torch.device("cuda"))
        print(f"GPU: {torch.cuda.get_device_name(0)}; CPU: one torch thread")
    else:
        print("no CUDA device (or --no-gpu): the CPU half only; the GPU half runs where torch.cuda.is_available()")
    head = f"{'loop':22s} {'device':6s} {'dtype':8s} {'seconds':>9s} {'rel. error':>11s} {'tolerance':>10s}"
    print(f"{head} {'CPU/this':>9s}")
    failed = []
    for name, make in (("part1-dropout-gd", part1), ("part2-deep-ensemble", part2), ("part3-particles", part3)):
        loop = make(args.quick)
        ref, t_ref = timed(loop, torch.device("cpu"), torch.float64)
        cpu_time = {torch.float64: t_ref}
        for device in devices:
            for dtype in (torch.float64, torch.float32):
                out, t = (ref, t_ref) if (device.type, dtype) == ("cpu", torch.float64) else timed(loop, device, dtype)
                if device.type == "cpu":
                    cpu_time[dtype] = t
                err = rel_error(out, ref)
                tol = FLOAT64_TOL if dtype == torch.float64 else FLOAT32_TOL[name]
                ok = err <= tol  # False for NaN
                if not ok:
                    failed.append(f"{name} on {device} in {dtype}: relative error {err:.2e} > {tol:.0e}")
                print(
                    f"{name:22s} {device.type:6s} {str(dtype)[6:]:8s} {t:9.4f} {err:11.2e} {tol:10.0e} "
                    f"{cpu_time[dtype] / t:8.1f}x{'' if ok else '  FAILED'}"
                )
    if failed:
        print("agreement failed:\n  " + "\n  ".join(failed), file=sys.stderr)
        return 1
    print("all agreements hold")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
