"""Input validation and divergence reporting shared by every subpackage (the core; not for chapters).

Every public function of :mod:`dropout_theory` validates its arguments with these helpers, so that bad
input raises a :class:`ValueError` naming the argument, the value received and the valid range, and a
diverging simulation raises :class:`DivergenceError` naming the step and the quantity that blew up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch


@dataclass(frozen=True)
class Divergence:
    """The one record of a run that blew up, used by every simulator, ensemble and experiment job.

    Attributes:
        step: index of the first step (or layer, see ``unit``) at which ``quantity`` was non-finite or above its
            threshold.
        quantity: name of the quantity (e.g. ``"train loss"``, ``"input weights W"``, ``"q"``).
        value: the offending value (a float, possibly ``nan`` or ``inf``).
        unit: what ``step`` counts: ``"step"`` (training or integration steps) or ``"layer"`` (deep maps).
    """

    step: int
    quantity: str
    value: float
    unit: str = "step"

    def as_dict(self) -> dict[str, Any]:
        """JSON-serializable form (a non-finite value becomes its string, e.g. ``"inf"``)."""
        value = self.value if math.isfinite(self.value) else str(self.value)
        return {"step": self.step, "quantity": self.quantity, "value": value, "unit": self.unit}

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> Divergence:
        """Inverse of :meth:`as_dict`."""
        return cls(int(record["step"]), record["quantity"], float(record["value"]), record.get("unit", "step"))

    def __str__(self) -> str:
        return f"diverged at {self.unit} {self.step}: {self.quantity} = {self.value!r}"


class DivergenceError(RuntimeError):
    """A simulation produced a non-finite or exploding quantity.

    Attributes:
        step: index of the step (or layer) at which the quantity was first non-finite or above the threshold.
        quantity: name of the quantity (e.g. ``"loss"``, ``"parameters"``).
        value: the offending value (a float, possibly ``nan`` or ``inf``).
        unit: ``"step"`` or ``"layer"`` (what ``step`` counts).
        record: the same as a :class:`Divergence`.
        partial: what the run had measured before it diverged (e.g. an alignment curve), or ``None``.
    """

    def __init__(self, step: int, quantity: str, value: float, *, unit: str = "step", partial: Any = None) -> None:
        self.record = Divergence(int(step), quantity, float(value), check_choice(unit, "unit", ("step", "layer")))
        self.step = self.record.step
        self.quantity = quantity
        self.value = self.record.value
        self.unit = unit
        self.partial = partial
        hint = "" if unit == "layer" else "; try a smaller learning rate or a larger keep_prob"
        super().__init__(f"run {self.record}{hint}")

    def with_partial(self, partial: Any, *, offset: int = 0) -> DivergenceError:
        """The same divergence ``offset`` steps later, carrying ``partial`` (for runs made of segments)."""
        return DivergenceError(self.step + offset, self.quantity, self.value, unit=self.unit, partial=partial)


def check_keep_prob(keep_prob: Any, name: str = "keep_prob") -> float:
    """Return ``keep_prob`` as a float after checking it lies in (0, 1]."""
    try:
        value = float(keep_prob)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in (0, 1], got {keep_prob!r}") from None
    if not (0.0 < value <= 1.0) or math.isnan(value):
        raise ValueError(f"{name} must lie in (0, 1] (it is the probability of KEEPING a unit), got {value!r}")
    return value


def check_positive(value: Any, name: str, allow_zero: bool = False) -> float:
    """Return ``value`` as a finite float after checking it is > 0 (or >= 0 with ``allow_zero``)."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number, got {value!r}") from None
    ok = out >= 0.0 if allow_zero else out > 0.0
    if not ok or not math.isfinite(out):
        rng = "[0, inf)" if allow_zero else "(0, inf)"
        raise ValueError(f"{name} must be finite and lie in {rng}, got {out!r}")
    return out


def check_positive_int(value: Any, name: str, minimum: int = 1) -> int:
    """Return ``value`` as an int after checking it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if int(value) < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {int(value)}")
    return int(value)


def check_choice(value: Any, name: str, choices: tuple[str, ...] | list[str]) -> str:
    """Return ``value`` after checking it is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


def as_tensor(
    value: Any,
    name: str,
    *,
    ndim: int | tuple[int, ...] | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Convert a numpy array, list or tensor to a finite floating tensor.

    Args:
        value: the array-like input.
        name: argument name used in error messages.
        ndim: required number of dimensions (or tuple of allowed ones); ``None`` accepts any.
        dtype: target dtype; default keeps a floating tensor's dtype and uses float64 otherwise.
        device: target device; default keeps the tensor's device (CPU for non-tensors).

    Returns:
        The tensor (a view of the input when no conversion was needed).

    Raises:
        ValueError: wrong number of dimensions, or non-finite entries.
    """
    if isinstance(value, torch.Tensor):
        t = value
        if dtype is None and not t.is_floating_point():
            t = t.to(torch.float64)
    else:
        t = torch.as_tensor(np.asarray(value), dtype=dtype or torch.float64)
    if dtype is not None and t.dtype != dtype:
        t = t.to(dtype)
    if device is not None:
        t = t.to(device)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if t.dim() not in allowed:
            raise ValueError(
                f"{name} must have {' or '.join(map(str, allowed))} dimensions, got shape {tuple(t.shape)}"
            )
    if t.is_floating_point() and not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must contain only finite values (found nan or inf)")
    return t


def check_finite_step(
    step: int, quantity: str, value: torch.Tensor | float, limit: float = 1e12, *, unit: str = "step"
) -> None:
    """Raise :class:`DivergenceError` if ``value`` is non-finite or its magnitude exceeds ``limit``."""
    v = value.detach().abs().max().item() if isinstance(value, torch.Tensor) else abs(float(value))
    if not math.isfinite(v) or v > limit:
        raise DivergenceError(step, quantity, v, unit=unit)
