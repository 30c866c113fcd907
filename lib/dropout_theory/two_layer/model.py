"""The two-layer network f_θ(x) = Σ_r a_r σ(w_r·x) of the SME paper, its loss and its parameters.

Shapes used throughout :mod:`dropout_theory.two_layer`:

* ``a``: (m,) for a scalar output or (m, K) for K outputs;
* ``W``: (m, d) (the bias is a constant input feature, so it lives inside w_r);
* ``X``: (n, d); ``y``: (n,) or (n, K) matching ``a``;
* θ = vec(q_1, …, q_m) with q_r = (a_r, w_r): a flat vector of length D = m(K + d), neuron-major.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from dropout_theory._checks import as_mask, as_tensor, check_allocation, check_positive, check_positive_int
from dropout_theory.activations import get_activation
from dropout_theory.rng import GeneratorLike, torch_generator
from dropout_theory.two_layer.kernels import risk


@dataclass(frozen=True)
class Problem:
    """Validated tensors of one two-layer regression problem (all on one device, one dtype).

    Attributes:
        a: (m, K) output weights (a column view when the caller passed (m,)).
        W: (m, d) input weights.
        X: (n, d) inputs.
        y: (n, K) targets.
        scalar_output: whether the caller used the (m,) / (n,) convention.
    """

    a: torch.Tensor
    W: torch.Tensor
    X: torch.Tensor
    y: torch.Tensor
    scalar_output: bool

    @property
    def m(self) -> int:
        return self.W.shape[0]

    @property
    def d(self) -> int:
        return self.W.shape[1]

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def K(self) -> int:
        return self.a.shape[1]


def as_problem(a, W, X, y) -> Problem:
    """Validate and convert (a, W, X, y) (tensors or numpy arrays) to a :class:`Problem`.

    The dtype and device follow ``W`` when it is a tensor (float64 otherwise).

    Raises:
        ValueError: wrong dimensions, mismatched shapes or non-finite entries.
    """
    W = as_tensor(W, "W", ndim=2)
    kw = {"dtype": W.dtype, "device": W.device, "like": "W"}
    a = as_tensor(a, "a", ndim=(1, 2), **kw)
    X = as_tensor(X, "X", ndim=2, **kw)
    y = as_tensor(y, "y", ndim=(1, 2), **kw)
    scalar = a.dim() == 1
    if scalar != (y.dim() == 1):
        raise ValueError(
            f"a and y must both be 1-D (scalar output) or both 2-D (K outputs), got a {tuple(a.shape)}, "
            f"y {tuple(y.shape)}"
        )
    a2 = a[:, None] if scalar else a
    y2 = y[:, None] if scalar else y
    _check_network(a, W, X)
    if y2.shape[0] != X.shape[0]:
        raise ValueError(f"y has {y2.shape[0]} rows but X has {X.shape[0]} (shapes {tuple(y.shape)}, {tuple(X.shape)})")
    if y2.shape[1] != a2.shape[1]:
        raise ValueError(f"y has K = {y2.shape[1]} outputs but a has K = {a2.shape[1]}")
    return Problem(a2, W, X, y2, scalar)


def _check_network(a: torch.Tensor, W: torch.Tensor, X: torch.Tensor) -> None:
    """Shapes of a, W and X against each other (messages name both arguments and their shapes)."""
    if a.shape[0] != W.shape[0]:
        raise ValueError(
            f"a has {a.shape[0]} neurons but W has {W.shape[0]} (shapes {tuple(a.shape)}, {tuple(W.shape)})"
        )
    if X.shape[1] != W.shape[1]:
        raise ValueError(
            f"X has {X.shape[1]} features but W expects d = {W.shape[1]} (shapes {tuple(X.shape)}, {tuple(W.shape)})"
        )
    if X.shape[0] < 1 or W.shape[0] < 1 or W.shape[1] < 1:
        raise ValueError(
            f"need at least one data point, one neuron and one feature, got X {tuple(X.shape)}, W {tuple(W.shape)}"
        )


def init_params(
    m: int,
    d: int,
    K: int | None = None,
    *,
    scale_a: float = 1.0,
    scale_w: float = 1.0,
    generator: GeneratorLike = None,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian initialization a_r ~ N(0, scale_a²/m), w_r ~ N(0, scale_w²/d · I).

    Args:
        m: width (number of hidden neurons), >= 1.
        d: input dimension, >= 1.
        K: number of outputs; ``None`` gives a scalar output (``a`` of shape (m,)).
        scale_a: standard deviation of a_r times √m.
        scale_w: standard deviation of each entry of w_r times √d.
        generator: torch generator (on ``device``) or int seed, for reproducible draws.
        dtype: floating dtype.
        device: device.

    Returns:
        ``(a, W)`` with shapes (m,) or (m, K), and (m, d).
    """
    m = check_positive_int(m, "m")
    d = check_positive_int(d, "d")
    check_allocation(m * (d + (K if isinstance(K, int) else 1)), "the parameters", names=f"m = {m}, d = {d}")
    scale_a = check_positive(scale_a, "scale_a", allow_zero=True)
    scale_w = check_positive(scale_w, "scale_w", allow_zero=True)
    shape_a = (m,) if K is None else (m, check_positive_int(K, "K"))
    generator = torch_generator(generator, device=device)
    a = torch.randn(shape_a, generator=generator, dtype=dtype, device=device) * (scale_a / m**0.5)
    W = torch.randn((m, d), generator=generator, dtype=dtype, device=device) * (scale_w / d**0.5)
    return a, W


