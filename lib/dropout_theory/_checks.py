"""Input validation and divergence reporting shared by every subpackage (the core; not for chapters).

Every public function of :mod:`dropout_theory` validates its arguments with these helpers, so that bad
input raises a :class:`ValueError` naming the argument, the value received and the valid range, and a
diverging simulation raises :class:`DivergenceError` naming the step and the quantity that blew up.
"""

from __future__ import annotations

import math
import os
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


def plain(value: Any) -> Any:
    """A value as it should read in a message: numpy/torch scalars become Python numbers (``-1.0``, not
    ``np.float64(-1.0)``), other objects are returned unchanged (format with ``!r``)."""
    if isinstance(value, np.generic | np.ndarray) and np.ndim(value) == 0:
        return value.item()
    if isinstance(value, torch.Tensor) and value.dim() == 0:
        return value.item()
    return value


def _number(value: Any, name: str, what: str) -> float:
    """``value`` as a float; a string, ``None`` or any non-number is a ``TypeError`` naming the argument."""
    if isinstance(value, str | bytes | bool) or value is None:
        raise TypeError(f"{name} must be {what}, got {type(value).__name__} {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__} {plain(value)!r}") from None


class ConvergenceError(RuntimeError):
    """An iterative routine reached its iteration bound before converging.

    Attributes:
        iterations: the iterations made.
        state: what the routine had reached (e.g. ``{"lo": 0.1, "hi": 0.2}``), also printed in the message.
    """

    def __init__(self, routine: str, iterations: int, state: dict[str, Any], hint: str = "") -> None:
        self.iterations = int(iterations)
        self.state = {k: plain(v) for k, v in state.items()}
        reached = ", ".join(f"{k} = {v!r}" for k, v in self.state.items())
        super().__init__(f"{routine} did not converge in {self.iterations} iterations (reached {reached}){hint}")


def check_keep_prob(keep_prob: Any, name: str = "keep_prob") -> float:
    """Return ``keep_prob`` as a float after checking it lies in (0, 1]."""
    value = _number(keep_prob, name, "a number in (0, 1]")
    if not (0.0 < value <= 1.0) or math.isnan(value):
        raise ValueError(f"{name} must lie in (0, 1] (it is the probability of KEEPING a unit), got {value!r}")
    return value


def check_positive(value: Any, name: str, allow_zero: bool = False) -> float:
    """Return ``value`` as a finite float after checking it is > 0 (or >= 0 with ``allow_zero``)."""
    rng = "[0, inf)" if allow_zero else "(0, inf)"
    out = _number(value, name, f"a number in {rng}")
    ok = out >= 0.0 if allow_zero else out > 0.0
    if not ok or not math.isfinite(out):
        raise ValueError(f"{name} must be finite and lie in {rng}, got {out!r}")
    return out


def check_finite_number(value: Any, name: str) -> float:
    """Return ``value`` as a float after checking it is a finite number (of any sign)."""
    out = _number(value, name, "a finite number")
    if not math.isfinite(out):
        raise ValueError(f"{name} must be finite, got {out!r}")
    return out


def check_positive_int(value: Any, name: str, minimum: int = 1, maximum: int | None = None) -> int:
    """Return ``value`` as an int after checking it is an integer in [``minimum``, ``maximum``]."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {type(value).__name__} {plain(value)!r}")
    if int(value) < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {int(value)}")
    if maximum is not None and int(value) > maximum:
        raise ValueError(f"{name} must be an integer <= {maximum}, got {int(value)}")
    return int(value)


#: Upper bound of iteration counts that allocate nothing per iteration (substeps, power iterations, resamples):
#: 10^9 iterations of even the cheapest step (about a microsecond) take a quarter of an hour, and the library's
#: steps cost far more; such a count is a mistake, refused instead of running for days.
MAX_ITERATIONS = 10**9


def check_iterations(value: Any, name: str, minimum: int = 1) -> int:
    """:func:`check_positive_int` with the upper bound :data:`MAX_ITERATIONS`."""
    return check_positive_int(value, name, minimum, maximum=MAX_ITERATIONS)


#: Upper bound of the sizes of SymPy derivations (neurons, layers, moment orders): their expressions grow
#: exponentially with the size (2^m mask terms for m neurons), and the book's derivations use at most 6.
MAX_SYMBOLIC_SIZE = 12


def check_symbolic_size(value: Any, name: str, minimum: int = 1, maximum: int = MAX_SYMBOLIC_SIZE) -> int:
    """:func:`check_positive_int` with the bound of symbolic derivations, :data:`MAX_SYMBOLIC_SIZE`."""
    return check_positive_int(value, name, minimum, maximum=maximum)


def check_sympy(value: Any, name: str) -> Any:
    """Return ``value`` after checking it is a SymPy expression (a ``TypeError`` naming the argument otherwise)."""
    import sympy as sp

    if not isinstance(value, sp.Basic):
        raise TypeError(f"{name} must be a SymPy expression, got {type(value).__name__} {plain(value)!r}")
    return value


def check_choice(value: Any, name: str, choices: tuple[str, ...] | list[str]) -> str:
    """Return ``value`` after checking it is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {plain(value)!r}")
    return value


