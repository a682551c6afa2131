"""Copy and shadow architectures the attacker trains. The attacker cannot import the
victim's code (it only sees the API), so it keeps its own zoo, built from the input shape
and class count the API's model description gives.

- ``cnn``: ActiveThief's ``cnn_x_y`` family: ``blocks`` blocks of ``convs`` 3x3 conv+BN+ReLU
  layers with widths 32, 64, 128, ..., each block closed by a 2x2 max-pool;
- ``resnet18``: torchvision's ResNet-18 (random init; ImageNet stem kept for CPU speed);
- ``mlp`` / ``logreg`` for tabular inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn


def cnn(
    input_shape: Sequence[int],
    num_classes: int,
    blocks: int = 3,
    convs: int = 2,
    width: int = 32,
    dropout: float = 0.3,
    hidden: int = 256,
) -> nn.Module:
    layers: list[nn.Module] = []
    c, size = int(input_shape[0]), int(input_shape[-1])
    for b in range(blocks):
        w = width * 2**b
        for _ in range(convs):
            layers += [nn.Conv2d(c, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
            c = w
        if size >= 2:
            layers.append(nn.MaxPool2d(2))
            size //= 2
    body = nn.Sequential(*layers)
    with torch.no_grad():
        flat = body(torch.zeros(1, *input_shape)).numel()
    return nn.Sequential(
        body,
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(flat, hidden),
        nn.ReLU(inplace=True),
        nn.Dropout(dropout),
        nn.Linear(hidden, num_classes),
    )


def resnet18(input_shape: Sequence[int], num_classes: int) -> nn.Module:
    from torchvision.models import resnet18 as tv

    m = tv(weights=None, num_classes=num_classes)
    if input_shape[0] != 3:
        m.conv1 = nn.Conv2d(input_shape[0], 64, 7, 2, 3, bias=False)
    return m


def mlp(
    input_shape: Sequence[int],
    num_classes: int,
    hidden: Sequence[int] = (256, 128),
    activation: str = "relu",
    dropout: float = 0.0,
) -> nn.Module:
    act = {"relu": nn.ReLU, "tanh": nn.Tanh}[activation]
    d = int(torch.Size(input_shape).numel())
    layers: list[nn.Module] = [nn.Flatten()]
    for h in hidden:
        layers += [nn.Linear(d, h), act()] + ([nn.Dropout(dropout)] if dropout else [])
        d = h
    return nn.Sequential(*layers, nn.Linear(d, num_classes))


def logreg(input_shape: Sequence[int], num_classes: int) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(int(torch.Size(input_shape).numel()), num_classes))


ZOO = {"cnn": cnn, "resnet18": resnet18, "mlp": mlp, "logreg": logreg}


def build(
    arch: str | dict[str, Any],
    input_shape: Sequence[int],
    num_classes: int,
    seed: int | None = None,
) -> nn.Module:
    """``"cnn"`` or ``{"name": "cnn", "params": {"blocks": 2}}``. With ``seed`` the initial
    weights depend on it alone, not on what drew from torch's global generator before."""
    spec = {"name": arch} if isinstance(arch, str) else dict(arch)
    if spec["name"] not in ZOO:
        raise ValueError(f"unknown attacker architecture {spec['name']!r}; known: {sorted(ZOO)}")
    make = ZOO[spec["name"]]
    if seed is None:
        return make(tuple(input_shape), int(num_classes), **spec.get("params", {}))
    with torch.random.fork_rng(devices=[]):  # the caller's generator state is left as it was
        torch.manual_seed(seed)
        return make(tuple(input_shape), int(num_classes), **spec.get("params", {}))


def default_for(input_shape: Sequence[int]) -> str:
    """The sensible copy architecture for an input shape: a CNN for images, an MLP otherwise."""
    return "cnn" if len(input_shape) == 3 else "mlp"
