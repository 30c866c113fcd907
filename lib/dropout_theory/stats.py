"""Statistics behind every number the book claims: estimates with standard errors and log–linear fits.

* :class:`Estimate` — a value with its standard error (Monte Carlo means, differences of independent means,
  exact values with standard error 0);
* :func:`fit_power_law` — y ≈ C·x^p by least squares on (log x, log y);
* :func:`fit_exponential` — y ≈ C·e^{k x} by least squares on (x, log y), whose ``length`` 1/k is a decay length;
* :func:`squared_distance_of_mean` — an unbiased ‖E x − x₀‖² from draws (the distance of a Monte Carlo mean to a
  reference point without the noise floor of the plug-in distance);

both fits return a :class:`LogLinearFit` with the exponent, its standard error from the regression residuals,
the prefactor and r². Every slope, exponent or mean difference reported by the library comes from here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch


def _fmt(x: float, digits: int = 4) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}g}"


@dataclass(frozen=True)
class Estimate:
    """A value and its standard error.

    Attributes:
        value: the estimate (e.g. a sample mean).
        stderr: its standard error (0 for an exact computation, ``inf`` when it cannot be estimated).
        num_samples: number of samples or probes behind it (0 for an exact computation).
    """

    value: float
    stderr: float
    num_samples: int = 0

    def __float__(self) -> float:
        return self.value

    @classmethod
    def exact(cls, value: float) -> Estimate:
        """An exactly computed value (standard error 0)."""
        return cls(float(value), 0.0, 0)

    @classmethod
    def from_samples(cls, samples: torch.Tensor | np.ndarray | Sequence[float]) -> Estimate:
        """Sample mean and its standard error (sample standard deviation / √N; ``inf`` for N = 1).

        Args:
            samples: (N,) independent draws (a tensor is reduced in its own dtype, then converted).
        """
        t = samples if isinstance(samples, torch.Tensor) else torch.as_tensor(np.asarray(samples, dtype=np.float64))
        t = t.reshape(-1)
        n = t.shape[0]
        if n == 0:
            raise ValueError("samples must hold at least one value")
        mean = float(t.mean())
        se = float(t.std(correction=1)) / math.sqrt(n) if n > 1 else math.inf
        return cls(mean, se, n)

    def __sub__(self, other: Estimate) -> Estimate:
        """Difference of two INDEPENDENT estimates: standard errors add in quadrature."""
        return Estimate(
            self.value - other.value, math.hypot(self.stderr, other.stderr), min(self.num_samples, other.num_samples)
        )

    def __truediv__(self, other: Estimate) -> Estimate:
        """Ratio of two INDEPENDENT estimates, standard error by the delta method (first order in the relative
        errors: reliable when ``other`` is several standard errors away from 0).

        Raises:
            ValueError: if ``other.value`` is 0.
        """
        if other.value == 0:
            raise ValueError("cannot divide by an estimate whose value is 0")
        b = other.value
        stderr = math.hypot(self.stderr / b, self.value * other.stderr / b**2)
        return Estimate(self.value / b, stderr, min(self.num_samples, other.num_samples))

    def format(self, digits: int = 4) -> str:
        """``"value ± stderr"`` (the value to ``digits`` significant digits, the error to 2)."""
        if self.stderr == 0.0:
            return _fmt(self.value, digits)
        return f"{_fmt(self.value, digits)} ± {_fmt(self.stderr, 2)}"

    def __str__(self) -> str:
        return self.format()


@dataclass(frozen=True)
class LogLinearFit:
    """Least-squares line through (log x, log y) (a power law) or (x, log y) (an exponential).

    Attributes:
        exponent: p of y ≈ C·x^p, or k of y ≈ C·e^{k x}.
        stderr: standard error of ``exponent`` from the residuals (s²/Σ(x − x̄)², s² = RSS/(N − 2); ``nan`` for
            N = 2, where it cannot be estimated).
        prefactor: C.
        r_squared: coefficient of determination of the line (1 when y is exactly on it).
        num_points: N, the points used.
        kind: ``"power"`` or ``"exponential"``.
        num_dropped: points left out because x or y was not finite and positive (only with ``drop_invalid``).
    """

    exponent: float
    stderr: float
    prefactor: float
    r_squared: float
    num_points: int
    kind: str
    num_dropped: int = 0

    @property
    def length(self) -> float:
        """1/exponent: the e-folding length of an exponential fit (``inf`` for a flat trend; negative for decay
        when x increases)."""
        return math.inf if self.exponent == 0 else 1.0 / self.exponent

    @property
    def length_stderr(self) -> float:
        """Standard error of :attr:`length` by the delta method."""
        return math.inf if self.exponent == 0 else self.stderr / self.exponent**2

    def predict(self, x: np.ndarray | float) -> np.ndarray:
        """The fitted curve at ``x``."""
        x = np.asarray(x, dtype=np.float64)
        return self.prefactor * (x**self.exponent if self.kind == "power" else np.exp(self.exponent * x))

    def __str__(self) -> str:
        shape = f"x^{self.exponent:.4g}" if self.kind == "power" else f"exp({self.exponent:.4g} x)"
        return (
            f"y ≈ {self.prefactor:.4g}·{shape}; exponent {Estimate(self.exponent, self.stderr).format()}, "
            f"r² = {self.r_squared:.3f}, {self.num_points} points"
        )


def _line(lx: np.ndarray, ly: np.ndarray) -> tuple[float, float, float, float]:
    """Slope, its standard error, intercept and r² of the least-squares line through (lx, ly)."""
    k, c = np.polyfit(lx, ly, 1)
    resid = ly - (k * lx + c)
    rss = float((resid**2).sum())
    ss = float(((ly - ly.mean()) ** 2).sum())
    r2 = 1.0 - rss / ss if ss > 0 else 1.0
    sxx = float(((lx - lx.mean()) ** 2).sum())
    se = math.sqrt(rss / (lx.size - 2) / sxx) if lx.size > 2 else math.nan
    return float(k), se, float(c), r2


def _array(value, name: str) -> np.ndarray:
    if isinstance(value, str | bytes) or value is None:
        raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__} {value!r}")
    if hasattr(value, "device") and getattr(value.device, "type", "cpu") == "meta":
        raise ValueError(f"{name} is on the meta device (it holds no values)")
    if hasattr(value, "detach"):
        value = value.detach().cpu()
    try:
        return np.asarray(value, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__}") from None


def _points(x, y, positive_x: bool, drop_invalid: bool) -> tuple[np.ndarray, np.ndarray, int]:
    x = _array(x, "x")
    y = _array(y, "y")
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}")
    ok = np.isfinite(x) & np.isfinite(y) & (y > 0)
    if positive_x:
        ok &= x > 0
    need = "finite positive x and y" if positive_x else "finite x and finite positive y"
    if not drop_invalid and not ok.all():
        raise ValueError(f"fit needs {need}; got {int((~ok).sum())} other point(s) (drop_invalid=True skips them)")
    if ok.sum() < 2 or np.unique(x[ok]).size < 2:
        raise ValueError(f"fit needs at least 2 points with distinct x and {need}, got {int(ok.sum())}")
    return x[ok], y[ok], int((~ok).sum())


def fit_power_law(x, y, *, drop_invalid: bool = False) -> LogLinearFit:
    """Fit y ≈ C·x^p by least squares on (log x, log y).

    Args:
        x: (N,) abscissae.
        y: (N,) values.
        drop_invalid: skip points whose x or y is not finite and positive (counted in ``num_dropped``) instead of
            raising.

    Returns:
        :class:`LogLinearFit` with ``kind="power"``.

    Raises:
        ValueError: mismatched lengths, fewer than 2 usable points, or (without ``drop_invalid``) an invalid point.
    """
    xs, ys, dropped = _points(x, y, True, drop_invalid)
    k, se, c, r2 = _line(np.log(xs), np.log(ys))
    return LogLinearFit(k, se, math.exp(c), r2, xs.size, "power", dropped)


def fit_exponential(x, y, *, drop_invalid: bool = False) -> LogLinearFit:
    """Fit y ≈ C·e^{k x} by least squares on (x, log y); ``.length`` = 1/k is the depth (or time) scale.

    A quantity decaying as x decreases (a gradient shrinking away from the output, fitted against the layer) has
    k > 0; pass x = distance from the output to fit a decay forwards.

    Args:
        x: (N,) abscissae (e.g. layer indices).
        y: (N,) positive values.
        drop_invalid: skip points with non-finite x or non-finite / non-positive y instead of raising.

    Returns:
        :class:`LogLinearFit` with ``kind="exponential"``.
    """
    xs, ys, dropped = _points(x, y, False, drop_invalid)
    k, se, c, r2 = _line(xs, np.log(ys))
    return LogLinearFit(k, se, math.exp(c), r2, xs.size, "exponential", dropped)


def squared_distance_of_mean(samples, reference) -> Estimate:
    """Unbiased estimate of ‖E x − reference‖₂² from independent draws x_1, …, x_R, with its standard error.

    The plug-in ‖x̄ − reference‖² is biased upwards by Tr Cov(x)/R, the Monte Carlo noise of x̄, so a small
    distance looks larger the fewer draws there are. The U-statistic (‖Σ_r d_r‖² − Σ_r ‖d_r‖²)/(R(R − 1)),
    d_r = x_r − reference (the mean of d_r·d_s over pairs r ≠ s), has expectation exactly ‖E x − reference‖²; its
    standard error is the jackknife's over the R leave-one-out statistics (conservative: for Gaussian draws it
    overstates the true spread by up to a factor √2, when the distance is below the noise). The estimate can be
    negative when the distance is below the noise: a value within about two standard errors of zero is not
    resolved.

    Args:
        samples: (R, D) independent draws, R >= 3.
        reference: (D,) the point to measure from.

    Returns:
        :class:`Estimate` with ``num_samples`` = R.
    """
    x = (
        torch.as_tensor(_array(samples, "samples")).reshape(np.shape(samples))
        if not isinstance(samples, torch.Tensor)
        else samples
    )
    if isinstance(x, torch.Tensor) and x.device.type == "meta":
        raise ValueError("samples is on the meta device (it holds no values)")
    x = x.detach().to("cpu", torch.float64)
    ref = torch.as_tensor(_array(reference, "reference"))
    if not bool(torch.isfinite(x).all()) or not bool(torch.isfinite(ref).all()):
        raise ValueError("samples and reference must contain only finite values (found nan or inf)")
    if x.dim() != 2 or x.shape[1] != ref.numel() or x.shape[0] < 3:
        raise ValueError(
            f"samples must be (R, D) with R >= 3 and D = {ref.numel()} (the reference's size), got {tuple(x.shape)}"
        )
    R = x.shape[0]
    d = x - ref
    total = d.sum(0)
    sq = (d * d).sum(1)  # ‖d_r‖²
    u = (float(total @ total) - float(sq.sum())) / (R * (R - 1))
    rest = total[None, :] - d  # Σ_{s≠r} d_s
    loo = ((rest * rest).sum(1) - (sq.sum() - sq)) / ((R - 1) * (R - 2))
    se = math.sqrt((R - 1) / R * float(((loo - loo.mean()) ** 2).sum()))
    return Estimate(u, se, R)
