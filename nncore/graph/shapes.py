"""Port shapes with a symbolic batch dimension, the shape of a dataset, and the helpers
every node type's shape rule uses.

A :class:`PortShape` describes what travels on a wire: a tensor ``(N, 128)`` or
``(N, 3, 8, 8)`` (``N`` the batch, written ``None`` in ``dims``), class labels (``(N,)``
class indices with a known number of classes), regression targets ``(N, k)``, or a
scalar loss. A :class:`DataShape` is what the project's dataset looks like, the one thing
the Input node's shapes are derived from (never stored in the graph).

The helpers (:func:`one`, :func:`features`, :func:`batch_tensor`, :func:`broadcast`,
:func:`flatten`) work for tensors of any rank, so a new node type with images or
sequences needs no new rule here.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PortShape", "ShapeError", "DataShape", "tensor", "labels", "LOSS", "one",
           "batch_tensor", "features", "broadcast", "flatten"]


class ShapeError(ValueError):
    """A node cannot work with the shapes wired into it; the message says why (it is
    shown on the node)."""


@dataclass(frozen=True)
class PortShape:
    """The shape of the data on one port.

    Attributes:
        dims: the dimensions; ``None`` is the batch dimension N. A loss is ``()``.
        classes: for class labels, the number of classes (``dims == (None,)``);
            otherwise None.
    """

    dims: tuple[int | None, ...]
    classes: int | None = None

    @property
    def is_labels(self) -> bool:
        """True for class indices (not a tensor of values)."""
        return self.classes is not None

    @property
    def width(self) -> int | None:
        """The size of the last dimension (features), or None for labels and losses."""
        if self.classes is not None or not self.dims:
            return None
        return self.dims[-1]

    @property
    def sample(self) -> tuple[int | None, ...]:
        """The dimensions of one sample (``dims`` without the batch): ``(128,)``."""
        return self.dims[1:] if self.dims and self.dims[0] is None else self.dims

    def __str__(self) -> str:
        if self.classes is not None:
            return f"(N,) labels, {self.classes} classes"
        if not self.dims:
            return "scalar"
        dims = ", ".join("N" if d is None else str(d) for d in self.dims)
        return f"({dims},)" if len(self.dims) == 1 else f"({dims})"  # NumPy's (3,)


def tensor(*features: int) -> PortShape:
    """A batch of tensors: ``tensor(128)`` is ``(N, 128)``, ``tensor(3, 8, 8)`` is
    ``(N, 3, 8, 8)``."""
    return PortShape((None, *features))


def labels(classes: int) -> PortShape:
    """Class indices for ``classes`` classes, one per sample: ``(N,)``."""
    return PortShape((None,), classes)


LOSS = PortShape(())


@dataclass(frozen=True)
class DataShape:
    """What a dataset looks like to the network (derived from the data, never saved).

    Attributes:
        features: the shape of one sample, e.g. ``(64,)`` for the 8x8 digits as vectors.
        task: ``"classification"`` or ``"regression"``.
        classes: the number of classes (classification; 0 otherwise).
        targets: values to predict per sample (regression; 0 otherwise).
        source: where the data comes from, for people (``"digits"``, ``"data.csv"``).
    """

    features: tuple[int, ...]
    task: str = "classification"
    classes: int = 0
    targets: int = 0
    source: str = ""

    def __post_init__(self) -> None:
        if self.task not in ("classification", "regression"):
            raise ValueError(f"task must be classification or regression, got {self.task!r}")
        if not self.features or any(int(d) < 1 for d in self.features):
            raise ValueError(f"features must be positive sizes, got {self.features!r}")
        object.__setattr__(self, "features", tuple(int(d) for d in self.features))

    @property
    def n_features(self) -> int:
        """The number of values per sample (the product of ``features``)."""
        n = 1
        for d in self.features:
            n *= d
        return n

    @property
    def target_shape(self) -> PortShape:
        """The shape on the Input's labels port."""
        return labels(self.classes) if self.task == "classification" else tensor(self.targets)

    def describe(self) -> str:
        """``"64 features · 10 classes"`` or ``"1 feature · 1 target"``."""
        dims = " x ".join(map(str, self.features))
        what = f"{dims} feature{'s' if self.n_features != 1 else ''}"
        if self.task == "classification":
            return f"{what} · {self.classes} classes"
        return f"{what} · {self.targets} target{'s' if self.targets != 1 else ''}"


# ---------------------------------------------------------------------------- rules' helpers
Shapes = dict[str, list[PortShape]]


def one(inputs: Shapes, port: str = "input") -> PortShape:
    """The shape wired into a single-wire ``port``.

    Raises:
        ShapeError: if nothing is connected to it.
    """
    shapes = inputs.get(port) or []
    if not shapes:
        raise ShapeError(f"input '{port}' is not connected")
    return shapes[0]


def batch_tensor(inputs: Shapes, port: str = "input", min_rank: int = 2,
                 max_rank: int | None = None) -> PortShape:
    """The tensor wired into ``port``: a batch ``(N, ...)`` of values (not labels, not a
    loss) with between ``min_rank`` and ``max_rank`` dimensions, batch included.

    Raises:
        ShapeError: naming the port, what it needs and what it got.
    """
    shape = one(inputs, port)
    rank_ok = len(shape.dims) >= min_rank and (max_rank is None or len(shape.dims) <= max_rank)
    if shape.is_labels or not rank_ok or shape.dims[0] is not None or None in shape.dims[1:]:
        if max_rank == min_rank == 2:
            need = "a batch of feature vectors (N, k)"
        else:
            need = f"a batch of tensors (N, ...) with at least {min_rank - 1} sample dimension"
        raise ShapeError(f"'{port}' needs {need}, got {shape}")
    return shape


def features(inputs: Shapes, port: str = "input") -> int:
    """The size of the last dimension of the tensor wired into ``port`` (what a Dense
    layer or BatchNorm works on).

    Raises:
        ShapeError: if the port has no tensor.
    """
    return int(batch_tensor(inputs, port).dims[-1])  # type: ignore[arg-type]


def broadcast(a: PortShape, b: PortShape) -> PortShape:
    """The shape of an elementwise result of ``a`` and ``b`` under NumPy's broadcasting
    rules: dimensions aligned from the right, each pair equal or one of them 1. The
    batch dimension N only matches N (or 1): its size is not known in advance.

    Raises:
        ShapeError: naming both shapes and the dimensions that differ.
    """
    dims: list[int | None] = []
    for x, y in zip(reversed(a.dims), reversed(b.dims)):
        if x == y or y == 1:
            dims.append(x)
        elif x == 1:
            dims.append(y)
        else:
            def name(d: int | None) -> str:
                return "N" if d is None else str(d)
            raise ShapeError(f"shapes {a} and {b} do not broadcast (dimensions {name(x)} "
                             f"and {name(y)})")
    longer = a.dims if len(a.dims) > len(b.dims) else b.dims
    dims.extend(reversed(longer[:abs(len(a.dims) - len(b.dims))]))
    return PortShape(tuple(reversed(dims)))


def flatten(shape: PortShape) -> PortShape:
    """``(N, d1, d2, ...)`` -> ``(N, d1 * d2 * ...)``, as ``torch.nn.Flatten`` does."""
    n = 1
    for d in shape.sample:
        n *= int(d)  # type: ignore[arg-type]
    return tensor(n)
