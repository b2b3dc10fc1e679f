"""The canvas driven with real mouse events: wires, moves, deletes, copy/paste (R15-R17)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from nncore.graph import Edge, dumps


def build_chain(canvas, *types, x0=0.0, step=280.0):
    """Add nodes through the scene (undoable commands), wired output -> input."""
    ids = []
    for i, t in enumerate(types):
        nid = canvas.scene.add_node(t, QPointF(x0 + step * i + 95, 60))
        if ids:
            prev = canvas.graph.node(ids[-1])
            canvas.graph.connect(prev.id, prev.type.outputs[0].name, nid, canvas.graph.node(nid).type.inputs[0].name)
        ids.append(nid)
    canvas.scene.refresh()
    return ids


def port_pos(canvas, node_id, port, output):
    return canvas.scene.nodes[node_id].port(port, output).scenePos()


def test_items_follow_the_model(canvas):
    ids = build_chain(canvas, "input", "dense", "relu")
    assert set(canvas.scene.nodes) == set(ids) and len(canvas.scene.edges) == 2
    canvas.graph.move_node(ids[1], (500.0, 300.0))
    assert canvas.scene.nodes[ids[1]].pos() == QPointF(500, 300)
    canvas.graph.remove_node(ids[2])
    assert ids[2] not in canvas.scene.nodes and len(canvas.scene.edges) == 1
    canvas.scene.refresh()
    item = canvas.scene.nodes[ids[1]]
    # the Input's shapes come from the document's default dataset (the digits: 64 features)
    assert item.output_text == "(N, 16)" and item.param_count == 64 * 16 + 16


def test_drawing_a_wire_with_the_mouse_connects_and_undoes(canvas, mouse):
    a = canvas.scene.add_node("relu", QPointF(100, 100))
    b = canvas.scene.add_node("tanh", QPointF(500, 100))
    before = canvas.doc.undo_stack.count()
    mouse.drag(canvas.view, port_pos(canvas, a, "output", True), port_pos(canvas, b, "input", False))
    assert canvas.graph.edges == [Edge(a, "output", b, "input")]
    assert canvas.doc.undo_stack.count() == before + 1
    canvas.doc.undo_stack.undo()
    assert canvas.graph.edges == []
    canvas.doc.undo_stack.redo()
    assert len(canvas.scene.edges) == 1


def test_a_refused_wire_changes_nothing_and_says_why(canvas, mouse, qtbot):
    """R17 through the GUI: a wire closing a cycle is refused with a message."""
    ids = build_chain(canvas, "relu", "tanh", "sigmoid")
    before = dumps(canvas.graph)
    messages = []
    canvas.scene.message.connect(messages.append)
    mouse.drag(canvas.view, port_pos(canvas, ids[2], "output", True),
               port_pos(canvas, ids[0], "input", False))
    assert "cycle" in messages[-1] and messages[-1].startswith("Cannot connect")
    assert dumps(canvas.graph) == before


def test_ports_light_up_while_dragging(canvas):
    ids = build_chain(canvas, "input", "dense", "relu")
    loss = canvas.scene.add_node("cross_entropy", QPointF(1200, 60))
    relu_out = canvas.scene.nodes[ids[2]].port("output", True)
    canvas.scene.begin_wire(relu_out)
    states = {(p.node_id, p.port): p.state for item in canvas.scene.nodes.values() for p in item.ports()}
    assert states[(loss, "input")] == "valid"
    assert states[(loss, "target")] == "invalid"  # labels only
    assert states[(ids[1], "input")] == "invalid"  # taken, and a cycle
    canvas.scene.end_wire(QPointF(-5000, -5000))
    assert all(p.state == "" for item in canvas.scene.nodes.values() for p in item.ports())


def test_dragging_a_wire_end_off_its_port_disconnects(canvas, mouse):
    ids = build_chain(canvas, "relu", "tanh")
    start = port_pos(canvas, ids[1], "input", False)
    mouse.drag(canvas.view, start, start + QPointF(0, 200))
    assert canvas.graph.edges == []
    canvas.doc.undo_stack.undo()
    assert len(canvas.graph.edges) == 1


def test_moving_a_wire_end_to_another_port_is_one_step(canvas, mouse):
    a = canvas.scene.add_node("relu", QPointF(100, 100))
    b = canvas.scene.add_node("tanh", QPointF(500, 100))
    c = canvas.scene.add_node("sigmoid", QPointF(500, 400))
    canvas.graph.connect(a, "output", b, "input")
    count = canvas.doc.undo_stack.count()
    mouse.drag(canvas.view, port_pos(canvas, b, "input", False), port_pos(canvas, c, "input", False))
    assert canvas.graph.edges == [Edge(a, "output", c, "input")]
    assert canvas.doc.undo_stack.count() == count + 1
    canvas.doc.undo_stack.undo()
    assert canvas.graph.edges == [Edge(a, "output", b, "input")]


def test_moving_nodes_is_one_command_per_drag(canvas, mouse):
    a = canvas.scene.add_node("relu", QPointF(100, 100))
    item = canvas.scene.nodes[a]
    x0, y0 = canvas.graph.node(a).position
    start = item.pos() + QPointF(90, 10)  # the header
    count = canvas.doc.undo_stack.count()
    mouse.drag(canvas.view, start, start + QPointF(150, 80), steps=12)
    assert canvas.doc.undo_stack.count() == count + 1
    x, y = canvas.graph.node(a).position
    assert (round(x), round(y)) == (round(item.pos().x()), round(item.pos().y()))
    assert abs(x - (x0 + 150)) < 2 and abs(y - (y0 + 80)) < 2
    canvas.doc.undo_stack.undo()
    assert canvas.graph.node(a).position == (x0, y0) and item.pos() == QPointF(x0, y0)


def test_r16_select_all_delete_undo_redo_round_trip(canvas):
    """GafferHQ/gaffer#466: Input->Dense->ReLU->Dense->Loss, select all, delete, undo."""
    ids = build_chain(canvas, "input", "dense", "relu", "dense", "cross_entropy")
    canvas.graph.connect(ids[0], "labels", ids[4], "target")
    original = dumps(canvas.graph)
    for item in [*canvas.scene.nodes.values(), *canvas.scene.edges.values()]:
        item.setSelected(True)
    canvas.scene.delete_selection()
    assert len(canvas.graph) == 0 and not canvas.scene.nodes and not canvas.scene.edges
    canvas.doc.undo_stack.undo()
    assert dumps(canvas.graph) == original and len(canvas.scene.edges) == 5
    canvas.doc.undo_stack.redo()
    assert len(canvas.graph) == 0
    canvas.doc.undo_stack.undo()
    assert dumps(canvas.graph) == original


