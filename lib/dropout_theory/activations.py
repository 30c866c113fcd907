"""Scalar activation functions with their first two derivatives (torch, elementwise): the one torch registry of
the library, used by the two-layer networks, the mean-field particles and the deep dropout ensembles.

The stochastic-modified-equation theorem needs a smooth activation; ReLU and hard tanh are provided for
comparison and are flagged by :data:`SMOOTH` as outside the theorem. (The mean-field theory of Part II integrates
numpy versions of its activations by quadrature: :mod:`dropout_theory.deep_meanfield.quadrature`.)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from dropout_theory._checks import check_choice

TensorFn = Callable[[torch.Tensor], torch.Tensor]

_SQRT_2PI = math.sqrt(2.0 * math.pi)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


@dataclass(frozen=True)
class Activation:
    """An activation σ with σ' and σ''.

    Attributes:
        name: registry name.
        f: σ, elementwise.
        df: σ', elementwise.
        d2f: σ'', elementwise (zero almost everywhere for ReLU).
        smooth: whether σ is C^∞ (required by the SME theorem).
        df_from_f: σ' written as a function of the stored activation h = σ(z) (``None`` when σ' is not a function
            of σ), bitwise equal to ``df(z)``: tanh 1 − h², sigmoid h(1 − h), ReLU [h > 0], hard tanh [abs(h) < 1],
            linear 1. A forward pass that keeps h gets σ' without evaluating σ again (:meth:`slope`).
    """

    name: str
    f: TensorFn
    df: TensorFn
    d2f: TensorFn
    smooth: bool
    df_from_f: TensorFn | None = None

    def slope(self, z: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """σ'(z) given z and the activation h = σ(z) already computed (from h when :attr:`df_from_f` allows)."""
        return self.df(z) if self.df_from_f is None else self.df_from_f(h)


def _gelu(z: torch.Tensor) -> torch.Tensor:
    return z * _ncdf(z)


def _ncdf(z: torch.Tensor) -> torch.Tensor:
    return 0.5 * (1.0 + torch.erf(z / math.sqrt(2.0)))


def _npdf(z: torch.Tensor) -> torch.Tensor:
    return torch.exp(-0.5 * z * z) / _SQRT_2PI


ACTIVATIONS: dict[str, Activation] = {
    "tanh": Activation(
        "tanh",
        torch.tanh,
        lambda z: 1.0 - torch.tanh(z) ** 2,
        lambda z: -2.0 * torch.tanh(z) * (1.0 - torch.tanh(z) ** 2),
        True,
        lambda h: torch.mul(h, h).neg_().add_(1.0),  # 1 − h² (−x + 1 is 1 − x exactly in IEEE arithmetic)
    ),
    "sigmoid": Activation(
        "sigmoid",
        torch.sigmoid,
        lambda z: torch.sigmoid(z) * (1.0 - torch.sigmoid(z)),
        lambda z: torch.sigmoid(z) * (1.0 - torch.sigmoid(z)) * (1.0 - 2.0 * torch.sigmoid(z)),
        True,
        lambda h: h * (1.0 - h),
    ),
    "softplus": Activation(
        "softplus",
        torch.nn.functional.softplus,
        torch.sigmoid,
        lambda z: torch.sigmoid(z) * (1.0 - torch.sigmoid(z)),
        True,
    ),
    "gelu": Activation(
        "gelu",
        _gelu,
        lambda z: _ncdf(z) + z * _npdf(z),
        lambda z: (2.0 - z * z) * _npdf(z),
        True,
    ),
    "relu": Activation(
        "relu",
        torch.relu,
        lambda z: (z > 0).to(z.dtype),
        torch.zeros_like,
        False,
        lambda h: (h > 0).to(h.dtype),
    ),
    "linear": Activation("linear", lambda z: z, torch.ones_like, torch.zeros_like, True, torch.ones_like),
    "hard_tanh": Activation(
        "hard_tanh",
        lambda z: z.clamp(-1.0, 1.0),
        lambda z: (z.abs() < 1.0).to(z.dtype),
        torch.zeros_like,
        False,
        lambda h: (h.abs() < 1.0).to(h.dtype),
    ),
    "erf": Activation(
        "erf",
        torch.erf,
        lambda z: _TWO_OVER_SQRT_PI * torch.exp(-z * z),
        lambda z: -2.0 * z * _TWO_OVER_SQRT_PI * torch.exp(-z * z),
        True,
    ),
}

#: Names of activations that satisfy the smoothness assumption of the SME theorem.
SMOOTH: frozenset[str] = frozenset(k for k, v in ACTIVATIONS.items() if v.smooth)


def get_activation(name: str) -> Activation:
    """Look up an activation by name ("tanh", "sigmoid", "softplus", "gelu", "relu", "linear", "hard_tanh", "erf").

    Raises:
        ValueError: unknown name.
    """
    check_choice(name, "activation", tuple(ACTIVATIONS))
    return ACTIVATIONS[name]
