"""The graph model: editing, validation, events, undo records, shape inference."""

from __future__ import annotations

import pytest

from nncore.graph import CATALOGUE, DataShape, Edge, Graph, GraphError, ParamError

IRIS = DataShape((4,), classes=3)


class Recorder:
    def __init__(self, graph: Graph) -> None:
        self.events: list[tuple] = []
        for name in ("node_added", "node_removed", "node_changed", "edge_added",
                     "edge_removed", "settings_changed", "graph_reset"):
            getattr(graph, name).connect(lambda *args, n=name: self.events.append((n, *args)))

    def kinds(self) -> list[str]:
        return [e[0] for e in self.events]


def test_ids_and_names_are_unique_and_stable(make_chain):
    g = Graph()
    a, b, c = (g.add_node("dense") for _ in range(3))
    assert [n.name for n in (a, b, c)] == ["Dense", "Dense 2", "Dense 3"]
    assert len({a.id, b.id, c.id}) == 3
    g.remove_node(b.id)
    d = g.add_node("dense")
    assert d.name == "Dense 2" and d.id not in {a.id, c.id}
    with pytest.raises(GraphError, match="already a node called 'Dense'"):
        g.rename_node(c.id, "Dense")
    with pytest.raises(GraphError, match="already a node with id"):
        g.add_node("relu", node_id=a.id)
    with pytest.raises(GraphError, match="unknown node type 'conv2d'"):
        g.add_node("conv2d")


def test_events_are_announced_for_every_edit():
    g = Graph()
    rec = Recorder(g)
    a = g.add_node("input")
    b = g.add_node("dense")
    e = g.connect(a.id, "features", b.id, "input")
    g.set_param(b.id, "units", 32)
    g.move_node(b.id, (10, 20))
    g.rename_node(b.id, "Hidden")
    g.disconnect(e)
    g.remove_node(a.id)
    g.clear()
    assert rec.kinds() == ["node_added", "node_added", "edge_added", "node_changed", "node_changed",
                           "node_changed", "edge_removed", "node_removed", "graph_reset"]
    assert [ev[2] for ev in rec.events if ev[0] == "node_changed"] == ["params", "position", "name"]


def test_refused_edits_change_nothing_and_say_why():
    g = Graph()
    rec = Recorder(g)
    d = g.add_node("dense")
    before = len(rec.events)
    with pytest.raises(ParamError, match=r"units must be in \[1, 100000\], got 0"):
        g.set_param(d.id, "units", 0)
    with pytest.raises(ParamError, match="units must be a whole number"):
        g.set_param(d.id, "units", 2.5)
    with pytest.raises(ParamError, match="no parameter 'size'"):
        g.set_params(d.id, {"size": 3})
    with pytest.raises(ParamError, match="init must be one of"):
        g.set_param(d.id, "init", "zeros")
    with pytest.raises(ParamError, match="p must be in \\[0, 1\\)"):
        g.add_node("dropout", params={"p": 1.0})
    assert d.params["units"] == 16 and len(rec.events) == before


@pytest.mark.parametrize("src,src_port,dst,dst_port,reason", [
    ("loss", "loss", "dense1", "input", "is a loss"),
    ("input", "labels", "dense1", "input", "carries the dataset's labels"),
    ("relu", "output", "loss", "target", "takes the dataset's labels"),
    ("dense1", "output", "relu", "output", "both ports are outputs"),
    ("dense1", "input", "relu", "input", "both ports are inputs"),
    ("relu", "output", "dense1", "input", "already has a wire from Input"),
    ("dense1", "output", "relu", "input", "already connected"),
    ("relu", "nope", "dense2", "input", "has no output 'nope'"),
])
def test_can_connect_refuses_with_a_reason(mlp, src, src_port, dst, dst_port, reason):
    g, ids = mlp
    verdict = g.can_connect(ids[src], src_port, ids[dst], dst_port)
    assert not verdict and reason in verdict.reason
    edges = g.edges
    with pytest.raises(GraphError, match=reason.replace("'", ".")):
        g.connect(ids[src], src_port, ids[dst], dst_port)
    assert g.edges == edges


def test_r17_cycles_are_refused_with_their_path():
    """klauer/qtpynodeeditor#37."""
    g = Graph()
    a, b, c = g.add_node("relu"), g.add_node("tanh"), g.add_node("sigmoid")
    g.connect(a.id, "output", b.id, "input")
    g.connect(b.id, "output", c.id, "input")
    verdict = g.can_connect(c.id, "output", a.id, "input")
    assert not verdict and verdict.reason == "this wire would make a cycle: Sigmoid → ReLU → Tanh → Sigmoid"
    verdict = g.can_connect(a.id, "output", a.id, "input")
    assert not verdict and "itself would make a cycle" in verdict.reason
    add = g.add_node("add")
    g.connect(c.id, "output", add.id, "inputs")
    assert not g.can_connect(add.id, "output", a.id, "input")
    assert len(g.edges) == 3


