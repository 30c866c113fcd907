"""Scalar activation functions with their first two derivatives (torch, elementwise).

The stochastic-modified-equation theorem needs a smooth activation; ReLU is provided for comparison and is
flagged by :data:`SMOOTH` as outside the theorem.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from dropout_theory._checks import check_choice

TensorFn = Callable[[torch.Tensor], torch.Tensor]

_SQRT_2PI = math.sqrt(2.0 * math.pi)


@dataclass(frozen=True)
class Activation:
    """An activation σ with σ' and σ''.

    Attributes:
        name: registry name.
        f: σ, elementwise.
        df: σ', elementwise.
        d2f: σ'', elementwise (zero almost everywhere for ReLU).
        smooth: whether σ is C^∞ (required by the SME theorem).
    """

    name: str
    f: TensorFn
    df: TensorFn
    d2f: TensorFn
    smooth: bool


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
    ),
    "sigmoid": Activation(
        "sigmoid",
        torch.sigmoid,
        lambda z: torch.sigmoid(z) * (1.0 - torch.sigmoid(z)),
        lambda z: torch.sigmoid(z) * (1.0 - torch.sigmoid(z)) * (1.0 - 2.0 * torch.sigmoid(z)),
        True,
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
    ),
}

#: Names of activations that satisfy the smoothness assumption of the SME theorem.
SMOOTH: frozenset[str] = frozenset(k for k, v in ACTIVATIONS.items() if v.smooth)


def get_activation(name: str) -> Activation:
    """Look up an activation by name ("tanh", "sigmoid", "softplus", "gelu", "relu").

    Raises:
        ValueError: unknown name.
    """
    check_choice(name, "activation", tuple(ACTIVATIONS))
    return ACTIVATIONS[name]
