"""The mean-field two-layer particle system trained with dropout, and its coupled variants (part III).

Model. A network of width n is a cloud of n particles X_i = (a_i, w_i) ∈ R^{1+d} with

    f(x) = (1/n) Σ_i φ(X_i, x),    φ(X_i, x) = a_i σ(w_i·x),

trained on the squared loss L = (1/2N) Σ_k (f(x_k) − y_k)² over N data points (full batch). One step with
keep rate q (``keep_prob``) and **master learning rate** τ draws multipliers 1 + η_i ∈ {0, 1/q} and moves

    X_i ← X_i − τ (1 + η_i) Dφ(X_i)ᵀ [ (1/n) Σ_j (1 + η_j) φ(X_j) − y ],

where Dφ(X_i)ᵀ r = (1/N) Σ_k ∇_X φ(X_i, x_k) r_k. This is plain gradient descent with dropout on L with the
per-parameter learning rate ``lr = τ·n`` (∂L/∂X_i carries a factor 1/n), so the "master step 0.5 (learning rate
0.5·width)" of the authors' teacher–student code (GitHub ``PierreMarion23/dropout-phase-diagram``) is τ = 0.5.

Coupled variants (:data:`VARIANTS`), all driven by ONE random stream: every step draws two independent masks
m₁, m₂ from the generator whatever the variants requested, so runs with the same seed are coupled.

* ``"dropout"`` — forward mask m₁, backward mask m₁ (the algorithm);
* ``"random_metric"`` — forward pass unmasked, backward mask m₁ ("random geometry":
  gradients thinned at random after the forward/backward pass);
* ``"propagation_noise_random_metric"`` — forward mask m₂ (independent), backward mask m₁;
* ``"propagation_noise"`` — forward mask m₁, no backward mask (dropout without its random metric);
* ``"no_dropout"`` — no mask (gradient descent on L);
* ``"penalized"`` — no mask, plus the explicit dropout penalty: the vector field of
  L + (1−q)/(2qn)·(1/n) Σ_i ‖φ(X_i, ·)‖², i.e. each particle also feels κ Dφ(X_i)ᵀ φ(X_i) with
  κ = (1−q)/(qn) (:func:`penalty_coefficient`).

With q = 1 every variant performs the same arithmetic (κ = 0), so coupled runs agree exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from dropout_theory._checks import (
    as_tensor,
    check_allocation,
    check_choice,
    check_finite_step,
    check_iterations,
    check_keep_prob,
    check_positive,
    check_positive_int,
)
from dropout_theory.activations import Activation, get_activation
from dropout_theory.rng import GeneratorLike, torch_generator

#: Magnitude above which a loss or a parameter counts as diverged.
DIVERGENCE_LIMIT = 1e12

VARIANTS: tuple[str, ...] = (
    "dropout",
    "random_metric",
    "propagation_noise_random_metric",
    "propagation_noise",
    "no_dropout",
    "penalized",
)
#: Short names of the variants in tables ("PN": propagation noise, "RM": random metric).
VARIANT_NAMES = {
    "dropout": "dropout",
    "random_metric": "random metric",
    "propagation_noise_random_metric": "PN + RM",
    "propagation_noise": "PN only",
    "no_dropout": "no dropout",
    "penalized": "explicit penalty",
}
#: Variants whose forward pass uses the mask m₁, m₂, and whose gradients are multiplied by m₁.
_FORWARD_M1 = ("dropout", "propagation_noise")
_FORWARD_M2 = ("propagation_noise_random_metric",)
_BACKWARD_M1 = ("dropout", "random_metric", "propagation_noise_random_metric")


def _particles(a, W, X=None, y=None, *, a_name: str = "a", W_name: str = "W", ndim=(2, 3, 4)):
    """(a, W, X, y) as tensors on W's device and dtype, shapes checked against each other (X, y optional)."""
    W = as_tensor(W, W_name, ndim=ndim)
    kw = {"dtype": W.dtype, "device": W.device, "like": W_name}
    a = as_tensor(a, a_name, **kw)
    if tuple(a.shape) != tuple(W.shape[:-1]) or 0 in W.shape:
        raise ValueError(
            f"{a_name} and {W_name} must have shapes (..., n) and (..., n, d) with n, d >= 1, got "
            f"{tuple(a.shape)} and {tuple(W.shape)}"
        )
    if X is not None:
        X = as_tensor(X, "X", ndim=2, **kw)
        if X.shape[1] != W.shape[-1] or X.shape[0] == 0:
            raise ValueError(
                f"X must be (N, d) with N >= 1 and d = {W.shape[-1]} as in {W_name}, got shapes {tuple(X.shape)} "
                f"and {tuple(W.shape)}"
            )
    if y is not None:
        y = as_tensor(y, "y", ndim=1, **kw)
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"y has {y.shape[0]} entries but X has {X.shape[0]} rows")
    return a, W, X, y


