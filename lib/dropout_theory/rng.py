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


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or int(seed) < 0:
        raise ValueError(f"generator must be a torch.Generator, a numpy Generator or an int seed >= 0, got {seed!r}")
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
        ValueError: a negative or non-integer seed, or a numpy generator (torch draws need a torch generator).
    """
    if generator is None:
        return None
    if isinstance(generator, torch.Generator):
        if offset == 0:
            return generator
        sub = int(torch.randint(_SUBSEED_HIGH, (1,), generator=generator, device=generator.device))
        return torch.Generator(device=generator.device).manual_seed(sub)
    if isinstance(generator, np.random.Generator):
        raise ValueError("this function draws with torch: pass a torch.Generator or an int seed, not a numpy Generator")
    seed = _check_seed(generator) + int(offset)
    return torch.Generator(device=device or "cpu").manual_seed(seed)


def numpy_generator(generator: GeneratorLike) -> np.random.Generator:
    """The ``numpy.random.Generator`` a function draws from: returned as is, created from an int seed
    (``numpy.random.default_rng(seed)``), or seeded from a ``torch.Generator`` by one draw.

    Raises:
        ValueError: ``None`` (numpy draws need an explicit generator or seed) or a bad seed.
    """
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, torch.Generator):
        return np.random.default_rng(int(torch.randint(_SUBSEED_HIGH, (1,), generator=generator)))
    if generator is None:
        raise ValueError("generator must be given (a numpy Generator, a torch.Generator or an int seed)")
    return np.random.default_rng(_check_seed(generator))


def bernoulli_mask(
    shape: tuple[int, ...],
    *,
    keep_prob: float,
    generator: torch.Generator | None,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Dropout multipliers δ with P(δ = 1/p) = p and P(δ = 0) = 1 − p (E δ = 1), from one ``torch.rand`` draw.

    Args:
        shape: shape of the mask.
        keep_prob: p in (0, 1] (not validated here: callers validate their arguments); p = 0 gives zeros.
        generator: torch generator (already converted by :func:`torch_generator`).
        dtype: floating dtype.
        device: device.

    Returns:
        Tensor of ``shape``.
    """
    u = torch.rand(shape, generator=generator, dtype=dtype, device=device)
    if keep_prob <= 0.0:
        return torch.zeros(shape, dtype=dtype, device=device)
    return (u < keep_prob).to(dtype) / keep_prob