def memory_bytes() -> int:
    """Memory this process may allocate: the machine's available memory (``MemAvailable`` on Linux, else its
    physical memory), capped by the address-space limit when one is set."""
    limit = 0
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    limit = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    if not limit:
        try:
            limit = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            limit = 1 << 40
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY:
            limit = min(limit, soft)
    except (ImportError, OSError):
        pass
    return limit


def _human(num_bytes: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if num_bytes < 1024 or unit == "PiB":
            return f"{num_bytes:.0f} {unit}" if unit == "bytes" else f"{num_bytes:.1f} {unit}"
        num_bytes /= 1024
    raise AssertionError  # unreachable


#: Allocations up to this size are accepted without asking the system how much memory is free.
_ALWAYS_FITS = 64 * 2**20


def check_allocation(num_elements: float, what: str, *, itemsize: int = 8, names: str) -> None:
    """Refuse a computation whose main allocation would not fit in memory, before it starts.

    Args:
        num_elements: number of array elements the computation would hold at once (a float: may be astronomical).
        what: the array, e.g. ``"the (num_samples, D) result"``.
        itemsize: bytes per element.
        names: the arguments that set the size, with their values (``"num_samples = 10^12, D = 9"``).

    Raises:
        ValueError: naming the arguments, the size needed and the memory available.
    """
    need = float(num_elements) * itemsize
    if need <= _ALWAYS_FITS:  # no system query for everyday sizes (this check runs at every entry)
        return
    have = memory_bytes()
    if need > have:
        raise ValueError(f"{names}: {what} would need {_human(need)}, more than the {_human(have)} of memory available")


def _tensor_device(value: Any) -> str:
    return str(value.device) if isinstance(value, torch.Tensor) else "cpu"


def as_tensor(
    value: Any,
    name: str,
    *,
    ndim: int | tuple[int, ...] | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    like: str | None = None,
) -> torch.Tensor:
    """Convert a numpy array, list or tensor to a finite floating tensor.

    Args:
        value: the array-like input.
        name: argument name used in error messages.
        ndim: required number of dimensions (or tuple of allowed ones); ``None`` accepts any.
        dtype: target dtype; default keeps a floating tensor's dtype and uses float64 otherwise.
        device: required device (a tensor elsewhere is refused, see ``like``); default keeps the tensor's device
            (CPU for non-tensors).
        like: name of the argument that set ``dtype`` and ``device`` (for messages), e.g. ``"W"``.

    Returns:
        The tensor (a view of the input when no conversion was needed).

    Raises:
        TypeError: not an array of numbers.
        ValueError: wrong number of dimensions, a tensor on another device (or the data-less ``meta`` device), or
            non-finite entries.
    """
    if isinstance(value, torch.Tensor):
        t = value
        if t.device.type == "meta":
            raise ValueError(f"{name} is on the meta device (it holds no values)")
        if dtype is None and not t.is_floating_point():
            t = t.to(torch.float64)
    else:
        if isinstance(value, str | bytes) or value is None:
            raise TypeError(f"{name} must be a tensor or an array of numbers, got {type(value).__name__} {value!r}")
        try:
            t = torch.as_tensor(np.asarray(value, dtype=np.float64), dtype=dtype or torch.float64)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise TypeError(f"{name} must be a tensor or an array of numbers, got {type(value).__name__}") from exc
    if t.is_complex():
        raise TypeError(f"{name} must be real, got dtype {t.dtype}")
    if dtype is not None and t.dtype != dtype:
        t = t.to(dtype)
    if device is not None and t.device != torch.device(device):
        if isinstance(value, torch.Tensor):
            ref = f" like {like}" if like else ""
            raise ValueError(f"{name} is on {t.device} but must be on {torch.device(device)}{ref}")
        t = t.to(device)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if t.dim() not in allowed:
            raise ValueError(
                f"{name} must have {' or '.join(map(str, allowed))} dimensions, got shape {tuple(t.shape)}"
            )
    if t.is_floating_point() and not _all_finite(t):
        raise ValueError(f"{name} must contain only finite values (found nan or inf)")
    return t


def traced(t: torch.Tensor) -> bool:
    """Whether ``t`` is a tensor inside a ``torch.func`` transform (``vmap``, ``grad``): its values cannot be
    inspected there (data-dependent checks are impossible), so value checks are skipped and shapes still checked."""
    is_wrapped = getattr(torch._C._functorch, "is_functorch_wrapped_tensor", None)
    return bool(is_wrapped is not None and is_wrapped(t))


def _all_finite(t: torch.Tensor) -> bool:
    """Whether every entry is finite: one reduction (the sum is finite unless an entry is NaN/inf or the sum
    overflows), and the exact elementwise test only when the sum is not finite. True for a traced tensor
    (:func:`traced`)."""
    if t.numel() == 0 or traced(t):
        return True
    t = t.detach()
    return math.isfinite(float(t.sum())) or bool(torch.isfinite(t).all())


def as_mask(mask: Any, name: str, shape: tuple[int, ...], *, like: torch.Tensor, like_name: str) -> torch.Tensor:
    """Validate dropout multipliers δ: shape ``shape``, finite, >= 0, on ``like``'s device and dtype.

    The values are not checked against {0, 1/keep_prob}: a 0/1 mask is the valid δ of keep_prob = 1 in an exact
    enumeration over all masks (weighted by zero), so it cannot be told apart from a 0/1 keep indicator.
    """
    t = as_tensor(mask, name, dtype=like.dtype, device=like.device, like=like_name)
    if tuple(t.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)} to match {like_name}, got {tuple(t.shape)}")
    if not traced(t) and bool((t < 0).any()):
        raise ValueError(f"{name} must be >= 0 (dropout multipliers δ ∈ {{0, 1/keep_prob}})")
    return t


