"""Trainable depth and training speed at scale: sweeps over seeds, depths and σ_w² (or learning rates), stored as
resumable jobs of the core job store (:mod:`dropout_theory.jobs`), and the fits that read them.

A *panel* (:class:`Panel`) is one heatmap of the deep-dropout paper's Fig. 7: a keep probability, an optimizer and a
weight initialization. :func:`trainable_depth_sweep` trains every (panel, seed, depth) as one job — a batched
:func:`dropout_theory.deep_meanfield.train_deep_ensemble` over the σ_w² grid — and :func:`training_speed_sweep`
every (keep_prob, seed, depth) over a learning-rate grid on the critical line (the paper's Fig. 6). Both label their
runs themselves (:func:`dropout_theory.jobs.run_identity` with their own arguments, the seeds excepted), so the
``dropout-experiments`` command and a chapter that call them with the same arguments write and read the same results
file: a finished sweep is read back, an interrupted one resumes, and more seeds extend it.

The fits: :meth:`TrainableDepthSweep.boundary` finds, for every σ_w², the depth L* at which the training accuracy
(mean over seeds) falls through a threshold — linear interpolation in log L between the two bracketing depths, its
standard error propagated from the seed-to-seed standard errors of the two means (delta method) — and the multiple
L*/ξ it implies for each depth scale; :meth:`TrainableDepthSweep.agreement` scores a depth bound against the
grid; :meth:`TrainingSpeedSweep.scaling` fits steps-to-threshold ∝ η^p per (keep_prob, depth).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np

from dropout_theory._checks import check_choice, check_finite_number, check_keep_prob, check_positive_int
from dropout_theory.deep_meanfield._validate import check_activation, check_array
from dropout_theory.deep_meanfield.boundary import critical_sigma_w2
from dropout_theory.deep_meanfield.depth_scales import depth_scales
from dropout_theory.deep_meanfield.trainability import (
    DATASETS,
    INITS,
    OPTIMIZERS,
    trainable_depth_bound,
    trainable_depth_job,
)
from dropout_theory.jobs import run_identity, run_jobs
from dropout_theory.stats import Estimate, LogLinearFit, fit_power_law
from dropout_theory.tables import Table, TabularResult


@dataclass(frozen=True)
class Panel:
    """One heatmap of a trainable-depth sweep.

    Attributes:
        keep_prob: keep probability of the hidden units during training.
        optimizer: "sgd" or "rmsprop".
        init: "gaussian" or "orthogonal".
        max_depth: train only the sweep's depths up to this one (None: all); the others are NaN in the results.
    """

    keep_prob: float
    optimizer: str = "sgd"
    init: str = "gaussian"
    max_depth: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "keep_prob", check_keep_prob(float(self.keep_prob)))
        check_choice(self.optimizer, "optimizer", OPTIMIZERS)
        check_choice(self.init, "init", INITS)
        if self.max_depth is not None:
            object.__setattr__(self, "max_depth", check_positive_int(self.max_depth, "max_depth"))

    def runs(self, depth: int) -> bool:
        """Whether the panel trains networks of this depth."""
        return self.max_depth is None or depth <= self.max_depth

    @property
    def label(self) -> str:
        """``"keep 0.9, sgd, gaussian"``."""
        return f"keep {self.keep_prob:g}, {self.optimizer}, {self.init}"


def _panel(p: Panel | float | Sequence) -> Panel:
    if isinstance(p, Panel):
        return p
    if isinstance(p, int | float):
        return Panel(float(p))
    return Panel(*p)


@dataclass(frozen=True)
class DepthGrid(TabularResult):
    """Training accuracy over a (depth × σ_w²) grid of one panel (the deep-dropout paper's Fig. 7).

    Attributes:
        keep_prob: keep probability of the hidden units.
        depths: (D,) depths.
        sigma_w2: (S,) weight variances.
        accuracy: (D, S) final training accuracy (mean over seeds; NaN for depths the panel did not train).
        test_accuracy: (D, S) final test accuracy (mean over seeds).
        stderr: (D, S) standard error of ``accuracy`` over seeds (None for one seed).
        label: the panel's label.
    """

    keep_prob: float
    depths: np.ndarray
    sigma_w2: np.ndarray
    accuracy: np.ndarray
    test_accuracy: np.ndarray
    stderr: np.ndarray | None = None
    label: str = ""

    def table(self) -> Table:
        rows = [(int(L), *row) for L, row in zip(self.depths, self.accuracy, strict=True)]
        headers = ("depth \\ sigma_w2", *(f"{s:g}" for s in self.sigma_w2))
        title = f"training accuracy, {self.label or f'keep_prob {self.keep_prob:g}'}"
        if self.stderr is not None:
            title += f" (mean over seeds; standard errors up to {np.nanmax(self.stderr):.2f})"
        return Table.build(headers, rows, formats=("d", *([".2f"] * len(self.sigma_w2))), title=title)


def depth_crossing(
    depths: np.ndarray, accuracy: np.ndarray, *, stderr: np.ndarray, threshold: float
) -> tuple[float, float, int]:
    """(L*, its standard error, censoring) where ``accuracy`` first falls below ``threshold`` going deeper.

    Linear interpolation in log L between the two bracketing depths; the standard error is propagated from those
    of the two accuracies (delta method). Censoring: 0 inside the grid, +1 when every depth is above the threshold
    (L* > max depth, value = max depth, standard error NaN), −1 when the shallowest depth is already below
    (value = min depth).

    Args:
        depths: (D,) increasing depths.
        accuracy: (D,) mean accuracies.
        stderr: (D,) their standard errors.
        threshold: the accuracy that defines "trains".
    """
    depths = check_array(depths, "depths", 0.0, low_open=True)
    acc = check_array(accuracy, "accuracy", -np.inf, low_open=False)
    se = check_array(stderr, "stderr", 0.0, low_open=False)
    if depths.ndim != 1 or depths.size < 2 or acc.shape != depths.shape or se.shape != depths.shape:
        raise ValueError(
            f"depths, accuracy and stderr must be (D,) arrays with D >= 2, got shapes {depths.shape}, {acc.shape}, "
            f"{se.shape}"
        )
    if np.any(np.diff(depths) <= 0):
        raise ValueError(f"depths must be increasing, got {depths.tolist()}")
    threshold = check_finite_number(threshold, "threshold")
    logL = np.log(depths)
    below = np.flatnonzero(acc < threshold)
    if below.size == 0:
        return float(depths[-1]), math.nan, 1
    j = int(below[0])
    if j == 0:
        return float(depths[0]), math.nan, -1
    x1, x2, a1, a2 = logL[j - 1], logL[j], acc[j - 1], acc[j]
    x = x1 + (a1 - threshold) / (a1 - a2) * (x2 - x1)
    # ∂x*/∂a1 = (x2 − x1)(threshold − a2)/(a1 − a2)², ∂x*/∂a2 = (x2 − x1)(a1 − threshold)/(a1 − a2)²
    d1 = (x2 - x1) * (threshold - a2) / (a1 - a2) ** 2
    d2 = (x2 - x1) * (a1 - threshold) / (a1 - a2) ** 2
    return float(math.exp(x)), float(math.exp(x) * math.hypot(d1 * se[j - 1], d2 * se[j])), 0


@dataclass(frozen=True)
class DepthBoundary(TabularResult):
    """The trainable depth L*(σ_w²) of one panel and the multiples of the depth scales it implies.

    Attributes:
        label: the panel's label.
        threshold: the training accuracy that defines "trains".
        sigma_w2: (S,) weight variances.
        depth: (S,) L*: the depth at which the mean training accuracy falls through ``threshold`` (interpolated
            in log L); for censored entries the deepest (or shallowest) depth of the grid.
        stderr: (S,) standard error of L* (delta method from the seed-to-seed standard errors; NaN if censored).
        censored: (S,) 0 inside the grid, +1 when L* lies beyond the deepest depth, −1 below the shallowest.
        xi_c: (S,) ξ_c.
        xi_min: (S,) min(ξ_c, abs(ξ_∇)).
        max_depth: the deepest depth the panel trained.
    """

    label: str
    threshold: float
    sigma_w2: np.ndarray
    depth: np.ndarray
    stderr: np.ndarray
    censored: np.ndarray
    xi_c: np.ndarray
    xi_min: np.ndarray
    max_depth: int

    def multiple(self, scale: str = "xi_c") -> Estimate:
        """The multiple c of L* ≈ c·ξ pooled over σ_w² (``scale`` "xi_c" or "xi_min"): the mean of L*/ξ with the
        standard error of that mean over σ_w² (``num_samples`` = the σ_w² values used). Used: the σ_w² whose
        boundary lies inside the grid and whose ξ is below the deepest depth trained (where ξ is larger, no depth of
        the grid can test a multiple of it: the training budget sets L* there)."""
        check_choice(scale, "scale", ("xi_c", "xi_min"))
        xi = self.xi_c if scale == "xi_c" else self.xi_min
        ok = (self.censored == 0) & (xi < self.max_depth)
        if ok.sum() == 0:
            return Estimate(math.nan, math.inf, 0)
        return Estimate.from_samples(self.depth[ok] / xi[ok])

    def table(self) -> Table:
        rows = []
        for s, L, se, c, xc, xm in zip(
            self.sigma_w2, self.depth, self.stderr, self.censored, self.xi_c, self.xi_min, strict=True
        ):
            where = f"{L:.3g} ± {se:.2g}" if c == 0 else (f"> {L:g}" if c > 0 else f"< {L:g}")
            rows.append((s, where, xc, xm, L / xc if c == 0 else None, L / xm if c == 0 else None))
        headers = ("sigma_w2", "L*", "xi_c", "min(xi_c,|xi_grad|)", "L*/xi_c", "L*/min")
        title = f"trainable depth, {self.label}: accuracy falls through {self.threshold:g}"
        return Table.build(headers, rows, formats=(".3g", "s", ".3g", ".3g", ".2f", ".2f"), title=title)


@dataclass(frozen=True)
class TrainableDepthSweep(TabularResult):
    """Training accuracies of a trainable-depth sweep.

    Attributes:
        panels: (P,) the panels.
        seeds: (E,) seeds.
        depths: (D,) depths.
        sigma_w2: (S,) weight variances.
        accuracy: (P, E, D, S) final training accuracy (dropout off; NaN for depths a panel did not train).
        test_accuracy: (P, E, D, S) final test accuracy.
        diverged_at: (P, E, D, S) first step at which a model's loss diverged (−1: never; −2: not trained).
        activation: activation of the networks.
        sigma_b2: bias variance.
    """

    panels: tuple[Panel, ...]
    seeds: np.ndarray
    depths: np.ndarray
    sigma_w2: np.ndarray
    accuracy: np.ndarray
    test_accuracy: np.ndarray
    diverged_at: np.ndarray
    activation: str = "tanh"
    sigma_b2: float = 0.05

    def index(self, panel: Panel | float | Sequence) -> int:
        """Position of a panel (a :class:`Panel`, a keep_prob for an SGD/Gaussian panel, or a tuple), matched by
        keep_prob, optimizer and init."""
        want = _panel(panel)
        for i, p in enumerate(self.panels):
            if (p.keep_prob, p.optimizer, p.init) == (want.keep_prob, want.optimizer, want.init):
                return i
        raise ValueError(f"panel {want.label!r} is not in this sweep: {[p.label for p in self.panels]}")

    def grid(self, panel: Panel | float | Sequence) -> DepthGrid:
        """The panel's heatmap: mean over seeds and its standard error."""
        i = self.index(panel)
        acc = self.accuracy[i]
        se = acc.std(0, ddof=1) / math.sqrt(acc.shape[0]) if acc.shape[0] > 1 else None
        p = self.panels[i]
        return DepthGrid(p.keep_prob, self.depths, self.sigma_w2, acc.mean(0), self.test_accuracy[i].mean(0), se,
                         p.label)  # fmt: skip

    def boundary(self, panel: Panel | float | Sequence, *, threshold: float = 0.5) -> DepthBoundary:
        """Per σ_w², the depth L* at which the panel's mean training accuracy falls through ``threshold``."""
        g = self.grid(panel)
        if g.stderr is None:
            raise ValueError("the boundary's standard error needs at least two seeds")
        run = ~np.isnan(g.accuracy[:, 0])
        fits = [depth_crossing(self.depths[run], g.accuracy[run, j], stderr=g.stderr[run, j], threshold=threshold)
                for j in range(len(self.sigma_w2))]  # fmt: skip
        L, sL, cens = (np.array(v) for v in zip(*fits, strict=True))
        d = depth_scales(self.activation, self.sigma_w2, self.sigma_b2, g.keep_prob)
        xi_c = np.asarray(d["xi_c"], dtype=np.float64)
        xi_min = np.minimum(xi_c, np.abs(np.asarray(d["xi_grad"])))
        return DepthBoundary(g.label, threshold, self.sigma_w2, L, sL, cens.astype(int), xi_c, xi_min,
                             int(self.depths[run].max()))  # fmt: skip

    def agreement(self, panel: Panel | float | Sequence, *, threshold: float = 0.5) -> dict[str, Estimate]:
        """How often each depth bound predicts "trains" (accuracy > ``threshold``) correctly: the fraction of the
        (depth × σ_w²) grid on which ``L < bound`` agrees with the outcome, per seed; mean ± s.e. over seeds.

        Returns:
            ``{"6 xi_c": Estimate, "6 min(xi_c, |xi_grad|)": Estimate}``.
        """
        i = self.index(panel)
        b = trainable_depth_bound(self.activation, self.sigma_w2, self.sigma_b2, self.panels[i].keep_prob)
        run = ~np.isnan(self.accuracy[i, 0, :, 0])
        out = {}
        for name, key in (("6 xi_c", "xi_c_bound"), ("6 min(xi_c, |xi_grad|)", "combined_bound")):
            predicted = self.depths[run, None] < np.asarray(b[key])[None, :]
            agree = ((self.accuracy[i][:, run] > threshold) == predicted).mean(axis=(1, 2))
            out[name] = Estimate.from_samples(agree)
        return out

    def table(self) -> Table:
        rows = []
        for p in self.panels:
            ag = self.agreement(p)
            bd = self.boundary(p) if len(self.seeds) > 1 else None
            mult = [bd.multiple(s) if bd else None for s in ("xi_c", "xi_min")]
            rows.append((p.label, *ag.values(), *(m if m and m.num_samples else None for m in mult)))
        headers = ("panel", "agrees: 6 xi_c", "agrees: 6 min(xi_c,|xi_grad|)", "L*/xi_c", "L*/min(xi_c,|xi_grad|)")
        title = (f"{len(self.seeds)} seeds, depths {', '.join(str(int(L)) for L in self.depths)}, "
                 f"{len(self.sigma_w2)} values of sigma_w2; 'trains': training accuracy > 0.5")  # fmt: skip
        return Table.build(headers, rows, formats=("s", "s", "s", "s", "s"), title=title)


def _lr_for(lr: float | Mapping[str, float], optimizer: str) -> float:
    return float(lr[optimizer]) if isinstance(lr, Mapping) else float(lr)


def trainable_depth_sweep(
    depths: Sequence[int],
    sigma_w2: Sequence[float],
    panels: Iterable[Panel | float | Sequence],
    *,
    seeds: Sequence[int] = (0, 1, 2),
    lr: float | Mapping[str, float] = 0.02,
    activation: str = "tanh",
    width: int = 48,
    sigma_b2: float = 0.05,
    num_steps: int = 200,
    batch_size: int = 64,
    dataset: str = "digits",
    results_path: str | None = None,
    executor: Executor | None = None,
    max_workers: int | None = None,
    progress: bool = True,
    device: str | None = None,
) -> TrainableDepthSweep:
    """Train every (panel, seed, depth) — one job each, batched over ``sigma_w2`` — and collect the accuracies.

    Args:
        depths: the depths (hidden layers).
        sigma_w2: the weight variances (declare them as written, e.g. rounded: they are part of the job keys).
        panels: :class:`Panel` objects, or tuples of their fields (a bare keep_prob means SGD with Gaussian
            weights).
        seeds: seeds of initialization, minibatches and masks.
        lr: learning rate, or a mapping optimizer → learning rate.
        activation, width, sigma_b2, num_steps, batch_size: network and training settings.
        dataset: "digits" or "mnist1d".
        results_path: JSON-lines results file: finished jobs are read back, missing ones run and appended (``None``:
            in memory).
        executor: any ``concurrent.futures.Executor``; ``None`` uses a local process pool, or this process when
            ``max_workers == 1``.
        max_workers: size of the default pool.
        progress: tqdm progress bar.
        device: torch device every job trains on (default CPU); part of the run's identity.

    Returns:
        :class:`TrainableDepthSweep`.
    """
    check_activation(activation)
    check_choice(dataset, "dataset", DATASETS)
    panel_list = tuple(_panel(p) for p in panels)
    depth_list = [check_positive_int(int(L), "depths") for L in depths]
    sw = [float(s) for s in sigma_w2]
    seed_list = [int(s) for s in seeds]
    settings = dict(activation=activation, width=int(width), sigma_b2=float(sigma_b2), num_steps=int(num_steps),
                    batch_size=int(batch_size), dataset=dataset)  # fmt: skip
    cells = [(p, e, L) for p in panel_list for e in seed_list for L in depth_list]
    jobs = [
        dict(settings, depth=L, sigma_w2=sw, keep_prob=p.keep_prob, lr=_lr_for(lr, p.optimizer),
             optimizer=p.optimizer, init=p.init, seed=e, eval_every=int(num_steps))
        for p, e, L in cells if p.runs(L)
    ]  # fmt: skip
    options = dict(settings, depths=depth_list, sigma_w2=sw,  # seeds are not part of the design: more extend it
                   panels=[[p.keep_prob, p.optimizer, p.init, p.max_depth] for p in panel_list],
                   lr=dict(lr) if isinstance(lr, Mapping) else float(lr))  # fmt: skip
    with run_identity("trainable-depth", options, "sweep"):
        results = run_jobs(trainable_depth_job, jobs, results_path=results_path, executor=executor,
                           max_workers=max_workers, progress=progress, desc="trainable depth",
                           device=device)  # fmt: skip
    shape = (len(panel_list), len(seed_list), len(depth_list), len(sw))
    done = iter(results)
    rows = [next(done) if p.runs(L) else None for p, _, L in cells]

    def field(name: str, dtype=np.float64) -> np.ndarray:
        missing = [math.nan if dtype is np.float64 else -2] * len(sw)
        return np.array([r[name] if r else missing for r in rows], dtype=dtype).reshape(shape)

    return TrainableDepthSweep(panel_list, np.asarray(seed_list), np.asarray(depth_list), np.asarray(sw),
                               field("train_accuracy"), field("test_accuracy"), field("diverged_at", np.int64),
                               activation, float(sigma_b2))  # fmt: skip


@dataclass(frozen=True)
class TrainingSpeedSweep(TabularResult):
    """Steps to a training-accuracy threshold against the learning rate on the critical line (the paper's Fig. 6).

    Attributes:
        keep_probs: (R,) keep probabilities.
        sigma_w2: (R,) the critical σ_w² of each keep probability.
        seeds: (E,) seeds.
        depths: (D,) depths.
        lrs: (K,) learning rates.
        steps: (R, E, D, K) first evaluation step at or above the threshold (−1: never within the budget).
        threshold: the training-accuracy threshold.
        eval_every: steps between evaluations (the resolution of ``steps``).
    """

    keep_probs: np.ndarray
    sigma_w2: np.ndarray
    seeds: np.ndarray
    depths: np.ndarray
    lrs: np.ndarray
    steps: np.ndarray
    threshold: float
    eval_every: int

    def mean_steps(self, keep_prob: float, depth: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mean, standard error, seeds that reached the threshold) per learning rate (NaN where none did)."""
        st = self.steps[self._r(keep_prob), :, self._d(depth)].astype(np.float64)
        hit = st >= 0
        n = hit.sum(0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(n > 0, np.where(hit, st, 0.0).sum(0) / np.maximum(n, 1), np.nan)
            dev = np.where(hit, st - mean, 0.0)
            se = np.where(n > 1, np.sqrt((dev**2).sum(0) / np.maximum(n - 1, 1) / np.maximum(n, 1)), np.nan)
        return mean, se, n

    def _r(self, keep_prob: float) -> int:
        return int(np.flatnonzero(np.isclose(self.keep_probs, keep_prob))[0])

    def _d(self, depth: int) -> int:
        return int(np.flatnonzero(self.depths == depth)[0])

    def fitted_lrs(self, keep_prob: float, depth: int, *, min_steps: int | None = None) -> np.ndarray:
        """(K,) mask of the learning rates a scaling fit uses: every seed reached the threshold in at least
        ``min_steps`` steps (default 3 evaluation intervals: below that the count is resolution-limited), on the
        decreasing branch (up to the learning rate with the fewest mean steps; past it training slows again)."""
        floor = 3 * self.eval_every if min_steps is None else min_steps
        mean, _, n = self.mean_steps(keep_prob, depth)
        ok = (n == len(self.seeds)) & (mean >= floor)
        full = n == len(self.seeds)
        if full.any():
            best = int(np.nanargmin(np.where(full, mean, np.nan)))
            ok &= np.arange(len(self.lrs)) <= best
        return ok

    def scaling(self, keep_prob: float, depth: int, *, min_steps: int | None = None) -> LogLinearFit | None:
        """Fit steps ∝ η^p over :meth:`fitted_lrs`; the t ∝ 1/η law predicts p = −1. ``None`` when fewer than 3
        learning rates qualify."""
        ok = self.fitted_lrs(keep_prob, depth, min_steps=min_steps)
        if ok.sum() < 3:
            return None
        mean, _, _ = self.mean_steps(keep_prob, depth)
        return fit_power_law(self.lrs[ok], mean[ok])

    def steps_table(self) -> Table:
        """Mean ± standard error of the steps to the threshold over the seeds that reached it (how many), per
        (keep_prob, depth) and learning rate; "-" where no seed did."""
        rows = []
        for r in self.keep_probs:
            for L in self.depths:
                mean, se, n = self.mean_steps(r, int(L))
                cells = [f"{m:.0f} ± {e:.0f} ({c})" if c > 1 else (f"{m:.0f} ({c})" if c else "-")
                         for m, e, c in zip(mean, se, n, strict=True)]  # fmt: skip
                rows.append((f"keep {r:g}, depth {int(L)}", *cells))
        headers = ("lr", *(f"{lr:g}" for lr in self.lrs))
        title = f"steps to {self.threshold:.0%} training accuracy: mean ± s.e. over the seeds that got there (how many)"
        return Table.build(headers, rows, formats=["s"] * len(headers), title=title)

    def table(self) -> Table:
        rows = []
        for r in self.keep_probs:
            for L in self.depths:
                fit = self.scaling(r, int(L))
                mean, _, n = self.mean_steps(r, int(L))
                used = self.fitted_lrs(r, int(L))
                eta_t = Estimate.from_samples(mean[used] * self.lrs[used]) if used.sum() > 1 else None
                lr_range = f"{self.lrs[used].min():g}-{self.lrs[used].max():g}" if used.any() else "-"
                rows.append((float(r), int(L), int((n == len(self.seeds)).sum()), lr_range,
                             fit and Estimate(fit.exponent, fit.stderr), eta_t))  # fmt: skip
        headers = ("keep_prob", "depth", "lrs reached by all seeds", "lrs fitted", "p in steps ∝ lr^p",
                   "steps × lr over the fitted lrs")  # fmt: skip
        title = (
            f"steps to {self.threshold:.0%} training accuracy on the critical line; {len(self.seeds)} seeds; p "
            f"fitted where all seeds got there in ≥ {3 * self.eval_every} steps, up to the fastest lr"
        )
        return Table.build(headers, rows, formats=(".3g", "d", "d", "s", "s", "s"), title=title)


def training_speed_sweep(
    depths: Sequence[int],
    lrs: Sequence[float],
    keep_probs: Sequence[float],
    *,
    seeds: Sequence[int] = (0, 1, 2),
    threshold: float = 0.8,
    activation: str = "tanh",
    width: int = 48,
    sigma_b2: float = 0.05,
    num_steps: int = 300,
    batch_size: int = 64,
    eval_every: int = 10,
    optimizer: str = "sgd",
    dataset: str = "digits",
    results_path: str | None = None,
    executor: Executor | None = None,
    max_workers: int | None = None,
    progress: bool = True,
    device: str | None = None,
) -> TrainingSpeedSweep:
    """Steps to ``threshold`` training accuracy against the learning rate at σ_w² = σ²_w,crit(σ_b², ρ): one job per
    (keep_prob, seed, depth), batched over ``lrs`` (declare them as written: they are part of the job keys).

    Arguments as in :func:`trainable_depth_sweep`; returns :class:`TrainingSpeedSweep`.
    """
    check_activation(activation)
    check_choice(dataset, "dataset", DATASETS)
    lr_list = [float(x) for x in lrs]
    depth_list = [check_positive_int(int(L), "depths") for L in depths]
    rhos = [check_keep_prob(float(r)) for r in keep_probs]
    seed_list = [int(s) for s in seeds]
    settings = dict(activation=activation, width=int(width), sigma_b2=float(sigma_b2), num_steps=int(num_steps),
                    batch_size=int(batch_size), dataset=dataset, optimizer=optimizer, threshold=float(threshold),
                    eval_every=int(eval_every))  # fmt: skip
    jobs = [dict(settings, depth=L, sigma_w2="critical", keep_prob=r, lr=lr_list, seed=e)
            for r in rhos for e in seed_list for L in depth_list]  # fmt: skip
    options = dict(settings, depths=depth_list, lrs=lr_list, keep_probs=rhos)  # more seeds extend the run
    with run_identity("training-speed", options, "sweep"):
        results = run_jobs(trainable_depth_job, jobs, results_path=results_path, executor=executor,
                           max_workers=max_workers, progress=progress, desc="training speed",
                           device=device)  # fmt: skip
    steps = np.array([r["steps_to_threshold"] for r in results], dtype=np.int64)
    return TrainingSpeedSweep(
        np.asarray(rhos), np.array([critical_sigma_w2(activation, sigma_b2, r) for r in rhos], dtype=np.float64),
        np.asarray(seed_list), np.asarray(depth_list), np.asarray(lr_list),
        steps.reshape(len(rhos), len(seed_list), len(depth_list), len(lr_list)), float(threshold), int(eval_every),
    )  # fmt: skip


#: The book's stored trainable-depth sweep (``results/part2/trainable_depth.jsonl``, made by
#: ``dropout-experiments trainable-depth``): the deep-dropout paper's Fig. 7 on the 8×8 digits, scaled to what one
#: CPU core does in about an hour (the reproducing appendix states the scale).
BOOK_TRAINABLE_DEPTH = {
    "depths": [10, 20, 30, 45, 60, 100],
    "sigma_w2": [0.5, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0],
    "panels": [(1.0, "sgd", "gaussian"), (0.99, "sgd", "gaussian"), (0.95, "sgd", "gaussian", 60),
               (0.9, "sgd", "gaussian", 60), (1.0, "rmsprop", "gaussian"), (1.0, "sgd", "orthogonal")],
    "seeds": [0, 1, 2],
    "lr": {"sgd": 0.005, "rmsprop": 0.0001},
    "width": 48,
    "num_steps": 400,
    "batch_size": 64,
}  # fmt: skip
#: The book's stored training-speed sweep (``results/part2/training_speed.jsonl``, ``dropout-experiments
#: training-speed``): the paper's Fig. 6 keep probabilities on the critical line.
BOOK_TRAINING_SPEED = {
    "depths": [10, 20, 40],
    "lrs": [0.001, 0.00178, 0.00316, 0.00562, 0.01, 0.0178, 0.0316, 0.0562, 0.1, 0.178, 0.316],
    "keep_probs": [1.0, 0.99, 0.98],
    "seeds": [0, 1, 2],
    "width": 48,
    "num_steps": 500,
    "eval_every": 10,
    "threshold": 0.8,
}