def test_r15_delete_the_middle_node_through_the_gui(canvas):
    A, B, C = build_chain(canvas, "relu", "tanh", "sigmoid")
    D, E = build_chain(canvas, "relu", "tanh", x0=0.0)
    canvas.graph.move_node(D, (0.0, 400.0))
    canvas.graph.move_node(E, (280.0, 400.0))
    canvas.scene.select_nodes([B])
    canvas.scene.delete_selection()
    assert {n.id for n in canvas.graph.nodes} == {A, C, D, E}
    assert canvas.graph.edges == [Edge(D, "output", E, "input")]
    assert all(B not in (e.src, e.dst) for e in canvas.scene.edges)
    assert B not in dumps(canvas.graph)


def test_delete_a_selected_wire_then_reconnect_and_undo(canvas, mouse):
    """R16: delete the edge Dense->ReLU, reconnect the same ports, undo twice."""
    ids = build_chain(canvas, "dense", "relu")
    canvas.scene.clearSelection()
    canvas.scene.edges[Edge(ids[0], "output", ids[1], "input")].setSelected(True)
    canvas.scene.delete_selection()
    mouse.drag(canvas.view, port_pos(canvas, ids[0], "output", True), port_pos(canvas, ids[1], "input", False))
    canvas.doc.undo_stack.undo()
    canvas.doc.undo_stack.undo()
    assert canvas.graph.edges.count(Edge(ids[0], "output", ids[1], "input")) == 1
    assert len(canvas.scene.edges) == 1


