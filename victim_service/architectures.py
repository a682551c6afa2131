"""Model architectures the service can host, built by name from a JSON-safe spec.

A spec is ``{"name": str, "params": {...}}``; input shape and class count come from the
data, never from constants, so one name serves digits (1x8x8), shapes (3x32x32) and
tabular (600,) inputs alike. XGBoost is not a torch module and is handled by the
trainer/predictor directly (``name == "xgboost"``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

TORCH_ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {}
NON_TORCH_ARCHITECTURES = ("xgboost",)


def register(name: str):
    def deco(fn):
        TORCH_ARCHITECTURES[name] = fn
        return fn

    return deco


def available() -> list[str]:
    return sorted([*TORCH_ARCHITECTURES, *NON_TORCH_ARCHITECTURES])


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "group":  # DP-SGD cannot use BatchNorm (per-sample gradients mix samples)
        return nn.GroupNorm(min(8, channels), channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}: use batch, group or none")


@register("small_cnn")
def small_cnn(
    input_shape: Sequence[int],
    num_classes: int,
    widths: Sequence[int] = (32, 64, 128),
    convs_per_block: Sequence[int] = (2, 2, 1),
    hidden: int = 256,
    dropout: float = 0.3,
    norm: str = "batch",
) -> nn.Module:
    """VGG-style CNN: blocks of 3x3 convs, each block ends in a 2x2 max-pool while the
    feature map is at least 2 pixels wide. About 0.67M parameters at 3x32x32; trains at
    ~530 images/s on 2 CPU cores. One conv per block (``convs_per_block=(1, 1, 1)``) is
    3x faster but reaches only 72% on shapes where this reaches 84% (scenarios.calibrate)."""
    if len(widths) != len(convs_per_block):
        raise ValueError("widths and convs_per_block must have the same length")
    channels, size = int(input_shape[0]), int(input_shape[-1])
    layers: list[nn.Module] = []
    for width, n_convs in zip(widths, convs_per_block):
        for _ in range(n_convs):
            layers += [nn.Conv2d(channels, width, 3, padding=1), _norm(norm, width), nn.ReLU()]
            channels = width
        if size >= 2:
            layers.append(nn.MaxPool2d(2))
            size //= 2
    features = nn.Sequential(*layers)
    with torch.no_grad():
        flat = features(torch.zeros(1, *input_shape)).numel()
    return nn.Sequential(
        features,
        nn.Flatten(),
        nn.Linear(flat, hidden),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(hidden, num_classes),
    )


@register("resnet18")
def resnet18(input_shape: Sequence[int], num_classes: int) -> nn.Module:
    """torchvision ResNet-18 with its ImageNet stem kept (7x7/2 conv + max-pool): at 32x32
    the CIFAR stem is ~15x slower on a 2-core CPU. Random initialisation (no downloads)."""
    from torchvision.models import resnet18 as tv_resnet18

    model = tv_resnet18(weights=None, num_classes=num_classes)
    if input_shape[0] != 3:
        model.conv1 = nn.Conv2d(input_shape[0], 64, 7, stride=2, padding=3, bias=False)
    return model


_ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh}


@register("mlp")
def mlp(
    input_shape: Sequence[int],
    num_classes: int,
    hidden: Sequence[int] = (256, 128),
    activation: str = "relu",
    dropout: float = 0.0,
) -> nn.Module:
    if activation not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}: use {sorted(_ACTIVATIONS)}")
    dims = [int(torch.Size(input_shape).numel()), *map(int, hidden)]
    layers: list[nn.Module] = [nn.Flatten()]
    for a, b in itertools.pairwise(dims):
        layers += [nn.Linear(a, b), _ACTIVATIONS[activation]()]
        if dropout:
            layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(dims[-1], num_classes))
    return nn.Sequential(*layers)


@register("mico_mlp")
def mico_mlp(input_shape: Sequence[int], num_classes: int) -> nn.Module:
    """The MICO Purchase-100 target: Linear(d, 128) -> Tanh -> Linear(128, K)."""
    return mlp(input_shape, num_classes, hidden=(128,), activation="tanh")


@register("logreg")
def logreg(input_shape: Sequence[int], num_classes: int) -> nn.Module:
    """Multinomial logistic regression as one linear layer (trained with the same
    recipe API, so DP-SGD and weight decay apply to it too)."""
    return nn.Sequential(nn.Flatten(), nn.Linear(int(torch.Size(input_shape).numel()), num_classes))


def build(
    spec: dict[str, Any], input_shape: Sequence[int], num_classes: int, seed: int | None = None
) -> nn.Module:
    """Build a torch module from ``{"name", "params"}``. With ``seed`` the initial weights
    depend on it alone, not on what drew from torch's global generator before."""
    name = spec["name"]
    if name not in TORCH_ARCHITECTURES:
        raise ValueError(f"unknown torch architecture {name!r}; known: {available()}")
    make = TORCH_ARCHITECTURES[name]
    if seed is None:
        return make(tuple(input_shape), int(num_classes), **spec.get("params", {}))
    with torch.random.fork_rng(devices=[]):  # the caller's generator state is left as it was
        torch.manual_seed(seed)
        return make(tuple(input_shape), int(num_classes), **spec.get("params", {}))


def normalise_spec(spec: str | dict[str, Any]) -> dict[str, Any]:
    """Accept ``"small_cnn"`` or ``{"name": ..., "params": ...}``; return the dict form."""
    if isinstance(spec, str):
        spec = {"name": spec}
    if spec.get("name") not in available():
        raise ValueError(f"unknown architecture {spec.get('name')!r}; known: {available()}")
    return {"name": spec["name"], "params": dict(spec.get("params", {}))}
