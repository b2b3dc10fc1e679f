"""The engine's default source of randomness.

Everything random in nncore (weight initialization, dropout masks, shuffling) takes an
explicit ``np.random.Generator``; when none is given it uses the process-wide default
generator kept here. :func:`manual_seed` reseeds it, so that a seed makes a whole run
repeatable (PyTorch's ``torch.manual_seed``).
"""

from __future__ import annotations

import threading

import numpy as np

__all__ = ["default_generator", "manual_seed"]

_lock = threading.Lock()
_generator = np.random.default_rng()


def default_generator() -> np.random.Generator:
    """The generator used when a function is given none (fresh entropy until seeded)."""
    return _generator


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the default generator with ``seed`` (a non-negative int) and return it.

    Raises:
        ValueError: if ``seed`` is negative (NumPy's ``SeedSequence`` rejects it).
    """
    global _generator
    if int(seed) < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    with _lock:
        _generator = np.random.default_rng(int(seed))
    return _generator
