"""Networks with dropout layers for the alignment and flatness measurements (book scale, seeded).

* :func:`dropout_mlp`: a tanh multilayer perceptron with one ``nn.Dropout`` after the first hidden layer
  (the SME paper's FNN 784-50-50-10 has this shape).
* :func:`dropout_convnet`: a small VGG-style convolutional net for 8×8 images with dropout placed as in the SME
  paper's VGG16 (after the convolutions of each block and after the first fully connected layer) — our
  stand-in for VGG16 on CIFAR-10.

Weights are drawn from an explicit generator (no global random state).
"""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn

from dropout_theory._checks import check_allocation, check_choice, check_keep_prob, check_positive_int
from dropout_theory.rng import GeneratorLike, torch_generator


def dropout_mlp(
    widths: tuple[int, ...] | list[int],
    *,
    keep_prob: float,
    generator: GeneratorLike = None,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> nn.Sequential:
    """tanh MLP ``widths[0] → … → widths[-1]`` with ``nn.Dropout(1 − keep_prob)`` after the first hidden layer.

    Weights and biases are drawn N(0, 1/fan_in) from ``generator`` (no global random state).

    Args:
        widths: layer sizes, at least (input, hidden, output).
        keep_prob: keep probability p in (0, 1] of the first hidden layer.
        generator: torch generator (or int seed) of the initial weights.
        dtype: floating dtype.
        device: device.

    Returns:
        An ``nn.Sequential``.
    """
    generator = torch_generator(generator)
    if not isinstance(widths, tuple | list):
        raise TypeError(f"widths must be a tuple or list of layer sizes, got {type(widths).__name__} {widths!r}")
    widths = [check_positive_int(w, "widths") for w in widths]
    if len(widths) < 3:
        raise ValueError(f"widths needs at least (input, hidden, output), got {widths}")
    check_allocation(sum(a * b for a, b in pairwise(widths)), "the weights", names=f"widths = {widths}")
    p = check_keep_prob(keep_prob)
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(pairwise(widths)):
        lin = nn.Linear(fan_in, fan_out, dtype=dtype, device=device)
        with torch.no_grad():
            std = fan_in**-0.5
            lin.weight.copy_(torch.randn(lin.weight.shape, generator=generator, dtype=dtype) * std)
            lin.bias.copy_(torch.randn(lin.bias.shape, generator=generator, dtype=dtype) * std)
        layers.append(lin)
        if i < len(widths) - 2:
            layers.append(nn.Tanh())
        if i == 0:
            layers.append(nn.Dropout(1.0 - p))
    return nn.Sequential(*layers)


def dropout_convnet(
    *,
    keep_prob: float,
    channels: tuple[int, int] = (8, 16),
    hidden: int = 32,
    num_classes: int = 10,
    activation: str = "tanh",
    generator: GeneratorLike = None,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> nn.Sequential:
    """VGG-style net for flattened 8×8 images: two blocks of two 3×3 convolutions (padding 1) each followed by
    the activation and ``nn.Dropout(1 − keep_prob)``, 2×2 max-pooling after each block, then
    ``Linear(4·channels[1] → hidden)``, activation, dropout, ``Linear(hidden → num_classes)``.

    The SME paper's VGG16 has dropout after the first two convolutions of each block and after the first fully
    connected layer; with two convolutions per block this is the same placement. With the default sizes the net
    has 6,562 parameters. Weights are drawn N(0, gain/fan_in) from ``generator`` (gain 2 for ReLU, 1 for tanh),
    biases N(0, gain/fan_in)/100. The default activation is tanh (with ReLU, full-batch dropout GD on the
    digits collapsed to the constant predictor; see the book's appendix *Reproducing the papers*).

    Args:
        keep_prob: keep probability p in (0, 1] of every dropout layer.
        channels: output channels of the two blocks.
        hidden: width of the hidden fully connected layer.
        num_classes: outputs.
        activation: ``"tanh"`` or ``"relu"``.
        generator: torch generator (or int seed) of the initial weights.
        dtype: floating dtype.
        device: device.

    Returns:
        An ``nn.Sequential`` taking (n, 64) inputs.
    """
    generator = torch_generator(generator)
    p = check_keep_prob(keep_prob)
    if not isinstance(channels, tuple | list) or len(channels) != 2:
        raise ValueError(f"channels must be a pair (block 1, block 2) of integers, got {channels!r}")
    c1, c2 = (check_positive_int(c, "channels") for c in channels)
    hidden = check_positive_int(hidden, "hidden")
    num_classes = check_positive_int(num_classes, "num_classes")
    check_allocation(
        9 * (c1 + c1 * c1 + c1 * c2 + c2 * c2) + 4 * c2 * hidden + hidden * num_classes,
        "the weights",
        names=f"channels = {(c1, c2)}, hidden = {hidden}, num_classes = {num_classes}",
    )
    activation = check_choice(activation, "activation", ("relu", "tanh"))
    act, gain = {"relu": (nn.ReLU, 2.0), "tanh": (nn.Tanh, 1.0)}[activation]

    def conv(cin: int, cout: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, padding=1, dtype=dtype, device=device), act(), nn.Dropout(1.0 - p)]

    layers: list[nn.Module] = [nn.Unflatten(1, (1, 8, 8))]
    layers += conv(1, c1) + conv(c1, c1) + [nn.MaxPool2d(2)]
    layers += conv(c1, c2) + conv(c2, c2) + [nn.MaxPool2d(2), nn.Flatten()]
    layers += [nn.Linear(4 * c2, hidden, dtype=dtype, device=device), act(), nn.Dropout(1.0 - p)]
    layers += [nn.Linear(hidden, num_classes, dtype=dtype, device=device)]
    net = nn.Sequential(*layers)
    with torch.no_grad():
        for mod in net.modules():
            if isinstance(mod, (nn.Conv2d, nn.Linear)):
                std = (gain / (mod.weight[0].numel())) ** 0.5
                mod.weight.copy_(torch.randn(mod.weight.shape, generator=generator, dtype=dtype) * std)
                mod.bias.copy_(torch.randn(mod.bias.shape, generator=generator, dtype=dtype) * std * 0.01)
    return net
