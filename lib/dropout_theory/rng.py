"""Explicit randomness: the one place where a ``generator`` argument is converted (the core of the library).

Every random function of :mod:`dropout_theory` takes ``generator=``: a ``torch.Generator``, a
``numpy.random.Generator`` where numpy draws, or an int seed. :func:`torch_generator` and :func:`numpy_generator`
turn that argument into the generator the function draws from; nothing in the library seeds a global state.
``seed`` appears only at the JSON/command-line boundary (experiment jobs), where it is passed on as ``generator``.

:func:`bernoulli_mask` draws the dropout multipliers δ ∈ {0, 1/p} used by every simulator (two-layer networks,
``nn.Module`` dropout layers, deep ensembles, mean-field particles), so all of them consume a generator the same
way. :data:`MASK_CONVENTIONS` names the two ways a batch of examples can share them.
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import torch

#: What a ``generator`` argument may be (``None``: torch's or numpy's default, non-reproducible stream).
GeneratorLike: TypeAlias = torch.Generator | np.random.Generator | int | None

_SUBSEED_HIGH = 2**62

#: The two dropout-mask conventions, the values of every ``mask=`` argument of the library:
#: ``"shared"`` — one mask per unit, shared by every example of the batch (full-batch dropout gradient descent, the
#: SME paper's eq. 6 and the book's default); ``"per_example"`` — an independent mask for every example and unit
#: (what ``torch.nn.Dropout`` does in training mode). Both give the same expected loss, not the same noise.
MASK_CONVENTIONS: tuple[str, ...] = ("shared", "per_example")


_ACCEPTED_TORCH = "a torch.Generator or an int seed >= 0"
_ACCEPTED_NUMPY = "a numpy.random.Generator, a torch.Generator or an int seed >= 0"


def _check_seed(seed: object, accepted: str) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"generator must be {accepted}, got {type(seed).__name__} {seed!r}")
    if int(seed) < 0:
        raise ValueError(f"generator must be {accepted}, got {int(seed)}")
    return int(seed)


def torch_generator(
    generator: GeneratorLike, *, offset: int = 0, device: torch.device | str | None = None
) -> torch.Generator | None:
    """The ``torch.Generator`` a function draws from.

    Args:
        generator: a ``torch.Generator`` (returned as is when ``offset`` is 0), an int seed s (a new generator
            seeded with s + ``offset``) or ``None`` (torch's default generator).
        offset: for functions that need several independent streams from one argument: with an int seed the stream
            ``offset`` is seeded with s + offset; with a ``torch.Generator`` a non-zero offset draws a fresh seed
            from it (deterministic given its state).
        device: device of a newly created generator (default CPU).

    Returns:
        A ``torch.Generator`` or ``None``.

    Raises:
        TypeError: anything but a ``torch.Generator``, an int or ``None`` (a numpy generator too: torch draws
            need a torch generator).
        ValueError: a negative seed.
    """
    if generator is None:
        return None
    if isinstance(generator, torch.Generator):
        if offset == 0:
            return generator
        sub = int(torch.randint(_SUBSEED_HIGH, (1,), generator=generator, device=generator.device))
        return torch.Generator(device=generator.device).manual_seed(sub)
    if isinstance(generator, np.random.Generator):
        raise TypeError(
            f"generator must be {_ACCEPTED_TORCH} (this function draws with torch), got a numpy.random.Generator"
        )
    seed = _check_seed(generator, _ACCEPTED_TORCH) + int(offset)
    return torch.Generator(device=device or "cpu").manual_seed(seed)


def numpy_generator(generator: GeneratorLike) -> np.random.Generator:
    """The ``numpy.random.Generator`` a function draws from: returned as is, created from an int seed
    (``numpy.random.default_rng(seed)``), or seeded from a ``torch.Generator`` by one draw.

    Raises:
        TypeError: ``None`` (numpy draws need an explicit generator or seed) or anything but the accepted types.
        ValueError: a negative seed.
    """
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, torch.Generator):
        return np.random.default_rng(int(torch.randint(_SUBSEED_HIGH, (1,), generator=generator)))
    if generator is None:
        raise TypeError(f"generator must be given ({_ACCEPTED_NUMPY})")
    return np.random.default_rng(_check_seed(generator, _ACCEPTED_NUMPY))


def bernoulli_mask(
    shape: tuple[int, ...],
    *,
    keep_prob: float,
    generator: GeneratorLike,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Dropout multipliers δ with P(δ = 1/p) = p and P(δ = 0) = 1 − p (E δ = 1), from one ``torch.rand`` draw.

    Args:
        shape: shape of the mask.
        keep_prob: p in [0, 1] (p = 0 gives zeros); callers validate the range their model allows.
        generator: torch generator or int seed (see :func:`torch_generator`).
        dtype: floating dtype.
        device: device.

    Returns:
        Tensor of ``shape``.
    """
    if not isinstance(shape, tuple | list) or not all(isinstance(s, int) and s >= 0 for s in shape):
        raise ValueError(f"shape must be a tuple of integers >= 0, got {shape!r}")
    if isinstance(keep_prob, str) or not 0.0 <= float(keep_prob) <= 1.0:  # cheap: called once per step
        raise ValueError(f"keep_prob must be a number in [0, 1], got {keep_prob!r}")
    if not isinstance(generator, torch.Generator):
        generator = torch_generator(generator, device=device)
    u = torch.rand(shape, generator=generator, dtype=dtype, device=device)
    if keep_prob <= 0.0:
        return torch.zeros(shape, dtype=dtype, device=device)
    return (u < keep_prob).to(dtype) / keep_prob
