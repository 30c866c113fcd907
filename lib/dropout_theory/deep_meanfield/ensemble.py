"""Ensembles of random deep dropout networks at initialization, batched over instantiations (torch).

Network (the convention of :mod:`.maps`): z^1 = W^1 x + b^1 and, for l = 1, …, L−1,
z^{l+1} = W^{l+1} (m^l ⊙ φ(z^l) / ρ) + b^{l+1}, with W^l_ij ~ N(0, σ_w²/N), b^l_i ~ N(0, σ_b²), and a
Bernoulli(ρ) mask m^l drawn independently per network, per layer **and per input**. The output is z^L and
the loss of input a is E_a = ½‖z_a^L‖² (zero labels, squared loss, no softmax; ``readout="loss"``), so the
backpropagated errors are

    δ^L = z^L,   δ^l = φ'(z^l) ⊙ (m^l/ρ) ⊙ (W̃^{l+1})ᵀ δ^{l+1},

with W̃ = W (realistic backward pass: the forward weights) or W̃ an independent copy (the gradient-independence
assumption, GIA). With ``readout="random"`` the loss is a random linear readout E_a = g·z_a^L with g ~ N(0, I_N)
drawn per network, independent of the forward pass and shared by the inputs, so δ^L = g is not built from the
forward weights. The gradient of layer l's weights is δ^l (x^{l−1})ᵀ with x^{l−1} = m^{l−1} ⊙ φ(z^{l−1})/ρ.

Every layer is one batched matmul over an ensemble dimension (networks × inputs); the only Python loops run
over layers and over chunks of networks (to bound the memory of the stored weights), never over networks.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from dropout_theory._checks import (
    as_tensor,
    check_allocation,
    check_choice,
    check_finite_step,
    check_positive,
    check_positive_int,
)
from dropout_theory.activations import get_activation
from dropout_theory.deep_meanfield._validate import check_activation, check_array, check_params
from dropout_theory.rng import GeneratorLike, bernoulli_mask, torch_generator

BACKWARD_MODES = ("none", "realistic", "gia")
READOUTS = ("loss", "random")


def torch_activation(name: str) -> tuple[Callable, Callable]:
    """(φ, φ') as torch functions for the activations of part II (from :mod:`dropout_theory.activations`)."""
    act = get_activation(check_activation(name))
    return act.f, act.df


@dataclass(frozen=True)
class EnsembleResult:
    """Per-network, per-layer statistics of an ensemble (all float64 numpy arrays; layer index 0 ↔ l = 1).

    Attributes:
        q: (num_networks, depth, n_inputs) lengths q^l = ‖z^l‖²/N of each input.
        q_ab: (num_networks, depth) covariance z_a^l·z_b^l/N of inputs 0 and 1 (None for one input).
        c: (num_networks, depth) correlation q_ab/√(q_a q_b) (None for one input).
        grad_single: (num_networks, depth, n_inputs) q̃^l = ‖δ^l‖²/N per input (None without backward pass).
        grad_pair: (num_networks, depth) q̃_ab^l = δ_a^l·δ_b^l/N (None without backward pass or for one input).
        weight_grad_single: (num_networks, depth, n_inputs) ‖∂E_a/∂W^l‖²_F / N² (None without backward pass).
        weight_grad_pair: (num_networks, depth) ⟨∂E_a/∂W^l, ∂E_b/∂W^l⟩_F / N² (None as for grad_pair).
    """

    q: np.ndarray
    q_ab: np.ndarray | None
    c: np.ndarray | None
    grad_single: np.ndarray | None
    grad_pair: np.ndarray | None
    weight_grad_single: np.ndarray | None
    weight_grad_pair: np.ndarray | None


def inputs_for(
    q1: float,
    c1: float | None,
    *,
    width: int,
    sigma_w2: float,
    sigma_b2: float,
    generator: GeneratorLike = 0,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """Inputs whose first-layer statistics have ensemble mean q^1 = q1 (and correlation c^1 = c1).

    Since E‖z^1‖²/N = σ_w² ‖x‖²/N + σ_b², the inputs get ‖x‖²/N = (q1 − σ_b²)/σ_w² and, for a pair,
    x_a·x_b/N = (c1 q1 − σ_b²)/σ_w².

    Args:
        q1: target length q^1.
        c1: target correlation c^1 of a pair of inputs, or ``None`` for one input.
        width: input dimension N >= 2.
        sigma_w2, sigma_b2: weight and bias variances of the first layer.
        generator: torch generator or int seed of the random directions (default: seed 0).
        dtype: floating dtype.

    Returns:
        (1, width) or (2, width) tensor.

    Raises:
        ValueError: q1 ≤ σ_b², or a correlation outside [−1, 1] would be needed.
    """
    width = check_positive_int(width, "width", minimum=2)
    check_allocation(4 * width, "the inputs", names=f"width = {width}")
    s, b, _ = check_params(sigma_w2, sigma_b2, 1.0)
    s, b = float(s), float(b)
    q1 = float(check_array(q1, "q1", 0.0, low_open=True))
    if c1 is not None:
        c1 = float(check_array(c1, "c1", -1.0, 1.0, low_open=False, high_open=False))
    if not q1 > b:
        raise ValueError(f"q1 must exceed sigma_b2 = {b!r} (the bias alone gives q^1 = sigma_b2), got {q1!r}")
    q_in = (q1 - b) / s
    g = torch.randn(2, width, generator=torch_generator(generator), dtype=torch.float64)
    u = g[0] / g[0].norm()
    v = g[1] - (g[1] @ u) * u
    v = v / v.norm()
    scale = math.sqrt(q_in * width)
    if c1 is None:
        return (scale * u)[None].to(dtype)
    c_in = (c1 * q1 - b) / (s * q_in)
    if not -1.0 <= c_in <= 1.0:
        raise ValueError(f"c1 = {c1!r} is unreachable with q1 = {q1!r}: the input correlation would be {c_in!r}")
    return torch.stack([scale * u, scale * (c_in * u + math.sqrt(1.0 - c_in * c_in) * v)]).to(dtype)


def simulate_ensemble(
    activation: str,
    sigma_w2: float,
    sigma_b2: float,
    keep_prob: float,
    *,
    depth: int,
    width: int,
    num_networks: int,
    inputs: torch.Tensor,
    backward: str = "none",
    readout: str = "loss",
    generator: GeneratorLike = 0,
    chunk_size: int | None = None,
    max_chunk_bytes: float = 2.0**28,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float64,
) -> EnsembleResult:
    """Propagate inputs through ``num_networks`` random dropout networks (and errors back, if asked).

    Args:
        activation: "linear", "relu", "tanh", "hard_tanh" or "erf".
        sigma_w2, sigma_b2, keep_prob: weight/bias variances and keep probability ρ.
        depth: number of layers L ≥ 1 (weight matrices).
        width: hidden width N (all layers).
        num_networks: number of independent networks.
        inputs: (n_inputs, d) inputs shared by all networks (d = input dimension).
        backward: "none" (forward only), "realistic" (same weights backward) or "gia" (independent copy).
        readout: "loss" (δ^L = z^L) or "random" (δ^L = g, a Gaussian vector independent of the network; drawn
            after the forward pass, so the forward draws are those of ``readout="loss"`` with the same generator).
        generator: torch generator (on ``device``) or int seed that draws weights, biases and masks (default:
            seed 0).
        chunk_size: networks per batch; default from ``max_chunk_bytes`` (the stored weights of a chunk).
        max_chunk_bytes: memory budget of the stored weights of one chunk.
        device, dtype: where and in which precision to simulate (statistics are returned in float64).

    Returns:
        :class:`EnsembleResult`.

    Raises:
        ValueError: invalid arguments.
        DivergenceError: a non-finite or exploding (> 1e150) pre-activation or error signal; the error names the
            first such layer (``unit="layer"``).
    """
    check_activation(activation)
    check_params(sigma_w2, sigma_b2, keep_prob)
    check_choice(backward, "backward", BACKWARD_MODES)
    check_choice(readout, "readout", READOUTS)
    depth = check_positive_int(depth, "depth")
    width = check_positive_int(width, "width")
    num_networks = check_positive_int(num_networks, "num_networks")
    x = as_tensor(inputs, "inputs", ndim=2)
    if 0 in x.shape:
        raise ValueError(f"inputs must be a non-empty (n_inputs, d) array, got shape {tuple(x.shape)}")
    x = x.to(device=device, dtype=dtype)
    max_chunk_bytes = check_positive(max_chunk_bytes, "max_chunk_bytes")
    check_allocation(
        (depth if backward != "none" else 1) * width * (width + x.shape[0] * 4),
        "one network's weights and activations",
        names=f"depth = {depth}, width = {width}",
    )
    check_allocation(num_networks * depth * x.shape[0] * 2, "the per-layer statistics",
                     names=f"num_networks = {num_networks}, depth = {depth}")  # fmt: skip
    _n_in, d = x.shape
    itemsize = torch.empty((), dtype=dtype).element_size()
    if chunk_size is None:
        per_net = (depth * width * width + width * d) * itemsize if backward != "none" else width * width * itemsize
        chunk_size = max(1, min(num_networks, int(max_chunk_bytes // per_net)))
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    gen = torch_generator(generator, device=device)
    parts = [
        _simulate_chunk(
            activation,
            float(sigma_w2),
            float(sigma_b2),
            float(keep_prob),
            depth,
            width,
            min(chunk_size, num_networks - start),
            x,
            backward,
            readout,
            gen,
        )
        for start in range(0, num_networks, chunk_size)
    ]
    cat = {k: (None if parts[0][k] is None else np.concatenate([p[k] for p in parts])) for k in parts[0]}
    return EnsembleResult(**cat)


def _simulate_chunk(activation, s, b, r, depth, width, B, x, backward, readout, gen) -> dict:
    phi, dphi = torch_activation(activation)
    n_in, d = x.shape
    dev, dt = x.device, x.dtype
    sw, sb = math.sqrt(s), math.sqrt(b)
    keep_weights = backward == "realistic"
    need_back = backward != "none"
    f64 = {"dtype": torch.float64, "device": dev}
    q = torch.empty(B, depth, n_in, **f64)
    qab = torch.empty(B, depth, **f64)
    Ws, zs, masks, xs = [], [], [], []
    h = x.expand(B, n_in, d)  # x^{l-1}: the input of layer l
    for l in range(depth):
        fan_in = h.shape[-1]
        W = torch.randn(B, width, fan_in, generator=gen, device=dev, dtype=dt).mul_(sw / math.sqrt(fan_in))
        bias = torch.randn(B, 1, width, generator=gen, device=dev, dtype=dt).mul_(sb)
        z = torch.baddbmm(bias, h, W.transpose(1, 2))  # (B, n_in, N)
        check_finite_step(l + 1, "pre-activation z", z, limit=1e150, unit="layer")
        q[:, l] = (z * z).mean(-1).double()
        if n_in >= 2:
            qab[:, l] = (z[:, 0] * z[:, 1]).mean(-1).double()
        if need_back:
            zs.append(z)
            xs.append(h)
        if keep_weights:
            Ws.append(W)
        if l < depth - 1:
            h = phi(z)
            m = None
            if r < 1.0:
                m = bernoulli_mask((B, n_in, width), keep_prob=r, generator=gen, dtype=dt, device=dev)
                h = h * m
            if need_back:
                masks.append(m)
    out = {"q": q.cpu().numpy(), "q_ab": None, "c": None}
    if n_in >= 2:
        out["q_ab"] = qab.cpu().numpy()
        out["c"] = out["q_ab"] / np.sqrt(out["q"][..., 0] * out["q"][..., 1])
    out.update(grad_single=None, grad_pair=None, weight_grad_single=None, weight_grad_pair=None)
    if not need_back:
        return out
    N = width
    deltas = torch.empty(depth, B, n_in, N, device=dev, dtype=dt)  # all errors, metrics computed at the end
    if readout == "loss":
        deltas[-1] = zs[-1]
    else:
        deltas[-1] = torch.randn(B, 1, N, generator=gen, device=dev, dtype=dt).expand(B, n_in, N)
    for l in range(depth - 2, -1, -1):
        if keep_weights:
            Wn = Ws[l + 1]
        else:
            Wn = torch.randn(B, N, N, generator=gen, device=dev, dtype=dt).mul_(sw / math.sqrt(N))
        delta = torch.bmm(deltas[l + 1], Wn).mul_(dphi(zs[l]))  # (Wᵀδ)_j = Σ_i δ_i W_ij, batched
        if masks[l] is not None:
            delta.mul_(masks[l])
        deltas[l] = delta
    finite = torch.isfinite(deltas).flatten(1).all(1) & (deltas.abs().flatten(1).amax(1) <= 1e150)
    if not bool(finite.all()):
        bad = int(torch.nonzero(~finite).max())  # the first layer reached going backwards
        check_finite_step(bad + 1, "error signal delta", deltas[bad], limit=1e150, unit="layer")
    d2 = (deltas * deltas).sum(-1).double().permute(1, 0, 2)  # (B, depth, n_in)
    x2 = torch.stack([(h * h).sum(-1).double() for h in xs], 1)  # (B, depth, n_in); layer 1 input has dim d
    out["grad_single"] = (d2 / N).cpu().numpy()
    out["weight_grad_single"] = (d2 * x2 / N**2).cpu().numpy()
    if n_in >= 2:
        dab = (deltas[:, :, 0] * deltas[:, :, 1]).sum(-1).double().T  # (B, depth)
        xab = torch.stack([(h[:, 0] * h[:, 1]).sum(-1).double() for h in xs], 1)
        out["grad_pair"] = (dab / N).cpu().numpy()
        out["weight_grad_pair"] = (dab * xab / N**2).cpu().numpy()
    return out