def test_copy_paste_twice_gives_new_ids_and_no_wires_to_the_originals(canvas):
    ids = build_chain(canvas, "input", "dense", "relu")
    canvas.scene.select_nodes(ids[1:])
    assert canvas.scene.copy()
    first = canvas.scene.paste()
    second = canvas.scene.paste()
    all_ids = [n.id for n in canvas.graph.nodes]
    assert len(all_ids) == len(set(all_ids)) == 7
    assert len({n.name for n in canvas.graph.nodes}) == 7
    assert not set(first) & set(ids) and not set(second) & set(ids) and not set(first) & set(second)
    for copies in (first, second):
        inside = [e for e in canvas.graph.edges if e.src in copies or e.dst in copies]
        assert inside == [Edge(copies[0], "output", copies[1], "input")]  # internal wire kept
    assert canvas.scene.selected_node_ids() == second
    canvas.doc.undo_stack.undo()
    assert len(canvas.graph) == 5


def test_duplicate_keeps_the_clipboard(canvas):
    from PySide6.QtWidgets import QApplication

    QApplication.clipboard().setText("untouched")
    ids = build_chain(canvas, "dense", "relu")
    canvas.scene.select_nodes(ids)
    new = canvas.scene.duplicate()
    assert len(new) == 2 and QApplication.clipboard().text() == "untouched"


def test_tab_opens_quick_add_and_enter_adds_the_first_match(canvas, qtbot):
    canvas.view.setFocus()
    QTest.keyClick(canvas.view, Qt.Key_Tab)
    assert canvas.view.quick_add.isVisible()
    QTest.keyClicks(canvas.view.quick_add.search, "batch")
    QTest.keyClick(canvas.view.quick_add.search, Qt.Key_Return)
    assert not canvas.view.quick_add.isVisible()
    assert [n.type_id for n in canvas.graph.nodes] == ["batchnorm"]
    assert canvas.doc.undo_stack.count() == 1


def test_dropping_a_palette_type_adds_it_where_dropped(canvas):
    from PySide6.QtCore import QMimeData
    from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    from app.editor.scene import NODE_MIME

    mime = QMimeData()
    mime.setData(NODE_MIME, b"dense")
    at = canvas.view.mapFromScene(QPointF(300, 200))
    vp = canvas.view.viewport()
    for cls in (QDragEnterEvent, QDragMoveEvent, QDropEvent):
        QApplication.sendEvent(vp, cls(at, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier))
    node = canvas.graph.nodes[0]
    item = canvas.scene.nodes[node.id]
    assert node.type_id == "dense"
    assert item.sceneBoundingRect().contains(QPointF(300, 200))


def test_zoom_pan_and_fit(canvas, qtbot):
    build_chain(canvas, "input", "dense", "relu", "dense", "cross_entropy")
    view = canvas.view
    view.fit()
    rect = view.visible_scene_rect()
    assert rect.contains(canvas.scene.items_rect())
    assert view.zoom() <= 1.0
    anchor = QPointF(300, 80)
    on_screen = view.mapFromScene(anchor)
    view.set_zoom(2.0, anchor)
    assert abs(view.zoom() - 2.0) < 1e-9
    assert (view.mapFromScene(anchor) - on_screen).manhattanLength() <= 2  # zoom around the point
    view.set_zoom(100)
    assert view.zoom() == 3.0
    before = view.visible_scene_rect().center()
    QTest.mousePress(view.viewport(), Qt.MiddleButton, Qt.NoModifier, view.viewport().rect().center())
    QTest.mouseMove(view.viewport(), view.viewport().rect().center() + view.viewport().rect().topLeft()
                    + __import__("PySide6.QtCore", fromlist=["QPoint"]).QPoint(-100, 0))
    QTest.mouseRelease(view.viewport(), Qt.MiddleButton, Qt.NoModifier, view.viewport().rect().center())
    assert view.visible_scene_rect().center() != before


