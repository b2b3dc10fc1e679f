"""Port shapes with a symbolic batch dimension, and the error a shape rule raises.

A :class:`PortShape` describes what travels on a wire: a tensor ``(N, 128)`` (``N`` the
batch, written ``None`` in ``dims``), class labels (``(N,)`` class indices with a known
number of classes), regression targets ``(N, k)``, or a scalar loss.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PortShape", "ShapeError", "tensor", "labels", "LOSS"]


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
    def width(self) -> int | None:
        """The size of the last dimension (features), or None for labels and losses."""
        if self.classes is not None or not self.dims:
            return None
        return self.dims[-1]

    def __str__(self) -> str:
        if self.classes is not None:
            return f"(N,) labels, {self.classes} classes"
        if not self.dims:
            return "scalar"
        return "(" + ", ".join("N" if d is None else str(d) for d in self.dims) + ")"


def tensor(*features: int) -> PortShape:
    """A batch of feature vectors: ``tensor(128)`` is ``(N, 128)``."""
    return PortShape((None, *features))


def labels(classes: int) -> PortShape:
    """Class indices for ``classes`` classes, one per sample: ``(N,)``."""
    return PortShape((None,), classes)


LOSS = PortShape(())
