"""The user's network as data (no Qt): the graph model with its events, the node types,
shape inference, JSON files, and compilation to a runnable model.

What the graph is trained on (the dataset, the settings, how a run is made) is the
project's: :mod:`nncore.project`.
"""

from nncore.graph.compile import CompiledGraph, compile_graph
from nncore.graph.io import (GraphFileError, dumps, load_graph, load_weights, loads,
                             save_graph)
from nncore.graph.model import Analysis, Edge, Event, Graph, GraphError, Node, RemovedNode, Verdict
from nncore.graph.shapes import DataShape, PortShape, ShapeError
from nncore.graph.types import (CATALOGUE, CATEGORIES, NodeType, ParamError, ParamSpec,
                                PortSpec, interchangeable, node_type)

__all__ = [
    "CATALOGUE", "CATEGORIES", "NodeType", "ParamError", "ParamSpec", "PortSpec", "node_type",
    "interchangeable",
    "CompiledGraph", "compile_graph", "GraphFileError", "dumps", "load_graph", "load_weights",
    "loads", "save_graph", "Analysis", "Edge", "Event", "Graph", "GraphError", "Node",
    "RemovedNode", "Verdict", "DataShape", "PortShape", "ShapeError",
]
