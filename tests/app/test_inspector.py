"""The inspector: undoable edits of names and parameters, refused values, shapes, the
network summary with its problems, and refreshing from the graph's events."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QFocusEvent
from PySide6.QtWidgets import (QApplication, QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit,
                               QSpinBox)

from app.document import Document
from app.editor.inspector import Inspector, uses_line_edit
from nncore.graph import CATALOGUE

pytestmark = pytest.mark.gui

WAIT = 1000  # ms, for every wait


@pytest.fixture
def document(qtbot):
    return Document()


@pytest.fixture
def inspector(qtbot, document):
    widget = Inspector(document)
    qtbot.addWidget(widget)
    widget.resize(320, 700)
    widget.show()
    qtbot.waitExposed(widget, timeout=2000)
    return widget


def build(graph, *, units: int = 10, loss: bool = True) -> dict[str, str]:
    """Input -> Dense(32) -> ReLU -> Dense(units) -> Cross-Entropy, on the document's
    default dataset (the digits: 64 features, 10 classes; the Input's shapes come from
    the data)."""
    ids = {}
    ids["input"] = graph.add_node("input").id
    ids["dense"] = graph.add_node("dense", params={"units": 32}).id
    ids["relu"] = graph.add_node("relu").id
    ids["out"] = graph.add_node("dense", params={"units": units}).id
    graph.connect(ids["input"], "features", ids["dense"], "input")
    graph.connect(ids["dense"], "output", ids["relu"], "input")
    graph.connect(ids["relu"], "output", ids["out"], "input")
    if loss:
        ids["loss"] = graph.add_node("cross_entropy").id
        graph.connect(ids["out"], "output", ids["loss"], "input")
        graph.connect(ids["input"], "labels", ids["loss"], "target")
    return ids


def type_into(qtbot, widget, text: str) -> None:
    """Select what the field shows, type ``text`` and press Enter, as a user would."""
    widget.selectAll()
    qtbot.keyClicks(widget, text)
    qtbot.keyClick(widget, Qt.Key.Key_Return)


def test_float_editor_rule():
    eps = CATALOGUE["batchnorm"].param_index["eps"]
    assert uses_line_edit(eps)  # [1e-12, 1]: twelve orders of magnitude
    for type_id, name in (("batchnorm", "momentum"), ("dropout", "p"),
                          ("leaky_relu", "negative_slope"), ("cross_entropy", "label_smoothing")):
        assert not uses_line_edit(CATALOGUE[type_id].param_index[name])


def test_one_node_shows_name_type_editors_shapes_and_text(inspector, document):
    ids = build(document.graph)
    inspector.show_nodes([ids["dense"]])
    page = inspector.page
    assert inspector.mode == "node"
    assert page.name_edit.text() == "Dense"
    assert page.type_label.text() == "Dense" and page.category_label.text() == "Layers"
    assert isinstance(page.editors["units"], QSpinBox)
    assert page.editors["units"].value() == 32
    assert (page.editors["units"].minimum(), page.editors["units"].maximum()) == (1, 100_000)
    assert isinstance(page.editors["bias"], QCheckBox)
    assert isinstance(page.editors["init"], QComboBox)
    assert "output features" in page.editors["units"].toolTip()
    ports = [label.text() for label in page.port_labels]
    assert "input ←" in ports[0] and "(N, 64)" in ports[0]
    assert "output →" in ports[1] and "(N, 32)" in ports[1]
    assert page.count_label.text() == "Trainable parameters: 2,080"  # 64 * 32 + 32
    assert page.error_label.isHidden()
    about = page.about_label.text()
    assert "<b>Fully connected layer" in about and "weighted sum" in about


def test_spin_box_edit_is_one_undoable_command(inspector, document, qtbot):
    ids = build(document.graph)
    inspector.show_nodes([ids["dense"]])
    page = inspector.page
    spin = page.editors["units"]
    before = document.undo_stack.count()
    type_into(qtbot, spin, "64")
    assert document.undo_stack.count() == before + 1
    assert document.graph.node(ids["dense"]).params["units"] == 64
    qtbot.waitUntil(lambda: "64" in page.port_labels[1].text(), timeout=WAIT)
    assert page.count_label.text() == "Trainable parameters: 4,160"  # 64 * 64 + 64
    # updated in place: the same page and editor (the field keeps its focus)
    assert inspector.page is page and page.editors["units"] is spin
    # leaving the field again changes nothing
    spin.editingFinished.emit()
    assert document.undo_stack.count() == before + 1

    document.undo_stack.undo()
    assert document.graph.node(ids["dense"]).params["units"] == 32
    qtbot.waitUntil(lambda: spin.value() == 32, timeout=WAIT)
    document.undo_stack.redo()
    qtbot.waitUntil(lambda: spin.value() == 64, timeout=WAIT)


def test_refused_value_changes_nothing_and_says_why(inspector, document, qtbot):
    node = document.graph.add_node("dropout")
    inspector.show_nodes([node.id])
    page = inspector.page
    spin = page.editors["p"]
    assert isinstance(spin, QDoubleSpinBox)
    before = document.undo_stack.count()
    type_into(qtbot, spin, "1")  # p is in [0, 1): the model refuses 1
    assert document.undo_stack.count() == before
    assert node.params["p"] == 0.5
    assert not page.errors["p"].isHidden()
    assert "[0, 1)" in page.errors["p"].text()
    assert spin.value() == 0.5
    # a good value afterwards is taken and clears the message
    type_into(qtbot, spin, "0.25")
    assert node.params["p"] == 0.25
    assert page.errors["p"].isHidden()
    assert document.undo_stack.count() == before + 1


def test_out_of_range_int_cannot_be_committed(inspector, document, qtbot):
    node = document.graph.add_node("dense")
    inspector.show_nodes([node.id])
    spin = inspector.page.editors["units"]
    before = document.undo_stack.count()
    type_into(qtbot, spin, "0")  # below the minimum of 1: the spin box puts back 16
    assert node.params["units"] == 16 and spin.value() == 16
    assert document.undo_stack.count() == before


def test_checkbox_and_combo_box_edits(inspector, document, qtbot):
    node = document.graph.add_node("dense")
    inspector.show_nodes([node.id])
    page = inspector.page
    box, combo = page.editors["bias"], page.editors["init"]
    before = document.undo_stack.count()
    qtbot.keyClick(box, Qt.Key.Key_Space)
    assert node.params["bias"] is False
    assert document.undo_stack.count() == before + 1
    qtbot.keyClick(combo, Qt.Key.Key_Down)
    assert node.params["init"] == "xavier_uniform"
    assert document.undo_stack.count() == before + 2
    document.undo_stack.undo()
    document.undo_stack.undo()
    qtbot.waitUntil(lambda: box.isChecked() and combo.currentData() == "pytorch", timeout=WAIT)
    assert node.params == CATALOGUE["dense"].default_params()


def test_eps_is_a_text_field_in_scientific_notation(inspector, document, qtbot):
    node = document.graph.add_node("batchnorm")
    inspector.show_nodes([node.id])
    page = inspector.page
    edit = page.editors["eps"]
    assert isinstance(edit, QLineEdit)
    assert edit.text() == "1e-05"
    before = document.undo_stack.count()

    type_into(qtbot, edit, "1e-6")
    assert node.params["eps"] == 1e-6
    assert document.undo_stack.count() == before + 1

    type_into(qtbot, edit, "abc")  # letters are refused as they are typed
    assert "a" not in edit.text()
    assert not page.errors["eps"].isHidden()
    assert node.params["eps"] == 1e-6

    type_into(qtbot, edit, "0")  # a number, but out of range: the model says so
    assert node.params["eps"] == 1e-6
    assert "eps must be in [1e-12, 1]" in page.errors["eps"].text()
    assert edit.text() == "1e-06"
    assert document.undo_stack.count() == before + 1

    edit.setText("")  # leaving a field that holds no number puts the value back
    QApplication.sendEvent(edit, QFocusEvent(QEvent.Type.FocusOut,
                                             Qt.FocusReason.MouseFocusReason))
    assert edit.text() == "1e-06"
    document.undo_stack.undo()
    qtbot.waitUntil(lambda: edit.text() == "1e-05", timeout=WAIT)


def test_rename_and_duplicate_name(inspector, document, qtbot):
    ids = build(document.graph)
    inspector.show_nodes([ids["dense"]])
    page = inspector.page
    before = document.undo_stack.count()
    type_into(qtbot, page.name_edit, "Hidden")
    assert document.graph.node(ids["dense"]).name == "Hidden"
    assert document.undo_stack.count() == before + 1
    assert page.name_error.isHidden()

    type_into(qtbot, page.name_edit, "Dense 2")  # the output layer's name
    assert document.graph.node(ids["dense"]).name == "Hidden"
    assert not page.name_error.isHidden()
    assert "already a node called 'Dense 2'" in page.name_error.text()
    assert page.name_edit.text() == "Hidden"

    page.name_edit.clear()
    qtbot.keyClick(page.name_edit, Qt.Key.Key_Return)
    assert document.graph.node(ids["dense"]).name == "Hidden"
    assert "non-empty" in page.name_error.text()
    assert page.name_edit.text() == "Hidden"
    assert document.undo_stack.count() == before + 1

    document.undo_stack.undo()
    qtbot.waitUntil(lambda: page.name_edit.text() == "Dense", timeout=WAIT)


def test_node_error_is_shown(inspector, document, qtbot):
    ids = build(document.graph, units=16)  # 16 scores for 10 classes
    inspector.show_nodes([ids["loss"]])
    page = inspector.page
    assert not page.error_label.isHidden()
    assert "10 classes" in page.error_label.text()
    document.graph.set_param(ids["out"], "units", 10)
    qtbot.waitUntil(page.error_label.isHidden, timeout=WAIT)


def test_summary_lists_problems_and_selects_their_node(inspector, document, qtbot):
    ids = build(document.graph, units=16)
    inspector.show_nodes([])
    page = inspector.page
    assert inspector.mode == "network"
    assert page.counts_label.text() == "5 nodes, 5 wires"
    texts = [row.text() for row in page.problem_labels]
    assert len(texts) == 1 and "Cross-Entropy" in texts[0]
    assert "Ready to train" not in page.status_label.text()
    row = page.problem_labels[0]
    with qtbot.waitSignal(inspector.node_activated, timeout=WAIT) as blocker:
        qtbot.mouseClick(row, Qt.MouseButton.LeftButton)
    assert blocker.args == [ids["loss"]]

    document.graph.set_param(ids["out"], "units", 10)
    qtbot.waitUntil(lambda: "Ready to train" in inspector.page.status_label.text(),
                    timeout=WAIT)
    assert inspector.page.problem_labels == []
    total = document.project.analysis().total_params
    assert inspector.page.params_label.text() == f"Trainable parameters: {total:,}"


def test_a_change_of_dataset_refreshes_shapes_and_problems(inspector, document, qtbot):
    """The Input's shapes come from the dataset: choosing another one re-derives the
    shown shapes, counts and problems (graph.settings_changed), with no edit of a node."""
    ids = build(document.graph)  # 10 scores for the digits' 10 classes: ready
    inspector.show_nodes([ids["dense"]])
    page = inspector.page
    assert "(N, 64)" in page.port_labels[0].text()
    document.graph.set_settings({"dataset": {"source": "builtin", "name": "iris"}})
    qtbot.waitUntil(lambda: "(N, 4)" in inspector.page.port_labels[0].text(), timeout=WAIT)
    assert inspector.page.count_label.text() == "Trainable parameters: 160"  # 4 * 32 + 32
    inspector.show_nodes([])
    page = inspector.page
    assert "Dataset: iris: 150 samples, 4 features, 3 classes" in page.dataset_label.text()
    texts = [row.text() for row in page.problem_labels]
    assert len(texts) == 1 and "Cross-Entropy" in texts[0] and "3 classes" in texts[0]
    document.graph.set_params(ids["out"], {"units": 3})
    qtbot.waitUntil(lambda: "Ready to train" in inspector.page.status_label.text(),
                    timeout=WAIT)


def test_without_a_dataset_the_input_says_so(inspector, document, qtbot):
    ids = build(document.graph)
    document.graph.set_settings({"dataset": {"source": "csv",
                                             "path": "no_such_nncanvas_data.csv"}})
    inspector.show_nodes([ids["input"]])
    page = inspector.page
    assert not page.error_label.isHidden() and "no dataset yet" in page.error_label.text()
    inspector.show_nodes([])
    page = inspector.page
    assert page.dataset_label.text() == "Dataset: —"
    texts = [row.text() for row in page.problem_labels]
    # one problem, why the data cannot be read (not also the Input's "no dataset yet"),
    # pinned to the Input: clicking it selects the Input
    assert len(texts) == 1 and "dataset:" in texts[0] and "no_such_nncanvas_data.csv" in texts[0]
    assert page.problem_labels[0].node_id == ids["input"]
    assert "Ready to train" not in page.status_label.text()


def test_summary_of_an_unfinished_graph(inspector, document):
    build(document.graph, loss=False)
    inspector.show_nodes([])
    texts = [row.text() for row in inspector.page.problem_labels]
    assert any("exactly one loss" in t for t in texts)
    assert "1 problem" in inspector.page.status_label.text()


def test_several_nodes(inspector, document):
    ids = build(document.graph)
    inspector.show_nodes([ids["dense"], ids["relu"], ids["out"]])
    assert inspector.mode == "selection"
    assert inspector.page.title_label.text() == "3 nodes selected"
    assert inspector.page.params_label.text() == "Trainable parameters: 2,410"  # 2080 + 330


def test_removing_the_shown_node_shows_the_summary(inspector, document, qtbot):
    ids = build(document.graph)
    inspector.show_nodes([ids["relu"]])
    document.graph.remove_node(ids["relu"])
    qtbot.waitUntil(lambda: inspector.mode == "network", timeout=WAIT)
    assert inspector.shown_node_ids() == []
    document.new()  # graph_reset
    qtbot.waitUntil(lambda: inspector.page.counts_label.text() == "1 node, 0 wires",
                    timeout=WAIT)


def test_a_burst_of_events_refreshes_once(inspector, document, qtbot):
    node = document.graph.add_node("dense")
    inspector.show_nodes([node.id])
    page = inspector.page
    calls = []
    original = page.refresh
    page.refresh = lambda *args: (calls.append(1), original(*args))
    for units in range(2, 12):
        document.graph.set_param(node.id, "units", units)
    document.graph.move_node(node.id, (5.0, 5.0))
    qtbot.waitUntil(lambda: len(calls) == 1, timeout=WAIT)
    qtbot.wait(20)
    assert len(calls) == 1
    assert page.editors["units"].value() == 11


def test_unknown_ids_are_ignored_and_a_deleted_inspector_lets_go(qtbot, document):
    widget = Inspector(document)
    widget.show_nodes(["nope"])
    assert widget.mode == "network"
    widget.deleteLater()
    qtbot.waitUntil(lambda: not any(getattr(cb, "__self__", None) is widget
                                    for cb in document.graph.node_added._callbacks),
                    timeout=WAIT)
    document.graph.add_node("dense")  # no callback into a deleted widget


def test_focus_leaving_a_field_commits_it_once(inspector, document, qtbot):
    node = document.graph.add_node("dense")
    other = document.graph.add_node("relu")
    inspector.show_nodes([node.id])
    page = inspector.page
    spin = page.editors["units"]
    inspector.activateWindow()
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus, timeout=WAIT)
    before = document.undo_stack.count()
    spin.selectAll()
    qtbot.keyClicks(spin, "48")
    assert node.params["units"] == 16  # typing alone commits nothing
    page.name_edit.setFocus()
    qtbot.waitUntil(lambda: node.params["units"] == 48, timeout=WAIT)
    assert document.undo_stack.count() == before + 1

    # an edit still being typed when the selection changes is kept, on its own node
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus, timeout=WAIT)
    spin.selectAll()
    qtbot.keyClicks(spin, "50")
    inspector.show_nodes([other.id])
    assert node.params["units"] == 50
    assert document.undo_stack.count() == before + 2
    assert inspector.page.node_id == other.id


def test_colours_follow_a_dark_theme(inspector, document, qtbot):
    from PySide6.QtGui import QColor, QPalette

    from app.widgets import TONES

    node = document.graph.add_node("dense")  # unconnected: it shows an error
    inspector.show_nodes([node.id])
    assert TONES["light"]["error"] in inspector.page.error_label.styleSheet()
    app = QApplication.instance()
    light = app.palette()
    dark = QPalette(light)
    dark.setColor(QPalette.ColorRole.Window, QColor("#262a32"))
    dark.setColor(QPalette.ColorRole.Base, QColor("#1b1e24"))
    try:
        app.setPalette(dark)
        qtbot.waitUntil(lambda: TONES["dark"]["error"] in inspector.page.error_label.styleSheet(),
                        timeout=WAIT)
        assert inspector.page.node_id == node.id
    finally:
        app.setPalette(light)


def test_disabled_fields_look_disabled_in_the_dark_theme(qapp):
    """A user found the locked settings (while training) looking editable in the dark
    theme: disabled fields get the window colour and dimmer text than enabled ones."""
    from PySide6.QtGui import QPalette

    from app.theme import DARK, LIGHT, apply_palette

    try:
        apply_palette(qapp, DARK)
        p = qapp.palette()
        assert p.color(QPalette.Disabled, QPalette.Base) != p.color(QPalette.Active, QPalette.Base)
        for role in (QPalette.Text, QPalette.WindowText, QPalette.ButtonText):
            assert p.color(QPalette.Disabled, role).lightnessF() < \
                p.color(QPalette.Active, role).lightnessF() - 0.2
    finally:
        apply_palette(qapp, LIGHT)


def test_an_activations_kind_changes_in_place_as_one_undo_step(inspector, document):
    """Issue 10: the inspector's Kind list swaps ReLU for Tanh keeping the wires; undo
    gives back ReLU; the page follows."""
    from app.resources import example_path

    doc = document
    doc.open(example_path("digits_mlp"))
    graph = doc.graph
    relu = graph.node_by_name("ReLU")
    wires = sorted(map(str, graph.edges_of(relu.id)))
    inspector.show_nodes([relu.id])
    inspector.refresh_now()
    combo = inspector.page.findChild(QComboBox, "inspectorKind")
    assert [combo.itemData(i) for i in range(combo.count())] == \
        ["relu", "leaky_relu", "sigmoid", "tanh", "softmax"]
    depth = doc.undo_stack.count()
    combo.setCurrentIndex(combo.findData("tanh"))
    combo.activated.emit(combo.currentIndex())
    node = graph.node(relu.id)
    assert node.type_id == "tanh" and node.name == "Tanh"
    assert sorted(map(str, graph.edges_of(relu.id))) == wires
    assert doc.undo_stack.count() == depth + 1
    assert doc.project.analysis().ok  # still trainable
    inspector.refresh_now()
    assert inspector.page.type_label.text() == "Tanh"
    doc.undo_stack.undo()
    assert (node.type_id, node.name) == ("relu", "ReLU")
    inspector.refresh_now()
    assert inspector.page.type_label.text() == "ReLU"
    doc.undo_stack.redo()
    assert (node.type_id, node.name) == ("tanh", "Tanh")
    # the Input has no other kind with its ports: no list
    inspector.show_nodes([graph.node_by_name("Input").id])
    inspector.refresh_now()
    assert inspector.page.findChild(QComboBox, "inspectorKind") is None


def test_check_gradient_on_a_correct_and_on_a_broken_op(inspector, document, qtbot,
                                                        monkeypatch):
    """Issue 10: the inspector's gradient check passes for a correct op and names the
    failure when the op's backward is wrong (injected here)."""
    from PySide6.QtCore import Qt as _Qt
    from PySide6.QtWidgets import QLabel, QPushButton

    from app.resources import example_path
    from nncore import functional as F

    document.open(example_path("digits_mlp"))
    dense = document.graph.node_by_name("Dense")
    inspector.show_nodes([dense.id])
    inspector.refresh_now()
    page = inspector.page
    button = page.findChild(QPushButton, "inspectorCheckGradient")
    qtbot.mouseClick(button, _Qt.LeftButton)
    result = page.findChild(QLabel, "inspectorCheckResult")
    assert result.isVisible() and result.text().startswith("✓ Gradient check passed")
    real = F.Linear.backward

    def wrong(self, g):  # a 1% error in the weight's gradient
        gx, gw, gb = real(self, g)
        return gx, None if gw is None else gw * 1.01, gb

    monkeypatch.setattr(F.Linear, "backward", wrong)
    qtbot.mouseClick(button, _Qt.LeftButton)
    assert result.text().startswith("✗ Gradient check FAILED") and "Dense" in result.text()


def test_check_every_nodes_gradient_names_the_broken_ones(inspector, document, qtbot,
                                                          monkeypatch):
    """With nothing selected, the network page checks every node and the whole network;
    a wrong backward is named by its nodes."""
    from PySide6.QtCore import Qt as _Qt
    from PySide6.QtWidgets import QLabel, QPushButton

    from app.resources import example_path
    from nncore import functional as F

    document.open(example_path("digits_operators"))
    inspector.show_nodes([])
    inspector.refresh_now()
    page = inspector.page
    button = page.findChild(QPushButton, "inspectorCheckGradient")
    assert button.text() == "Check every node's gradient"
    qtbot.mouseClick(button, _Qt.LeftButton)
    result = page.findChild(QLabel, "inspectorCheckResult")
    assert result.text().startswith("✓ Gradient check passed")
    real = F.MatMul.backward

    def wrong(self, g):
        ga, gb = real(self, g)
        return ga, None if gb is None else gb * 1.01

    monkeypatch.setattr(F.MatMul, "backward", wrong)
    qtbot.mouseClick(button, _Qt.LeftButton)
    assert result.text().startswith("✗ Gradient check FAILED")
    assert result.text().endswith("wrong backward in MatMul, MatMul 2")
