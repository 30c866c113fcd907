"""Gradient metrics of simulated ensembles, summarized layer by layer, with the fits the book interprets.

:func:`gradient_statistics` simulates one ensemble (:func:`dropout_theory.deep_meanfield.simulate_ensemble`, a pair
of inputs at (q*, c*)) and, for each metric of :data:`dropout_theory.deep_meanfield.gradient_rates.METRICS`,
returns per distance k = L − l from the output the mean over networks, its standard error and the relative
variance Var/Mean², together with

* the **rate**: λ of mean ∝ λ^k, fitted on (k, log abs(mean)) over a window of k restricted to layers whose mean exceeds
  three standard errors (a mean below its own noise has no rate);
* the **relative-variance law**: Var/Mean² ≈ v₀ + v·k over the window (v of order 1/N: each layer adds an
  independent O(1/N) fluctuation);
* the **power**: p of Var ∝ Mean^p over the window, and local powers p over sub-windows;

each with a bootstrap standard error (networks resampled with replacement, every fit redone). The result is a
frozen dataclass that a results file can hold (:meth:`GradientStatistics.from_dict` reads it back), so the
chapters read long simulations from ``results/part2/`` (:func:`gradient_statistics_sweep`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from dropout_theory._checks import check_allocation, check_choice, check_iterations, check_positive_int
from dropout_theory.deep_meanfield._validate import check_array, check_window, check_windows
from dropout_theory.deep_meanfield.depth_scales import depth_scale, depth_scales
from dropout_theory.deep_meanfield.ensemble import BACKWARD_MODES, READOUTS, inputs_for, simulate_ensemble
from dropout_theory.deep_meanfield.gradient_rates import HOMOGENEOUS, METRICS, gradient_rates, linear_surrogate
from dropout_theory.jobs import run_identity, run_jobs
from dropout_theory.rng import GeneratorLike, numpy_generator, torch_generator
from dropout_theory.stats import Estimate
from dropout_theory.tables import Table, TabularResult


@dataclass(frozen=True)
class MetricStatistics:
    """Layer-by-layer statistics of one gradient metric (arrays indexed by k = L − l, k = 0 at the output).

    Attributes:
        mean: (L,) mean over networks.
        stderr: (L,) its standard error.
        rel_var: (L,) Var/Mean² (sample variance, ddof = 1).
        rel_var_stderr: (L,) bootstrap standard error of ``rel_var``.
        rate: λ of mean ∝ λ^k over the window (None: fewer than 3 significant layers).
        rate_layers: layers used for ``rate`` (abs(mean) > 3 standard errors inside the window).
        rel_var_intercept: v₀ of Var/Mean² ≈ v₀ + v·k over the window's significant layers (None as for rate).
        rel_var_slope: v.
        power: p of Var ∝ Mean^p over the window's significant layers with positive mean (None as for rate).
        local_powers: p over each sub-window of ``power_windows`` (None where < 3 layers qualify).
    """

    mean: np.ndarray
    stderr: np.ndarray
    rel_var: np.ndarray
    rel_var_stderr: np.ndarray
    rate: Estimate | None
    rate_layers: int
    rel_var_intercept: Estimate | None
    rel_var_slope: Estimate | None
    power: Estimate | None
    local_powers: tuple[Estimate | None, ...]


@dataclass(frozen=True)
class GradientStatistics:
    """One simulated ensemble's gradient statistics (:func:`gradient_statistics`).

    Attributes:
        activation, sigma_w2, sigma_b2, keep_prob: the parameter point.
        depth, width, num_networks: the ensemble.
        backward: "realistic" or "gia"; readout: "loss" or "random".
        window: (k_lo, k_hi) of the fits; power_windows: the sub-windows of the local powers.
        metrics: metric name → :class:`MetricStatistics`.
    """

    activation: str
    sigma_w2: float
    sigma_b2: float
    keep_prob: float
    depth: int
    width: int
    num_networks: int
    backward: str
    readout: str
    window: tuple[int, int]
    power_windows: tuple[tuple[int, int], ...]
    metrics: dict[str, MetricStatistics]

    @property
    def k(self) -> np.ndarray:
        """(L,) distances from the output, 0..L−1."""
        return np.arange(self.depth)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GradientStatistics:
        """Rebuild from ``dataclasses.asdict`` output read back from JSON (``None`` marks NaN)."""

        def est(e):
            return None if e is None else Estimate(*(math.nan if v is None else v for v in
                                                     (e["value"], e["stderr"], e["num_samples"])))  # fmt: skip

        def arr(a):
            return np.array([math.nan if v is None else v for v in a], dtype=np.float64)

        metrics = {}
        for name, m in d["metrics"].items():
            metrics[name] = MetricStatistics(
                arr(m["mean"]),
                arr(m["stderr"]),
                arr(m["rel_var"]),
                arr(m["rel_var_stderr"]),
                est(m["rate"]),
                int(m["rate_layers"]),
                est(m["rel_var_intercept"]),
                est(m["rel_var_slope"]),
                est(m["power"]),
                tuple(est(p) for p in m["local_powers"]),
            )
        fields = {k: d[k] for k in ("activation", "sigma_w2", "sigma_b2", "keep_prob", "depth", "width",
                                    "num_networks", "backward", "readout")}  # fmt: skip
        return cls(**fields, window=tuple(d["window"]), power_windows=tuple(tuple(w) for w in d["power_windows"]),
                   metrics=metrics)  # fmt: skip


def _slopes(x: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares slope and intercept of each row of Y (R, n) against x (n,)."""
    xc = x - x.mean()
    slope = (Y - Y.mean(-1, keepdims=True)) @ xc / (xc @ xc)
    return slope, Y.mean(-1) - slope * x.mean()