def test_multi_input_ports_take_several_wires_in_order():
    g = Graph()
    a, b = g.add_node("relu"), g.add_node("tanh")
    cat = g.add_node("concatenate")
    g.connect(b.id, "output", cat.id, "inputs")
    g.connect(a.id, "output", cat.id, "inputs")
    assert [e.src for e in g.incoming(cat.id, "inputs")] == [b.id, a.id]


def test_r15_deleting_a_node_removes_exactly_its_wires():
    """jchanvfx/NodeGraphQt#281: A->B->C and D->E; delete B."""
    g = Graph()
    A, B, C, D, E = (g.add_node(t) for t in ("relu", "tanh", "sigmoid", "relu", "tanh"))
    g.connect(A.id, "output", B.id, "input")
    g.connect(B.id, "output", C.id, "input")
    g.connect(D.id, "output", E.id, "input")
    removed = g.remove_node(B.id)
    assert {n.id for n in g.nodes} == {A.id, C.id, D.id, E.id}
    assert g.edges == [Edge(D.id, "output", E.id, "input")]
    assert [i for i, _ in removed.edges] == [0, 1]
    g.restore_node(removed)
    assert [n.id for n in g.nodes] == [A.id, B.id, C.id, D.id, E.id]
    assert g.edges == [Edge(A.id, "output", B.id, "input"), Edge(B.id, "output", C.id, "input"),
                       Edge(D.id, "output", E.id, "input")]


def test_r16_disconnect_and_reconnect_then_undo_keeps_one_edge(mlp):
    g, ids = mlp
    edge = Edge(ids["dense1"], "output", ids["relu"], "input")
    index = g.disconnect(edge)
    g.connect(edge.src, edge.src_port, edge.dst, edge.dst_port, index=index)
    assert g.edges.count(edge) == 1
    with pytest.raises(GraphError, match="already connected"):
        g.connect(edge.src, edge.src_port, edge.dst, edge.dst_port)


def test_shape_inference_and_parameter_counts(mlp):
    g, ids = mlp
    a = g.analysis(IRIS)
    assert a.ok and a.problems == []
    assert str(a.shapes[(ids["dense1"], "output")]) == "(N, 8)"
    assert str(a.shapes[(ids["input"], "labels")]) == "(N,) labels, 3 classes"
    assert a.params == {ids["input"]: 0, ids["dense1"]: 4 * 8 + 8, ids["relu"]: 0,
                        ids["dense2"]: 8 * 3 + 3, ids["loss"]: 0}
    assert a.total_params == 67
    g.set_param(ids["dense1"], "bias", False)
    assert g.analysis(IRIS).params[ids["dense1"]] == 32


def test_shape_errors_are_pinned_to_the_node_that_causes_them(mlp):
    g, ids = mlp
    g.set_param(ids["dense2"], "units", 5)
    a = g.analysis(IRIS)
    assert list(a.errors) == [ids["loss"]]
    assert "prediction has 5 values per sample but the target has 3 classes" in a.errors[ids["loss"]]
    g.set_param(ids["dense2"], "units", 3)
    g.disconnect(Edge(ids["input"], "features", ids["dense1"], "input"))
    a = g.analysis(IRIS)
    assert a.errors == {ids["dense1"]: "nothing is connected to 'input'"}  # downstream is just unknown
    assert (ids["relu"], "output") not in a.shapes
    assert not a.ok and a.problems[0] == (ids["dense1"], "Dense: nothing is connected to 'input'")


def test_graph_level_problems():
    g = Graph()
    a = g.analysis()
    assert (None, "the network needs exactly one Input node, it has 0") in a.problems
    assert any("exactly one loss" in p for _, p in a.problems)
    g.add_node("input")
    g.add_node("input")
    assert any("it has 2" in p for _, p in g.analysis().problems)


def test_add_and_concatenate_shapes():
    g = Graph()
    inp = g.add_node("input")
    d1, d2 = g.add_node("dense", params={"units": 4}), g.add_node("dense", params={"units": 5})
    add, cat = g.add_node("add"), g.add_node("concatenate")
    for d in (d1, d2):
        g.connect(inp.id, "features", d.id, "input")
        g.connect(d.id, "output", add.id, "inputs")
        g.connect(d.id, "output", cat.id, "inputs")
    a = g.analysis(DataShape((3,), classes=2))
    assert "Add needs inputs of one shape or shapes that broadcast (NumPy's rules), got (N, 4), (N, 5)" \
        in a.errors[add.id]
    assert str(a.shapes[(cat.id, "output")]) == "(N, 9)"