def penalty_coefficient(keep_prob: float, width: int) -> float:
    """κ = (1 − q)/(q n): strength of the self term's mean (the dropout penalty), mean-field scaling.

    Args:
        keep_prob: keep rate q in (0, 1].
        width: number of particles n >= 1.

    Returns:
        κ >= 0 (zero when q = 1).
    """
    q = check_keep_prob(keep_prob)
    n = check_positive_int(width, "width")
    return (1.0 - q) / (q * n)


def init_particles(
    width: int,
    d: int,
    *,
    repeats: int | None = None,
    scale_a: float = 1.0,
    scale_w: float = 1.0,
    generator: GeneratorLike = None,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean-field initialization: a_i ~ N(0, scale_a²) (order one, NOT 1/√n), w_i ~ N(0, scale_w²/d · I).

    Args:
        width: number of particles n >= 1.
        d: input dimension >= 1.
        repeats: if given, draw this many independent clouds (leading dimension R).
        scale_a: standard deviation of a_i.
        scale_w: standard deviation of each entry of w_i times √d.
        generator: torch generator or int seed.
        dtype: floating dtype.
        device: device.

    Returns:
        ``(a, W)`` of shapes (n,), (n, d), or (R, n), (R, n, d) with ``repeats``.
    """
    generator = torch_generator(generator, device=device)
    n = check_positive_int(width, "width")
    d = check_positive_int(d, "d")
    lead = () if repeats is None else (check_positive_int(repeats, "repeats"),)
    check_allocation(
        (lead[0] if lead else 1) * n * (d + 1), "the particles", names=f"width = {n}, d = {d}, repeats = {repeats}"
    )
    scale_a = check_positive(scale_a, "scale_a", allow_zero=True)
    scale_w = check_positive(scale_w, "scale_w", allow_zero=True)
    a = torch.randn((*lead, n), generator=generator, dtype=dtype, device=device) * scale_a
    W = torch.randn((*lead, n, d), generator=generator, dtype=dtype, device=device) * (scale_w / d**0.5)
    return a, W


def pack_particles(a: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """Stack (a, W) of shapes (..., n), (..., n, d) into particles X of shape (..., n, 1 + d)."""
    a, W, _, _ = _particles(a, W)
    return torch.cat([a.unsqueeze(-1), W], dim=-1)


def network_output(a: torch.Tensor, W: torch.Tensor, X: torch.Tensor, *, activation: str = "relu") -> torch.Tensor:
    """f(x) = (1/n) Σ_i a_i σ(w_i·x) on every data point.

    Args:
        a: (..., n) output weights.
        W: (..., n, d) input weights.
        X: (N, d) inputs.
        activation: activation name.

    Returns:
        (..., N) outputs.
    """
    act = get_activation(activation)
    a, W, X, _ = _particles(a, W, X)
    return _output(a, W, X, act)


def _output(a: torch.Tensor, W: torch.Tensor, X: torch.Tensor, act: Activation) -> torch.Tensor:
    """:func:`network_output` without the entry checks (inside loops whose inputs were checked once)."""
    H = act.f(W @ X.T)
    return (a.unsqueeze(-2) @ H).squeeze(-2) / a.shape[-1]


def penalized_objective(
    a: torch.Tensor,
    W: torch.Tensor,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    keep_prob: float,
    activation: str = "relu",
) -> torch.Tensor:
    """F = (1/2N) Σ_k (f(x_k) − y_k)² + (1−q)/(2qn) · (1/n) Σ_i (1/N) Σ_k φ(X_i, x_k)².

    F equals the expected masked loss E_η L(f_η) exactly, and n·∇_{X_i} F is the penalized-flow velocity of
    particle i (what :func:`particle_velocity` returns with ``penalty = κ``).

    Args:
        a: (n,) output weights.
        W: (n, d) input weights.
        X: (N, d) inputs.
        y: (N,) targets.
        keep_prob: q in (0, 1].
        activation: activation name.

    Returns:
        0-dim tensor.
    """
    q = check_keep_prob(keep_prob)
    a, W, X, y = _particles(a, W, X, y)
    n = a.shape[-1]
    act = get_activation(activation)
    phi = a.unsqueeze(-1) * act.f(W @ X.T)  # (n, N)
    r = phi.mean(-2) - y
    return 0.5 * (r * r).mean(-1) + (1.0 - q) / (2.0 * q * n) * (phi * phi).mean(-1).mean(-1)


def velocity_kernel(
    A: torch.Tensor,
    W: torch.Tensor,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    act: Activation,
    forward_mask: torch.Tensor | None = None,
    penalty: torch.Tensor | float = 0.0,
    freeze_w: bool = False,
    buffers: tuple[torch.Tensor, torch.Tensor] | None = None,
    unmasked_output: bool = False,
) -> tuple[torch.Tensor, ...]:
    """The kernel of every particle dynamics: Dφ(X_i)ᵀ[f_mask − y] + κ Dφ(X_i)ᵀ φ_i for every particle, batched
    over leading dims, without validation (:func:`particle_velocity` is the validated public version).

    The shared residual r enters through matrix products only: Σ_k σ'(z_ik) r_k x_k = (σ'(Z) @ (r ⊙ X))_i, so
    the (..., n, N) arrays are Z, σ(Z) and σ'(Z) and nothing else. For ReLU, σ'(Z) = sign(σ(Z)) is written into
    the pre-activation buffer, and ``buffers`` (two preallocated (..., n, N) tensors, reused step after step)
    avoid allocating the large arrays at every step.

    Args:
        A: (..., n) output weights; W: (..., n, d) input weights; X: (N, d) inputs; y: (N,) targets.
        act: the activation.
        forward_mask: (..., n) multipliers 1 + η_j of the forward pass (``None``: no mask).
        penalty: κ (a float or a tensor broadcasting against (..., 1)).
        freeze_w: return no w-velocity (random-features model).
        buffers: two preallocated (..., n, N) tensors reused by ReLU.
        unmasked_output: also return the output of the unmasked network (for a loss check at every step).

    Returns:
        ``(v_a (..., n), v_W (..., n, d) or None, f_mask (..., N))``, followed by the unmasked output (..., N)
        when ``unmasked_output``.
    """
    n, N = A.shape[-1], X.shape[0]
    relu = act.name == "relu"
    if buffers is not None and relu:
        Z = torch.matmul(W, X.T, out=buffers[0])  # (..., n, N)
        H = torch.clamp_min(Z, 0.0, out=buffers[1])
    else:
        Z = W @ X.T
        H = act.f(Z)
    Am = A if forward_mask is None else A * forward_mask
    f = (Am.unsqueeze(-2) @ H).squeeze(-2) / n  # (..., N)
    extra = ((A.unsqueeze(-2) @ H).squeeze(-2) / n,) if unmasked_output else ()
    r = f - y
    v_a = (H @ r.unsqueeze(-1)).squeeze(-1) / N
    pen = isinstance(penalty, torch.Tensor) or penalty != 0.0
    if pen:
        pk = penalty if isinstance(penalty, torch.Tensor) else torch.tensor(penalty, dtype=A.dtype, device=A.device)
        v_a = v_a + pk * A * (H * H).sum(-1) / N
    if freeze_w:
        return v_a, None, f, *extra
    dsig = torch.sign(H, out=Z) if relu else act.df(Z)  # σ'(Z); for ReLU it overwrites Z
    v_W = A.unsqueeze(-1) * (dsig @ (r.unsqueeze(-1) * X)) / N
    if pen:
        v_W = v_W + (pk * A * A).unsqueeze(-1) * ((dsig * H) @ X) / N
    return v_a, v_W, f, *extra


#: Particles per chunk of the chunked step: a (V, R, chunk, N) block of pre-activations stays in the CPU's cache.
DEFAULT_CHUNK = 128
#: Above this many entries of the (V, R, n, N) pre-activations (16 MiB in float64), :func:`simulate_coupled`
#: processes the particles in chunks (``chunk_size=None``); below it the one batched pass is about as fast (the
#: measured speed-ups are in the book's appendix *Reproducing the papers*).
CHUNK_ABOVE = 2**21


class _ChunkedStep:
    """One dropout step of every variant, in place, with the particles processed in chunks.

    The unchunked kernel streams ≈ 7 (V, R, n, N) arrays through memory per step (pre-activations, activations,
    slopes, each read by several products); at paper widths they are far larger than the cache and the step is
    bound by memory bandwidth. Here pass 1 computes, chunk by chunk, the pre-activations of ``chunk`` particles (a
    block that stays in cache) and accumulates the masked and unmasked outputs; pass 2 recomputes each block
    (d multiply–adds per entry, cheaper than reading it back from memory), forms the chunk's velocities and moves
    the chunk's particles at once. All buffers are allocated once and reused at every step (smooth activations
    other than ReLU still allocate their chunk-sized σ(Z) and σ'(Z)).
    """

    def __init__(self, shape: tuple[int, int, int], d: int, N: int, chunk: int, *, dtype, device) -> None:
        V, R, n = shape
        self.chunk = min(chunk, n)
        kw = {"dtype": dtype, "device": device}
        c = V * R * self.chunk
        self._flat = {
            "Z": torch.empty(c * N, **kw),  # pre-activations → activations (→ slopes for ReLU)
            "G": torch.empty(c * N, **kw),  # slopes, σ'σ, σ²
            "va": torch.empty(c, **kw),
            "vw": torch.empty(c * d, **kw),
            "vw2": torch.empty(c * d, **kw),
            "hh": torch.empty(c, **kw),
            "scale": torch.empty(c, **kw),
        }
        self.am = torch.empty((V, R, n), **kw)  # masked output weights
        self.f = torch.empty((V, R, N), **kw)
        self.f_plain = torch.empty((V, R, N), **kw)
        self.part = torch.empty((V, R, 1, N), **kw)
        self.rX = torch.empty((V, R, N, d), **kw)  # r_k x_k / N

    def _view(self, name: str, *shape: int) -> torch.Tensor:
        size = math.prod(shape)
        return self._flat[name][:size].view(shape)

    def __call__(self, A, W, X, XT, y, *, act, fwd, bwd, tau, penalty, freeze_w) -> torch.Tensor:
        """Advance (A, W) (V, R, n), (V, R, n, d) by one step in place.

        Args:
            A, W: the particles of every variant and repeat (contiguous; modified in place).
            X, XT: (N, d) inputs and their (d, N) transpose; y: (N,) targets.
            act: the activation.
            fwd, bwd: (V, R, n) forward and backward multipliers.
            tau: master learning rate.
            penalty: (V, 1, 1) κ per variant, or ``None``.
            freeze_w: move only the output weights.

        Returns:
            The unmasked output (V, R, N) at the state before the step (a buffer, overwritten by the next call).
        """
        V, R, n = A.shape
        N, d = X.shape
        relu = act.name == "relu"
        torch.mul(A, fwd, out=self.am)
        f, fp = self.f.zero_(), self.f_plain.zero_()
        for s in range(0, n, self.chunk):  # pass 1: outputs
            e = min(n, s + self.chunk)
            Z = self._view("Z", V, R, e - s, N)
            torch.matmul(W[:, :, s:e], XT, out=Z)
            H = Z.clamp_min_(0.0) if relu else act.f(Z)
            torch.matmul(self.am[:, :, None, s:e], H, out=self.part)
            f.add_(self.part[:, :, 0])
            torch.matmul(A[:, :, None, s:e], H, out=self.part)
            fp.add_(self.part[:, :, 0])
        r = f.div_(n).sub_(y)  # the masked residual, in place of f
        fp.div_(n)
        torch.mul(r.unsqueeze(-1), X, out=self.rX).div_(N)
        kappa = None if penalty is None else penalty.view(V, 1, 1) / N
        for s in range(0, n, self.chunk):  # pass 2: velocities and the move, chunk by chunk
            e = min(n, s + self.chunk)
            c = e - s
            Z, G = self._view("Z", V, R, c, N), self._view("G", V, R, c, N)
            va, hh, scale = self._view("va", V, R, c, 1), self._view("hh", V, R, c), self._view("scale", V, R, c)
            a_c, w_c = A[:, :, s:e], W[:, :, s:e]
            torch.matmul(w_c, XT, out=Z)
            H = Z.clamp_min_(0.0) if relu else act.f(Z)
            torch.matmul(H, r.unsqueeze(-1), out=va)  # Σ_k σ_ik r_k
            if kappa is not None:
                torch.sum(torch.mul(H, H, out=G), -1, out=hh)  # Σ_k σ_ik²
            if not freeze_w:
                vw, vw2 = self._view("vw", V, R, c, d), self._view("vw2", V, R, c, d)
                if relu:
                    torch.sign(H, out=G)
                else:
                    G.copy_(act.slope(Z, H))
                torch.matmul(G, self.rX, out=vw)  # Σ_k σ'_ik r_k x_k / N
                # w_c ← w_c − τ m_back (a ⊙ v + κ a² ⊙ Σ_k σ'σ x_k / N)
                torch.mul(bwd[:, :, s:e], a_c, out=scale).mul_(-tau)
                w_c.addcmul_(scale.unsqueeze(-1), vw)
                if kappa is not None:
                    torch.matmul(G.mul_(H), X, out=vw2)
                    w_c.addcmul_(scale.mul_(a_c).mul_(kappa).unsqueeze(-1), vw2)
            # a_c ← a_c − τ m_back (Σ_k σ_ik r_k / N + κ a_c Σ_k σ_ik² / N)
            v = va.squeeze(-1).div_(N)
            if kappa is not None:
                v.addcmul_(kappa * a_c, hh)
            a_c.addcmul_(bwd[:, :, s:e], v, value=-tau)
        return fp


def particle_velocity(
    a,
    W,
    X,
    y,
    *,
    forward_mask: torch.Tensor | None = None,
    penalty: float = 0.0,
    activation: str = "relu",
) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean-field velocity Dφ(X_i)ᵀ[(1/n) Σ_j m_j φ(X_j) − y] + κ Dφ(X_i)ᵀ φ(X_i) of every particle.

    One dropout step is X_i ← X_i − τ m_i^{back} · velocity_i(forward_mask = m^{fwd}, penalty = 0).

    Args:
        a: (..., n) output weights.
        W: (..., n, d) input weights.
        X: (N, d) inputs.
        y: (N,) targets.
        forward_mask: optional (..., n) multipliers 1 + η_j of the forward pass.
        penalty: κ >= 0 of the self term's mean (see :func:`penalty_coefficient`).
        activation: activation name.

    Returns:
        ``(v_a, v_W)`` with the shapes of ``a`` and ``W``.
    """
    a, W, X, y = _particles(a, W, X, y)
    if forward_mask is not None:
        forward_mask = as_tensor(forward_mask, "forward_mask", dtype=W.dtype, device=W.device, like="W")
        if forward_mask.shape[-1] != a.shape[-1]:
            raise ValueError(f"forward_mask must be (..., n) with n = {a.shape[-1]}, got {tuple(forward_mask.shape)}")
    check_positive(penalty, "penalty", allow_zero=True)
    v_a, v_W, _ = velocity_kernel(
        a, W, X, y, act=get_activation(activation), forward_mask=forward_mask, penalty=float(penalty)
    )
    return v_a, v_W