def forward(a, W, X, *, activation: str = "tanh", mask: torch.Tensor | None = None) -> torch.Tensor:
    """Network output f_θ(X), optionally with a dropout mask on the hidden neurons.

    Args:
        a: (m,) or (m, K) output weights.
        W: (m, d) input weights.
        X: (n, d) inputs.
        activation: activation name (see :mod:`dropout_theory.activations`).
        mask: optional (m,) multipliers δ_r (for dropout, values in {0, 1/keep_prob}).

    Returns:
        (n,) or (n, K) outputs, matching ``a``.
    """
    act = get_activation(activation)
    W = as_tensor(W, "W", ndim=2)
    kw = {"dtype": W.dtype, "device": W.device, "like": "W"}
    a = as_tensor(a, "a", ndim=(1, 2), **kw)
    X = as_tensor(X, "X", ndim=2, **kw)
    _check_network(a, W, X)
    h = act.f(X @ W.T)  # (n, m)
    if mask is not None:
        h = h * as_mask(mask, "mask", (W.shape[0],), like=W, like_name="W")
    return h @ a


def empirical_risk(a, W, X, y, *, activation: str = "tanh") -> torch.Tensor:
    """R_S = 1/(2n) Σ_i ‖f_θ(x_i) − y_i‖² (0-dim tensor)."""
    p = as_problem(a, W, X, y)
    return risk(p.a, p.W, p.X, p.y, act=get_activation(activation))


def flatten_params(a: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """θ = vec(q_1, …, q_m), q_r = (a_r, w_r): shape (m(K + d),), neuron-major."""
    W = as_tensor(W, "W", ndim=2)
    a = as_tensor(a, "a", ndim=(1, 2), dtype=W.dtype, device=W.device, like="W")
    if a.shape[0] != W.shape[0]:
        raise ValueError(
            f"a has {a.shape[0]} neurons but W has {W.shape[0]} (shapes {tuple(a.shape)}, {tuple(W.shape)})"
        )
    a2 = a[:, None] if a.dim() == 1 else a
    return torch.cat([a2, W], dim=1).reshape(-1)


def unflatten_params(theta: torch.Tensor, m: int, d: int, K: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Inverse of :func:`flatten_params`; ``K=None`` returns a scalar-output ``a`` of shape (m,)."""
    m = check_positive_int(m, "m")
    d = check_positive_int(d, "d")
    k = 1 if K is None else check_positive_int(K, "K")
    theta = as_tensor(theta, "theta", ndim=(1, 2, 3))
    if theta.shape[-1] != m * (k + d):
        raise ValueError(f"theta has length {theta.shape[-1]}, expected m(K + d) = {m * (k + d)}")
    q = theta.reshape(*theta.shape[:-1], m, k + d)
    a = q[..., :k]
    return (a[..., 0] if K is None else a), q[..., k:]
