"""Datasets and minibatches.

This module holds how data reaches training: minibatch index lists drawn from an
explicit ``np.random.Generator`` (so a seed repeats a run), the built-in real datasets
(scikit-learn's, shipped inside scikit-learn: no download), and standardization fitted
on the training split only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Dataset", "minibatches", "load_builtin", "standardize", "BUILTIN_DATASETS"]


def minibatches(n: int, batch_size: int, generator: np.random.Generator | None = None,
                shuffle: bool = True) -> list[np.ndarray]:
    """Split ``range(n)`` into minibatches of indices.

    Args:
        n: number of samples (>= 0).
        batch_size: samples per batch (>= 1).
        generator: random source for the shuffle (required when ``shuffle``; default:
            the engine's default generator).
        shuffle: draw a new permutation (default True) or keep the order.

    Returns:
        a list of int64 index arrays covering every sample exactly once. A last batch
        of a single sample is *merged* into the previous batch (so that batch holds
        ``batch_size + 1`` samples): BatchNorm cannot normalize one sample in training,
        and dropping it would silently skip data. 17 samples with batch size 16 give one
        batch of 17.

    Raises:
        ValueError: for ``batch_size < 1`` or ``n < 0``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if n < 0:
        raise ValueError(f"number of samples must be >= 0, got {n}")
    if shuffle:
        if generator is None:
            from nncore.random import default_generator
            generator = default_generator()
        order = generator.permutation(n)
    else:
        order = np.arange(n)
    batches = [order[i:i + batch_size] for i in range(0, n, batch_size)]
    if len(batches) > 1 and len(batches[-1]) == 1:
        last = batches.pop()
        batches[-1] = np.concatenate([batches[-1], last])
    return batches


@dataclass
class Dataset:
    """Features and targets with their description.

    Attributes:
        X: features, shape ``(n_samples, n_features)``, float32.
        y: class indices (int64, shape ``(n,)``) for classification, or float32 targets
            of shape ``(n, n_outputs)`` for regression.
        name: display name.
        classes: class names (classification) or None.
        feature_names: one name per column of X.
    """

    X: np.ndarray
    y: np.ndarray
    name: str
    classes: list[str] | None
    feature_names: list[str]

    @property
    def task(self) -> str:
        """``"classification"`` or ``"regression"``."""
        return "classification" if self.classes is not None else "regression"

    @property
    def num_classes(self) -> int:
        """Number of classes (0 for regression)."""
        return len(self.classes) if self.classes is not None else 0


BUILTIN_DATASETS = ("digits", "iris", "wine", "breast_cancer")


def load_builtin(name: str) -> Dataset:
    """Load a real dataset shipped inside scikit-learn (no download).

    ``digits``: 1797 8x8 handwritten digits, 64 features, 10 classes (UCI ML hand-written
    digits); ``iris``: 150 x 4, 3 classes; ``wine``: 178 x 13, 3 classes;
    ``breast_cancer``: 569 x 30, 2 classes.

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    from sklearn import datasets as skd

    loaders = {"digits": skd.load_digits, "iris": skd.load_iris, "wine": skd.load_wine,
               "breast_cancer": skd.load_breast_cancer}
    if name not in loaders:
        raise ValueError(f"unknown built-in dataset {name!r}; choose one of "
                         f"{', '.join(BUILTIN_DATASETS)}")
    bunch = loaders[name]()
    classes = [str(c) for c in bunch.target_names]
    features = [str(f) for f in getattr(bunch, "feature_names", [])] or \
        [f"x{i}" for i in range(bunch.data.shape[1])]
    return Dataset(np.asarray(bunch.data, dtype=np.float32),
                   np.asarray(bunch.target, dtype=np.int64), name, classes, features)


def standardize(train: np.ndarray, *others: np.ndarray) -> tuple[np.ndarray, ...]:
    """Scale features to zero mean and unit variance using the *training* statistics only.

    Constant columns (standard deviation 0) are centred and left unscaled. Returns the
    transformed ``train`` followed by each of ``others``, in their input dtypes.
    """
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std = np.where(std > 0, std, 1.0).astype(train.dtype)
    return tuple(((a - mean) / std).astype(a.dtype, copy=False) for a in (train, *others))