def test_a_refused_command_is_not_recorded(canvas):
    import pytest

    from app.editor import commands
    from nncore.graph import GraphError, ParamError

    ids = build_chain(canvas, "dense", "relu")
    count = canvas.doc.undo_stack.count()
    with pytest.raises(ParamError, match="units"):
        canvas.doc.push(commands.SetParams(canvas.graph, ids[0], {"units": 0}))
    with pytest.raises(GraphError, match="already a node called"):
        canvas.doc.push(commands.RenameNode(canvas.graph, ids[1], canvas.graph.node(ids[0]).name))
    assert canvas.doc.undo_stack.count() == count


def test_click_ctrl_click_and_shift_click_select(canvas, mouse):
    a = canvas.scene.add_node("relu", QPointF(100, 100))
    b = canvas.scene.add_node("tanh", QPointF(500, 100))
    c = canvas.scene.add_node("sigmoid", QPointF(900, 100))
    header = {n: canvas.scene.nodes[n].pos() + QPointF(90, 12) for n in (a, b, c)}
    mouse.click(canvas.view, header[a])
    assert canvas.scene.selected_node_ids() == [a]
    mouse.click(canvas.view, header[b], Qt.ShiftModifier)
    mouse.click(canvas.view, header[c], Qt.ControlModifier)
    assert canvas.scene.selected_node_ids() == [a, b, c]
    mouse.click(canvas.view, header[b])
    assert canvas.scene.selected_node_ids() == [b]


def test_rubber_band_selects_the_nodes_it_touches(canvas):
    a = canvas.scene.add_node("relu", QPointF(100, 100))
    b = canvas.scene.add_node("tanh", QPointF(500, 100))
    canvas.scene.add_node("sigmoid", QPointF(900, 100))
    vp = canvas.view.viewport()
    start = canvas.view.mapFromScene(QPointF(-50, -50))
    end = canvas.view.mapFromScene(QPointF(600, 250))
    QTest.mousePress(vp, Qt.LeftButton, Qt.NoModifier, start)
    for i in range(1, 7):
        QTest.mouseMove(vp, start + (end - start) * (i / 6))
    QTest.mouseRelease(vp, Qt.LeftButton, Qt.NoModifier, end)
    assert canvas.scene.selected_node_ids() == [a, b]


def test_quick_add_prefers_names_and_follows_the_palette_order(canvas):
    qa = canvas.view.quick_add
    qa.open_at(canvas.view.rect().center())
    qa.search.setText("tan")  # names first, in palette order: Tanh, then Constant
    shown = [qa.list.item(i).data(Qt.UserRole) for i in range(qa.list.count()) if not qa.list.item(i).isHidden()]
    assert shown == ["tanh", "constant"]
    qa.search.setText("probabilit")  # only in descriptions
    shown = [qa.list.item(i).data(Qt.UserRole) for i in range(qa.list.count()) if not qa.list.item(i).isHidden()]
    assert "softmax" in shown
    qa.hide()


def test_palette_double_click_places_nodes_in_free_space(window):
    window.document.new()
    window.add_at_center("dense")
    window.add_at_center("relu")
    window.add_at_center("tanh")
    rects = [item.sceneBoundingRect() for item in window.scene.nodes.values()]
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            assert not a.adjusted(6, 6, -6, -6).intersects(b.adjusted(6, 6, -6, -6))


