"""The user's network as data (no Qt): the graph model with its events, the catalogue of
node types, shape inference, JSON files, settings, and compilation to a runnable model.
"""

from nncore.graph.catalogue import (CATALOGUE, CATEGORIES, NodeType, ParamError, ParamSpec,
                                    PortSpec, node_type)
from nncore.graph.compile import CompiledGraph, compile_graph
from nncore.graph.io import (GraphFileError, dumps, load_graph, load_weights, loads,
                             save_graph)
from nncore.graph.model import Analysis, Edge, Event, Graph, GraphError, Node, RemovedNode, Verdict
from nncore.graph.settings import DatasetSettings, SettingsError, TrainingSettings
from nncore.graph.shapes import PortShape, ShapeError

__all__ = [
    "CATALOGUE", "CATEGORIES", "NodeType", "ParamError", "ParamSpec", "PortSpec", "node_type",
    "CompiledGraph", "compile_graph", "GraphFileError", "dumps", "load_graph", "load_weights",
    "loads", "save_graph", "Analysis", "Edge", "Event", "Graph", "GraphError", "Node",
    "RemovedNode", "Verdict", "DatasetSettings", "SettingsError", "TrainingSettings",
    "PortShape", "ShapeError",
]
