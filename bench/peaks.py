"""The machine's limits, measured in the same run as a benchmark: matrix-product GFLOP/s and copy bandwidth.

Every benchmark prints its achieved rate next to these, so the distance to the limit is visible: a kernel bound by
arithmetic is compared with ``matmul_peak`` (a large square product, the best rate torch's BLAS reaches here), one
bound by memory traffic with ``copy_bandwidth`` (a copy far larger than the caches, bytes read + bytes written).
Both are the best of several repetitions (the least disturbed by other processes on a shared machine).
"""

from __future__ import annotations

import time

import torch


def best_time(fn, repeats: int = 5) -> float:
    """Minimum wall time of ``repeats`` calls of ``fn`` after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def matmul_peak(dtype: torch.dtype = torch.float64, *, size: int = 1024, repeats: int = 5, device=None) -> float:
    """GFLOP/s of a (size × size) @ (size × size) product (2·size³ FLOPs), best of ``repeats``."""
    g = torch.Generator().manual_seed(0)
    A = torch.randn((size, size), generator=g, dtype=dtype).to(device)
    B = torch.randn((size, size), generator=g, dtype=dtype).to(device)
    out = torch.empty((size, size), dtype=dtype, device=device)
    sync = torch.cuda.synchronize if out.is_cuda else (lambda: None)

    def run() -> None:
        torch.matmul(A, B, out=out)
        sync()

    return 2 * size**3 / best_time(run, repeats) / 1e9


def copy_bandwidth(*, nbytes: int = 256 * 2**20, repeats: int = 5, device=None) -> float:
    """GB/s of ``dst.copy_(src)`` over ``nbytes`` (counted twice: read and written), best of ``repeats``."""
    src = torch.ones(nbytes // 8, dtype=torch.float64, device=device)
    dst = torch.empty_like(src)
    sync = torch.cuda.synchronize if src.is_cuda else (lambda: None)

    def run() -> None:
        dst.copy_(src)
        sync()

    return 2 * nbytes / best_time(run, repeats) / 1e9


def print_peaks(dtypes=(torch.float64, torch.float32), *, device=None) -> dict[str, float]:
    """Measure and print the peaks; returns ``{"float64": GFLOP/s, "float32": GFLOP/s, "copy": GB/s}``."""
    peaks = {str(dt).removeprefix("torch."): matmul_peak(dt, device=device) for dt in dtypes}
    peaks["copy"] = copy_bandwidth(device=device)
    rates = ", ".join(f"{k} matmul {v:.1f} GFLOP/s" for k, v in peaks.items() if k != "copy")
    print(f"peaks measured now ({torch.get_num_threads()} torch thread(s)): {rates}; copy {peaks['copy']:.1f} GB/s")
    return peaks