@dataclass(frozen=True)
class CoupledRun:
    """Trajectories of coupled variants of the particle system.

    Attributes:
        variants: names of the variants, in the order of the leading dimension V.
        steps: (T,) recorded step indices k (0 = initialization).
        times: (T,) the same in mean-field time t = kτ.
        loss: (V, R, T) unmasked loss L = (1/2N) Σ (f − y)² at the recorded steps.
        rms_to_reference: (V, R, T) RMS particle distance sqrt((1/n) Σ_i ‖X_i − X_i^ref‖²) to the reference
            variant (zero for the reference itself).
        reference: name of the reference variant.
        a: (V, R, n) final output weights.
        W: (V, R, n, d) final input weights.
        a_path: (V, R, T, n) recorded output weights (``None`` unless ``record_particles``).
        W_path: (V, R, T, n, d) recorded input weights (``None`` unless ``record_particles``).
        tau: master learning rate τ.
        keep_prob: keep rate q.
    """

    variants: tuple[str, ...]
    steps: torch.Tensor
    times: torch.Tensor
    loss: torch.Tensor
    rms_to_reference: torch.Tensor
    reference: str
    a: torch.Tensor
    W: torch.Tensor
    a_path: torch.Tensor | None
    W_path: torch.Tensor | None
    tau: float
    keep_prob: float
    val_loss: torch.Tensor | None = None

    def index(self, variant: str) -> int:
        """Position of ``variant`` along the leading dimension."""
        check_choice(variant, "variant", self.variants)
        return self.variants.index(variant)


