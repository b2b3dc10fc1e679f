"""Datasets, files, splits, standardization and minibatches.

This module holds how data reaches training:

* :func:`load_dataset` builds any built-in dataset by name: the real datasets shipped
  inside scikit-learn (UCI copies, no download: ``digits``, ``iris``, ``wine``,
  ``breast_cancer``), the 2-D classification sets of TensorFlow Playground style
  (``moons``, ``circles``, ``spiral``, ``xor``, ``blobs``) and two regression sets
  (``sine``, ``surface``). :data:`DATASETS` describes each one (name, display name,
  task, one-line description, source, options with their type, default and range) for
  the GUI.
* :func:`load_csv` and :func:`load_npz` read the user's files with errors that name the
  line and column at fault (:class:`DataFileError`). NaN and infinity never reach
  training: they are refused when loading.
* :func:`split` makes a seeded, stratified train/validation/(test) :class:`Split`; its
  :meth:`Split.standardized` scales features with the training statistics only.
* :func:`minibatches` draws minibatch index lists from an explicit
  ``np.random.Generator`` (so a seed repeats a run).

Conventions of every :class:`Dataset`: ``X`` is float32 of shape ``(n_samples,
n_features)``; ``y`` holds int64 class indices of shape ``(n_samples,)`` for
classification (``0 .. len(classes) - 1``, ``classes`` naming each index as a string) or
float32 targets of shape ``(n_samples, n_outputs)`` for regression (``classes`` is
None). The number of classes is a property of the whole dataset, never of a split.
"""

from __future__ import annotations

import math
import numbers
import os
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from nncore import limits
from nncore.files import check_npz, regular_file
from nncore.limits import excerpt
from nncore.spec import ParamSpec, validate_all

__all__ = [
    "Dataset", "DatasetSpec", "DATASETS", "BUILTIN_DATASETS",
    "load_dataset", "load_builtin", "load_csv", "load_npz", "DataFileError", "csv_columns",
    "is_header",
    "Split", "SplitWarning", "split", "standardize", "minibatches",
]


# --------------------------------------------------------------------------- minibatches

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


# --------------------------------------------------------------------------- Dataset

@dataclass
class Dataset:
    """Features and targets with their description.

    Attributes:
        X: features, shape ``(n_samples, n_features)``, float32 (finite).
        y: class indices (int64, shape ``(n_samples,)``, each in ``[0, len(classes))``)
            for classification, or float32 targets of shape ``(n_samples, n_outputs)``
            for regression (finite).
        name: the dataset's name: the built-in name (``"moons"``) or the file's stem.
        classes: class names as strings, index ``i`` naming class ``i`` (classification),
            or None (regression). It covers the whole dataset: a split that misses a
            class still has ``len(classes)`` outputs. Saved with the project.
        feature_names: one name per column of X.
        origin: how the data was made, as plain JSON-able values, enough to make it again:
            ``{"loader": "builtin", "name": "moons", "options": {...}}``,
            ``{"loader": "csv", "path": ..., "target": ..., ...}`` or
            ``{"loader": "npz", "path": ..., "task": ...}``; ``{}`` when built by hand.
        pipeline: for a table, the fitted :class:`nncore.tables.Pipeline` that made X
            from the file's columns (apply it to new rows, then the split's
            standardization); None otherwise.

    Raises:
        ValueError: at construction, for inconsistent shapes, dtypes, class indices out
            of range or non-finite values.
    """

    X: np.ndarray
    y: np.ndarray
    name: str
    classes: list[str] | None
    feature_names: list[str]
    origin: dict = field(default_factory=dict)
    pipeline: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        X, y = self.X, self.y
        if not isinstance(X, np.ndarray) or X.ndim != 2:
            raise ValueError(f"dataset {self.name!r}: X must be a 2-D array (n_samples, "
                             f"n_features), got shape {np.shape(X)}")
        if X.dtype.kind != "f":
            raise ValueError(f"dataset {self.name!r}: X must be floating (float32), "
                             f"got {X.dtype}")
        if not isinstance(y, np.ndarray) or len(y) != len(X):
            raise ValueError(f"dataset {self.name!r}: X has {len(X)} rows but y has "
                             f"{len(y) if hasattr(y, '__len__') else 'no'} rows")
        if len(self.feature_names) != X.shape[1]:
            raise ValueError(f"dataset {self.name!r}: {len(self.feature_names)} feature "
                             f"names for {X.shape[1]} features")
        if self.classes is not None:
            self.classes = [str(c) for c in self.classes]
            if y.ndim != 1 or y.dtype.kind not in "iu":
                raise ValueError(f"dataset {self.name!r}: classification targets must be "
                                 f"integer class indices of shape (n,), got {y.dtype} "
                                 f"{y.shape}")
            if len(y) and (y.min() < 0 or y.max() >= len(self.classes)):
                raise ValueError(f"dataset {self.name!r}: class indices must be in [0, "
                                 f"{len(self.classes)}), got {y.min()} .. {y.max()}")
        else:
            if y.ndim != 2 or y.dtype.kind != "f":
                raise ValueError(f"dataset {self.name!r}: regression targets must be "
                                 f"floating of shape (n, n_outputs), got {y.dtype} {y.shape}")
            if not np.all(np.isfinite(y)):
                raise ValueError(f"dataset {self.name!r}: y has NaN or infinite values")
        if not np.all(np.isfinite(X)):
            raise ValueError(f"dataset {self.name!r}: X has NaN or infinite values")

    @property
    def task(self) -> str:
        """``"classification"`` or ``"regression"``."""
        return "classification" if self.classes is not None else "regression"

    @property
    def num_classes(self) -> int:
        """Number of classes (0 for regression): the output width of a classifier."""
        return len(self.classes) if self.classes is not None else 0

    @property
    def label_mapping(self) -> dict[str, int]:
        """Class name -> class index (``{}`` for regression)."""
        return {c: i for i, c in enumerate(self.classes or [])}

    @property
    def n_samples(self) -> int:
        """Number of samples (rows of X)."""
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        """Number of features (columns of X)."""
        return int(self.X.shape[1])

    @property
    def n_outputs(self) -> int:
        """The output width a model needs: classes, or regression targets."""
        return self.num_classes if self.classes is not None else int(self.y.shape[1])

    def metadata(self) -> dict:
        """A JSON-able description to save with a project (no arrays): name, task,
        classes, feature names, sizes and ``origin``."""
        return {"name": self.name, "task": self.task,
                "classes": list(self.classes) if self.classes is not None else None,
                "feature_names": list(self.feature_names), "n_samples": self.n_samples,
                "n_features": self.n_features, "n_outputs": self.n_outputs,
                "origin": dict(self.origin),
                **({"pipeline": self.pipeline.to_dict()} if self.pipeline is not None else {})}


