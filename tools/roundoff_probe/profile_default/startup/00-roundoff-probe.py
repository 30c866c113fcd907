"""IPython start-up file of the round-off probe (used by the second nbval pass of ``bash tasks.sh test``).

A kernel started with ``IPYTHONDIR=tools/roundoff_probe`` runs this file first. It multiplies every floating-point
tensor drawn by torch's random functions (``torch.randn``, ``torch.rand``, ``Tensor.normal_``, ``Tensor.uniform_``, and
their ``_like`` forms) by ``1 + e·u`` with u uniform in [-1, 1] from a private generator and e = 1e-12 in float64
(the round-off level of float32 in float32: 8 machine epsilons). The caller's generator is left exactly where it would
have been, so the same masks and samples are drawn; only the last digits of initial weights and noise move. A stored
output that survives this and a numerically different BLAS configuration is a result, not round-off.

The size can be changed with the environment variable ROUNDOFF_PROBE_EPS (0 disables the probe).
"""

import functools
import os

import torch

_EPS = float(os.environ.get("ROUNDOFF_PROBE_EPS", "1e-12"))
_PROBE_GENERATOR = torch.Generator().manual_seed(20261129)
_ORIGINAL_RAND = torch.rand


def _perturb(tensor: torch.Tensor) -> torch.Tensor:
    if _EPS == 0.0 or not isinstance(tensor, torch.Tensor) or not tensor.is_floating_point() or tensor.numel() == 0:
        return tensor
    size = max(_EPS, 8.0 * torch.finfo(tensor.dtype).eps)
    u = _ORIGINAL_RAND(tensor.shape, generator=_PROBE_GENERATOR, dtype=torch.float64).mul_(2.0).sub_(1.0)
    with torch.no_grad():
        tensor.mul_((1.0 + size * u).to(device=tensor.device, dtype=tensor.dtype))
    return tensor


def _wrap(function):
    @functools.wraps(function)
    def perturbed(*args, **kwargs):
        return _perturb(function(*args, **kwargs))

    return perturbed


for _name in ("randn", "rand", "randn_like", "rand_like", "normal"):
    setattr(torch, _name, _wrap(getattr(torch, _name)))
for _name in ("normal_", "uniform_"):
    setattr(torch.Tensor, _name, _wrap(getattr(torch.Tensor, _name)))