def simulate_coupled(
    a0,
    W0,
    X,
    y,
    *,
    tau: float,
    keep_prob: float,
    num_steps: int,
    variants: Sequence[str] = ("dropout", "random_metric", "propagation_noise_random_metric", "no_dropout"),
    reference: str | None = None,
    generator: GeneratorLike = None,
    activation: str = "relu",
    record_every: int = 1,
    record_particles: bool = False,
    freeze_w: bool = False,
    validation: tuple[torch.Tensor, torch.Tensor] | None = None,
    progress: bool = False,
    chunk_size: int | None = None,
) -> CoupledRun:
    """Run coupled variants of the particle system from the same initialization with the same masks.

    All variants (and all repeats) are advanced together in one batched tensor of shape (V, R, n, ·); no
    Python loop over particles. Every step draws ``torch.rand((2, R, n))`` from ``generator`` (masks m₁, m₂),
    whatever the variants, so a run of a subset of variants with the same seed reproduces the same paths.

    Args:
        a0: (n,) or (R, n) initial output weights (R independent repeats share nothing but the generator).
        W0: (n, d) or (R, n, d) initial input weights.
        X: (N, d) inputs.
        y: (N,) targets.
        tau: master learning rate τ > 0 (per-parameter learning rate τ·n).
        keep_prob: keep rate q in (0, 1].
        num_steps: number of steps k >= 1.
        variants: names from :data:`VARIANTS`.
        reference: variant the RMS distances are measured to (default: the first).
        generator: torch generator (on the device of ``W0``) or int seed of the masks.
        activation: activation name ("relu", "tanh", ...).
        record_every: record every this many steps (and the last).
        record_particles: also store the particle paths at the recorded steps.
        freeze_w: train only the a_i (random-features model: φ is then linear in the trained parameters).
        validation: optional ``(X_val (N', d), y_val (N',))`` on which the unmasked loss is also recorded.
        progress: tqdm progress bar.
        chunk_size: particles per chunk of the in-place chunked step (the same arithmetic, summed in another
            order); 0 for one batched pass over all particles; ``None``: chunks of :data:`DEFAULT_CHUNK` when the
            (V, R, n, N) pre-activations have more than :data:`CHUNK_ABOVE` entries (larger than any cache), one
            pass otherwise.

    Returns:
        A :class:`CoupledRun`.

    Raises:
        ValueError: invalid argument.
        DivergenceError: a loss or the parameters became non-finite or exceeded 1e12 (checked at every step; names
            the first such step and the variant).
    """
    q = check_keep_prob(keep_prob)
    tau = check_positive(tau, "tau")
    num_steps = check_iterations(num_steps, "num_steps")
    record_every = check_positive_int(record_every, "record_every")
    if isinstance(variants, str) or not isinstance(variants, Sequence):
        raise TypeError(f"variants must be a sequence of names from {list(VARIANTS)}, got {variants!r}")
    variants = tuple(variants)
    if not variants:
        raise ValueError("variants must name at least one of " + ", ".join(VARIANTS))
    for v in variants:
        check_choice(v, "variants", VARIANTS)
    reference = variants[0] if reference is None else check_choice(reference, "reference", variants)
    W0 = as_tensor(W0, "W0", ndim=(2, 3))
    generator = torch_generator(generator, device=W0.device)
    kw = {"dtype": W0.dtype, "device": W0.device}
    a0 = as_tensor(a0, "a0", ndim=(1, 2), **kw)
    X = as_tensor(X, "X", ndim=2, **kw)
    y = as_tensor(y, "y", ndim=1, **kw)
    if W0.dim() == 2:
        W0, a0 = W0.unsqueeze(0), a0.unsqueeze(0)
    if a0.shape != W0.shape[:2]:
        raise ValueError(f"a0 has shape {tuple(a0.shape)} but W0 has {tuple(W0.shape)}: need (R, n) and (R, n, d)")
    if X.shape[1] != W0.shape[-1]:
        raise ValueError(f"X has {X.shape[1]} features but W0 expects d = {W0.shape[-1]}")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y has {y.shape[0]} entries but X has {X.shape[0]} rows")
    if validation is not None:
        Xv = as_tensor(validation[0], "validation[0]", ndim=2, **kw)
        yv = as_tensor(validation[1], "validation[1]", ndim=1, **kw)
        if Xv.shape[1] != X.shape[1] or yv.shape[0] != Xv.shape[0]:
            raise ValueError(f"validation must be (X_val (N', {X.shape[1]}), y_val (N',)), got shapes "
                             f"{tuple(Xv.shape)}, {tuple(yv.shape)}")  # fmt: skip
    R, n, _ = W0.shape
    V = len(variants)
    act = get_activation(activation)
    kappa = penalty_coefficient(q, n)
    A = a0.unsqueeze(0).expand(V, R, n).clone()
    Wc = W0.unsqueeze(0).expand(V, *W0.shape).clone()
    pen = torch.tensor([kappa if v == "penalized" else 0.0 for v in variants], **kw).view(V, 1, 1)
    use_pen = kappa > 0.0 and "penalized" in variants
    ones = torch.ones((R, n), **kw)
    if chunk_size is None:
        chunk_size = DEFAULT_CHUNK if V * R * n * X.shape[0] > CHUNK_ABOVE else 0
    chunk_size = check_positive_int(chunk_size, "chunk_size", minimum=0)
    if chunk_size:
        stepper = _ChunkedStep((V, R, n), X.shape[1], X.shape[0], chunk_size, **kw)
        XT = X.T.contiguous()
    else:
        buffers = (torch.empty((V, R, n, X.shape[0]), **kw), torch.empty((V, R, n, X.shape[0]), **kw))
    iref = variants.index(reference)
    steps, losses, val_losses, rms, apath, wpath = [], [], [], [], [], []

    def check(k: int, quantity: str, values: torch.Tensor) -> None:
        """Divergence check of (V, R, …) values at step k, naming the first variant that blew up."""
        worst = values.detach().abs().flatten(1).amax(1)  # (V,)
        bad = ~torch.isfinite(worst) | (worst > DIVERGENCE_LIMIT)
        if bool(bad.any()):
            vi = int(bad.nonzero()[0, 0])
            check_finite_step(k, f"{quantity} of variant {variants[vi]!r}", worst[vi], DIVERGENCE_LIMIT)

    def record(k: int) -> None:
        f = _output(A, Wc, X, act)
        r = f - y
        loss = 0.5 * (r * r).mean(-1)  # (V, R)
        check(k, "loss", loss)
        dA = A - A[iref]
        dW = Wc - Wc[iref]
        rms.append(torch.sqrt((dA * dA + (dW * dW).sum(-1)).mean(-1)))
        losses.append(loss)
        if validation is not None:
            rv = network_output(A, Wc, Xv, activation=activation) - yv
            val_losses.append(0.5 * (rv * rv).mean(-1))
        steps.append(k)
        if record_particles:
            apath.append(A.clone())
            wpath.append(Wc.clone())

    record(0)
    for k in tqdm(range(1, num_steps + 1), disable=not progress, desc="coupled particles"):
        u = torch.rand((2, R, n), generator=generator, **kw)
        m1 = (u[0] < q).to(A.dtype) / q
        m2 = (u[1] < q).to(A.dtype) / q
        fwd = torch.stack([m1 if v in _FORWARD_M1 else m2 if v in _FORWARD_M2 else ones for v in variants])
        bwd = torch.stack([m1 if v in _BACKWARD_M1 else ones for v in variants])
        if chunk_size:
            f_plain = stepper(
                A, Wc, X, XT, y, act=act, fwd=fwd, bwd=bwd, tau=tau, penalty=pen if use_pen else None,
                freeze_w=freeze_w,
            )  # fmt: skip
        else:
            v_a, v_W, _, f_plain = velocity_kernel(
                A,
                Wc,
                X,
                y,
                act=act,
                forward_mask=fwd,
                penalty=pen if use_pen else 0.0,
                freeze_w=freeze_w,
                buffers=buffers,
                unmasked_output=True,
            )
            A = A - tau * bwd * v_a
            if v_W is not None:
                Wc = Wc - tau * bwd.unsqueeze(-1) * v_W
        r_plain = f_plain - y
        check(k - 1, "loss", 0.5 * (r_plain * r_plain).mean(-1))  # the state the step started from
        check(k, "output weights", A)
        check(k, "parameters", Wc)
        if k % record_every == 0 or k == num_steps:
            record(k)
    st = torch.tensor(steps)
    return CoupledRun(
        variants=variants,
        steps=st,
        times=st.to(torch.float64) * tau,
        loss=torch.stack(losses, -1),
        rms_to_reference=torch.stack(rms, -1),
        reference=reference,
        a=A,
        W=Wc,
        a_path=torch.stack(apath, 2) if record_particles else None,
        W_path=torch.stack(wpath, 2) if record_particles else None,
        tau=tau,
        keep_prob=q,
        val_loss=torch.stack(val_losses, -1) if validation is not None else None,
    )


