"""A node's and a wire's place (kept as keys found by bisection, so that deleting N nodes
is linear) always agree with the node order and the edge list, through random edits,
removals, restores in any order and resets."""

from __future__ import annotations

import random

import pytest

from nncore.graph import Graph, GraphError, dumps


def _check(g: Graph) -> None:
    ids, edges = [n.id for n in g.nodes], g.edges
    for node_id in ids:
        assert g._node_keys[ids.index(node_id)] == g._node_key[node_id]
    assert g._node_keys == sorted(g._node_keys) and len(set(g._node_keys)) == len(ids)
    for i, e in enumerate(edges):
        assert g._edge_index(e) == i
    for node_id in ids:  # edges_of in edge order, without scanning
        assert g.edges_of(node_id) == [e for e in edges if node_id in (e.src, e.dst)]


@pytest.mark.parametrize("seed", range(8))
def test_places_follow_random_edits(seed):
    rng = random.Random(seed)
    g = Graph()
    removed = []
    for _ in range(300):
        ids = [n.id for n in g.nodes]
        action = rng.random()
        if action < 0.35 or len(ids) < 3:
            g.add_node(rng.choice(["relu", "tanh", "dense", "add"]))
        elif action < 0.6:
            a, b = rng.sample(ids, 2)
            node_a, node_b = g.node(a), g.node(b)
            try:
                g.connect(a, node_a.type.outputs[0].name, b, node_b.type.inputs[0].name)
            except GraphError:
                pass
        elif action < 0.75:
            batch = rng.sample(ids, rng.randint(1, min(4, len(ids))))
            removed.append([g.remove_node(n) for n in batch])
        elif action < 0.9 and removed:
            before = dumps(g)
            records = removed.pop(rng.randrange(len(removed)))
            try:
                g.restore_nodes(reversed(records))
            except GraphError:
                assert dumps(g) == before  # all or nothing
        elif g.edges:
            e = rng.choice(g.edges)
            index = g.disconnect(e)
            if rng.random() < 0.5:  # undo: back at its place
                g.connect(e.src, e.src_port, e.dst, e.dst_port, index=index)
                assert g.edges.index(e) == index
        _check(g)
    copy = Graph()
    copy.replace_with(g)
    _check(copy)
    g.clear()
    _check(g)


def test_undoing_a_delete_of_everything_restores_order_and_wires():
    g = Graph()
    prev = g.add_node("relu")
    for _ in range(30):
        node = g.add_node("tanh")
        g.connect(prev.id, "output", node.id, "input")
        prev = node
    before = dumps(g)
    records = [g.remove_node(n.id) for n in list(g.nodes)]
    assert len(g) == 0
    g.restore_nodes(reversed(records))
    assert dumps(g) == before
    _check(g)
