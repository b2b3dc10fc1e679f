"""Weight initializers, with PyTorch's names, arguments and formulas (``torch.nn.init``).

Each fills a ``Tensor`` (or ``np.ndarray``) in place, keeps its dtype, returns it, and
takes its randomness from ``generator`` (an ``np.random.Generator``; default
:func:`nncore.random.default_generator`). Fans are computed as PyTorch does for a weight of
shape ``(out_features, in_features, *kernel)``: ``fan_in = in_features * prod(kernel)``,
``fan_out = out_features * prod(kernel)``.

Sources: Glorot & Bengio, "Understanding the difficulty of training deep feedforward
neural networks", AISTATS 2010 (Xavier/Glorot); He et al., "Delving Deep into
Rectifiers", ICCV 2015 (Kaiming/He).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nncore.random import default_generator
from nncore.tensor import Tensor

__all__ = [
    "calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_",
    "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
]

ArrayOrTensor = Any


def _array(t: ArrayOrTensor) -> np.ndarray:
    arr = t.data if isinstance(t, Tensor) else t
    if not isinstance(arr, np.ndarray) or arr.dtype.kind != "f":
        raise TypeError("init functions fill a floating Tensor or np.ndarray in place")
    return arr


def _rng(generator: np.random.Generator | None) -> np.random.Generator:
    return default_generator() if generator is None else generator


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (PyTorch's table).

    ``linear``/``sigmoid``/identity-like: 1; ``tanh``: 5/3; ``relu``: sqrt(2);
    ``leaky_relu``: sqrt(2 / (1 + slope^2)) with slope ``param`` (default 0.01);
    ``selu``: 3/4.

    Raises:
        ValueError: for an unknown nonlinearity or a non-numeric slope.
    """
    linear = {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
              "conv_transpose2d", "conv_transpose3d", "sigmoid"}
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"negative_slope {slope!r} is not a valid number")
        return math.sqrt(2.0 / (1.0 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4.0
    raise ValueError(f"unsupported nonlinearity {nonlinearity!r}")


def _fans(arr: np.ndarray) -> tuple[int, int]:
    if arr.ndim < 2:
        raise ValueError(f"fan in and fan out need a weight with at least 2 dimensions, "
                         f"got shape {arr.shape}")
    receptive = int(np.prod(arr.shape[2:])) if arr.ndim > 2 else 1
    return arr.shape[1] * receptive, arr.shape[0] * receptive


def uniform_(t: ArrayOrTensor, a: float = 0.0, b: float = 1.0,
             generator: np.random.Generator | None = None) -> ArrayOrTensor:
    """Fill with values drawn from U(a, b)."""
    arr = _array(t)
    arr[...] = _rng(generator).uniform(a, b, size=arr.shape)
    return t


def normal_(t: ArrayOrTensor, mean: float = 0.0, std: float = 1.0,
            generator: np.random.Generator | None = None) -> ArrayOrTensor:
    """Fill with values drawn from N(mean, std^2)."""
    arr = _array(t)
    arr[...] = _rng(generator).normal(mean, std, size=arr.shape)
    return t


def constant_(t: ArrayOrTensor, val: float) -> ArrayOrTensor:
    """Fill with ``val``."""
    _array(t)[...] = val
    return t


def zeros_(t: ArrayOrTensor) -> ArrayOrTensor:
    """Fill with zeros."""
    return constant_(t, 0.0)


def ones_(t: ArrayOrTensor) -> ArrayOrTensor:
    """Fill with ones."""
    return constant_(t, 1.0)


def xavier_uniform_(t: ArrayOrTensor, gain: float = 1.0,
                    generator: np.random.Generator | None = None) -> ArrayOrTensor:
    """Glorot/Xavier uniform: U(-a, a) with ``a = gain * sqrt(6 / (fan_in + fan_out))``."""
    fan_in, fan_out = _fans(_array(t))
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -a, a, generator)


def xavier_normal_(t: ArrayOrTensor, gain: float = 1.0,
                   generator: np.random.Generator | None = None) -> ArrayOrTensor:
    """Glorot/Xavier normal: N(0, std^2) with ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = _fans(_array(t))
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def _kaiming_std(arr: np.ndarray, a: float, mode: str, nonlinearity: str) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _fans(arr)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(t: ArrayOrTensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu",
                     generator: np.random.Generator | None = None) -> ArrayOrTensor:
    """He/Kaiming uniform: U(-b, b) with ``b = sqrt(3) * gain / sqrt(fan)``, where the
    gain is ``calculate_gain(nonlinearity, a)`` (defaults as PyTorch: ``a=0``,
    ``mode="fan_in"``, ``nonlinearity="leaky_relu"``)."""
    bound = math.sqrt(3.0) * _kaiming_std(_array(t), a, mode, nonlinearity)
    return uniform_(t, -bound, bound, generator)


def kaiming_normal_(t: ArrayOrTensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu",
                    generator: np.random.Generator | None = None) -> ArrayOrTensor:
    """He/Kaiming normal: N(0, std^2) with ``std = gain / sqrt(fan)``."""
    return normal_(t, 0.0, _kaiming_std(_array(t), a, mode, nonlinearity), generator)
