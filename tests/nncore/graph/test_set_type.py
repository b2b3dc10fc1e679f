"""Changing a node's type in place (issue 10: swap an activation without rewiring)."""

from __future__ import annotations

import pytest

from nncore.graph import DataShape, Graph, GraphError


def _mlp():
    g = Graph()
    inp, d1, act, d2, ce = (g.add_node(t) for t in ("input", "dense", "relu", "dense",
                                                     "cross_entropy"))
    g.set_params(d2.id, {"units": 3})
    for a, pa, b, pb in [(inp, "features", d1, "input"), (d1, "output", act, "input"),
                         (act, "output", d2, "input"), (d2, "output", ce, "input"),
                         (inp, "labels", ce, "target")]:
        g.connect(a.id, pa, b.id, pb)
    return g, act


def test_an_activation_changes_kind_keeping_id_position_and_wires():
    g, act = _mlp()
    g.move_node(act.id, (300.0, 40.0))
    wires = sorted(map(str, g.edges_of(act.id)))
    seen = []
    g.node_changed.connect(lambda node, what: seen.append((node.id, what)))
    old = g.set_type(act.id, "tanh")
    node = g.node(act.id)
    assert old == ("relu", {}, "ReLU")
    assert node.type_id == "tanh" and node.name == "Tanh" and node.position == (300.0, 40.0)
    assert sorted(map(str, g.edges_of(act.id))) == wires
    assert seen == [(act.id, "type")]
    assert g.analysis(DataShape((4,), classes=3)).ok
    assert g.node_by_name("ReLU") is None and g.node_by_name("Tanh") is node
    # and back, with the old name (what undo does)
    g.set_type(act.id, *old)
    assert (node.type_id, node.params, node.name) == old


def test_parameters_of_the_same_name_are_kept_and_a_chosen_name_stays():
    g, act = _mlp()
    g.set_type(act.id, "leaky_relu", {"negative_slope": 0.2})
    g.rename_node(act.id, "hidden act")
    g.set_type(act.id, "leaky_relu")  # same type: the valid parameter is kept
    assert g.node(act.id).params == {"negative_slope": 0.2}
    g.set_type(act.id, "sigmoid")
    assert g.node(act.id).name == "hidden act" and g.node(act.id).params == {}


def test_a_type_without_the_wired_ports_is_refused_and_nothing_changes():
    g, act = _mlp()
    with pytest.raises(GraphError, match="ReLU cannot become Add: its wired port 'input' "
                                         "does not exist there"):
        g.set_type(act.id, "add")
    with pytest.raises(GraphError, match="unknown node type 'conv9d'"):
        g.set_type(act.id, "conv9d")
    assert g.node(act.id).type_id == "relu" and g.node(act.id).name == "ReLU"


def test_the_kinds_a_node_can_become_share_its_category_and_ports():
    from nncore.graph import interchangeable, node_type

    assert [t.type_id for t in interchangeable(node_type("relu"))] == \
        ["relu", "leaky_relu", "sigmoid", "tanh", "softmax"]
    assert [t.type_id for t in interchangeable(node_type("add"))] == ["add", "concatenate"]
    assert [t.type_id for t in interchangeable(node_type("input"))] == ["input"]
    g, act = _mlp()
    for t in interchangeable(node_type("relu")):  # each one fits the same wires
        g.set_type(act.id, t.type_id)
        assert g.analysis(DataShape((4,), classes=3)).ok, t.type_id


@pytest.mark.parametrize("name", ["a\x00b", "two\nlines", "evil\u202eevil", "tab\there"])
def test_a_node_name_with_control_or_format_characters_is_refused(name):
    """Issue 9 (found pasting foreign data): NUL, line breaks and a right-to-left
    override made names that read as something else."""
    g, act = _mlp()
    with pytest.raises(GraphError, match="cannot hold control or format characters, got U+"):
        g.rename_node(act.id, name)
    with pytest.raises(GraphError, match="control or format"):
        g.add_node("relu", name=name)
    assert g.node(act.id).name == "ReLU"