def test_backward_wires_run_below_the_cards(canvas, qtbot):
    a = canvas.scene.add_node("relu", QPointF(600, 100))
    b = canvas.scene.add_node("tanh", QPointF(100, 100))
    canvas.graph.connect(a, "output", b, "input")  # from the right-hand card to the left one
    wire = canvas.scene.edges[Edge(a, "output", b, "input")]
    lowest = max(canvas.scene.nodes[n].sceneBoundingRect().bottom() for n in (a, b))
    # new wires are routed together at the next turn of the event loop
    qtbot.waitUntil(lambda: wire.path().boundingRect().bottom() > lowest, timeout=5000)
    assert wire.backward


def test_the_status_bar_says_why_while_dragging(canvas, qtbot):
    ids = build_chain(canvas, "relu", "tanh")
    loss = canvas.scene.add_node("cross_entropy", QPointF(900, 300))
    messages = []
    canvas.scene.message.connect(messages.append)
    canvas.scene.begin_wire(canvas.scene.nodes[ids[1]].port("output", True))
    canvas.scene.move_wire(port_pos(canvas, loss, "target", False))
    assert messages[-1].startswith("Cannot connect here:") and "labels" in messages[-1]
    canvas.scene.move_wire(port_pos(canvas, loss, "input", False))
    assert messages[-1] == "Release to connect"
    canvas.scene.end_wire(QPointF(-9000, -9000))


def test_the_input_follows_the_dataset_and_every_width_after_it(canvas, qtbot):
    """The Input has no parameters: its card, its shapes and every width downstream are
    derived from the project's dataset, and re-derived when the dataset changes."""
    ids = build_chain(canvas, "input", "dense")
    inp, dense = canvas.scene.nodes[ids[0]], canvas.scene.nodes[ids[1]]
    # the document's default dataset: the digits
    assert inp.output_text == "(N, 64)" and inp.error == ""
    assert inp.card_text.startswith("64 features · 10 classes")
    assert dense.param_count == 64 * 16 + 16
    canvas.graph.set_settings({"dataset": {"source": "builtin", "name": "iris"}})
    qtbot.waitUntil(lambda: inp.output_text == "(N, 4)", timeout=1000)
    assert inp.card_text.startswith("4 features · 3 classes")
    assert dense.output_text == "(N, 16)" and dense.param_count == 4 * 16 + 16
    # a dataset that cannot be read: the Input says so, nothing after it has a shape
    canvas.graph.set_settings({"dataset": {"source": "csv",
                                           "path": "no_such_nncanvas_data.csv"}})
    qtbot.waitUntil(lambda: "no dataset yet" in inp.error, timeout=1000)
    assert inp.output_text == "" and inp.card_text == "no dataset"
    assert dense.output_text == "" and dense.param_count is None


def test_a_relative_data_path_follows_the_documents_folder(canvas, qtbot, tmp_path):
    """A CSV named relative to the project file: unreadable while the project has no
    folder, read once it is saved next to it (path_changed re-derives the shapes)."""
    name = "nncanvas_points_for_a_test.csv"
    assert not (Path.cwd() / name).exists()
    (tmp_path / name).write_text("x1,x2,x3,label\n" + "".join(
        f"{i},{i % 3},{i * 2},{i % 2}\n" for i in range(12)), encoding="utf-8")
    ids = build_chain(canvas, "input", "dense")
    inp = canvas.scene.nodes[ids[0]]
    canvas.graph.set_settings({"dataset": {"source": "csv", "path": name}})
    qtbot.waitUntil(lambda: "no dataset yet" in inp.error, timeout=1000)
    canvas.doc.save(tmp_path / "project.json")
    qtbot.waitUntil(lambda: inp.output_text == "(N, 3)", timeout=1000)
    assert inp.error == "" and inp.card_text.startswith("3 features · 2 classes")
    assert canvas.scene.nodes[ids[1]].param_count == 3 * 16 + 16
