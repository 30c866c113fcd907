"""Finite-width dropout measured against the limits of the phase map (the numerical phase diagram).

For a point (a, b) and a width n, dropout runs with τ = τ₀ n^(−a) and q = min(1, q₀ n^(−b)) on a small
teacher–student problem (d = 5, 30 points, a 4-neuron teacher, data seed 0) up to mean-field time t:

* :func:`phase_point` runs coupled variants from one initialization with one mask stream and reports the RMS
  particle distance from dropout to ``"no_dropout"`` (→ Wasserstein gradient flow as τ → 0), ``"random_metric"``
  (the same masks applied to the gradients only: the jump limits) and ``"penalized"`` (→ penalized flow), and the
  sliced Wasserstein distance from the dropout cloud to a simulated cloud of the PREDICTED limit
  (:func:`simulate_limit`, same initial particles, its own random stream). The distance to the right limit should
  shrink as n grows; the others should not.
* :func:`phase_diagram` measures a grid of points and widths (:class:`PhaseDiagram`, with the log–log slopes of
  every distance against n, :meth:`PhaseDiagram.slopes`).
* :func:`compare_with_limits` puts one dropout cloud next to clouds of its predicted limit and of the gradient
  flow, with the fraction of particles that never moved (:func:`unmoved_fraction`, the signature of the clocks).

Random streams: with ``generator`` an int seed s, the initial particles use seed s, the masks s + 1 and the limit
s + 2 (:func:`dropout_theory.rng.torch_generator`); the sliced-Wasserstein projections always use seed 3.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import torch

from dropout_theory._checks import (
    Divergence,
    DivergenceError,
    check_iterations,
    check_keep_prob,
    check_positive,
    check_positive_int,
)
from dropout_theory.phase.classify import as_exponent, classify_phase, limit_parameters
from dropout_theory.phase.distances import sliced_wasserstein
from dropout_theory.phase.limits import (
    LimitPath,
    bernoulli_jump_process,
    critical_corner_process,
    penalized_flow,
    poisson_jump_process,
    wasserstein_gradient_flow,
)
from dropout_theory.phase.particles import VARIANT_NAMES, pack_particles, simulate_coupled
from dropout_theory.phase.teacher_student import init_student, make_teacher_student
from dropout_theory.rng import GeneratorLike, torch_generator
from dropout_theory.stats import Estimate, LogLinearFit, fit_power_law
from dropout_theory.tables import Table, TabularResult

#: Book-scale grid: one point per phase plus a degenerate one (a, b as strings: exact rationals).
BOOK_POINTS: tuple[tuple[str, str], ...] = (
    ("0", "0"),
    ("1/4", "1/4"),
    ("1", "1/4"),
    ("5/4", "1"),
    ("1", "1"),
    ("1/4", "1/2"),
)
#: Book-scale widths.
BOOK_WIDTHS: tuple[int, ...] = (20, 60, 200)
#: Variants whose coupled RMS distance to dropout is measured.
COMPARED: tuple[str, ...] = ("no_dropout", "random_metric", "penalized")

_SW_SEED = 3
_SW_PROJECTIONS = 128


def _scaling(a: Any, b: Any, width: int, tau0: float, keep0: float, t_final: float) -> tuple[float, float, int]:
    n = check_positive_int(width, "width")
    A, B = as_exponent(a, "a"), as_exponent(b, "b")
    tau0, keep0 = check_positive(tau0, "tau0"), check_keep_prob(keep0, "keep0")
    t_final = check_positive(t_final, "t_final")
    tau = tau0 * n ** (-float(A))
    q = min(1.0, keep0 * n ** (-float(B)))
    steps = check_iterations(math.ceil(t_final / tau - 1e-9), f"t_final/tau (the number of steps at width = {n})")
    return tau, q, steps


def _check_points(points: Any) -> list[tuple[Any, Any]]:
    """The (a, b) exponent pairs of a sweep, each checked (as :func:`classify_phase` reads them)."""
    if isinstance(points, str) or not isinstance(points, Sequence) or not points:
        raise TypeError(f"points must be a non-empty sequence of (a, b) pairs, got {points!r}")
    for p in points:
        if isinstance(p, str) or not isinstance(p, Sequence) or len(p) != 2:
            raise ValueError(f"points must hold (a, b) pairs, got {p!r}")
        classify_phase(*p)  # checks the exponents
    return [tuple(p) for p in points]


def num_steps_at(a: Any, b: Any, width: int, *, tau0: float = 0.1, t_final: float = 1.0) -> int:
    """The number of dropout steps ceil(t/τ) of :func:`phase_point` at (a, b) and width n (τ = τ₀ n^(−a))."""
    return _scaling(a, b, width, tau0, 1.0, t_final)[2]


def _problem(d: int, num_points: int, *, dtype: torch.dtype = torch.float64, device=None):
    return make_teacher_student(
        d=d, num_points=num_points, teacher_width=4, setup="book", generator=0, dtype=dtype, device=device
    )


_DTYPES = {"float64": torch.float64, "float32": torch.float32}


def predicted_slope(a: Any, b: Any) -> tuple[str, Fraction] | None:
    """The proxy of the predicted limit and the predicted log–log slope of the coupled RMS distance to it.

    Over the horizon, each part of the update that the proxy lacks contributes a squared distance of order n^e with
    (from :func:`dropout_theory.symbolic.phase.horizon_exponents`) e = b − a for the random metric, 2b − a − 1 for the
    propagation noise, 2(b − 1) for the self term's mean (a drift, so squared) and 3b − a − 2 for its fluctuation.
    The proxies are ``"no_dropout"`` (gradient flow: lacks every part), ``"random_metric"`` (Poisson and Bernoulli
    jumps: has the random metric) and ``"penalized"`` (penalized flow: has the self term's mean). The slope of the RMS
    distance is half the largest exponent of the missing parts.

    Args:
        a, b: the exponents (as :func:`classify_phase` reads them).

    Returns:
        ``(proxy, slope)``, or ``None`` for the critical corner (no coupled proxy) and the degenerate phase.
    """
    A, B = as_exponent(a, "a"), as_exponent(b, "b")
    phase = classify_phase(A, B)
    proxy = {"gradient_flow": "no_dropout", "poisson_jump": "random_metric", "bernoulli_jump": "random_metric",
             "penalized_flow": "penalized"}.get(phase)  # fmt: skip
    if proxy is None:
        return None
    parts = {"random_metric": B - A, "propagation_noise": 2 * B - A - 1, "self_mean": 2 * (B - 1),
             "self_variance": 3 * B - A - 2}  # fmt: skip
    has = {"no_dropout": (), "random_metric": ("random_metric",), "penalized": ("self_mean",)}[proxy]
    return proxy, max(e for k, e in parts.items() if k not in has) / 2


def simulate_limit(
    a0,
    W0,
    X,
    y,
    *,
    a: Any,
    b: Any,
    tau0: float,
    keep0: float,
    t_final: float,
    num_steps: int,
    generator: GeneratorLike = None,
    activation: str = "relu",
    phase: str | None = None,
) -> LimitPath | None:
    """Simulate the limit predicted for (a, b) (or the phase named by ``phase``) from particles (a0, W0).

    Args:
        a0: (n,) initial output weights; W0: (n, d) initial input weights; X: (N, d) inputs; y: (N,) targets.
        a, b: the exponents (numbers or strings like ``"5/4"``).
        tau0, keep0: τ₀ and q₀ (the limit's constants follow from :func:`limit_parameters`).
        t_final: mean-field horizon.
        num_steps: steps of the discrete Bernoulli-clock limit (τ₀ per step).
        generator: torch generator or int seed of the jump processes' clocks.
        activation: activation name.
        phase: simulate this phase's limit instead of the predicted one (e.g. ``"gradient_flow"``).

    Returns:
        A :class:`~dropout_theory.phase.LimitPath`, or ``None`` for the degenerate phase.
    """
    params = limit_parameters(a, b, tau0=tau0, keep0=keep0)
    num_steps = check_iterations(num_steps, "num_steps")
    phase = phase or params["phase"]
    kw = {"activation": activation}
    g = torch_generator(generator)
    if phase == "gradient_flow":
        return wasserstein_gradient_flow(a0, W0, X, y, t_final=t_final, dt=0.02, num_records=2, **kw)
    if phase == "penalized_flow":
        return penalized_flow(a0, W0, X, y, penalty=params["penalty"], t_final=t_final, dt=0.02, num_records=2, **kw)
    if phase == "poisson_jump":
        return poisson_jump_process(
            a0, W0, X, y, jump_size=params["jump_size"], t_final=t_final, num_records=2, generator=g, **kw
        )
    if phase == "bernoulli_jump":
        return bernoulli_jump_process(a0, W0, X, y, tau=tau0, keep_prob=keep0, num_steps=num_steps, generator=g, **kw)
    if phase == "critical":
        return critical_corner_process(
            a0,
            W0,
            X,
            y,
            jump_size=params["jump_size"],
            mean_kept=params["mean_kept"],
            t_final=t_final,
            num_records=2,
            generator=g,
            **kw,
        )
    return None


def _sw(P: torch.Tensor, Q: torch.Tensor) -> float:
    g = torch.Generator(device=P.device).manual_seed(_SW_SEED)
    return float(sliced_wasserstein(P, Q, num_projections=_SW_PROJECTIONS, generator=g))


@dataclass(frozen=True)
class PhasePoint:
    """One finite-width measurement of :func:`phase_point` (JSON-serializable through ``dataclasses.asdict``).

    Attributes:
        a, b: the exponents as given.
        width: n.
        phase: the predicted phase (:func:`dropout_theory.phase.classify_phase`).
        tau: master learning rate τ.
        keep_prob: keep rate q.
        steps: number of steps ceil(t/τ).
        rms: variant → RMS distance of dropout to it at time t, mean over repeats (``None`` after a divergence).
        rms_sd: variant → standard deviation of that distance over repeats.
        loss: final dropout loss, mean over repeats.
        sw_to_limit: sliced W₂ from the dropout cloud to the predicted limit's cloud (``None`` if degenerate).
        sw_to_gradient_flow: sliced W₂ to the gradient flow's cloud.
        divergence: the divergence record when the run blew up, else ``None``.
    """

    a: str
    b: str
    width: int
    phase: str
    tau: float
    keep_prob: float
    steps: int
    rms: dict[str, float | None]
    rms_sd: dict[str, float | None]
    loss: float | None
    sw_to_limit: float | None
    sw_to_gradient_flow: float | None
    divergence: Divergence | None = None


def phase_point(
    a: Any,
    b: Any,
    width: int,
    *,
    tau0: float = 0.1,
    keep0: float = 0.5,
    t_final: float = 1.0,
    repeats: int = 2,
    generator: GeneratorLike = 0,
    d: int = 5,
    num_points: int = 30,
    activation: str = "relu",
    dtype: str | torch.dtype = "float64",
    device: torch.device | str | None = None,
) -> PhasePoint:
    """One finite-n measurement at (a, b) (see the module docstring).

    Args:
        a: learning-rate exponent (string ``"p/q"`` or number), τ = τ₀ n^(−a).
        b: keep-rate exponent, q = min(1, q₀ n^(−b)).
        width: n.
        tau0: τ₀.
        keep0: q₀.
        t_final: horizon in mean-field time; the run has ceil(t/τ) steps.
        repeats: independent initializations/mask streams, batched.
        generator: int seed s (particles s, masks s + 1, limit s + 2) or a torch generator.
        d: input dimension of the small teacher–student problem.
        num_points: number of data points.
        activation: activation name.
        dtype: ``"float64"`` or ``"float32"`` (or the torch dtype) of the particles.
        device: where the particles are simulated (with an int ``generator``, the masks and clocks are drawn by
            generators on that device).

    Returns:
        A :class:`PhasePoint`; a run that diverges is reported through ``divergence`` (with ``None`` distances)
        instead of raising, so a sweep over degenerate points completes.
    """
    tau, q, steps = _scaling(a, b, width, tau0, keep0, t_final)
    dt = _DTYPES[dtype] if isinstance(dtype, str) else dtype
    data = _problem(d, num_points, dtype=dt, device=device)
    a0, W0 = init_student(int(width), d=d, repeats=repeats, setup="book", generator=torch_generator(generator),
                          dtype=dt, device=device)  # fmt: skip
    phase = classify_phase(a, b)
    head = {"a": str(a), "b": str(b), "width": int(width), "phase": phase, "tau": tau, "keep_prob": q, "steps": steps}
    try:
        run = simulate_coupled(
            a0,
            W0,
            data.X,
            data.y,
            tau=tau,
            keep_prob=q,
            num_steps=steps,
            variants=("dropout", *COMPARED),
            generator=torch_generator(generator, offset=1, device=device),
            activation=activation,
            record_every=max(1, steps // 20),
        )
    except DivergenceError as err:
        none = dict.fromkeys(COMPARED)
        return PhasePoint(**head, rms=none, rms_sd=dict(none), loss=None, sw_to_limit=None,
                          sw_to_gradient_flow=None, divergence=err.record)  # fmt: skip
    final = run.rms_to_reference[:, :, -1]
    ours = pack_particles(run.a[0, 0], run.W[0, 0])
    sw = {}
    for label, force in (("limit", None), ("gradient flow", "gradient_flow")):
        lim = simulate_limit(
            a0[0],
            W0[0],
            data.X,
            data.y,
            a=a,
            b=b,
            tau0=tau0,
            keep0=keep0,
            t_final=steps * run.tau,
            num_steps=steps,
            generator=torch_generator(generator, offset=2, device=device),
            activation=activation,
            phase=force,
        )
        sw[label] = None if lim is None else _sw(ours, pack_particles(lim.a[-1], lim.W[-1]))
    return PhasePoint(
        **head,
        rms={v: float(final[run.index(v)].mean()) for v in COMPARED},
        rms_sd={v: float(final[run.index(v)].std()) if repeats > 1 else 0.0 for v in COMPARED},
        loss=float(run.loss[0, :, -1].mean()),
        sw_to_limit=sw["limit"],
        sw_to_gradient_flow=sw["gradient flow"],
    )


@dataclass(frozen=True)
class PhaseDiagram(TabularResult):
    """Measurements of :func:`phase_point` over grid points and widths.

    Attributes:
        points: one :class:`PhasePoint` per (point, width), grouped by point, widths increasing.
    """

    points: tuple[PhasePoint, ...]

    def slopes(self) -> dict[tuple[str, str], dict[str, LogLinearFit | None]]:
        """Power-law fits of each distance against the width n, per grid point.

        Returns:
            ``{(a, b): {"no_dropout": fit, "random_metric": fit, "penalized": fit, "sw_to_limit": fit}}`` with
            :class:`dropout_theory.stats.LogLinearFit` (its ``exponent`` is the slope of log distance against
            log n), or ``None`` where a distance is missing at some width or there is a single width.
        """
        out: dict[tuple[str, str], dict[str, LogLinearFit | None]] = {}
        for key in dict.fromkeys((p.a, p.b) for p in self.points):
            ps = sorted((p for p in self.points if (p.a, p.b) == key), key=lambda p: p.width)
            fits: dict[str, LogLinearFit | None] = {}
            for name in (*COMPARED, "sw_to_limit"):
                vals = [p.rms[name] if name in COMPARED else p.sw_to_limit for p in ps]
                ok = len(vals) > 1 and all(v is not None and v > 0 for v in vals)
                fits[name] = fit_power_law([p.width for p in ps], vals) if ok else None
            out[key] = fits
        return out

    def phase_of(self, a: str, b: str) -> str:
        """The phase of grid point (a, b)."""
        return next(p.phase for p in self.points if (p.a, p.b) == (a, b))

    def slopes_table(self) -> Table:
        """The slopes of :meth:`slopes` as a table (``-`` where missing)."""
        rows = []
        for (a, b), fits in self.slopes().items():
            slopes = (None if f is None else f.exponent for f in fits.values())
            rows.append((f"({a}, {b})", self.phase_of(a, b), *slopes))
        return Table.build(
            ("(a, b)", "phase", "slope: no dropout", "random metric", "penalty", "SW to limit"),
            rows,
            formats=("", "", "+.2f", "+.2f", "+.2f", "+.2f"),
        )

    def prediction_table(self) -> Table:
        """Measured slope (± its standard error from the fit) of the coupled RMS distance to the proxy of the
        predicted limit, next to the predicted slope (:func:`predicted_slope`), per grid point with a proxy."""
        rows = []
        slopes = self.slopes()
        for (a, b), fits in slopes.items():
            pred = predicted_slope(a, b)
            if pred is None:
                continue
            proxy, slope = pred
            fit = fits[proxy]
            widths = sorted(p.width for p in self.points if (p.a, p.b) == (a, b))
            measured = None if fit is None else Estimate(fit.exponent, fit.stderr)
            rows.append((f"({a}, {b})", self.phase_of(a, b), VARIANT_NAMES[proxy], float(slope), measured,
                         f"{widths[0]}…{widths[-1]} ({len(widths)})"))  # fmt: skip
        return Table.build(
            ("(a, b)", "phase", "proxy", "predicted slope", "measured slope", "widths (number)"),
            rows,
            formats=("", "", "", "+.3f", "", ""),
            title="log–log slope of the RMS distance to the proxy of the predicted limit against the width",
        )

    def local_slopes(self, a: str, b: str, *, repeats: int) -> Table:
        """Slope of log RMS distance against log n between consecutive widths of grid point (a, b), per variant,
        each ± its standard error from the spread over repeats, to 2 significant digits (delta method: the standard
        error of the log of a mean of ``repeats`` runs is sd / (mean·√repeats); consecutive widths are independent
        runs). A fitted slope over all widths hides a slope that drifts with the width; this shows it.

        Args:
            a, b: the grid point, as stored (e.g. ``"1"``, ``"1/4"``).
            repeats: number of repeats behind each mean (the sweep's ``--repeats``).

        Raises:
            ValueError: if the point has fewer than two widths or ``repeats`` < 2.
        """
        repeats = check_positive_int(repeats, "repeats")
        if repeats < 2:
            raise ValueError(f"repeats must be at least 2 for a standard error, got {repeats}")
        ps = sorted((p for p in self.points if (p.a, p.b) == (a, b)), key=lambda p: p.width)
        if len(ps) < 2:
            raise ValueError(f"grid point ({a}, {b}) has {len(ps)} width(s); need at least two")
        rows = []
        for p, q in itertools.pairwise(ps):
            span = math.log(q.width / p.width)
            cells: list[Any] = []
            for v in COMPARED:
                r1, r2, s1, s2 = p.rms[v], q.rms[v], p.rms_sd[v], q.rms_sd[v]
                if None in (r1, r2, s1, s2) or min(r1, r2) <= 0:
                    cells.append(None)
                    continue
                se = math.hypot(s1 / r1, s2 / r2) / math.sqrt(repeats) / span
                cells.append(Estimate(math.log(r2 / r1) / span, se, repeats).format(2))
            rows.append((f"{p.width} → {q.width}", *cells))
        return Table.build(
            ("widths", *(f"slope to {VARIANT_NAMES[v]}" for v in COMPARED)),
            rows,
            title=f"local log–log slopes at ({a}, {b}), {self.phase_of(a, b)}",
        )

    def table(self) -> Table:
        rows = [
            (f"({p.a}, {p.b})", p.phase, p.width, p.steps, *(p.rms[v] for v in COMPARED), p.sw_to_limit)
            for p in self.points
        ]
        return Table.build(
            ("(a, b)", "phase", "n", "steps", "RMS to: no dropout", "random metric", "penalty", "SW to limit"),
            rows,
            formats=("", "", "d", "d", ".3f", ".3f", ".3f", ".3f"),
        )


def phase_diagram(
    points: Sequence[tuple[str, str]] = BOOK_POINTS, widths: Sequence[int] = BOOK_WIDTHS, **kwargs: Any
) -> PhaseDiagram:
    """:func:`phase_point` at every (a, b) × width, in this process (the experiments command runs the same jobs
    through an Executor).

    Args:
        points: grid points (a, b).
        widths: widths n.
        **kwargs: keyword arguments of :func:`phase_point`.
    """
    points = _check_points(points)
    if isinstance(widths, str) or not isinstance(widths, Sequence) or not widths:
        raise TypeError(f"widths must be a non-empty sequence of integers, got {widths!r}")
    widths = [check_positive_int(n, "widths") for n in widths]
    return PhaseDiagram(tuple(phase_point(a, b, n, **kwargs) for a, b in points for n in widths))


def unmoved_fraction(a: Any, b: Any, *, tau0: float, keep0: float, t: float) -> float:
    """Fraction of particles of the LIMIT that have not jumped by time t: the signature of the clocks.

    Flows move every particle (0); Poisson clocks of rate 1/c leave e^(−t/c) unmoved (also at the critical
    corner); Bernoulli clocks leave (1 − q)^(t/τ); NaN for the degenerate phase.
    """
    p = limit_parameters(a, b, tau0=tau0, keep0=keep0)
    t = check_positive(t, "t", allow_zero=True)
    if p["phase"] in ("poisson_jump", "critical"):
        return math.exp(-t / p["jump_size"])
    if p["phase"] == "bernoulli_jump":
        return (1.0 - keep0) ** round(t / tau0)
    if p["phase"] == "degenerate":
        return float("nan")
    return 0.0


@dataclass(frozen=True)
class LimitComparison:
    """A dropout cloud next to clouds of its predicted limit and of the gradient flow, from the same particles.

    Attributes:
        a, b: the exponents.
        width: n.
        phase: the predicted phase.
        tau: τ; keep_prob: q; steps: number of dropout steps.
        clouds: ``"dropout"``, ``"limit"`` (absent when degenerate), ``"gradient flow"`` → (n, 1 + d) particles.
        loss: final loss of each cloud.
        sw_to_limit: sliced W₂ from dropout to the limit's cloud (``None`` if degenerate).
        sw_to_gradient_flow: sliced W₂ from dropout to the gradient flow's cloud.
        unmoved: cloud → fraction of particles still at their initial position.
        unmoved_theory: the limit's value (:func:`unmoved_fraction`).
    """

    a: str
    b: str
    width: int
    phase: str
    tau: float
    keep_prob: float
    steps: int
    clouds: dict[str, torch.Tensor]
    loss: dict[str, float]
    sw_to_limit: float | None
    sw_to_gradient_flow: float
    unmoved: dict[str, float]
    unmoved_theory: float


def compare_with_limit(
    a: Any,
    b: Any,
    width: int,
    *,
    tau0: float = 0.1,
    keep0: float = 0.5,
    t_final: float = 1.0,
    generator: GeneratorLike = 0,
    d: int = 5,
    num_points: int = 30,
    activation: str = "relu",
) -> LimitComparison:
    """Finite-n dropout (one repeat) next to its predicted limit and the gradient flow, from the same particles.

    Arguments as in :func:`phase_point`.
    """
    tau, q, steps = _scaling(a, b, width, tau0, keep0, t_final)
    data = _problem(d, num_points)
    a0, W0 = init_student(int(width), d=d, setup="book", generator=torch_generator(generator))
    run = simulate_coupled(
        a0,
        W0,
        data.X,
        data.y,
        tau=tau,
        keep_prob=q,
        num_steps=steps,
        variants=("dropout",),
        generator=torch_generator(generator, offset=1),
        activation=activation,
        record_every=steps,
    )
    ours = pack_particles(run.a[0, 0], run.W[0, 0])
    start = pack_particles(a0, W0)
    clouds, losses = {"dropout": ours}, {"dropout": float(run.loss[0, 0, -1])}
    for label, force in (("limit", None), ("gradient flow", "gradient_flow")):
        lim = simulate_limit(
            a0,
            W0,
            data.X,
            data.y,
            a=a,
            b=b,
            tau0=tau0,
            keep0=keep0,
            t_final=steps * tau,
            num_steps=steps,
            generator=torch_generator(generator, offset=2),
            activation=activation,
            phase=force,
        )
        if lim is None:
            continue
        clouds[label] = pack_particles(lim.a[-1], lim.W[-1])
        losses[label] = float(lim.loss[-1])
    sw = {k: _sw(ours, v) for k, v in clouds.items() if k != "dropout"}
    unmoved = {k: float((v == start).all(-1).to(torch.float64).mean()) for k, v in clouds.items()}
    return LimitComparison(
        a=str(a),
        b=str(b),
        width=int(width),
        phase=classify_phase(a, b),
        tau=tau,
        keep_prob=q,
        steps=steps,
        clouds=clouds,
        loss=losses,
        sw_to_limit=sw.get("limit"),
        sw_to_gradient_flow=sw["gradient flow"],
        unmoved=unmoved,
        unmoved_theory=unmoved_fraction(a, b, tau0=tau0, keep0=keep0, t=steps * tau),
    )


@dataclass(frozen=True)
class LimitComparisons(TabularResult):
    """:class:`LimitComparison` for several grid points at one width (``comparisons[(a, b)]`` picks one).

    Attributes:
        rows: one comparison per point, in the order asked.
    """

    rows: tuple[LimitComparison, ...] = field(default_factory=tuple)

    def __getitem__(self, point: tuple[str, str]) -> LimitComparison:
        for r in self.rows:
            if (r.a, r.b) == tuple(map(str, point)):
                return r
        raise KeyError(f"no point {point!r}; have {[(r.a, r.b) for r in self.rows]}")

    def table(self) -> Table:
        rows = [
            (
                f"({r.a}, {r.b})",
                r.phase,
                r.sw_to_limit,
                r.sw_to_gradient_flow,
                r.unmoved["dropout"],
                r.unmoved.get("limit", float("nan")),
                r.unmoved_theory,
            )
            for r in self.rows
        ]
        return Table.build(
            ("(a, b)", "phase", "SW to limit", "SW to GF", "unmoved: dropout", "limit sim", "limit theory"),
            rows,
            formats=("", "", ".3f", ".3f", ".3f", ".3f", ".3f"),
        )


def compare_with_limits(points: Sequence[tuple[str, str]], width: int, **kwargs: Any) -> LimitComparisons:
    """:func:`compare_with_limit` for every point at one width (keyword arguments passed on)."""
    return LimitComparisons(tuple(compare_with_limit(a, b, width, **kwargs) for a, b in _check_points(points)))