def _estimate(full: float, boots: np.ndarray) -> Estimate:
    ok = np.isfinite(boots)
    se = float(np.std(boots[ok], ddof=1)) if ok.sum() > 1 else math.inf
    return Estimate(float(full), se, int(ok.sum()))


def metric_statistics(
    samples: np.ndarray,
    *,
    window: tuple[int, int],
    power_windows: Sequence[tuple[int, int]] = (),
    num_boot: int = 200,
    generator: GeneratorLike = 0,
) -> MetricStatistics:
    """The statistics and fits of one metric from its per-network values.

    Args:
        samples: (num_networks, L) values, column j at distance k = j from the output (already reversed).
        window: (k_lo, k_hi), inclusive, of the rate, relative-variance law and power fits.
        power_windows: sub-windows (inclusive) of the local powers.
        num_boot: bootstrap resamples of the networks.
        generator: numpy generator or int seed of the resampling.

    Returns:
        :class:`MetricStatistics`.
    """
    x = check_array(samples, "samples", -np.inf, low_open=False)
    if x.ndim != 2:
        raise ValueError(f"samples must be (num_networks, L), got shape {x.shape}")
    B, L = x.shape
    window = check_window(window, "window", L)
    power_windows = check_windows(power_windows, "power_windows", L)
    num_boot = check_iterations(num_boot, "num_boot", minimum=2)
    check_allocation(num_boot * B * L, "the bootstrap resamples", names=f"num_boot = {num_boot}, samples {x.shape}")
    if B < 3:
        raise ValueError(f"samples needs at least 3 networks, got {B}")
    rng = numpy_generator(generator)
    idx = np.concatenate([np.arange(B)[None], rng.integers(0, B, (num_boot, B))])  # row 0: the sample itself
    xs = x[idx]  # (1 + R, B, L)
    mean, var = xs.mean(1), xs.var(1, ddof=1)
    se = np.sqrt(var[0] / B)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = var / mean**2
    k = np.arange(L)
    lo, hi = window
    sig = (k >= lo) & (k <= hi) & (np.abs(mean[0]) > 3 * se)
    rate = icpt = slope = power = None
    if sig.sum() >= 3:
        with np.errstate(divide="ignore", invalid="ignore"):
            lr, _ = _slopes(k[sig].astype(float), np.log(np.abs(mean[:, sig])))
            rate = _estimate(math.exp(lr[0]), np.exp(lr[1:]))
            sv, iv = _slopes(k[sig].astype(float), rel[:, sig])
            slope, icpt = _estimate(sv[0], sv[1:]), _estimate(iv[0], iv[1:])
    pos = sig & (mean[0] > 0)

    def pw(sel: np.ndarray) -> Estimate | None:
        if sel.sum() < 3:
            return None
        with np.errstate(divide="ignore", invalid="ignore"):
            p, _ = _slopes_xy(np.log(mean[:, sel]), np.log(var[:, sel]))
        return _estimate(p[0], p[1:])

    power = pw(pos)
    local = tuple(pw(pos & (k >= a) & (k <= b)) for a, b in power_windows)
    rel_se = np.nanstd(rel[1:], axis=0, ddof=1)
    return MetricStatistics(mean[0], se, rel[0], rel_se, rate, int(sig.sum()), icpt, slope, power, local)


