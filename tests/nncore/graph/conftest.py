"""Fixtures: small graphs built through the public editing API."""

from __future__ import annotations

import pytest

from nncore.graph import DataShape, Graph

#: The shape of iris-like data: what the ``mlp`` fixture is analysed on.
IRIS = DataShape((4,), classes=3, source="iris")


def chain(graph: Graph, *type_ids: str, params: dict | None = None) -> list[str]:
    """Add nodes of ``type_ids`` left to right, wiring output -> input; returns ids."""
    ids = []
    for i, t in enumerate(type_ids):
        node = graph.add_node(t, (200.0 * i, 0.0), (params or {}).get(t))
        if ids:
            prev = graph.node(ids[-1])
            src_port = prev.type.outputs[0].name
            dst_port = node.type.inputs[0].name
            graph.connect(prev.id, src_port, node.id, dst_port)
        ids.append(node.id)
    return ids


@pytest.fixture
def mlp() -> tuple[Graph, dict[str, str]]:
    """Input -> Dense(8) -> ReLU -> Dense(3) -> Cross-Entropy; on data of shape
    :data:`IRIS` (4 features, 3 classes) its shapes are known."""
    g = Graph()
    ids = chain(g, "input", "dense", "relu", "dense", "cross_entropy")
    g.set_params(ids[1], {"units": 8})
    g.set_params(ids[3], {"units": 3})
    g.connect(ids[0], "labels", ids[4], "target")
    return g, dict(zip(["input", "dense1", "relu", "dense2", "loss"], ids))


@pytest.fixture
def iris() -> DataShape:
    return IRIS


@pytest.fixture
def make_chain():
    return chain
