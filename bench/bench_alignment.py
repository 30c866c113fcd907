"""Matrix-free vs exact Hessian–variance alignment on the 8×8 digits.

Two-layer rows: (1) a tanh net 64 → m → 10 with a few thousand parameters: exact α (dense H and Σ) vs
matrix-free α (HVPs over the m + m(m−1)/2 noise sources, Hutchinson for ‖H‖_F), agreement and speed ratio
measured in the same run; (2) matrix-free α with all pieces estimated (Hutchinson, N(0, Σ) draws, Σ products
through the adjoint noise map) for a net with >= 100k parameters, where the dense path would need D² numbers.

Module rows (issue #4's benchmark): the FNN 64-50-50-10 (6,310 parameters, dropout after the first hidden
layer) after 300 steps of dropout GD, α over all parameters from the same 512 dropout gradient draws with
(a) the dense Hessian (one HVP per parameter) and (b) the matrix-free ‖H‖_F² (deflated Hutchinson: a 32-column
sketch treated exactly + 32 probes); then matrix-free α for a 64-300-300-10 MLP (112,810 parameters).

Each row also prints the rate of its matrix products (GFLOP/s: the products' FLOPs, counted by torch's
``FlopCounterMode`` in a second, untimed call of the same computation, over the time of the first; elementwise work
is not counted, so the rate is a lower bound) as a percentage of the float64 matrix-product peak measured in the
same run (``bench/peaks.py``): the distance of the whole computation to the machine's arithmetic limit. Counting
doubles the benchmark's run time.

Usage: ``python bench/bench_alignment.py [--quick]``.
"""

from __future__ import annotations

import argparse
import time

import torch
from peaks import print_peaks
from sklearn.datasets import load_digits
from torch.utils.flop_counter import FlopCounterMode

from dropout_theory.alignment import hessian_variance_alignment, module_hessian_variance_alignment
from dropout_theory.data import load_digits_regression
from dropout_theory.networks import dropout_mlp, train_with_noise
from dropout_theory.two_layer import init_params


def _digits(n: int, d_extra: int = 0, generator: torch.Generator | None = None):
    data = load_digits()
    X = torch.tensor(data.data[:n] / 16.0, dtype=torch.float64)
    if d_extra:
        X = torch.cat([X, torch.randn(n, d_extra, generator=generator, dtype=torch.float64) * 0.1], dim=1)
    y = torch.nn.functional.one_hot(torch.tensor(data.target[:n]), 10).to(torch.float64)
    return X, y


class _Rows(list):
    """Rows printed as soon as they are appended (the full run takes minutes)."""

    def __init__(self, peak: float) -> None:
        super().__init__()
        self.peak = peak
        print(f"{'network':<28} {'D':>8} {'alpha':>8} {'time s':>8} {'GFLOP/s':>8} {'of peak':>8}  note", flush=True)

    def append(self, row) -> None:
        name, D, alpha, (t, flops), note = row
        rate = flops / t / 1e9
        print(f"{name:<28} {D:>8d} {alpha:>8.4f} {t:>8.2f} {rate:>8.2f} {rate / self.peak:>8.1%}  {note}", flush=True)
        super().append(row)


def _timed(fn):
    """``(fn(), (seconds, FLOPs of its matrix products))``: timed alone, then counted in a second, untimed call
    (the same work: every call draws from generators of its own; the counter slows small operations several-fold)."""
    t = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t
    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return out, (seconds, counter.get_total_flops())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    args = parser.parse_args()
    torch.set_num_threads(2)
    peak = print_peaks((torch.float64,))["float64"]
    g = torch.Generator().manual_seed(0)
    rows = _Rows(peak)
    m1, n1 = (20, 300) if args.quick else (50, 500)
    X, y = _digits(n1)
    a, W = init_params(m1, X.shape[1], 10, generator=g, scale_a=2.0)
    ex, t_ex = _timed(lambda: hessian_variance_alignment(a, W, X, y, keep_prob=0.8, method="exact"))
    mf, t_mf = _timed(
        lambda: hessian_variance_alignment(
            a, W, X, y, keep_prob=0.8, method="matrix_free", num_probes=400, generator=torch.Generator().manual_seed(1)
        )
    )
    rows.append((f"two-layer 64-{m1}-10, n={n1}", ex.num_params, ex.alpha, t_ex, "exact"))
    rows.append(
        (
            f"two-layer 64-{m1}-10, n={n1}",
            mf.num_params,
            mf.alpha,
            t_mf,
            f"matrix-free ±{mf.stderr:.3f}, x{t_ex[0] / t_mf[0]:.1f}",
        )
    )
    ms, t_ms = _timed(
        lambda: hessian_variance_alignment(
            a,
            W,
            X,
            y,
            keep_prob=0.8,
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
            f"sampled Σ ±{ms.stderr:.3f}, x{t_ex[0] / t_ms[0]:.1f}",
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
            keep_prob=0.8,
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
    # module path: FNN 64-50-50-10 (issue #4's benchmark) and a >= 100k-parameter MLP
    digits = load_digits_regression(generator=0, bias=False)
    n3 = 300 if args.quick else 1000
    X3, Y3 = digits.X_train[:n3], digits.y_train[:n3]

    def half_mse(out, target):
        return 0.5 * ((out - target) ** 2).sum(1).mean()

    for widths, dense in (((64, 50, 50, 10), True), ((64, 300, 300, 10), False)):
        net = dropout_mlp(widths, keep_prob=0.8, generator=torch.Generator().manual_seed(0))
        train_with_noise(
            net, half_mse, X3, Y3, noise="dropout", lr=0.05, num_steps=300, generator=torch.Generator().manual_seed(1)
        )
        kw = dict(num_masks=512, num_hessian_masks=2 if args.quick else 4)
        mf_m, t_mf_m = _timed(
            lambda net=net, kw=kw: module_hessian_variance_alignment(
                net,
                half_mse,
                X3,
                Y3,
                method="matrix_free",
                sketch_size=32,
                num_probes=32,
                generator=torch.Generator().manual_seed(5),
                **kw,
            )
        )
        name = "FNN " + "-".join(map(str, widths)) + f", n={n3}"
        note = f"matrix-free ±{mf_m.stderr:.3f} (‖H‖² ±{mf_m.frob_h_sq.stderr / mf_m.frob_h_sq.value:.2%})"
        if dense:
            ex_m, t_ex_m = _timed(
                lambda net=net, kw=kw: module_hessian_variance_alignment(
                    net, half_mse, X3, Y3, method="exact", generator=torch.Generator().manual_seed(5), **kw
                )
            )
            rows.append((name, ex_m.num_params, ex_m.alpha, t_ex_m, f"exact H, same draws ±{ex_m.stderr:.3f}"))
            note += f", x{t_ex_m[0] / t_mf_m[0]:.1f}, |Δα|/α = {abs(mf_m.alpha - ex_m.alpha) / abs(ex_m.alpha):.4f}"
        rows.append((name, mf_m.num_params, mf_m.alpha, t_mf_m, note))

    print(
        f"two-layer agreement |alpha_mf - alpha_exact| / alpha_exact = {abs(mf.alpha - ex.alpha) / abs(ex.alpha):.4f}"
    )


if __name__ == "__main__":
    main()