def test_every_catalogue_entry_is_complete():
    categories = {"Data", "Layers", "Activations", "Normalization", "Merge", "Losses",
                  "Operators"}
    required = {"input", "dense", "relu", "leaky_relu", "sigmoid", "tanh", "softmax", "batchnorm",
                "dropout", "add", "concatenate", "cross_entropy", "mse", "bce"}
    assert required <= set(CATALOGUE)
    for t in CATALOGUE.values():
        assert t.category in categories and t.display_name and t.glyph
        assert len(t.summary) > 10 and len(t.learn) > 80, t.type_id
        for p in t.params:
            assert p.help and p.validate(p.default) == p.default
        if t.category == "Losses":
            assert [p.kind for p in t.inputs] == ["tensor", "target"] and t.outputs[0].kind == "loss"
    for t in CATALOGUE.values():  # every op says how the gradient passes through it
        if t.type_id != "input":
            assert any(w in t.learn for w in ("derivative", "gradient", "Jacobian")), t.type_id


def test_topological_order_is_deterministic(mlp):
    g, ids = mlp
    assert g.topological_order() == [ids["input"], ids["dense1"], ids["relu"], ids["dense2"], ids["loss"]]


def test_a_broken_callback_does_not_stop_the_others():
    g = Graph()
    seen = []
    g.node_added.connect(lambda n: (_ for _ in ()).throw(RuntimeError("view bug")))
    g.node_added.connect(lambda n: seen.append(n.id))
    with pytest.raises(RuntimeError, match="view bug"):
        g.add_node("relu")
    assert seen == ["n1"] and len(g) == 1


def test_r16_delete_everything_then_restore_gives_the_same_file(mlp):
    """GafferHQ/gaffer#466 at the model level: select all, delete, undo, redo, undo."""
    from nncore.graph import dumps

    g, ids = mlp
    original = dumps(g)
    for _ in range(2):
        removed = [g.remove_node(nid) for nid in list(ids.values())]  # delete, in selection order
        assert len(g) == 0 and g.edges == []
        for record in reversed(removed):  # undo restores in reverse order
            g.restore_node(record)
        assert dumps(g) == original


def test_replace_with_copies_and_announces_a_reset(mlp):
    g, ids = mlp
    other = Graph()
    rec = Recorder(other)
    other.replace_with(g)
    assert rec.kinds() == ["graph_reset"]
    assert [n.id for n in other.nodes] == [n.id for n in g.nodes] and other.edges == g.edges
    other.set_param(ids["dense1"], "units", 99)
    assert g.node(ids["dense1"]).params["units"] == 8  # a copy, not shared


def test_connection_targets_agree_with_can_connect(mlp):
    g, ids = mlp
    extra = g.add_node("dense")
    g.connect(ids["relu"], "output", extra.id, "input")
    for node_id, port in [(ids["relu"], "output"), (ids["dense2"], "input"), (ids["input"], "labels"),
                          (extra.id, "output"), (ids["loss"], "target"), (ids["dense1"], "input")]:
        targets = g.connection_targets(node_id, port)
        assert targets, (node_id, port)
        for (other, other_port), verdict in targets.items():
            if g.node(node_id).type.output(port) is not None:
                expected = g.can_connect(node_id, port, other, other_port)
            else:
                expected = g.can_connect(other, other_port, node_id, port)
            assert verdict.ok == expected.ok, (node_id, port, other, other_port)
            if not expected.ok and "cycle" not in expected.reason:
                assert verdict.reason == expected.reason
    small = Graph()
    r, t = small.add_node("relu"), small.add_node("tanh")
    small.connect(r.id, "output", t.id, "input")
    assert small.connection_targets(t.id, "output")[(r.id, "input")].reason == \
        "this wire would make a cycle"
    assert small.connection_targets(r.id, "input")[(t.id, "output")].reason == \
        "this wire would make a cycle"


def test_unconnected_ports_are_named_as_the_canvas_shows_them():
    g = Graph()
    loss = g.add_node("cross_entropy")
    add = g.add_node("add")
    a = g.analysis()
    assert a.errors[loss.id] == "nothing is connected to 'logits' and 'target'"
    assert a.errors[add.id] == "nothing is connected to 'inputs'"
