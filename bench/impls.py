"""Registry of the benchmarked implementations, imported lazily (each worker process
imports only its own, so torch's threads and libraries never meet nncore's)."""

from __future__ import annotations

import importlib

IMPLS = {
    "nncore": ("bench.impl_nncore", "NNCoreMLP"),
    "numpy": ("bench.impl_numpy", "NumpyMLP"),
    "torch": ("bench.impl_torch", "TorchMLP"),
}


def load_impl(name: str):
    """The implementation class called ``name`` (``"nncore"``, ``"numpy"`` or ``"torch"``)."""
    try:
        module, cls = IMPLS[name]
    except KeyError:
        raise ValueError(f"unknown implementation {name!r}; choose from {sorted(IMPLS)}") from None
    return getattr(importlib.import_module(module), cls)
