"""The input contract, checked over every public name (the harness and the bad-input classes: tests/contract.py).

For every public callable and every argument, a bad value of the argument's class (non-positive, NaN, inf or
string numbers; out-of-range keep probabilities; negative, fractional and huge counts; tensors with NaN/inf,
empty, mis-shaped, of another dtype or on another device; unknown names; generators of the wrong type) must make
the call raise a ``ValueError``/``TypeError`` whose message names an argument (or report a divergence), or return
a finite result, within :data:`TIME_LIMIT` seconds. Hypothesis draws the bad calls from the enumerated classes and
adds floats and integers of its own, derandomized with a fixed example budget per name, so the test is
deterministic in CI.
"""

from __future__ import annotations

import inspect
import time
from functools import cache

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.contract import (
    ALIASES,
    EXEMPT,
    HUGE,
    NAN_PROPAGATING,
    bad_calls,
    base_arguments,
    base_call,
    classify,
    memory_limit,
    public_callables,
)

#: Seconds one bad call may take (base calls take at most about 0.5 s on a loaded 2-core machine).
TIME_LIMIT = 10.0
#: Bad calls drawn per public name.
MAX_EXAMPLES = 25
#: Names whose base call takes a second or more (SymPy derivations): fewer draws.
SLOW = {"symbolic.two_layer.covariance_blocks": 3, "symbolic.two_layer.modified_loss_derivation": 3,
        "symbolic.deep_linear.check_closed_form": 4, "alignment.hessian_variance_alignment": 8}  # fmt: skip

FUNCTIONS = public_callables()
#: The names with an argument to spoil (the others, e.g. the SymPy derivations without parameters or a function whose
#: only argument is an optional path, get only the base call).
WITH_ARGUMENTS = sorted(q for q, fn in FUNCTIONS.items() if inspect.signature(fn).parameters and bad_calls(q, fn))


@cache
def _base(qualname: str):
    return base_call(qualname, FUNCTIONS[qualname], timeout=TIME_LIMIT)


def _generated(qualname: str):
    """Hypothesis' own bad values: any non-positive or non-finite float for a float argument, any count <= 0 or
    beyond 10^12 for an integer argument."""
    base = base_arguments(qualname, FUNCTIONS[qualname])
    floats = sorted(k for k, v in base.items() if isinstance(v, float))
    ints = sorted(k for k, v in base.items() if isinstance(v, int) and not isinstance(v, bool) and k != "generator")
    options = []
    if floats:
        bad_float = st.floats(max_value=0.0) | st.sampled_from([float("nan"), float("inf"), -float("inf")])
        options.append(st.tuples(st.sampled_from(floats), bad_float))
    if ints:
        options.append(st.tuples(st.sampled_from(ints), st.integers(-(10**6), 0) | st.integers(HUGE, 10**18)))
    return st.one_of(*options).map(lambda pv: (pv[0], f"drawn {pv[1]!r}", {**base, pv[0]: pv[1]})) if options else None


def _calls(qualname: str):
    enumerated = st.sampled_from(bad_calls(qualname, FUNCTIONS[qualname]))
    generated = _generated(qualname)
    return enumerated if generated is None else st.one_of(enumerated, enumerated, generated)


def test_every_public_name_is_fuzzed_or_exempt_with_a_reason():
    assert len(FUNCTIONS) >= 120, f"only {len(FUNCTIONS)} public callables found"
    assert all(isinstance(reason, str) and reason for reason in EXEMPT.values())
    assert not set(EXEMPT) & set(FUNCTIONS)


@pytest.mark.parametrize("qualname", sorted(FUNCTIONS))
def test_base_call_is_valid(qualname):
    """The valid call each bad call starts from succeeds (otherwise every bad call would fail for nothing)."""
    _base(qualname)


@pytest.mark.parametrize("qualname", WITH_ARGUMENTS)
def test_bad_input_is_refused_clearly_or_gives_finite_output(qualname):
    _, allowed_nan = _base(qualname)
    fn = FUNCTIONS[qualname]

    @settings(
        max_examples=SLOW.get(qualname, MAX_EXAMPLES),
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(call=_calls(qualname))
    def check(call):
        pname, label, kwargs = call
        with memory_limit():
            outcome, detail = classify(
                fn, kwargs, timeout=TIME_LIMIT, allowed_nan=allowed_nan, aliases=ALIASES.get(qualname, ())
            )
        if qualname in NAN_PROPAGATING and outcome == "nan":
            return
        assert outcome in ("clear", "accepted"), f"{qualname}({pname}={label}): {outcome}: {detail}"

    check()


# The issue's own examples, each checked explicitly.
def test_the_issue_examples():
    from dropout_theory.alignment import loss_flatness
    from dropout_theory.two_layer import forward, init_params, noise_cost_model

    a, W = init_params(3, 2, generator=42)
    assert a.shape == (3,) and W.shape == (3, 2)
    with pytest.raises(TypeError, match="generator"):
        init_params(3, 2, generator="42")
    with pytest.raises(ValueError, match="mask"):
        forward(a, W, torch.ones(4, 2, dtype=torch.float64), mask=torch.ones(0, dtype=torch.float64))
    with pytest.raises(ValueError, match="X"):
        forward(a, W, torch.full((4, 2), float("inf"), dtype=torch.float64))
    for bad in ({"n": -1}, {"m": 2.5}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            noise_cost_model(**{"n": 5, "m": 3, "d": 2, **bad})
    theta = torch.zeros(2, dtype=torch.float64)
    direction = torch.tensor([1.0, 0.0], dtype=torch.float64)
    for kwargs, name in (({"tol": 0.0}, "tol"), ({"tol": -1.0}, "tol"), ({"initial_step": 0.0}, "initial_step")):
        start = time.perf_counter()
        with pytest.raises(ValueError, match=name):
            loss_flatness(lambda t: (t**2).sum(), theta, direction, **kwargs)
        assert time.perf_counter() - start < 1.0


def test_generator_arguments_say_what_is_accepted():
    from dropout_theory.rng import numpy_generator, torch_generator

    for bad in ("0", 1.5, object()):
        for convert in (torch_generator, numpy_generator):
            with pytest.raises(TypeError, match=r"generator must be .*int seed"):
                convert(bad)
    with pytest.raises(ValueError, match="generator"):
        torch_generator(-1)
    with pytest.raises(TypeError, match="draws with torch"):
        torch_generator(np.random.default_rng(0))
    assert isinstance(numpy_generator(np.random.default_rng(0)), np.random.Generator)
    assert isinstance(numpy_generator(torch.Generator().manual_seed(0)), np.random.Generator)


def test_signatures_have_no_positional_catch_all():
    """Every fuzzed name exposes its parameters (a bare ``*args`` would hide them from the fuzz)."""
    hidden = [q for q, fn in FUNCTIONS.items()
              if any(p.kind == p.VAR_POSITIONAL for p in inspect.signature(fn).parameters.values())]  # fmt: skip
    assert not hidden, hidden