def check_callable(fn: Any, name: str, form: str) -> Any:
    """Return ``fn`` after checking it is callable; ``form`` says how it is called (e.g. ``"matvec(V)"``)."""
    if not callable(fn):
        raise TypeError(f"{name} must be callable as {form}, got {type(fn).__name__} {plain(fn)!r}")
    return fn


def check_finite_result(value: Any, name: str, what: str) -> None:
    """Raise ``ValueError`` naming the argument ``name`` (a user function) when ``value`` holds NaN or inf."""
    if isinstance(value, float | np.floating):
        ok = math.isfinite(value)
    elif isinstance(value, torch.Tensor):
        ok = _all_finite(value)
    else:
        ok = bool(np.isfinite(np.asarray(value, dtype=np.float64)).all())
    if not ok:
        raise ValueError(f"{name} returned non-finite values ({what} is nan or inf)")


def check_shapes_match(name_a: str, a: Any, dim_a: int, name_b: str, b: Any, dim_b: int, what: str) -> None:
    """Check that ``a.shape[dim_a] == b.shape[dim_b]`` (e.g. the rows of X and y), naming both arguments.

    Raises:
        ValueError: ``"X and y must have the same number of rows: got shapes (6, 2) and (5,)"``.
    """
    sa, sb = tuple(np.shape(a)), tuple(np.shape(b))
    try:
        ok = sa[dim_a] == sb[dim_b]
    except IndexError:
        ok = False
    if not ok:
        raise ValueError(f"{name_a} and {name_b} must have the same {what}: got shapes {sa} and {sb}")


def check_finite_step(
    step: int, quantity: str, value: torch.Tensor | float, limit: float = 1e12, *, unit: str = "step"
) -> None:
    """Raise :class:`DivergenceError` if ``value`` is non-finite or its magnitude exceeds ``limit``."""
    v = value.detach().abs().max().item() if isinstance(value, torch.Tensor) else abs(float(value))
    if not math.isfinite(v) or v > limit:
        raise DivergenceError(step, quantity, v, unit=unit)
