"""The node types a network is built from: one class per kind of node, each in the
module of its category, all registered in :data:`CATALOGUE`.

Adding a node type is one class in one of these modules (or a new module imported at
the end of this file), decorated with :func:`register`, plus its tests: the palette,
the inspector, shape inference, compile, the canvas cards and the exports read it from
here. See :class:`~nncore.graph.types.base.NodeType` for what a type declares.
"""

from __future__ import annotations

from typing import TypeVar

from nncore.graph.types.base import (LOSS_KIND, TARGET, TENSOR, ExportSpec, LossType,
                                     NodeType, NodeValueError, ParamError, PortSpec)
from nncore.registry import Registry
from nncore.spec import ParamSpec

__all__ = ["CATALOGUE", "CATEGORIES", "register", "node_type", "interchangeable", "NodeType",
           "LossType",
           "PortSpec", "ParamSpec", "ParamError", "NodeValueError", "ExportSpec",
           "TENSOR", "TARGET", "LOSS_KIND"]

#: Every node type by type id (the id saved in project files).
CATALOGUE: Registry[NodeType] = Registry("node type")

#: Palette order of the categories.
CATEGORIES = ("Data", "Layers", "Activations", "Normalization", "Merge", "Losses", "Operators")

T = TypeVar("T", bound=type[NodeType])


def register(cls: T) -> T:
    """Class decorator: register one instance of a :class:`NodeType` subclass under its
    ``type_id``.

    Raises:
        ValueError: for a type id already taken or a category not in :data:`CATEGORIES`.
    """
    if cls.category not in CATEGORIES:
        raise ValueError(f"node type {cls.type_id!r}: unknown category {cls.category!r} "
                         f"(known: {', '.join(CATEGORIES)})")
    CATALOGUE.register(cls.type_id, cls())
    return cls


def interchangeable(ntype: NodeType) -> list[NodeType]:
    """The types a node of ``ntype`` can become in place, keeping its wires
    (:meth:`nncore.graph.Graph.set_type`): those of its category with the same input
    and output ports, itself included, in palette order (ReLU: ReLU, Leaky ReLU,
    Sigmoid, Tanh, Softmax)."""
    return [t for t in CATALOGUE.values() if t.category == ntype.category
            and t.inputs == ntype.inputs and t.outputs == ntype.outputs]


def node_type(type_id: str) -> NodeType:
    """The node type with id ``type_id``.

    Raises:
        KeyError: for an unknown id, listing the known ones.
    """
    return CATALOGUE.get(type_id)


# The built-in types register themselves on import (palette order within a category is
# the order of registration).
from nncore.graph.types import data, layers, activations, normalization, merge, losses  # noqa: E402,F401,I001
from nncore.graph.types import operators  # noqa: E402,F401,I001
