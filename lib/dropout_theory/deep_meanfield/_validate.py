"""Validation of (possibly array-valued) mean-field parameters (private)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dropout_theory._checks import check_choice, check_positive_int, plain

#: Activations of part II of the book.
ACTIVATION_NAMES: tuple[str, ...] = ("linear", "relu", "tanh", "hard_tanh", "erf")


def check_activation(name: Any, arg: str = "activation") -> str:
    """Return ``name`` after checking it is one of :data:`ACTIVATION_NAMES` (``arg``: the argument's name)."""
    return check_choice(name, arg, ACTIVATION_NAMES)


def check_array(
    value: Any, name: str, low: float, high: float = np.inf, *, low_open: bool, high_open: bool = True
) -> np.ndarray:
    """Return ``value`` as a float64 array after checking every entry lies in the stated interval.

    Raises:
        ValueError: naming the argument, the offending value and the valid range.
    """
    if type(value) is float or type(value) is int:  # fast path for scalars (called inside bisections)
        v = float(value)
        if math.isfinite(v) and (v > low if low_open else v >= low) and (v < high if high_open else v <= high):
            return np.asarray(v)
    if isinstance(value, str | bytes) or value is None:
        raise TypeError(f"{name} must be a number or an array of numbers, got {type(value).__name__} {value!r}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or an array of numbers, got {type(value).__name__}") from None
    lo_ok = arr > low if low_open else arr >= low
    hi_ok = arr < high if high_open else arr <= high
    bad = ~(lo_ok & hi_ok) | ~np.isfinite(arr)
    if bad.any():
        rng = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise ValueError(f"{name} must lie in {rng}, got {plain(arr[bad].ravel()[0])!r}")
    return arr


def check_window(window: Any, name: str, length: int) -> tuple[int, int]:
    """Return ``window`` as ``(lo, hi)`` after checking it is a pair of integers with 0 <= lo <= hi < ``length``."""
    if isinstance(window, str) or not isinstance(window, tuple | list) or len(window) != 2:
        raise TypeError(f"{name} must be a pair (lo, hi) of layer indices, got {window!r}")
    lo, hi = (check_positive_int(w, name, minimum=0) for w in window)
    if not lo <= hi < length:
        raise ValueError(f"{name} must satisfy 0 <= lo <= hi < {length}, got {(lo, hi)}")
    return lo, hi


def check_windows(windows: Any, name: str, length: int) -> list[tuple[int, int]]:
    """A sequence of :func:`check_window` pairs."""
    if isinstance(windows, str) or not isinstance(windows, tuple | list):
        raise TypeError(f"{name} must be a sequence of (lo, hi) pairs, got {windows!r}")
    return [check_window(w, name, length) for w in windows]


def check_params(sigma_w2: Any, sigma_b2: Any, keep_prob: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate σ_w² > 0, σ_b² ≥ 0 and keep_prob ∈ (0, 1] (scalars or broadcastable arrays)."""
    s = check_array(sigma_w2, "sigma_w2", 0.0, low_open=True)
    b = check_array(sigma_b2, "sigma_b2", 0.0, low_open=False)
    r = check_array(keep_prob, "keep_prob", 0.0, 1.0, low_open=True, high_open=False)
    return s, b, r


def scalar_or_array(x: np.ndarray) -> float | np.ndarray:
    """A 0-d array as a Python float, anything else unchanged."""
    return float(x) if np.ndim(x) == 0 else x
