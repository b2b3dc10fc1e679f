"""The benchmarked MLP: sizes, initial weights and data, shared by every implementation.

Every implementation trains the same network from the same initial weights on the same
batches in the same order::

    Linear(d0, d1) - BatchNorm1d(d1) - ReLU - Linear(d1, d2) - BatchNorm1d(d2) - ReLU
    - Linear(d2, d3)

with Adam (lr 1e-3, betas (0.9, 0.999), eps 1e-8, PyTorch's form) and cross-entropy
loss with mean reduction. Parameters are named as in a PyTorch ``nn.Sequential``
``state_dict``: ``"0.weight"``, ``"0.bias"`` (Linear), ``"1.weight"``, ``"1.bias"``,
``"1.running_mean"``, ``"1.running_var"`` (BatchNorm1d), ``"3.weight"``, ...

Initial weights follow PyTorch's defaults: Linear weight and bias uniform in
``±1/sqrt(fan_in)`` (``kaiming_uniform_(a=sqrt(5))`` reduces to that bound), BatchNorm
gamma 1, beta 0, running mean 0, running variance 1. They are drawn once, in float64,
from ``np.random.default_rng(seed)``; each implementation casts them to its dtype.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Hyperparameters, PyTorch's defaults.
LR = 1e-3
BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
BN_EPS = 1e-5
BN_MOMENTUM = 0.1


@dataclass(frozen=True)
class Size:
    """One benchmarked model size: layer widths, batch size and data set."""

    dims: tuple[int, ...]
    batch: int
    data: str  # "digits" or "random"
    n_samples: int  # for "random"; "digits" has 1797

    @property
    def name(self) -> str:
        return "-".join(str(d) for d in self.dims)

    @property
    def arch(self) -> str:
        return arch_string(self.dims)


SIZES: dict[str, Size] = {
    s.name: s
    for s in (
        Size((64, 128, 128, 10), batch=128, data="digits", n_samples=1797),
        Size((784, 512, 512, 10), batch=256, data="random", n_samples=8192),
    )
}


def arch_string(dims) -> str:
    """``"Linear(64,128)-BatchNorm1d(128)-ReLU-...-Linear(128,10)"`` for layer widths ``dims``."""
    parts = []
    for i in range(len(dims) - 2):
        parts += [f"Linear({dims[i]},{dims[i + 1]})", f"BatchNorm1d({dims[i + 1]})", "ReLU"]
    parts.append(f"Linear({dims[-2]},{dims[-1]})")
    return "-".join(parts)


def linear_index(i: int) -> int:
    """Position in the ``nn.Sequential`` of the i-th Linear layer (0, 3, 6, ...)."""
    return 3 * i


def bn_index(i: int) -> int:
    """Position in the ``nn.Sequential`` of the i-th BatchNorm1d layer (1, 4, ...)."""
    return 3 * i + 1


def param_names(dims) -> list[str]:
    """Trainable parameter names in ``model.parameters()`` order."""
    names = []
    n_lin = len(dims) - 1
    for i in range(n_lin):
        names += [f"{linear_index(i)}.weight", f"{linear_index(i)}.bias"]
        if i < n_lin - 1:
            names += [f"{bn_index(i)}.weight", f"{bn_index(i)}.bias"]
    return names


def buffer_names(dims) -> list[str]:
    """BatchNorm running-statistics names."""
    names = []
    for i in range(len(dims) - 2):
        names += [f"{bn_index(i)}.running_mean", f"{bn_index(i)}.running_var"]
    return names


def init_params(dims, seed: int = 0) -> dict[str, np.ndarray]:
    """PyTorch-default initial parameters and buffers, float64, keyed as a state_dict."""
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    n_lin = len(dims) - 1
    for i in range(n_lin):
        fan_in, fan_out = dims[i], dims[i + 1]
        bound = 1.0 / np.sqrt(fan_in)
        out[f"{linear_index(i)}.weight"] = rng.uniform(-bound, bound, size=(fan_out, fan_in))
        out[f"{linear_index(i)}.bias"] = rng.uniform(-bound, bound, size=(fan_out,))
        if i < n_lin - 1:
            k = bn_index(i)
            out[f"{k}.weight"] = np.ones(fan_out)
            out[f"{k}.bias"] = np.zeros(fan_out)
            out[f"{k}.running_mean"] = np.zeros(fan_out)
            out[f"{k}.running_var"] = np.ones(fan_out)
    return out


def make_data(size: Size, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Training inputs (float32, C-contiguous) and int64 labels for ``size``.

    ``"digits"``: scikit-learn's 8x8 digits (1797 x 64), each feature standardized to
    mean 0 and standard deviation 1 (constant features are only centred), rows shuffled
    once with the seed. ``"random"``: standard normal inputs and uniform random labels.
    """
    rng = np.random.default_rng(seed + 1)
    n_classes = size.dims[-1]
    if size.data == "digits":
        from sklearn.datasets import load_digits

        x, y = load_digits(return_X_y=True)
        mean = x.mean(axis=0)
        std = x.std(axis=0)
        std[std == 0] = 1.0
        x = (x - mean) / std
        perm = rng.permutation(len(x))
        x, y = x[perm], y[perm]
    elif size.data == "random":
        x = rng.standard_normal((size.n_samples, size.dims[0]), dtype=np.float32)
        y = rng.integers(0, n_classes, size=size.n_samples)
    else:
        raise ValueError(f"unknown data set {size.data!r}")
    return np.ascontiguousarray(x, dtype=np.float32), np.ascontiguousarray(y, dtype=np.int64)


def make_batches(x: np.ndarray, y: np.ndarray, batch: int, dtype=np.float32):
    """Consecutive full batches ``[(xb, yb), ...]`` as contiguous arrays (the last partial
    batch is dropped so BatchNorm always sees ``batch`` rows)."""
    n = len(x) // batch
    if n == 0:
        raise ValueError(f"batch {batch} is larger than the data ({len(x)} rows)")
    return [
        (
            np.ascontiguousarray(x[i * batch : (i + 1) * batch], dtype=dtype),
            np.ascontiguousarray(y[i * batch : (i + 1) * batch], dtype=np.int64),
        )
        for i in range(n)
    ]


# --- case files: what the parent hands to each worker process ---------------------------

def save_case(path, size: Size, params: dict[str, np.ndarray], x, y) -> None:
    """Write the initial weights and the data of one size to an .npz (no pickles)."""
    arrays = {f"param/{k}": v for k, v in params.items()}
    np.savez(path, dims=np.array(size.dims, dtype=np.int64), batch=np.int64(size.batch),
             x=x, y=y, **arrays)


def load_case(path):
    """Inverse of :func:`save_case`: ``(dims, batch, params, x, y)``."""
    with np.load(path, allow_pickle=False) as f:
        dims = tuple(int(d) for d in f["dims"])
        batch = int(f["batch"])
        params = {k[len("param/"):]: f[k] for k in f.files if k.startswith("param/")}
        return dims, batch, params, f["x"], f["y"]
