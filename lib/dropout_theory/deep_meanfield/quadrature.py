"""Gaussian integrals ∫Dz f(z) by Gauss–Hermite quadrature, and the activations of part II in numpy.

Every mean-field quantity of the book is a one- or two-dimensional Gaussian integral. They are computed with
the probabilists' Gauss–Hermite rule (:func:`numpy.polynomial.hermite_e.hermegauss`), vectorized over any
array of parameters: the quadrature nodes live on trailing axes, so a grid of (σ_w², σ_b², keep_prob) costs
one numpy expression. No Monte Carlo is used in the theory.

The rule is exact for polynomials of degree < 2n and converges exponentially for smooth activations (tanh,
erf). For activations with kinks (ReLU at 0, hard tanh at ±1) a plain Gauss–Hermite rule converges only
algebraically (about 2 % error with 101² nodes for ReLU's two-point integrals), so integrands with kinks
use composite Gauss–Legendre rules on [−T, T] split at the kinks (T = 9, tail mass below 1e−18), nested
for two dimensions with the inner breakpoints placed per outer node: then every piece is smooth.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
from scipy.special import erf

from dropout_theory._checks import check_allocation, check_callable, check_finite_result, check_positive_int
from dropout_theory.deep_meanfield._validate import check_activation, check_array

ArrayFn = Callable[[np.ndarray], np.ndarray]

#: Default number of nodes per dimension (2-d integrals use its square).
DEFAULT_NODES = 101

_TWO_OVER_SQRT_PI = 2.0 / np.sqrt(np.pi)


@lru_cache(maxsize=16)
def gauss_hermite(num_nodes: int = DEFAULT_NODES) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of the n-point rule for the standard normal measure Dz.

    Returns:
        ``(z, w)``, both of shape (num_nodes,), with Σ_i w_i f(z_i) ≈ ∫ f(z) e^{−z²/2} dz / √(2π).
    """
    num_nodes = check_positive_int(num_nodes, "num_nodes", minimum=2)
    # the rule solves an eigenproblem of the (num_nodes, num_nodes) Jacobi matrix
    check_allocation(2 * num_nodes**2, "the Jacobi matrix of the rule", names=f"num_nodes = {num_nodes}")
    z, w = np.polynomial.hermite_e.hermegauss(num_nodes)
    w = w / np.sqrt(2.0 * np.pi)
    z.setflags(write=False)
    w.setflags(write=False)
    return z, w


#: Kink locations (in the argument of φ) of each activation; φ and φ' are smooth between them.
KINKS: dict[str, tuple[float, ...]] = {
    "linear": (),
    "relu": (0.0,),
    "tanh": (),
    "hard_tanh": (-1.0, 1.0),
    "erf": (),
}

_T = 9.0
_GL_NODES = 48


@lru_cache(maxsize=4)
def _gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(n)