class DataFileError(ValueError):
    """A problem in a data file, with where it is.

    Attributes:
        path: the file.
        line: 1-based line number as a text editor shows it, or None.
        column: 1-based column number, or None.
        column_name: the column's header name (or ``x<column>``), or None.
    """

    def __init__(self, message: str, path: str | os.PathLike | None = None,
                 line: int | None = None, column: int | None = None,
                 column_name: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.column = column
        self.column_name = column_name


# --------------------------------------------------------------------------- registry

def _fmt(v: Any) -> str:
    """A number as a person writes it: 2, 0.5, 1e+05 stays readable; others repr'd."""
    if isinstance(v, bool):
        return repr(v)
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        f = float(v)
        if math.isfinite(f) and f.is_integer() and abs(f) < 1e15:
            return str(int(f))
        return repr(f)
    return repr(v)


@dataclass(frozen=True)
class DatasetSpec:
    """One built-in dataset as NN Canvas offers it.

    Attributes:
        name: the key for :func:`load_dataset` (``"moons"``).
        display_name: for menus (``"Two moons"``).
        task: ``"classification"`` or ``"regression"``.
        kind: ``"real"`` (measured data shipped with scikit-learn) or ``"synthetic"``
            (generated from a seed).
        description: one line for learners.
        source: where the data or its formula comes from.
        n_features: number of input features.
        options: the keyword arguments :func:`load_dataset` accepts, as
            :class:`~nncore.spec.ParamSpec` s (type, default, range, label, help), the
            same declaration as node parameters and optimizer arguments; empty for real
            datasets. The command line's ``--data-option``, the project settings' check
            and the training panel's editors are generated from them.
        make: how the data is made, declared with the rest: a synthetic set's generator,
            called with the options and returning ``(X, y)``; a real set's loader,
            called without arguments and returning scikit-learn's Bunch.
    """

    name: str
    display_name: str
    task: str
    kind: str
    description: str
    source: str
    n_features: int
    options: tuple[ParamSpec, ...] = ()
    make: Callable[..., Any] | None = field(default=None, repr=False, compare=False)

    @property
    def specs(self) -> dict[str, ParamSpec]:
        """``name -> ParamSpec`` of the options."""
        return {o.name: o for o in self.options}

    def defaults(self) -> dict[str, Any]:
        """Every option with its default value."""
        return {o.name: o.default for o in self.options}

    def option(self, name: str) -> ParamSpec:
        """The option called ``name`` (KeyError if there is none)."""
        return self.specs[name]

    def validate(self, options: Mapping[str, Any], path: str = "") -> dict[str, Any]:
        """``options`` checked and normalized (ints as int, floats as float), with the
        defaults of the options not given.

        Args:
            path: where the options sit, for the messages (``"dataset.options"``).

        Raises:
            SpecError: (a ValueError) for an unknown option (listing the known ones) or a
                value of the wrong type or out of range, naming the option, its range and
                the value (``"noise must be in [0, 1], got 2"``).
        """
        return validate_all(self.options, options, path, self.display_name)


def _n_samples(default: int) -> ParamSpec:
    return ParamSpec("n_samples", "int", default, "Number of points generated",
                     label="Samples", minimum=20, maximum=100_000)


_SEED = ParamSpec("seed", "int", 0, "Random seed: the same seed gives the same data",
                  label="Seed", minimum=0, maximum=2**32 - 1)


def _noise(default: float, help: str, maximum: float = 1.0) -> ParamSpec:
    return ParamSpec("noise", "float", default, help[0].upper() + help[1:], label="Noise",
                     minimum=0.0, maximum=maximum, step=0.05)


def _classes(default: int, maximum: int) -> ParamSpec:
    return ParamSpec("classes", "int", default, "Number of classes", label="Classes",
                     minimum=2, maximum=maximum)


# --------------------------------------------------------------------------- generators

def _sklearn(loader: str) -> Callable[[], Any]:
    """A real dataset's ``make``: scikit-learn's bundled loader (no download), imported
    when called."""

    def make() -> Any:
        from sklearn import datasets as skd
        return getattr(skd, loader)()
    return make


def _class_names(k: int) -> list[str]:
    return [str(i) for i in range(k)]


def _balanced_counts(n: int, k: int) -> list[int]:
    """``n`` split into ``k`` counts differing by at most one (the first get more)."""
    return [n // k + (1 if c < n % k else 0) for c in range(k)]


def _make_moons(n_samples: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_moons
    return make_moons(n_samples=n_samples, noise=noise, random_state=seed)


def _make_circles(n_samples: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_circles
    return make_circles(n_samples=n_samples, noise=noise, factor=0.5, random_state=seed)


def _make_spiral(n_samples: int, noise: float, classes: int,
                 seed: int) -> tuple[np.ndarray, np.ndarray]:
    # TensorFlow Playground (dataset.ts, classifySpiralData): for each arm, point i of n
    # has r = i / n * 5, t = 1.75 * i / n * 2 pi + deltaT, x = r sin t + U(-1, 1) noise,
    # y = r cos t + U(-1, 1) noise; the two arms have deltaT 0 and pi. k arms: 2 pi c / k.
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for c, m in enumerate(_balanced_counts(n_samples, classes)):
        frac = np.arange(m) / m
        r = frac * 5.0
        t = 1.75 * frac * 2.0 * np.pi + 2.0 * np.pi * c / classes
        x1 = r * np.sin(t) + rng.uniform(-1.0, 1.0, m) * noise
        x2 = r * np.cos(t) + rng.uniform(-1.0, 1.0, m) * noise
        xs.append(np.column_stack([x1, x2]))
        ys.append(np.full(m, c))
    order = rng.permutation(n_samples)
    return np.concatenate(xs)[order], np.concatenate(ys)[order]


def _make_xor(n_samples: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    # TensorFlow Playground (classifyXORData): x, y ~ U(-5, 5) pushed 0.3 away from the
    # axes; the label is read at the point moved by U(-5, 5) * noise, the stored point is
    # not moved. Here the quadrants are drawn balanced (n/4 each, so the classes are
    # balanced at noise 0) and class 1 is XOR(x1 > 0, x2 > 0) (Playground's -1 class).
    rng = np.random.default_rng(seed)
    quadrant = rng.permutation(np.arange(n_samples) % 4)
    sign1 = np.array([1.0, -1.0, -1.0, 1.0])[quadrant]
    sign2 = np.array([1.0, 1.0, -1.0, -1.0])[quadrant]
    x1 = sign1 * (rng.uniform(0.0, 5.0, n_samples) + 0.3)
    x2 = sign2 * (rng.uniform(0.0, 5.0, n_samples) + 0.3)
    n1 = rng.uniform(-5.0, 5.0, n_samples) * noise
    n2 = rng.uniform(-5.0, 5.0, n_samples) * noise
    y = ((x1 + n1) * (x2 + n2) < 0).astype(np.int64)
    return np.column_stack([x1, x2]), y


def _make_blobs(n_samples: int, noise: float, classes: int,
                seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_blobs
    angles = np.pi / 4 + 2.0 * np.pi * np.arange(classes) / classes
    centers = 2.0 * np.column_stack([np.cos(angles), np.sin(angles)])
    return make_blobs(n_samples=n_samples, centers=centers, cluster_std=noise,
                      random_state=seed)


def _make_sine(n_samples: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-np.pi, np.pi, n_samples)
    y = np.sin(x) + noise * rng.standard_normal(n_samples)
    return x[:, None], y[:, None]


def _make_surface(n_samples: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3.0, 3.0, (n_samples, 2))
    y = np.sin(x[:, 0]) * np.cos(x[:, 1]) + noise * rng.standard_normal(n_samples)
    return x, y[:, None]


_SKLEARN_UCI = "scikit-learn's bundled copy of the UCI Machine Learning Repository dataset"

_SPECS = (
    DatasetSpec("digits", "Handwritten digits", "classification", "real",
                "1797 handwritten digits as 8x8 images (64 pixel intensities 0-16), "
                "10 classes 0-9.",
                f"{_SKLEARN_UCI} 'Optical Recognition of Handwritten Digits' (test set)",
                64, make=_sklearn("load_digits")),
    DatasetSpec("iris", "Iris flowers", "classification", "real",
                "150 iris flowers: 4 measurements in cm (sepal and petal length and "
                "width), 3 species.",
                f"{_SKLEARN_UCI} 'Iris' (R. A. Fisher, 1936)", 4, make=_sklearn("load_iris")),
    DatasetSpec("wine", "Wine", "classification", "real",
                "178 Italian wines: 13 chemical measurements, 3 grape cultivars.",
                f"{_SKLEARN_UCI} 'Wine' (Forina et al.)", 13, make=_sklearn("load_wine")),
    DatasetSpec("breast_cancer", "Breast cancer", "classification", "real",
                "569 breast tumour samples: 30 features of cell nuclei in images, "
                "malignant or benign.",
                f"{_SKLEARN_UCI} 'Breast Cancer Wisconsin (Diagnostic)' "
                "(Wolberg, Street, Mangasarian)", 30, make=_sklearn("load_breast_cancer")),
    DatasetSpec("moons", "Two moons", "classification", "synthetic",
                "Two interleaving half circles: not separable by a straight line.",
                "scikit-learn sklearn.datasets.make_moons", 2,
                (_n_samples(400),
                 _noise(0.1, "standard deviation of Gaussian noise added to each "
                             "coordinate (the moons have radius 1)"), _SEED), make=_make_moons),
    DatasetSpec("circles", "Circles", "classification", "synthetic",
                "A small circle inside a larger one: the boundary must close around "
                "the centre.",
                "scikit-learn sklearn.datasets.make_circles (radii 1 and 0.5)", 2,
                (_n_samples(400),
                 _noise(0.05, "standard deviation of Gaussian noise added to each "
                              "coordinate (the circles have radii 1 and 0.5)"), _SEED),
                make=_make_circles),
    DatasetSpec("spiral", "Spiral", "classification", "synthetic",
                "Interleaved spiral arms, one per class: hard, needs a deep or wide "
                "network.",
                "TensorFlow Playground (Smilkov and Carter, 2016) spiral formula, "
                "generalised to k arms", 2,
                (_n_samples(400),
                 _noise(0.1, "each coordinate moves by up to +-noise (uniform); the "
                             "arms reach radius 5"),
                 _classes(2, 6), _SEED), make=_make_spiral),
    DatasetSpec("xor", "XOR", "classification", "synthetic",
                "Four quadrants; class 1 where exactly one of x1 > 0, x2 > 0 holds: "
                "needs a hidden layer.",
                "TensorFlow Playground (Smilkov and Carter, 2016) XOR formula", 2,
                (_n_samples(400),
                 _noise(0.0, "labels are taken at the point moved by up to +-5*noise "
                             "(uniform), so points near the axes may get the other label"),
                 _SEED), make=_make_xor),
    DatasetSpec("blobs", "Gaussian blobs", "classification", "synthetic",
                "Round Gaussian clusters, one per class, on a circle of radius 2: "
                "nearly linearly separable.",
                "scikit-learn sklearn.datasets.make_blobs (centres on a circle)", 2,
                (_n_samples(400),
                 _noise(0.4, "standard deviation of each cluster (centres 2 from the "
                             "origin)"),
                 _classes(3, 10), _SEED), make=_make_blobs),
    DatasetSpec("sine", "Sine wave (regression)", "regression", "synthetic",
                "Fit y = sin(x) + noise for x in [-pi, pi]: one input, one output.",
                "synthetic: y = sin(x) + Gaussian noise", 1,
                (_n_samples(200),
                 _noise(0.1, "standard deviation of Gaussian noise added to y "
                             "(sin(x) ranges over [-1, 1])"), _SEED), make=_make_sine),
    DatasetSpec("surface", "Smooth surface (regression)", "regression", "synthetic",
                "Fit the surface y = sin(x1) * cos(x2) + noise over [-3, 3]^2: two "
                "inputs, one output.",
                "synthetic: y = sin(x1) cos(x2) + Gaussian noise", 2,
                (_n_samples(400),
                 _noise(0.05, "standard deviation of Gaussian noise added to y "
                              "(the surface ranges over [-1, 1])"), _SEED), make=_make_surface),
)

#: Every built-in dataset by name, in menu order (real first, then synthetic): a
#: read-only mapping ``name -> DatasetSpec``.
DATASETS: Mapping[str, DatasetSpec] = MappingProxyType({s.name: s for s in _SPECS})

#: The real datasets shipped inside scikit-learn (what :func:`load_builtin` loads).
BUILTIN_DATASETS = tuple(s.name for s in _SPECS if s.kind == "real")


# --------------------------------------------------------------------------- built-ins

def load_builtin(name: str) -> Dataset:
    """Load a real dataset shipped inside scikit-learn (no download).

    ``digits``: 1797 8x8 handwritten digits, 64 features (pixel intensities 0-16),
    10 classes (UCI ML hand-written digits); ``iris``: 150 x 4, 3 classes (Fisher's
    iris, UCI); ``wine``: 178 x 13, 3 classes (UCI wine recognition); ``breast_cancer``:
    569 x 30, 2 classes ``["malignant", "benign"]`` (UCI Breast Cancer Wisconsin,
    Diagnostic). X float32 (raw units, not standardized), y int64 class indices in
    scikit-learn's order of ``target_names`` (which are the ``classes``).

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if name not in BUILTIN_DATASETS:
        raise ValueError(f"unknown built-in dataset {name!r}; choose one of "
                         f"{', '.join(BUILTIN_DATASETS)}")
    bunch = DATASETS[name].make()
    classes = [str(c) for c in bunch.target_names]
    features = [str(f) for f in getattr(bunch, "feature_names", [])] or \
        [f"x{i}" for i in range(bunch.data.shape[1])]
    return Dataset(np.asarray(bunch.data, dtype=np.float32),
                   np.asarray(bunch.target, dtype=np.int64), name, classes, features,
                   {"loader": "builtin", "name": name, "options": {}})


def load_dataset(name: str, **options: Any) -> Dataset:
    """Load any built-in dataset by name; see :data:`DATASETS` for each one's options.

    Real datasets (no options; see :func:`load_builtin`): ``digits``, ``iris``,
    ``wine``, ``breast_cancer``, scikit-learn's bundled copies of the UCI datasets.

    Synthetic 2-D classification sets (features ``x1, x2``, classes ``"0", "1", ...``,
    options ``n_samples`` (default 400, 20..100000), ``noise``, ``seed`` (default 0); the
    same options always give the same data, bit for bit):

    * ``moons``: ``sklearn.datasets.make_moons``; noise (default 0.1, [0, 1]) is the
      standard deviation of Gaussian noise on each coordinate. At noise 0, class 0 lies
      on the unit circle about (0, 0) (upper half) and class 1 on the unit circle about
      (1, 0.5) (lower half).
    * ``circles``: ``sklearn.datasets.make_circles`` with factor 0.5: class 0 on the
      circle of radius 1, class 1 on radius 0.5 (noise default 0.05: Gaussian std).
    * ``spiral``: TensorFlow Playground's formula with ``classes`` arms (default 2,
      2..6): arm c has points ``r = 5 i/m``, ``t = 3.5 pi i/m + 2 pi c/k``,
      ``(r sin t, r cos t)`` plus uniform noise in ``[-noise, noise]`` (default 0.1).
    * ``xor``: TensorFlow Playground's formula: coordinates uniform in ``0.3 <= |x| <=
      5.3``, a quarter of the points in each quadrant; class 1 where exactly one
      coordinate is positive. The label is read at the point moved by uniform noise in
      ``[-5 noise, 5 noise]`` (default 0), so noise flips labels near the axes.
    * ``blobs``: ``sklearn.datasets.make_blobs`` with ``classes`` centres (default 3,
      2..10) evenly spaced on the circle of radius 2 (the first at 45 degrees); noise
      (default 0.4) is each cluster's standard deviation.

    Class counts of the synthetic classification sets differ by at most one (xor: at
    noise 0). Regression sets (task ``"regression"``, y float32 of shape (n, 1)):

    * ``sine``: x uniform in [-pi, pi], ``y = sin(x) + noise * N(0, 1)`` (default 200
      samples, noise 0.1); one feature ``x``.
    * ``surface``: x1, x2 uniform in [-3, 3], ``y = sin(x1) cos(x2) + noise * N(0, 1)``
      (default 400 samples, noise 0.05).

    Returns:
        a :class:`Dataset` (X float32 (n, features); y int64 (n,) or float32 (n, 1));
        its ``origin`` holds the name and every option's value.

    Raises:
        ValueError: for an unknown dataset (listing the known ones), an unknown option
            (listing the dataset's options), or an option of the wrong type or out of
            range (``"noise must be in [0, 1], got 2"``).
    """
    if not isinstance(name, str) or name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    spec = DATASETS[name]
    resolved = spec.validate(options)
    if spec.kind == "real":
        return load_builtin(name)
    X, y = spec.make(**resolved)
    X = np.ascontiguousarray(X, dtype=np.float32)
    features = ["x"] if spec.n_features == 1 else [f"x{i + 1}" for i in range(spec.n_features)]
    origin = {"loader": "builtin", "name": name, "options": dict(resolved)}
    if spec.task == "classification":
        k = int(resolved.get("classes", 2))
        return Dataset(X, np.asarray(y, dtype=np.int64), name, _class_names(k), features,
                       origin)
    return Dataset(X, np.asarray(y, dtype=np.float32).reshape(len(X), -1), name, None,
                   features, origin)


# --------------------------------------------------------------------------- labels

def _number_name(v: float) -> str:
    """A numeric class value as its name: 3.0 -> "3", 0.5 -> "0.5"."""
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _labels_from_numbers(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Class indices and names for finite numeric labels: the sorted distinct values."""
    uniq = np.unique(values)
    return np.searchsorted(uniq, values).astype(np.int64), [_number_name(u) for u in uniq]


def _labels_from_strings(values: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Class indices and names for string labels: the sorted distinct strings."""
    names = sorted(set(values))
    index = {c: i for i, c in enumerate(names)}
    return np.fromiter((index[v] for v in values), dtype=np.int64, count=len(values)), names


_TASKS = (None, "classification", "regression")


def _check_task(task: Any) -> None:
    if task not in _TASKS:
        raise ValueError(f"task must be None (automatic), 'classification' or "
                         f"'regression', got {task!r}")


# --------------------------------------------------------------------------- CSV

def is_header(first: Sequence[str], second: Sequence[str] | None) -> bool:
    """The one header rule of NN Canvas (:func:`nncore.tables.is_header`, which
    :func:`load_csv`, :func:`csv_columns` and the training panel use): the first row is a
    header when some column holds text in it and a number in the second row."""
    from nncore.tables.read import is_header as rule
    return rule(first, second)


def csv_columns(path: str | os.PathLike, delimiter: str | None = ",") -> tuple[list[str], bool]:
    """The columns of a CSV file as :func:`load_csv` reads them: (names, has_header),
    from the head of the file only (:func:`nncore.tables.guess_header`); without a
    header the columns are named ``x1, x2, ...``.

    Raises:
        OSError: for a file that cannot be read (:class:`nncore.files.FileRefused` for a
            device, a FIFO, a kernel file or a file over
            :data:`~nncore.limits.MAX_CSV_BYTES`).
    """
    from nncore.tables.read import _HEAD_BYTES, _decode_head, _encoding_of, _head_rows, \
        _names, guess_header, sniff_delimiter

    regular_file(path, "the CSV file", limits.MAX_CSV_BYTES)
    with open(path, "rb") as f:
        head_raw = f.read(_HEAD_BYTES)
    head = _decode_head(head_raw, _encoding_of(head_raw, None)).lstrip("\ufeff")
    delimiter = delimiter or sniff_delimiter(head)
    rows = [r for _, r in _head_rows(head, delimiter)]
    if not rows:
        return [], False
    guess = guess_header(rows)
    if guess.header is not None:
        return _names(rows[0], len(rows[0])), True
    data = rows[guess.skip] if guess.skip < len(rows) else rows[0]
    return [f"x{i + 1}" for i in range(len(data))], False


def load_csv(path: str | os.PathLike, target: int | str | None = None,
             has_header: bool | None = None, task: str | None = None,
             delimiter: str | None = None, *, header: str | int | None = "auto",
             spec: Any = None, val_fraction: float | None = None,
             test_fraction: float = 0.0, seed: int = 0,
             progress: Callable[[float], Any] | None = None, cancel: Any = None) -> Dataset:
    """Load a CSV table as a dataset: read with pandas (:func:`nncore.tables.read_table`:
    encoding, delimiter and header detected, NA markers), each column's kind detected
    (:func:`nncore.tables.describe_columns`), then the recorded preprocessing
    (:class:`nncore.tables.PipelineSpec`, default: text columns one-hot encoded, rows
    with missing values dropped, identifiers, dates and constant columns ignored)
    fitted on the training rows and applied (:func:`nncore.tables.table_dataset`).

    Args:
        path: the file.
        target: the target column: None (a column named target, class, label, species
            or y, else the last), a 0-based index (negative from the end) or a name.
        has_header: None (detect), True (the first row holds names) or False (none);
            kept for older callers: ``header`` says the same and more.
        task: None (whole numbers and text are classes, fractions a regression),
            ``"classification"`` or ``"regression"``.
        delimiter: one character, or None to detect it.
        header: ``"auto"``, None (no header) or the row of the names (pandas'
            ``header=N``).
        spec: a :class:`~nncore.tables.PipelineSpec` (default: the defaults above).
        val_fraction, test_fraction, seed: the split whose training rows the pipeline
            is fitted on (``val_fraction=None``: every row).
        progress, cancel: as :func:`~nncore.tables.read_table` takes them.

    Returns:
        a :class:`Dataset` named after the file's stem, with its fitted ``pipeline``
        (whose ``report.summary()`` says what was done); ``origin`` records the path
        and the resolved settings.

    Raises:
        FileNotFoundError, OSError, :class:`nncore.files.FileRefused`: for a file that
            cannot be read.
        DataFileError (a ValueError): with the line and column at fault (see
            :func:`~nncore.tables.read_table` and :func:`~nncore.tables.table_dataset`).
        ValueError: for a bad ``task``, ``header`` or ``delimiter``; TypeError for a
            ``target`` of another type.
    """
    from nncore.tables import read_table, table_dataset

    _check_task(task)
    if has_header not in (None, True, False):
        raise ValueError(f"has_header must be None (detect), True or False, got {has_header!r}")
    if has_header is not None:
        header = 0 if has_header else None
    if target is not None and (isinstance(target, bool)
                               or not isinstance(target, (numbers.Integral, str))):
        raise TypeError(f"target must be None (the default column), a column index or a "
                        f"column name, got {target!r}")
    table = read_table(path, header=header, delimiter=delimiter, progress=progress,
                       cancel=cancel)
    return table_dataset(table, target=target, task=task, spec=spec,
                         val_fraction=val_fraction, test_fraction=test_fraction, seed=seed)


# --------------------------------------------------------------------------- NPZ

def _strings(arr: np.ndarray) -> list[str]:
    return [str(s) for s in arr.tolist()]


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(32 <= b < 127 or b in b"\t\r\n" for b in head)


def load_npz(path: str | os.PathLike, task: str | None = None) -> Dataset:
    """Load a NumPy ``.npz`` archive holding arrays ``X`` and ``y`` (saved with
    ``np.savez(path, X=X, y=y)``). It is read with ``allow_pickle=False``: an object
    array is refused, never unpickled (unpickling can run code).

    Arrays:
        ``X``: numbers (bool, integer or floating), shape (n_samples, n_features), n >= 1;
            returned as float32.
        ``y``: shape (n_samples,) or (n_samples, k). 2-D y is a regression target
            (float32 (n, k)); ``task="classification"`` accepts (n, 1) as labels. 1-D y:
            text labels are classes sorted as strings; numbers follow :func:`load_csv`'s
            rule (all integer-valued -> classes = sorted distinct values as strings,
            otherwise regression, y becoming (n, 1)); ``task`` forces either.
        ``classes`` (optional): 1-D strings naming the classes. With integer y, y values
            are indices into it (so classes absent from y still count); with text y,
            every label must be one of them and the order of ``classes`` is kept.
        ``feature_names`` (optional): 1-D strings, one per column of X (default ``x1,
            x2, ...``). Other arrays are ignored.

    Returns:
        a :class:`Dataset` named after the file's stem (X float32; y int64 (n,) or
        float32 (n, k)).

    Raises:
        FileNotFoundError: (and other OSErrors) when the file cannot be opened.
        nncore.files.FileRefused: (an OSError and a ValueError) before anything is read,
            for a device, a FIFO or a kernel file, arrays taking more than
            :data:`~nncore.limits.MAX_NPZ_BYTES` once decompressed (a zip bomb) or an
            array whose header claims more than :data:`~nncore.limits.MAX_ARRAY_VALUES`.
        DataFileError (a ValueError): for a file that is not an .npz archive, a missing
            ``X`` or ``y``, an object array, wrong shapes or mismatched lengths,
            non-numeric X, NaN or infinite values (naming the first, e.g. ``X[3, 1]``),
            values too large for float32, class indices out of range, labels missing
            from ``classes``, or a classification target with one class.
        ValueError: for a bad ``task``.
    """
    _check_task(task)
    label = Path(path).name

    def fail(message: str) -> DataFileError:
        return DataFileError(f"{label}: {message}", path)

    regular_file(path, "the NPZ file", limits.MAX_NPZ_BYTES)
    check_npz(path, "the NPZ file", limits.MAX_NPZ_BYTES, limits.MAX_ARRAY_VALUES)
    try:
        archive = np.load(path, allow_pickle=False)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, NotImplementedError) as e:
        with open(path, "rb") as f:
            head = f.read(6)
        if not head.startswith((b"PK", b"\x93NUMPY")):  # neither a zip nor a .npy file
            raise fail("not an .npz archive (the zip file np.savez(path, X=X, y=y) "
                       "writes): it looks like " + ("text (a CSV file? choose CSV)"
                                                    if _looks_like_text(head) else
                                                    "another kind of file")) from None
        raise fail(f"not a readable .npz archive ({e})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise fail("holds a single array (.npy), not an .npz archive; save it with "
                   "np.savez(path, X=X, y=y)")
    with archive:
        held = list(archive.files)

        def get(key: str, required: bool = True) -> np.ndarray | None:
            if key not in held:
                if not required:
                    return None
                raise fail(f"missing array {key!r}; the file holds "
                           f"{', '.join(excerpt(h) for h in held[:20]) or 'no arrays'} "
                           f"(save with np.savez(path, X=X, y=y))")
            try:
                return archive[key]
            except ValueError as e:
                if "pickle" in str(e):
                    raise fail(f"array {key!r} holds Python objects (dtype=object); they are "
                               f"never unpickled (that could run code): save numeric or "
                               f"string arrays") from None
                raise fail(f"array {key!r} cannot be read ({e})") from None
            except (OSError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError) as e:
                raise fail(f"array {key!r} cannot be read ({e})") from None

        X = get("X")
        y = get("y")
        classes_arr = get("classes", required=False)
        names_arr = get("feature_names", required=False)

    # X
    if X.dtype.kind not in "biuf":
        raise fail(f"X must hold numbers, got dtype {X.dtype}")
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise fail(f"X must have shape (n_samples, n_features) with at least one of each, "
                   f"got {X.shape}")
    n = X.shape[0]
    with np.errstate(over="ignore", invalid="ignore"):
        X32 = X.astype(np.float32)
    if not np.all(np.isfinite(X32)):
        r, c = np.argwhere(~np.isfinite(X32))[0]
        value = X[r, c]
        why = "too large for float32" if np.isfinite(value) else "not finite"
        raise fail(f"X[{r}, {c}] = {value!r} is {why}; NaN and infinity are not allowed")

    # feature names
    if names_arr is None:
        features = [f"x{j + 1}" for j in range(X.shape[1])]
    else:
        if names_arr.dtype.kind not in "US" or names_arr.shape != (X.shape[1],):
            raise fail(f"feature_names must be {X.shape[1]} strings (one per column of X), "
                       f"got dtype {names_arr.dtype} shape {names_arr.shape}")
        features = _strings(names_arr.astype(str))

    # y
    if y.dtype.kind not in "biufUS":
        raise fail(f"y must hold numbers or text labels, got dtype {y.dtype}")
    if y.ndim not in (1, 2) or (y.ndim == 2 and y.shape[1] < 1):
        raise fail(f"y must have shape (n_samples,) or (n_samples, k), got {y.shape}")
    if len(y) != n:
        raise fail(f"X has {n} rows but y has {len(y)}")
    text = y.dtype.kind in "US"
    if y.ndim == 2:
        if text:
            raise fail(f"text labels y must have shape (n_samples,), got {y.shape}")
        if task == "classification":
            if y.shape[1] != 1:
                raise fail(f"class labels y must have shape (n_samples,) or "
                           f"(n_samples, 1), got {y.shape}")
            y = y[:, 0]
    if not text:
        y64 = y.astype(np.float64)
        if not np.all(np.isfinite(y64)):
            idx = tuple(int(i) for i in np.argwhere(~np.isfinite(y64))[0])
            raise fail(f"y[{', '.join(map(str, idx))}] = {y[idx]!r} is not finite; NaN and "
                       f"infinity are not allowed")
    if task is None:
        if text:
            task = "classification"
        elif y.ndim == 2:
            task = "regression"
        else:
            task = ("classification" if np.all(y64 == np.round(y64)) else "regression")
    if task == "regression" and classes_arr is not None:
        raise fail("has a 'classes' array but y is a regression target (numbers with "
                   "fractions, or 2-D); pass task='classification' or drop 'classes'")
    origin = {"loader": "npz", "path": str(path), "task": task}
    name = Path(path).stem
    if task == "regression":
        if text:
            raise fail(f"task='regression' needs numeric y, got dtype {y.dtype}")
        with np.errstate(over="ignore"):
            y32 = y64.astype(np.float32).reshape(n, -1)
        if not np.all(np.isfinite(y32)):
            raise fail("y has values too large for float32")
        return Dataset(X32, y32, name, None, features, origin)

    if classes_arr is not None:
        if classes_arr.dtype.kind not in "US" or classes_arr.ndim != 1:
            raise fail(f"classes must be a 1-D array of strings, got dtype "
                       f"{classes_arr.dtype} shape {classes_arr.shape}")
        classes = _strings(classes_arr.astype(str))
        if len(set(classes)) != len(classes):
            raise fail(f"classes has repeated names: {excerpt(classes)}")
        if text:
            index = {c: i for i, c in enumerate(classes)}
            labels = _strings(y.astype(str))
            missing = next((i for i, v in enumerate(labels) if v not in index), None)
            if missing is not None:
                raise fail(f"y[{missing}] = {excerpt(labels[missing])} is not one of the "
                           f"{len(classes):,} classes ({excerpt(classes)})")
            y_idx = np.array([index[v] for v in labels], dtype=np.int64)
        else:
            if not np.all(y64 == np.round(y64)):
                raise fail("y must hold integer class indices when 'classes' is given")
            y_idx = y64.astype(np.int64)
            out = np.flatnonzero((y_idx < 0) | (y_idx >= len(classes)))
            if out.size:
                raise fail(f"y[{out[0]}] = {y_idx[out[0]]} is not a class index in "
                           f"[0, {len(classes)}) (classes has {len(classes)} names)")
    elif text:
        y_idx, classes = _labels_from_strings(_strings(y.astype(str)))
    else:
        y_idx, classes = _labels_from_numbers(y64)
    if len(classes) < 2:
        raise fail(f"y holds only one class ({excerpt(classes[0])}); a classifier needs two "
                   "or more")
    return Dataset(X32, y_idx, name, classes, features, origin)


# --------------------------------------------------------------------------- standardize

def _fit_standard(train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and scale (standard deviation, 1 for constant columns) along axis 0, in
    float64."""
    train = np.asarray(train)
    if train.shape[0] == 0:
        raise ValueError("cannot standardize with an empty training set")
    if not np.all(np.isfinite(train)):
        raise ValueError("cannot standardize: the training data has NaN or infinite values")
    mean = train.mean(axis=0, dtype=np.float64)
    std = train.std(axis=0, dtype=np.float64)
    # Exactly constant columns get scale 1: float rounding of the mean would otherwise
    # leave a tiny positive std and blow the column up.
    constant = np.ptp(train, axis=0) == 0
    scale = np.where(constant | ~(std > 0), 1.0, std)
    return mean, scale


def _apply_standard(a: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return ((a - mean) / scale).astype(a.dtype, copy=False)


def standardize(train: np.ndarray, *others: np.ndarray) -> tuple[np.ndarray, ...]:
    """Scale features to zero mean and unit variance using the *training* statistics only.

    The mean and the (population, ``ddof=0``) standard deviation of each column of
    ``train`` are computed in float64; columns that are constant in ``train`` are centred
    and left unscaled (scale 1, so never NaN). Returns the transformed ``train`` followed
    by each of ``others``, in their input dtypes (float32 stays float32).

    Raises:
        ValueError: for an empty ``train`` or one with NaN or infinite values.
    """
    mean, scale = _fit_standard(train)
    return tuple(_apply_standard(a, mean, scale) for a in (train, *others))


# --------------------------------------------------------------------------- splits

class SplitWarning(UserWarning):
    """A split could not be stratified and was drawn at random instead."""


@dataclass
class Split:
    """A train/validation/test split of one dataset.

    Attributes:
        X_train, y_train, X_val, y_val, X_test, y_test: the parts, with the dataset's
            dtypes and trailing shapes; a part of fraction 0 has 0 rows.
        train_index, val_index, test_index: int64 row indices into the dataset (for
            plots that mark validation points).
        task: ``"classification"`` or ``"regression"``.
        num_classes: classes of the *whole* dataset (0 for regression): the model's output
            width even when a part misses a class.
        classes: class names (None for regression or raw arrays without names).
        feature_names: the dataset's feature names (None for raw arrays).
        stratified: True when every part was drawn stratified by class.
        warning: why a requested stratification was not possible, or None.
        mean, scale: the training statistics after :meth:`standardized` (else None).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    train_index: np.ndarray
    val_index: np.ndarray
    test_index: np.ndarray
    task: str
    num_classes: int
    classes: list[str] | None = None
    feature_names: list[str] | None = None
    stratified: bool = False
    warning: str | None = None
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None

    def standardized(self) -> Split:
        """A copy with every X part standardized by the training part's mean and standard
        deviation (constant columns centred only, never NaN); ``mean`` and ``scale`` are
        recorded for :meth:`transform`. Targets are unchanged. Raises ValueError for an
        empty training part."""
        mean, scale = _fit_standard(self.X_train)
        return replace(self, X_train=_apply_standard(self.X_train, mean, scale),
                       X_val=_apply_standard(self.X_val, mean, scale),
                       X_test=_apply_standard(self.X_test, mean, scale),
                       mean=mean, scale=scale)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Apply the training statistics to new inputs (a decision-boundary grid, a user's
        point): ``(X - mean) / scale`` in X's dtype; X unchanged if not standardized."""
        X = np.asarray(X)
        if self.mean is None:
            return X
        return _apply_standard(X, self.mean, self.scale)


def _check_fraction(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(float(value)):
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    value = float(value)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {_fmt(value)}")
    return value


def _part_size(fraction: float, n: int) -> int:
    # ceil, as sklearn's train_test_split sizes its test part (so split(d, 0.2) equals
    # train_test_split(..., test_size=0.2) with the same seed); the epsilon keeps
    # 0.7 * 10 = 7.000000000000001 at 7.
    return 0 if fraction == 0 else int(math.ceil(fraction * n - 1e-9))


def _stratified_draw(index: np.ndarray, strata: np.ndarray, size: int, seed: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """``train_test_split(index, test_size=size, random_state=seed, stratify=strata)``
    (scikit-learn's ``StratifiedShuffleSplit``, the same draws of the same generator, so
    the same parts), built from arrays: scikit-learn gathers the training indices in a
    Python list of one object per sample, which for millions of rows holds the GIL for
    a tenth of a second and more and stalls the window that loads a table meanwhile.
    The caller has checked what scikit-learn would refuse (a class of one sample, a part
    smaller than the number of classes)."""
    from sklearn.utils import check_random_state
    from sklearn.utils.extmath import _approximate_mode

    n_test = int(size)
    n_train = len(index) - n_test
    _, y_indices = np.unique(strata, return_inverse=True)
    class_counts = np.bincount(y_indices)
    class_indices = np.split(np.argsort(y_indices, kind="stable"),
                             np.cumsum(class_counts)[:-1])
    rng = check_random_state(seed)
    n_i = _approximate_mode(class_counts, n_train, rng)
    t_i = _approximate_mode(class_counts - n_i, n_test, rng)
    train, test = [], []
    for i in range(len(class_counts)):
        perm = class_indices[i].take(rng.permutation(class_counts[i]), mode="clip")
        train.append(perm[:n_i[i]])
        test.append(perm[n_i[i]:n_i[i] + t_i[i]])
    train = rng.permutation(np.concatenate(train).astype(np.int64, copy=False))
    test = rng.permutation(np.concatenate(test).astype(np.int64, copy=False))
    return index[train], index[test]


def split(data: Dataset | tuple[np.ndarray, np.ndarray], val_fraction: float = 0.2,
          test_fraction: float = 0.0, seed: int = 0, stratify: bool = True) -> Split:
    """Split a dataset into training, validation and (optional) test parts, seeded.

    Sizes: the test part has ``ceil(test_fraction * n)`` samples, the validation part
    ``ceil(val_fraction * n)`` (as scikit-learn's ``train_test_split`` sizes its test
    part), the training part the rest. A fraction of 0 gives an empty part. The test
    part is drawn first, then the validation part from the rest, each with
    ``sklearn.model_selection.train_test_split(random_state=seed)``: the same seed gives
    the same split, and ``split(d, 0.2, seed=s)`` equals ``train_test_split(d.X, d.y,
    test_size=0.2, stratify=d.y, random_state=s)``.

    Stratification (classification with ``stratify=True``): each part keeps the class
    proportions. When that is impossible (a class with fewer than 2 samples, or a part
    smaller than the number of classes) the part is drawn at random instead: the result
    has ``stratified=False`` and a ``warning`` saying why, and a :class:`SplitWarning`
    is issued, rather than an error. Either way ``num_classes`` is the whole dataset's
    class count, so a validation part missing a class still gets a model of full output
    width. Regression data is never stratified (no warning).

    Args:
        data: a :class:`Dataset`, or a pair ``(X, y)`` of arrays (X of shape (n, f);
            1-D integer y counts as class indices with ``y.max() + 1`` classes, any other
            y as a regression target).
        val_fraction: fraction of the samples for validation, in [0, 1); default 0.2.
        test_fraction: fraction for the test part, in [0, 1); default 0 (no test part).
        seed: the random seed, an int in [0, 2**32 - 1]; default 0.
        stratify: keep class proportions in every part (classification only).

    Returns:
        a :class:`Split` (X float32 parts and y parts in the dataset's dtypes, plus the
        row indices of each part).

    Raises:
        ValueError: for a fraction out of range, fractions summing to 1 or more, a
            training part that would be empty, a bad seed, or X and y of different
            lengths.
    """
    val_fraction = _check_fraction("val_fraction", val_fraction)
    test_fraction = _check_fraction("test_fraction", test_fraction)
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(f"val_fraction + test_fraction must be less than 1 (something must "
                         f"be left to train on), got {_fmt(val_fraction)} + "
                         f"{_fmt(test_fraction)}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) \
            or not 0 <= seed <= 2**32 - 1:
        raise ValueError(f"seed must be an integer in [0, 2**32 - 1], got {seed!r}")
    seed = int(seed)

    if isinstance(data, Dataset):
        X, y = data.X, data.y
        task, num_classes = data.task, data.num_classes
        classes, features = data.classes, data.feature_names
    else:
        try:
            X, y = data
        except (TypeError, ValueError):
            raise TypeError("data must be a Dataset or a pair (X, y)") from None
        X, y = np.asarray(X), np.asarray(y)
        if X.ndim != 2:
            raise ValueError(f"X must have shape (n_samples, n_features), got {X.shape}")
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
        if y.ndim == 1 and y.dtype.kind in "iu":
            task, num_classes = "classification", int(y.max()) + 1 if len(y) else 0
        else:
            task, num_classes = "regression", 0
        classes, features = None, None

    n = len(X)
    n_test = _part_size(test_fraction, n)
    n_val = _part_size(val_fraction, n)
    if n - n_test - n_val < 1:
        raise ValueError(f"the training part would be empty: {n} samples, "
                         f"{n_val} for validation (val_fraction {_fmt(val_fraction)}) and "
                         f"{n_test} for testing (test_fraction {_fmt(test_fraction)})")

    use_strata = stratify and task == "classification"
    reasons: list[str] = []

    def name_of(c: Any) -> str:
        return repr(classes[c]) if classes is not None and 0 <= c < len(classes) else str(c)

    def draw(index: np.ndarray, size: int, what: str) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.model_selection import train_test_split
        strata = None
        if use_strata:
            labels, counts = np.unique(y[index], return_counts=True)
            k = len(labels)
            if counts.min() < 2:
                c = labels[np.argmin(counts)]
                reasons.append(f"class {name_of(c)} has only {counts.min()} sample"
                               f"{'s' if counts.min() != 1 else ''} (at least 2 are needed "
                               f"to stratify)")
            elif size < k or len(index) - size < k:
                reasons.append(f"a {what} part of {size} samples and a remainder of "
                               f"{len(index) - size} cannot each hold all {k} classes")
            else:
                strata = y[index]
        try:
            if strata is not None:
                rest, part = _stratified_draw(index, strata, size, seed)
            else:
                rest, part = train_test_split(index, test_size=size, random_state=seed)
        except ValueError as e:  # any other reason sklearn cannot stratify
            if strata is None:
                raise
            reasons.append(str(e))
            rest, part = train_test_split(index, test_size=size, random_state=seed)
        return np.asarray(rest, dtype=np.int64), np.asarray(part, dtype=np.int64)

    rest = np.arange(n, dtype=np.int64)
    empty = np.empty(0, dtype=np.int64)
    test_idx = val_idx = empty
    if n_test:
        rest, test_idx = draw(rest, n_test, "test")
    if n_val:
        rest, val_idx = draw(rest, n_val, "validation")
    train_idx = rest

    warning = None
    if reasons:
        warning = ("split not stratified: " + "; ".join(reasons) + ". The parts were drawn "
                   "at random and may miss classes; the model keeps "
                   f"{num_classes} outputs.")
        warnings.warn(warning, SplitWarning, stacklevel=2)
    return Split(X[train_idx], y[train_idx], X[val_idx], y[val_idx], X[test_idx],
                 y[test_idx], train_idx, val_idx, test_idx, task, num_classes,
                 list(classes) if classes is not None else None,
                 list(features) if features is not None else None,
                 stratified=use_strata and not reasons,
                 warning=warning)
