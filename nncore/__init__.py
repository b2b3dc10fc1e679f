"""nncore: the NN Canvas engine — reverse-mode automatic differentiation on NumPy.

Pure NumPy, no Qt (a test enforces it). PyTorch's names and conventions::

    import numpy as np
    from nncore import Tensor, nn, optim, functional as F

    model = nn.Sequential(nn.Linear(64, 128), nn.BatchNorm1d(128), nn.ReLU(),
                          nn.Linear(128, 10))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    loss = F.cross_entropy(model(Tensor(x)), y)
    opt.zero_grad(); loss.backward(); opt.step()
"""

try:
    from importlib.metadata import PackageNotFoundError, version as _version

    __version__ = _version("nncanvas")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.1.0"

from nncore.tensor import (DEFAULT_DTYPE, OPS, Function, Tensor, enable_grad,
                           is_grad_enabled, no_grad, unbroadcast)
from nncore import functional, init, nn
from nncore.random import default_generator, manual_seed

__all__ = [
    "__version__", "DEFAULT_DTYPE", "OPS", "Function", "Tensor", "enable_grad", "is_grad_enabled",
    "no_grad", "unbroadcast", "functional", "init", "nn", "default_generator",
    "manual_seed",
]


def __getattr__(name: str):
    # Lazy submodules: ``nncore.optim`` and ``nncore.gradcheck`` load on first use.
    if name in ("optim", "gradcheck"):
        import importlib
        return importlib.import_module(f"nncore.{name}")
    raise AttributeError(f"module 'nncore' has no attribute {name!r}")