def _slopes_xy(X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise least-squares slope and intercept of Y (R, n) against X (R, n)."""
    xc = X - X.mean(-1, keepdims=True)
    slope = (xc * (Y - Y.mean(-1, keepdims=True))).sum(-1) / (xc * xc).sum(-1)
    return slope, Y.mean(-1) - slope * X.mean(-1)


def gradient_statistics(
    activation: str,
    sigma_w2: float,
    sigma_b2: float,
    keep_prob: float,
    *,
    depth: int,
    width: int,
    num_networks: int,
    backward: str = "realistic",
    readout: str = "loss",
    window: tuple[int, int] | None = None,
    power_windows: Sequence[tuple[int, int]] = (),
    num_boot: int = 200,
    generator: GeneratorLike = 0,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> GradientStatistics:
    """Simulate an ensemble with a pair of inputs at (q*, c*) and summarize its gradient metrics.

    Args:
        activation, sigma_w2, sigma_b2, keep_prob: the parameter point (it must have fixed points q*, c*).
        depth, width, num_networks: the ensemble (float ``dtype``; statistics in float64).
        backward: "realistic" or "gia".
        readout: "loss" (δ^L = z^L) or "random" (an independent Gaussian readout).
        window: (k_lo, k_hi) of the fits (default: the whole depth but the output layer, (1, L − 1)).
        power_windows: sub-windows of the local powers.
        num_boot: bootstrap resamples.
        generator: torch generator or int seed of the networks (the bootstrap uses ``offset=1`` of it).
        dtype: simulation dtype.
        device: where the ensemble is simulated (the generator's device; statistics on the CPU).

    Returns:
        :class:`GradientStatistics`.
    """
    check_choice(backward, "backward", BACKWARD_MODES[1:])
    check_choice(readout, "readout", READOUTS)
    depth = check_positive_int(depth, "depth", minimum=4)
    if window is not None:
        check_window(window, "window", depth)
    check_windows(power_windows, "power_windows", depth)
    check_iterations(num_boot, "num_boot", minimum=2)
    d = depth_scales(activation, sigma_w2, sigma_b2, keep_prob)
    x = inputs_for(float(d["q_star"]), float(d["c_star"]), width=width, sigma_w2=sigma_w2, sigma_b2=sigma_b2)
    res = simulate_ensemble(activation, sigma_w2, sigma_b2, keep_prob, depth=depth, width=width,
                            num_networks=num_networks, inputs=x, backward=backward, readout=readout,
                            generator=torch_generator(generator, device=device), dtype=dtype,
                            device=device)  # fmt: skip
    values = {
        "single": res.grad_single[:, :, 0],
        "pair": res.grad_pair,
        "norm": res.weight_grad_single.sum(-1) + 2.0 * res.weight_grad_pair,
    }
    win = (1, depth - 1) if window is None else (int(window[0]), int(window[1]))
    pws = tuple((int(a), int(b)) for a, b in power_windows)
    boot_seed = int(torch.randint(0, 2**31 - 1, (1,), generator=torch_generator(generator, offset=1)))
    metrics = {
        name: metric_statistics(v[:, ::-1], window=win, power_windows=pws, num_boot=num_boot, generator=boot_seed)
        for name, v in values.items()
    }
    assert tuple(metrics) == METRICS
    return GradientStatistics(activation, float(sigma_w2), float(sigma_b2), float(keep_prob), depth, int(width),
                              int(num_networks), backward, readout, win, pws, metrics)  # fmt: skip


def gradient_statistics_job(
    *, seed: int, dtype: str = "float32", device: str | None = None, **params: Any
) -> dict[str, Any]:
    """One stored job: ``asdict(gradient_statistics(**params, generator=seed, device=device))`` (JSON-serializable)."""
    p = dict(params)
    p["window"] = None if p.get("window") is None else tuple(p["window"])
    p["power_windows"] = tuple(tuple(w) for w in p.get("power_windows", ()))
    args = (p.pop("activation"), p.pop("sigma_w2"), p.pop("sigma_b2"), p.pop("keep_prob"))
    return asdict(gradient_statistics(*args, **p, generator=seed, dtype=getattr(torch, dtype), device=device))


def gradient_statistics_sweep(
    configs: Sequence[Mapping[str, Any]],
    *,
    results_path: str | None = None,
    executor: Executor | None = None,
    max_workers: int | None = None,
    progress: bool = True,
    device: str | None = None,
) -> list[GradientStatistics]:
    """Run (or read back) :func:`gradient_statistics` for each configuration, as resumable jobs.

    Args:
        configs: keyword arguments of :func:`gradient_statistics_job` (``activation``, ``sigma_w2``, ``sigma_b2``,
            ``keep_prob``, ``depth``, ``width``, ``num_networks``, ``backward``, ``readout``, ``window``,
            ``power_windows``, ``seed``, ...), declared as written (they are the job keys).
        results_path, executor, max_workers, progress, device: as in :func:`dropout_theory.jobs.run_jobs`.

    Returns:
        One :class:`GradientStatistics` per configuration.
    """
    jobs = [dict(c) for c in configs]
    with run_identity("gradient-statistics", {}, "sweep"):
        results = run_jobs(gradient_statistics_job, jobs, results_path=results_path, executor=executor,
                           max_workers=max_workers, progress=progress, desc="gradient statistics",
                           device=device)  # fmt: skip
    return [GradientStatistics.from_dict(r) for r in results]


def _book_configs() -> list[dict[str, Any]]:
    points = [  # (activation, sigma_w2, sigma_b2, keep_prob, depth): depth a few times the slowest depth scale
        ("linear", 0.5, 0.1, 0.8, 24), ("linear", 0.7, 0.1, 0.8, 40), ("relu", 1.2, 0.05, 0.9, 24),
        ("relu", 1.8, 0.05, 0.95, 80), ("tanh", 1.0, 0.05, 0.9, 40), ("tanh", 1.3, 0.05, 0.9, 60),
        ("tanh", 2.5, 0.05, 0.9, 30), ("hard_tanh", 1.1, 0.05, 0.7, 30),
    ]  # fmt: skip
    out = []
    for act, sw, sb, r, L in points:
        win = (1, L - 4)
        third = (win[1] - win[0] + 1) // 3
        pws = [(win[0] + i * third, win[0] + (i + 1) * third - 1 if i < 2 else win[1]) for i in range(3)]
        base = dict(activation=act, sigma_w2=sw, sigma_b2=sb, keep_prob=r, depth=L, num_networks=100,
                    readout="loss", window=list(win), power_windows=[list(w) for w in pws], seed=0)  # fmt: skip
        out += [dict(base, width=400, backward=b) for b in ("realistic", "gia")]
        if (act, sw) in (("linear", 0.7), ("relu", 1.8), ("tanh", 1.0)):
            out += [dict(base, width=N, backward="realistic") for N in (100, 200)]
    return out


#: The book's stored gradient-statistics sweep (``results/part2/gradient_statistics.jsonl``, made by
#: ``dropout-experiments gradient-statistics``): eight parameter points, both backward passes, width 400, 100 networks,
#: and widths 100 and 200 for three of them.
BOOK_GRADIENT_STATISTICS: list[dict[str, Any]] = _book_configs()


@dataclass(frozen=True)
class RateComparison(TabularResult):
    """Predicted against measured rates of the gradient metrics (:func:`rate_comparison`).

    Attributes:
        rows: one tuple per (ensemble, metric): label, backward, metric, predicted asymptotic λ, λ the theory gives
            over the fitted layers (the linear surrogate for a realistic pass, the pure exponential under GIA), the
            measured λ (:class:`dropout_theory.stats.Estimate`), layers fitted, depth in units of the slowest depth
            scale, and k_max/N (the size of the finite-width corrections).
    """

    rows: tuple[tuple, ...]

    def table(self) -> Table:
        headers = ("network", "backward", "metric", "rate (asymptotic)", "rate (theory, fitted layers)",
                   "rate (simulation)", "layers", "L/xi", "k/N")  # fmt: skip
        return Table.build(headers, self.rows, formats=("s", "s", "s", ".4f", ".4f", "s", "d", ".2g", ".2g"),
                           title="gradient metrics: rate per layer away from the output")  # fmt: skip


def _window_rate(k: np.ndarray, values: np.ndarray) -> float:
    if len(k) < 2 or not np.all(np.isfinite(values)) or np.any(values == 0):
        return math.nan
    slope, _ = _slopes(k.astype(float), np.log(np.abs(values))[None])
    return math.exp(float(slope[0]))


def _check_stats(stats: Any, minimum: int = 1) -> list[GradientStatistics]:
    if isinstance(stats, str) or not isinstance(stats, Sequence) or len(stats) < minimum:
        raise TypeError(f"stats must be a sequence of at least {minimum} GradientStatistics, got {stats!r}")
    for g in stats:
        if not hasattr(g, "metrics"):
            raise TypeError(f"stats must hold GradientStatistics (from gradient_statistics), got {type(g).__name__}")
    return list(stats)


def rate_comparison(stats: Sequence[GradientStatistics]) -> RateComparison:
    """Predicted rates (:func:`dropout_theory.deep_meanfield.gradient_rates`) beside the fitted ones of each ensemble.

    The theory's rate over the fitted layers is the same least-squares fit applied to the linear surrogate
    (:func:`dropout_theory.deep_meanfield.linear_surrogate`: realistic pass of a linear or ReLU network, χ₁ < 1) or
    to the GIA recursion (otherwise), on the layers the simulation's fit used; it shows how far a finite window is
    from the asymptotic rate.
    """
    stats = _check_stats(stats)
    rows = []
    for g in stats:
        table = gradient_rates(g.activation, g.sigma_w2, g.sigma_b2, g.keep_prob)
        p = table.parameters
        L = g.depth
        k = np.arange(L)
        rev = slice(None, None, -1)
        homogeneous = g.activation in HOMOGENEOUS and p.chi_1 < 1
        sur = linear_surrogate(g.activation, g.sigma_w2, g.sigma_b2, g.keep_prob, depth=L) if homogeneous else None
        x_aa, x_ab = (p.q_star - g.sigma_b2) / g.sigma_w2, (p.q_star * p.c_star - g.sigma_b2) / g.sigma_w2
        if sur is not None and g.backward == "realistic":
            theory = {"single": sur["single"][rev], "pair": sur["pair"][rev]}
        else:  # GIA, and what a realistic pass of a saturating network follows
            pair = p.q_star * p.c_star * p.chi_c**k if p.chi_1 < 1 or g.backward == "gia" else np.full(L, math.nan)
            theory = {"single": p.q_star * p.chi_1**k, "pair": pair}
        theory["norm"] = 2 * (x_aa * theory["single"] + x_ab * np.nan_to_num(theory["pair"]))  # no pair rate: single
        xi = max(abs(float(depth_scale(p.chi_1))), abs(float(depth_scale(p.chi_c))))
        label = f"{g.activation} {g.sigma_w2:g}/{g.sigma_b2:g}/{g.keep_prob:g}"
        for name, m in g.metrics.items():
            lo, hi = g.window
            used = (k >= lo) & (k <= hi) & (np.abs(m.mean) > 3 * m.stderr)
            rows.append((label, g.backward, name, table.rate(name, g.backward),
                         _window_rate(k[used], theory[name][used]), m.rate, int(used.sum()), L / xi,
                         int(k[used].max()) / g.width if used.any() else math.nan))  # fmt: skip
    return RateComparison(tuple(rows))


@dataclass(frozen=True)
class UniversalityTable(TabularResult):
    """The variance–mean law of the gradient metrics, ensemble by ensemble (:func:`universality_table`).

    Attributes:
        rows: one tuple per (ensemble, metric): label, metric, "decays"/"grows" (fitted rate below or above 1),
            width, v₀ and v of Var/Mean² ≈ v₀ + v·k, N·v, the power p of Var ∝ Mean^p over the window and the
            local powers over its near, middle and far sub-windows.
        pair_rows: for the pair metric (a sign-changing inner product: no relative-variance law), label, width, p,
            the local powers, and its predicted power: the variance is set by the single-input magnitude
            (∝ λ_aa^{2k}) and the mean decays at λ_ab, so p = 2 ln λ_aa / ln λ_ab, with the predicted asymptotic
            rates (2 ln χ₁ / ln λ_ab) and with the rates fitted to the same ensemble.
    """

    rows: tuple[tuple, ...]
    pair_rows: tuple[tuple, ...]

    def table(self) -> Table:
        if self.pair_rows and not self.rows:
            headers = ("network", "N", "p", "p (near)", "p (middle)", "p (far)", "p predicted (asymptotic rates)",
                       "p predicted (fitted rates)")  # fmt: skip
            return Table.build(
                headers,
                self.pair_rows,
                formats=("s", "d", "s", "s", "s", "s", ".3g", "s"),
                title="pair metric: Var ∝ Mean^p over the fitted layers (bootstrap errors)",
            )
        headers = ("network", "metric", "mean", "N", "v0", "v (per layer)", "N v", "p", "p (near)", "p (middle)",
                   "p (far)")  # fmt: skip
        return Table.build(
            headers,
            self.rows,
            formats=("s", "s", "s", "d", "s", "s", "s", "s", "s", "s", "s"),
            title="Var/Mean^2 = v0 + v k and Var ∝ Mean^p over the fitted layers (bootstrap errors)",
        )


def _power_from_rates(single: Estimate | None, pair: Estimate | None) -> Estimate | None:
    """2 ln λ_aa / ln λ_ab with its delta-method standard error (independent errors assumed)."""
    if single is None or pair is None or not 0 < pair.value < 1:
        return None
    la, lb = math.log(single.value), math.log(pair.value)
    p = 2 * la / lb
    se = abs(p) * math.hypot(single.stderr / (single.value * la), pair.stderr / (pair.value * lb))
    return Estimate(p, se)


def universality_table(stats: Sequence[GradientStatistics], *, metrics: Sequence[str] = METRICS) -> UniversalityTable:
    """Relative-variance laws and powers of the given ensembles (their stored fits); the pair metric, if asked for,
    is tabulated on its own with its predicted power (:class:`UniversalityTable`; it prints the pair table when only
    ``"pair"`` is asked for)."""
    stats = _check_stats(stats)
    if isinstance(metrics, str) or not isinstance(metrics, Sequence) or not metrics:
        raise TypeError(f"metrics must be a non-empty sequence of names from {list(METRICS)}, got {metrics!r}")
    metrics = [check_choice(m, "metrics", METRICS) for m in metrics]
    rows, pair_rows = [], []
    for g in stats:
        table = gradient_rates(g.activation, g.sigma_w2, g.sigma_b2, g.keep_prob)
        chi_1 = table.parameters.chi_1
        label = f"{g.activation} {g.sigma_w2:g}/{g.sigma_b2:g}/{g.keep_prob:g}"
        for name in metrics:
            m = g.metrics[name]
            local = list(m.local_powers) + [None] * (3 - len(m.local_powers))
            if name == "pair":
                lam_ab = table.rate("pair", g.backward)
                pred = 2 * math.log(chi_1) / math.log(lam_ab) if chi_1 < 1 else math.nan
                fitted = _power_from_rates(g.metrics["single"].rate, m.rate) if chi_1 < 1 else None
                pair_rows.append((label, g.width, m.power, *local[:3], pred, fitted))
                continue
            grows = m.rate is not None and m.rate.value > 1
            nv = None if m.rel_var_slope is None else Estimate(g.width * m.rel_var_slope.value,
                                                               g.width * m.rel_var_slope.stderr)  # fmt: skip
            rows.append((label, name, "grows" if grows else "decays", g.width, m.rel_var_intercept, m.rel_var_slope,
                         nv, m.power, *local[:3]))  # fmt: skip
    return UniversalityTable(tuple(rows), tuple(pair_rows))


def width_exponent(stats: Sequence[GradientStatistics], *, metric: str = "single") -> Estimate:
    """α of v ∝ N^α for ensembles of one parameter point at several widths: weighted least squares of log v on log N
    (weights from the bootstrap errors of v); the law of independent O(1/N) fluctuations per layer predicts α = −1.

    Raises:
        ValueError: fewer than two widths, or a non-positive slope v.
    """
    stats = _check_stats(stats)
    metric = check_choice(metric, "metric", METRICS)
    missing = [g.width for g in stats if g.metrics[metric].rel_var_slope is None]
    if missing:
        raise ValueError(f"stats at widths {missing} have no fitted relative-variance slope for metric {metric!r}")
    v = np.array([g.metrics[metric].rel_var_slope.value for g in stats])
    se = np.array([g.metrics[metric].rel_var_slope.stderr for g in stats])
    if len(stats) < 2 or np.any(v <= 0):
        raise ValueError(f"width_exponent needs >= 2 widths with positive slopes v, got {v.tolist()}")
    x, y, w = np.log([g.width for g in stats]), np.log(v), (v / se) ** 2
    xm = np.sum(w * x) / np.sum(w)
    slope = np.sum(w * (x - xm) * (y - np.sum(w * y) / np.sum(w))) / np.sum(w * (x - xm) ** 2)
    return Estimate(float(slope), float(1 / math.sqrt(np.sum(w * (x - xm) ** 2))), len(stats))