def mask_average_velocity(
    a, W, X, y, *, keep_prob: float, activation: str = "relu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """E_η[(1 + η_i) velocity_i(forward mask 1 + η)] by exact enumeration of all 2^n masks (n ≤ 16).

    The dropout step is X_i ← X_i − τ × (this quantity, before averaging); its average should equal the
    penalized velocity ``particle_velocity(..., penalty=penalty_coefficient(q, n))``.

    Args:
        a: (n,) output weights.
        W: (n, d) input weights.
        X: (N, d) inputs.
        y: (N,) targets.
        keep_prob: q in (0, 1].
        activation: activation name.

    Returns:
        ``(mean v_a (n,), mean v_W (n, d))``.
    """
    q = check_keep_prob(keep_prob)
    a, W, X, y = _particles(a, W, X, y, ndim=2)
    n = a.shape[0]
    if n > 16:
        raise ValueError(f"exact enumeration needs width <= 16, got {n}")
    bits = torch.cartesian_prod(*[torch.tensor([0.0, 1.0], dtype=W.dtype, device=W.device)] * n).reshape(-1, n)
    prob = (bits * q + (1.0 - bits) * (1.0 - q)).prod(-1)  # (2^n,), in the dtype of W
    masks = bits / q
    va, vW = particle_velocity(
        a.expand_as(masks), W.expand(masks.shape[0], *W.shape), X, y, forward_mask=masks, activation=activation
    )
    return (prob[:, None] * masks * va).sum(0), (prob[:, None, None] * masks[..., None] * vW).sum(0)
