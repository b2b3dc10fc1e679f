"""The editor's cost grows linearly with the network: a Select All, Delete, Undo, Copy or
Paste of N nodes does a fixed number of analyses, scene refreshes, selection
announcements and inspector refreshes (not one per node), and the model compares wires
O(N) times (not O(N^2)). Counted, not timed: the figures are in bench/canvas.py."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from app.editor.inspector import Inspector
from nncore.graph import Edge, Graph


def _network(n: int) -> Graph:
    """An Input feeding parallel Dense -> ReLU chains of about ``n`` nodes in all, with
    the digits as its dataset."""
    from nncore.project.settings import DatasetSettings

    g = Graph()
    inp = g.add_node("input", (0, 0))
    for b in range(n // 10):
        prev, port = inp.id, "features"
        for k in range(10):
            node = g.add_node("dense" if k % 2 == 0 else "relu", (250 * (k + 1), 160 * b))
            g.connect(prev, port, node.id, "input")
            prev, port = node.id, "output"
    g.settings = {"dataset": DatasetSettings().to_dict()}
    return g


class Counts:
    """How often the expensive steps ran since :meth:`reset`."""

    def __init__(self, window, monkeypatch) -> None:
        self.window = window
        self.analyses = self.inspector = self.edge_compares = 0
        analyse, refresh, eq = Graph._analyse, Inspector._refresh, Edge.__eq__

        def counted_analyse(graph, data):
            self.analyses += 1
            return analyse(graph, data)

        def counted_refresh(inspector):
            self.inspector += 1
            return refresh(inspector)

        def counted_eq(a, b):
            self.edge_compares += 1
            return eq(a, b)

        monkeypatch.setattr(Graph, "_analyse", counted_analyse)
        monkeypatch.setattr(Inspector, "_refresh", counted_refresh)
        monkeypatch.setattr(Edge, "__eq__", counted_eq)
        self.reset()

    def reset(self) -> None:
        self.window.scene.refresh_count = self.window.scene.selection_emit_count = 0
        self.analyses = self.inspector = self.edge_compares = 0

    def of(self, step, qtbot) -> dict[str, int]:
        """Run ``step``, let the coalesced refreshes run, return the counts."""
        self.reset()
        step()
        qtbot.wait(1)  # one turn of the event loop: the zero-time timers fire
        s = self.window.scene
        return {"analyses": self.analyses, "scene refreshes": s.refresh_count,
                "selection announcements": s.selection_emit_count,
                "inspector refreshes": self.inspector, "wire comparisons": self.edge_compares}


def _measure(window, qtbot, monkeypatch, n: int, tmp_path) -> dict[str, dict[str, int]]:
    from nncore.graph import save_graph

    path = tmp_path / f"net{n}.json"
    save_graph(path, _network(n))
    counts = Counts(window, monkeypatch)
    w, g = window, window.document.graph
    out = {"open": counts.of(lambda: w.open_file(path), qtbot)}
    nodes, wires = len(g), len(g.edges)
    out["select all"] = counts.of(w.act_select_all.trigger, qtbot)
    assert len(w.scene.selected_node_ids()) == nodes
    out["copy"] = counts.of(w.act_copy.trigger, qtbot)
    out["paste"] = counts.of(w.act_paste.trigger, qtbot)
    assert len(g) == 2 * nodes and len(g.edges) == 2 * wires
    out["undo paste"] = counts.of(w.act_undo.trigger, qtbot)
    assert len(g) == nodes
    w.act_select_all.trigger()
    out["delete"] = counts.of(w.act_delete.trigger, qtbot)
    assert len(g) == 0 and not w.scene.nodes and w.inspector.mode == "network"
    out["undo delete"] = counts.of(w.act_undo.trigger, qtbot)
    assert len(g) == nodes and len(g.edges) == wires
    monkeypatch.undo()
    return out


@pytest.fixture
def measure(window, qtbot, monkeypatch, tmp_path):
    window.ask_save = lambda: QMessageBox.Discard
    return lambda n: _measure(window, qtbot, monkeypatch, n, tmp_path)


def test_every_edit_of_n_nodes_refreshes_a_fixed_number_of_times(measure):
    small, large = measure(60), measure(240)
    for op, counts in large.items():
        for what in ("analyses", "scene refreshes", "selection announcements",
                     "inspector refreshes"):
            # the same handful for 60 and for 240 nodes: once per edit, not per node
            assert counts[what] <= 4, (op, what, counts[what])
            assert counts[what] <= small[op][what] + 1, (op, what, small[op], counts)


def test_the_model_compares_wires_linearly_often(measure):
    small, large = measure(60), measure(240)  # 4x the nodes
    for op in large:
        a, b = small[op]["wire comparisons"], large[op]["wire comparisons"]
        # linear: about 4x (quadratic was about 16x: every removal compared the wire
        # with each one before it)
        assert b <= 5 * max(a, 60), (op, a, b)


def test_wires_follow_a_card_dragged_moved_by_undo_or_sent_back(canvas, mouse):
    """The scene moves a card's wires itself (the cards send no position changes): while
    the mouse drags it, when undo moves it, and when a refused move puts it back."""
    from PySide6.QtCore import QPointF
    from PySide6.QtTest import QTest

    scene, graph = canvas.scene, canvas.graph
    a = scene.add_node("relu", QPointF(100, 100))
    b = scene.add_node("tanh", QPointF(500, 100))
    graph.connect(a, "output", b, "input")
    wire = next(iter(scene.edges.values()))

    def wire_ends_at_ports() -> bool:
        path = wire.path()
        start, end = path.pointAtPercent(0), path.pointAtPercent(1)
        out = scene.nodes[a].port("output", True).scenePos()
        inp = scene.nodes[b].port("input", False).scenePos()
        return (start - out).manhattanLength() < 1 and (end - inp).manhattanLength() < 1

    item = scene.nodes[b]
    first = graph.node(b).position
    start = item.pos() + QPointF(90, 10)  # the header
    vp, to_view = canvas.view.viewport(), canvas.view.mapFromScene
    QTest.mousePress(vp, Qt.LeftButton, Qt.NoModifier, to_view(start))
    for i in range(1, 7):
        QTest.mouseMove(vp, to_view(start + QPointF(20 * i, 15 * i)))
        assert wire_ends_at_ports(), f"the wire lags behind the card at step {i}"
    QTest.mouseRelease(vp, Qt.LeftButton, Qt.NoModifier, to_view(start + QPointF(120, 90)))
    assert graph.node(b).position != first and wire_ends_at_ports()
    canvas.doc.undo_stack.undo()  # the model moves it back
    assert graph.node(b).position == first and item.pos() == QPointF(*first)
    assert wire_ends_at_ports()
    canvas.doc.edit_guard = lambda: False  # edits refused (as while training runs)
    mouse.drag(canvas.view, start, start + QPointF(200, 0))
    assert graph.node(b).position == first and item.pos() == QPointF(*first)
    assert wire_ends_at_ports()


def test_the_selection_page_lists_a_bounded_number_of_names(window, qtbot):
    """Select All of 100 nodes: the inspector counts them all and names the first 40
    (a wrapped label of every name of 2,000 nodes took a large part of a second)."""
    from app.editor.inspector import MAX_NAMES_LISTED

    g = window.document.graph
    for i in range(100):
        g.add_node("relu", (300.0 * (i % 10), 200.0 * (i // 10)))
    window.act_select_all.trigger()
    qtbot.waitUntil(lambda: window.inspector.mode == "selection", timeout=5000)
    page = window.inspector.page
    assert page.title_label.text() == "100 nodes selected"
    names = page.names_label.text()
    assert MAX_NAMES_LISTED == 40 and names.endswith(" and 60 more")
    listed = names.removesuffix(" and 60 more").split(", ")
    assert listed == [n.name for n in g.nodes[:40]]