def _piecewise_rule(breaks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss–Legendre nodes/weights (Gaussian density included) on [−T, T] split at ``breaks``.

    Args:
        breaks: (..., K) breakpoints in z units (any values; clipped to [−T, T]).

    Returns:
        ``(z, w)`` of shape (..., (K+1)·n).
    """
    x, wx = _gauss_legendre(_GL_NODES)
    br = np.sort(np.clip(np.nan_to_num(breaks, nan=0.0), -_T, _T), axis=-1)
    lead = br.shape[:-1]
    edges = np.concatenate([np.full((*lead, 1), -_T), br, np.full((*lead, 1), _T)], axis=-1)
    a, b = edges[..., :-1, None], edges[..., 1:, None]
    z = 0.5 * (a + b) + 0.5 * (b - a) * x
    w = 0.5 * (b - a) * wx * np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)
    return z.reshape(*lead, -1), w.reshape(*lead, -1)


def activation_kinks(name: str) -> tuple[float, ...]:
    """Points where φ or φ' is not smooth (empty for smooth activations)."""
    check_activation(name)
    return KINKS[name]


def _finite(value: np.ndarray, name: str) -> np.ndarray:
    check_finite_result(value, name, "the expectation")
    return value


def _check_kinks(kinks: Any) -> tuple[float, ...]:
    if not isinstance(kinks, tuple | list):
        raise TypeError(f"kinks must be a tuple of kink points, got {type(kinks).__name__} {kinks!r}")
    return tuple(float(check_array(k, "kinks", -np.inf, low_open=False)) for k in kinks)


def activation_fn(name: str) -> ArrayFn:
    """φ for "linear", "relu", "tanh", "hard_tanh" (clip to [−1, 1]) or "erf" (φ(x) = erf(x))."""
    check_activation(name)
    return {
        "linear": lambda x: x,
        "relu": lambda x: np.maximum(x, 0.0),
        "tanh": np.tanh,
        "hard_tanh": lambda x: np.clip(x, -1.0, 1.0),
        "erf": erf,
    }[name]


def activation_deriv(name: str) -> ArrayFn:
    """φ' (the one-sided value 0 is used at the kinks of ReLU and hard tanh, a set of measure zero)."""
    check_activation(name)
    return {
        "linear": np.ones_like,
        "relu": lambda x: (x > 0.0).astype(np.float64),
        "tanh": lambda x: 1.0 / np.cosh(x) ** 2,
        "hard_tanh": lambda x: (np.abs(x) < 1.0).astype(np.float64),
        "erf": lambda x: _TWO_OVER_SQRT_PI * np.exp(-x * x),
    }[name]


def _safe_sqrt(q: np.ndarray) -> np.ndarray:
    return np.maximum(np.sqrt(q), 1e-300)


def gaussian_expectation(
    f: ArrayFn, q: np.ndarray | float, *, num_nodes: int = DEFAULT_NODES, kinks: tuple[float, ...] = ()
) -> np.ndarray:
    """E f(√q z) for z ~ N(0, 1), vectorized over the array ``q`` ≥ 0.

    Args:
        f: elementwise numpy function.
        q: variances, any shape.
        num_nodes: Gauss–Hermite nodes (smooth f).
        kinks: points u where f(u) is not smooth; if any, the composite rule split at z = u/√q is used.

    Returns:
        Array of the shape of ``q``.
    """
    check_callable(f, "f", "f(u) on arrays")
    q = check_array(q, "q", 0.0, low_open=False)
    kinks = _check_kinks(kinks)
    sq = np.sqrt(q)[..., None]
    if not kinks:
        z, w = gauss_hermite(num_nodes)
        return _finite(f(sq * z) @ w, "f")
    z, w = _piecewise_rule(np.asarray(kinks, dtype=np.float64) / _safe_sqrt(q)[..., None])
    return _finite(np.sum(f(sq * z) * w, axis=-1), "f")


def bivariate_expectation(
    f: ArrayFn,
    g: ArrayFn,
    q_a: np.ndarray | float,
    q_b: np.ndarray | float,
    c: np.ndarray | float,
    *,
    num_nodes: int = DEFAULT_NODES,
    kinks: tuple[float, ...] = (),
) -> np.ndarray:
    """E f(u_a) g(u_b) for a centred Gaussian pair with variances q_a, q_b and correlation c.

    Uses u_a = √q_a z₁, u_b = √q_b (c z₁ + √(1−c²) z₂) with independent standard normals z₁, z₂: the
    tensor-product Gauss–Hermite rule (num_nodes² points) for smooth f, g, or, when ``kinks`` (the kink points
    shared by f and g) are given, nested composite Gauss–Legendre rules whose inner breakpoints
    z₂ = (u/√q_b − c z₁)/√(1−c²) follow each outer node. All parameters broadcast together.

    Returns:
        Array of the broadcast shape of ``q_a, q_b, c``.
    """
    check_callable(f, "f", "f(u) on arrays")
    check_callable(g, "g", "g(u) on arrays")
    q_a, q_b = check_array(q_a, "q_a", 0.0, low_open=False), check_array(q_b, "q_b", 0.0, low_open=False)
    c = check_array(c, "c", -1.0 - 1e-9, 1.0 + 1e-9, low_open=False, high_open=False)
    kinks = _check_kinks(kinks)
    qa, qb, cc = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (q_a, q_b, c)))
    cc = np.clip(cc, -1.0, 1.0)
    sc = np.sqrt(1.0 - cc * cc)
    if not kinks:
        z, w = gauss_hermite(num_nodes)
        sa = np.sqrt(qa)[..., None, None]
        sb = np.sqrt(qb)[..., None, None]
        c4 = cc[..., None, None]
        s4 = sc[..., None, None]
        vals = f(sa * z[:, None]) * g(sb * (c4 * z[:, None] + s4 * z[None, :]))
        return _finite(np.einsum("...ij,i,j->...", vals, w, w), "f or g")
    k = np.asarray(kinks, dtype=np.float64)
    z1, w1 = _piecewise_rule(k / _safe_sqrt(qa)[..., None])  # (..., P)
    sb = np.sqrt(qb)[..., None, None]
    c3 = cc[..., None, None]
    s3 = sc[..., None, None]
    inner_breaks = (k / _safe_sqrt(qb)[..., None, None] - c3 * z1[..., None]) / np.maximum(s3, 1e-300)
    z2, w2 = _piecewise_rule(inner_breaks)  # (..., P, Q)
    inner = np.sum(g(sb * (c3 * z1[..., None] + s3 * z2)) * w2, axis=-1)  # (..., P)
    return _finite(np.sum(f(np.sqrt(qa)[..., None] * z1) * inner * w1, axis=-1), "f or g")
