"""The Step-through dock (issue 10): the operator-built logistic regression stepped
forward and back in the window, the wires' numbers equal the engine's, Apply update
equals one optimizer step, an edit makes it stale."""

from __future__ import annotations

import numpy as np
import pytest

from app.editor.items import style
from app.resources import example_path
from app.stepthrough_panel import wire_note, wire_text
from nncore.optim.registry import OPTIMIZERS
from nncore.project import TrainingRun
from nncore.stepthrough import StepThrough


@pytest.fixture
def logistic(window):
    assert window.open_file(example_path("logistic_operators"))
    yield window
    window.controller.shutdown(5.0)


def test_wire_text_lists_small_tensors_and_summarizes_large_ones():
    assert wire_text(np.array([[0.5, -1.25]])) == "[[ 0.5 , -1.25]]"
    text = wire_text(np.arange(100.0).reshape(10, 10))
    assert text.startswith("10 × 10: mean 49.5, std 28.87, min 0, max 99")
    assert wire_text(np.r_[np.arange(20.0), np.nan]).endswith("1 not finite")
    assert wire_text(None) == "—"


def test_step_forward_and_back_shows_the_engines_numbers(logistic, qtbot):
    w = logistic
    panel = w.stepthrough
    panel.size_spin.setValue(3)
    panel.start_button.click()
    assert panel.step is not None and panel.forward_button.isEnabled()
    assert not panel.backward_button.isEnabled() and not panel.update_button.isEnabled()
    # the same batch through a run of its own: the reference numbers
    reference = StepThrough.from_run(TrainingRun(w.document.graph), size=3)
    reference.run_to_end()
    graph = w.document.graph
    mm = graph.node_by_name("MatMul").id
    while panel.step.current != mm:
        panel.forward_button.click()
    # the current node is lit: its card outlined, its wires (in and out) in the focus pen
    assert w.scene.focus == mm and w.scene.nodes[mm].focused
    assert [nid for nid, item in w.scene.nodes.items() if item.focused] == [mm]
    for edge, wire in w.scene.edges.items():
        lit = mm in (edge.src, edge.dst)
        assert (wire.overlay is not None) == lit, edge
        if lit:
            assert wire.overlay is style(w.scene.theme).focus_wire
    assert "Forward" in panel.status.text() and "MatMul" in panel.status.text()
    out_row = next(r for r in range(panel.table.rowCount())
                   if panel.table.item(r, 0).text() == "MatMul.output")
    assert panel.table.item(out_row, 1).text() == wire_text(reference.value(mm, "output"))
    assert panel.table.item(out_row, 2).text() == "—"  # no gradient before the backward pass
    panel.end_button.click()
    assert panel.step.phase == "done" and panel.update_button.isEnabled()
    inp = graph.node_by_name("Input").id
    assert w.scene.focus == inp == panel.step.current  # run to end: back at the Input
    panel.step.current = mm
    panel._show()
    assert panel.table.item(out_row, 2).text() == wire_text(reference.gradient(mm, "output"))
    assert "dL/d" in panel.text.toPlainText()
    # Apply update: exactly one optimizer step of the panel's run
    W = graph.node_by_name("W1").id
    before = panel._run.model._modules[W].value.data.copy()
    panel.update_button.click()
    after = panel._run.model._modules[W].value.data
    assert not np.array_equal(before, after)
    reference.apply_update()
    np.testing.assert_array_equal(after, reference.model._modules[W].value.data)
    assert "m_t" in panel.text.toPlainText() and "Adam" in panel.text.toPlainText()
    # an edit of the network makes the step-through stale
    w.document.push(__import__("app.editor.commands", fromlist=["MoveNodes"]).MoveNodes(
        graph, {mm: (graph.node(mm).position, (0.0, 500.0))}, "Move"))
    assert panel.step is None and "network changed" in panel.status.text()
    assert w.scene.focus is None and not any(i.focused for i in w.scene.nodes.values())
    assert all(wire.overlay is None for wire in w.scene.edges.values())


def test_a_batch_of_one_with_batchnorm_in_training_says_why(window):
    assert window.open_file(example_path("digits_mlp"))
    panel = window.stepthrough
    panel.size_spin.setValue(1)
    panel.start_button.click()
    assert panel.step is None
    assert "BatchNorm needs at least 2 samples" in panel.status.text()
    panel.mode_combo.setCurrentIndex(1)  # evaluation behaviour: running statistics
    panel.start_button.click()
    assert panel.step is not None
    window.controller.shutdown(5.0)


def test_the_canvas_wires_show_the_numbers_while_stepping(logistic):
    from nncore.graph import Edge

    w = logistic
    panel = w.stepthrough
    panel.size_spin.setValue(1)
    panel.start_button.click()
    graph = w.document.graph
    add, sig = graph.node_by_name("Add").id, graph.node_by_name("Sigmoid").id
    wire = w.scene.edges[Edge(add, "output", sig, "input")]
    assert wire.label == "(N, 1)"  # its shape before the wire's value is known
    while panel.step.current != add:
        panel.forward_button.click()
    value = panel.step.value(add, "output")
    assert wire.label == wire_note(value, None) == f"{value.item():.3g}"
    panel.end_button.click()
    grad = panel.step.gradient(add, "output")
    assert wire.label == f"{value.item():.3g} | ∇ {grad.item():.3g}"
    panel.start_button.click()  # a new pass: the shapes are back
    assert wire.label == "(N, 1)"


def test_the_explained_element_can_be_chosen(logistic):
    w = logistic
    panel = w.stepthrough
    panel.size_spin.setValue(4)
    panel.start_button.click()
    sig = w.document.graph.node_by_name("Sigmoid").id
    while panel.step.current != sig:
        panel.forward_button.click()
    panel.element_edit.setText("2, 0")
    panel.element_edit.editingFinished.emit()
    assert panel.text.toPlainText() == panel.step.explain(sig, (2, 0))
    assert "[2, 0]" in panel.text.toPlainText()
    panel.element_edit.setText("9, 0")  # outside the batch of 4: said, not raised
    panel.element_edit.editingFinished.emit()
    assert "element [9, 0] is not in the output" in panel.text.toPlainText()


def test_a_learner_builds_logistic_regression_from_the_palette_and_steps_it(window, qtbot):
    """Issue 10's walk: File → New, breast cancer, sigmoid(x·W + b) from the palette's
    operator nodes wired by undoable commands; it trains in the window to the Dense
    version's accuracy; one sample stepped forward and back; one Adam update shows m_t."""
    from app.editor.commands import Connect, SetParams, SetSettings

    w = window
    w.new_file()
    doc, graph = w.document, w.document.graph
    doc.push(SetSettings(graph, {**graph.settings,
                                 "dataset": {"source": "builtin", "name": "breast_cancer"},
                                 "training": {"optimizer": "adam",
                                              "optimizer_options": {"lr": 0.01},
                                              "epochs": 20, "batch_size": 32}}))
    assert [n.type_id for n in graph.nodes] == ["input"]  # a new project has its Input
    for type_id in ("parameter", "parameter", "matmul", "add", "sigmoid", "bce"):
        w.palette.add_requested.emit(type_id)  # what a double-click in the palette does
    ids = {n.name: n.id for n in graph.nodes}
    doc.push(SetParams(graph, ids["Parameter"], {"rows": 30, "columns": 1}))
    doc.push(SetParams(graph, ids["Parameter 2"], {"rows": 1, "columns": 0}))
    for a, pa, b, pb in [("Input", "features", "MatMul", "a"), ("Parameter", "output", "MatMul", "b"),
                         ("MatMul", "output", "Add", "inputs"), ("Parameter 2", "output", "Add", "inputs"),
                         ("Add", "output", "Sigmoid", "input"),
                         ("Sigmoid", "output", "Binary Cross-Entropy", "input"),
                         ("Input", "labels", "Binary Cross-Entropy", "target")]:
        doc.push(Connect(graph, ids[a], pa, ids[b], pb))
    assert doc.project.analysis().ok and doc.project.analysis().total_params == 31
    with qtbot.waitSignal(w.controller.run_finished, timeout=60_000):
        w.start_training()
    run = w.runs.current_run()
    assert run.status == "finished" and run.epochs[-1]["val_accuracy"] > 0.93
    panel = w.stepthrough
    panel.size_spin.setValue(1)
    panel.start_button.click()
    while panel.step.can_forward:
        panel.forward_button.click()
    while panel.step.can_backward:
        panel.backward_button.click()
    assert panel.step.phase == "done" and panel.step.loss > 0
    panel.update_button.click()
    text = panel.text.toPlainText()
    assert "m_t" in text and "v_t" in text and "Parameter.value (Adam)" in text
    w.controller.shutdown(5.0)


# ---------------------------------------------------------------------------- large tensors
def test_the_array_model_reads_every_element_of_a_large_array_lazily():
    import time

    from PySide6.QtCore import Qt

    from app.stepthrough_arrays import ArrayModel, as_matrix

    a = np.random.default_rng(0).normal(size=(1797, 64)).astype(np.float32)
    t0 = time.perf_counter()
    model = ArrayModel(a)
    assert time.perf_counter() - t0 < 0.5  # nothing formatted up front
    assert (model.rowCount(), model.columnCount()) == (1797, 64)
    for i, j in ((0, 0), (1796, 63), (900, 17)):
        assert model.data(model.index(i, j)) == f"{a[i, j]:.6g}"
        assert model.value(i, j) == a[i, j]
    assert model.data(model.index(5, 3), Qt.ItemDataRole.ToolTipRole).startswith("[5, 3] = ")
    # 1-D as one row, 3-D as (N, rest), the tooltip in the original shape
    assert as_matrix(np.arange(5.0)).shape == (1, 5)
    b = np.arange(24.0).reshape(2, 3, 4)
    m3 = ArrayModel(b)
    assert (m3.rowCount(), m3.columnCount()) == (2, 12)
    assert m3.data(m3.index(1, 5)) == "17"  # b[1, 1, 1]
    assert m3.data(m3.index(1, 5), Qt.ItemDataRole.ToolTipRole) == "[1, 1, 1] = 17.0"


def test_the_heat_map_is_red_at_the_largest_white_at_zero_blue_at_the_most_negative():
    import pyqtgraph as pg
    from PySide6.QtGui import QColor

    from app.stepthrough_arrays import COLORMAP, NONFINITE, heat_image

    ends = pg.colormap.get(COLORMAP).map(np.array([0.0, 0.5, 1.0]), mode="byte")
    a = np.zeros((3, 5))
    a[2, 4], a[0, 1], a[1, 1] = 2.0, -1.0, np.nan  # the max at row 2, column 4
    img = heat_image(a)
    assert (img.width(), img.height()) == (5, 3)
    hot = QColor(img.pixel(4, 2))
    assert (hot.red(), hot.green(), hot.blue()) == tuple(int(v) for v in ends[2][:3])
    assert hot.red() > 150 and hot.blue() < 60  # red: the hot end
    zero = QColor(img.pixel(0, 0))
    assert (zero.red(), zero.green(), zero.blue()) == tuple(int(v) for v in ends[1][:3])
    half = QColor(img.pixel(1, 0))  # -1 of a scale of 2: a quarter along, bluish
    assert half.blue() > half.red()
    nan = QColor(img.pixel(1, 1))
    assert (nan.red(), nan.green(), nan.blue()) == NONFINITE[:3]
    row = heat_image(np.array([-3.0, 0.0, 3.0]))  # 1-D: one row
    assert (row.width(), row.height()) == (3, 1)
    assert QColor(row.pixel(0, 0)).blue() > 150 and QColor(row.pixel(2, 0)).red() > 150


def test_a_large_wire_shows_a_heat_map_and_a_double_click_shows_every_number(window, qtbot):
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    from app.stepthrough_panel import cell_text

    assert window.open_file(example_path("digits_mlp"))
    window.stepthrough_dock.show()  # what View → Step-through does
    panel = window.stepthrough
    panel.size_spin.setValue(32)
    panel.start_button.click()
    graph = window.document.graph
    dense = graph.node_by_name("Dense").id
    while panel.step.current != dense:
        panel.forward_button.click()
    row = next(r for r in range(panel.table.rowCount())
               if panel.table.item(r, 0).text().startswith("Input.features"))
    item = panel.table.item(row, 1)
    x = panel.step.value(graph.node_by_name("Input").id, "features")
    assert item.text() == cell_text(x) == wire_text(x).replace(": ", "\n", 1).replace(
        ", min", "\nmin", 1)
    assert item.text().startswith("32 × 64\nmean ") and item.text().count("\n") == 2
    assert item.toolTip().startswith(wire_text(x))
    pixmap = item.data(Qt.ItemDataRole.DecorationRole)
    assert pixmap is not None and not pixmap.isNull()
    assert panel.table.item(row, 2).data(Qt.ItemDataRole.DecorationRole) is None  # not known
    panel.table.scrollToItem(item)
    rect = panel.table.visualItemRect(item)
    at = QPoint(max(rect.left(), 0) + 20, rect.center().y())  # a visible part of the cell
    assert panel.table.viewport().rect().contains(at) and rect.contains(at)
    # a double-click as Qt delivers it: press, release, then the double-click
    QTest.mouseClick(panel.table.viewport(), Qt.LeftButton, pos=at)
    QTest.mouseDClick(panel.table.viewport(), Qt.LeftButton, pos=at)
    qtbot.waitUntil(lambda: panel.array_dialog is not None and panel.array_dialog.isVisible(),
                    timeout=5000)
    dialog = panel.array_dialog
    assert "Input.features → input, value" in dialog.title.text() and "value: 32 × 64" in dialog.title.text()
    model = dialog.view.model()
    assert (model.rowCount(), model.columnCount()) == x.shape
    assert model.data(model.index(31, 63)) == f"{x[31, 63]:.6g}"
    dialog.grab().save("/tmp/stepthrough_array_dialog.png")
    # the gradient column, once the backward pass is through
    panel.end_button.click()
    panel.step.current = dense
    panel._show()
    out = next(r for r in range(panel.table.rowCount())
               if panel.table.item(r, 0).text() == "Dense.output")
    g = panel.step.gradient(dense, "output")
    assert panel.table.item(out, 2).data(Qt.ItemDataRole.DecorationRole) is not None
    panel.show_array(out, 2)
    assert "gradient" in dialog.title.text()
    assert dialog.view.model().data(dialog.view.model().index(3, 5)) == f"{g[3, 5]:.6g}"
    window.stepthrough_dock.grab().save("/tmp/stepthrough_heatmaps.png")
    dialog.close()
    window.controller.shutdown(5.0)


def test_closing_the_dock_puts_out_the_current_node_and_opening_it_lights_it_again(logistic):
    w = logistic
    w.stepthrough_dock.show()
    panel = w.stepthrough
    panel.start_button.click()
    panel.forward_button.click()
    panel.forward_button.click()
    current = panel.step.current
    assert w.scene.focus == current and w.scene.wire_notes
    w.stepthrough_dock.close()
    assert w.scene.focus is None and not w.scene.wire_notes
    assert not any(wire.overlay for wire in w.scene.edges.values())
    w.stepthrough_dock.show()
    assert w.scene.focus == current and w.scene.nodes[current].focused and w.scene.wire_notes


# ---------------------------------------------------------------------------- trained weights
def _set_training(window, **values):
    from app.editor.commands import SetSettings

    graph = window.document.graph
    window.document.push(SetSettings(graph, {**graph.settings, "training": {
        **graph.settings.get("training", {}), **values}}))


def test_start_steps_in_a_copy_of_the_trained_model_and_says_which_weights(window, qtbot):
    w = window
    assert w.open_file(example_path("digits_mlp"))
    _set_training(w, epochs=5)
    panel = w.stepthrough
    dense = w.document.graph.node_by_name("Dense").id
    panel.start_button.click()  # before training: the weights a new run starts from
    assert "the initial weights (nothing trained yet)" in panel.status.text()
    panel.forward_button.click()
    fresh = panel.step.model._modules[dense].weight.data.copy()
    with qtbot.waitSignal(w.controller.run_finished, timeout=60_000):
        w.start_training()
        # training puts the pass out: the canvas is the training's
        assert panel.step is None and w.scene.focus is None and not w.scene.wire_notes
        assert "A run is training" in panel.status.text()
    run_id, trained_run = w.controller.trained_run()
    assert len(trained_run.trainer.history) == 5
    trained = trained_run.model._modules[dense].weight.data.copy()
    trained_state = {k: {s: np.array(v, copy=True) for s, v in st.items()}
                     for k, st in trained_run.optimizer.state_dict()["state"].items()}
    panel.start_button.click()
    assert f"weights after 5 epochs (run {run_id})" in panel.status.text()
    stepped = panel.step.model._modules[dense].weight.data
    np.testing.assert_array_equal(stepped, trained)
    assert not np.allclose(stepped, fresh)  # not a new run's weights
    assert panel.step.model is not trained_run.model
    panel.end_button.click()
    panel.update_button.click()
    assert not np.array_equal(panel.step.model._modules[dense].weight.data, trained)
    assert f"in the copy (run {run_id} is unchanged)" in panel.status.text()
    # the real run is as training left it: weights and Adam's state
    np.testing.assert_array_equal(trained_run.model._modules[dense].weight.data, trained)
    for k, st in trained_run.optimizer.state_dict()["state"].items():
        for name, v in st.items():
            np.testing.assert_array_equal(np.asarray(v), trained_state[k][name])
    text = panel.text.toPlainText()  # the update continued Adam's step count: t = 6 × batches
    assert f"t = {int(np.asarray(trained_state[0]['step'])) + 1}" in text
    panel.start_button.click()  # the same source: the updated copy is kept
    assert "weights after 5 epochs" in panel.status.text()
    assert "plus 1 update applied here" in panel.status.text()
    # an edit: the trained model no longer matches; Start steps in a new run's weights
    _set_training(w, epochs=6)
    assert w.controller.trained_run() is None and panel.step is None
    panel.start_button.click()
    assert "the initial weights (nothing trained yet)" in panel.status.text()
    w.controller.shutdown(5.0)


def test_start_is_refused_while_a_run_is_paused_and_says_why(logistic, qtbot):
    w = logistic
    panel = w.stepthrough
    w.controller.train(start_paused=True)
    qtbot.waitUntil(lambda: w.controller.state == "paused", timeout=5000)
    panel.start_button.click()
    assert panel.step is None
    assert "while a run is paused" in panel.status.text() and "stop it" in panel.status.text()
    with qtbot.waitSignal(w.controller.run_finished, timeout=30_000):
        w.controller.stop()
    panel.start_button.click()  # stopped after 0 epochs: a model, trained for 0 epochs
    assert panel.step is not None and "0 epochs" in panel.status.text()


# ---------------------------------------------------------------------------- every wire, every optimizer
def _expected_rows(graph, nid):
    rows = [(e.src, e.src_port) for e in graph.incoming(nid)]
    return rows + [(nid, p.name) for p in graph.node(nid).type.outputs]


def test_every_wire_shown_at_every_step_is_nncores_value_and_gradient(logistic):
    from app.stepthrough_panel import cell_text

    w = logistic
    panel = w.stepthrough
    panel.size_spin.setValue(3)
    panel.start_spin.setValue(5)
    panel.start_button.click()
    reference = StepThrough.from_run(TrainingRun(w.document.graph), start=5, size=3)
    graph = w.document.graph
    checked = 0
    while reference.can_forward or reference.can_backward:
        if reference.can_forward:
            reference.forward_step()
            panel.forward_button.click()
        else:
            reference.backward_step()
            panel.backward_button.click()
        nid = reference.current
        assert panel.step.current == nid and w.scene.focus == nid
        rows = _expected_rows(graph, nid)
        assert panel.table.rowCount() == len(rows)
        for r, (node, port) in enumerate(rows):
            value = reference.value(node, port)
            grad = reference.gradient(node, port) if reference.gradient_known(node, port) \
                else None
            assert panel.table.item(r, 1).text() == cell_text(value), (nid, node, port)
            assert panel.table.item(r, 2).text() == cell_text(grad), (nid, node, port)
            checked += 1
        assert panel.text.toPlainText() == reference.explain(nid)
    assert panel.step.phase == "done" and checked > 20
    # and on the canvas: every wire's note is the reference's value | gradient
    for edge, wire in w.scene.edges.items():
        if (edge.src, edge.src_port) in reference.wires and edge.src_port != "labels":
            known = reference.gradient_known(edge.src, edge.src_port)
            assert wire.label == wire_note(
                reference.value(edge.src, edge.src_port),
                reference.gradient(edge.src, edge.src_port) if known else None), edge


#: the optimizer's state as Apply update names it, by class (a new optimizer needs a case)
STATE_TERMS = {"SGD": [], "Adagrad": ["G_t", "clr"], "RMSprop": ["v_t"],
               "Adadelta": ["E[g²]_t", "Δw", "E[Δw²]_t"],
               "Adam": ["m_t", "v_t", "m̂_t", "v̂_t", "step"],
               "AdamW": ["m_t", "v_t", "m̂_t", "v̂_t", "step"]}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_apply_update_with_each_optimizer_shows_its_terms_and_is_one_step(logistic, name):
    from app.editor.commands import SetSettings

    info = OPTIMIZERS[name]
    assert info.cls.__name__ in STATE_TERMS, f"{name}: add its terms to STATE_TERMS"
    w = logistic
    graph = w.document.graph
    w.document.push(SetSettings(graph, {**graph.settings, "training": {
        **graph.settings["training"], "optimizer": name, "optimizer_options": {}}}))
    panel = w.stepthrough
    panel.size_spin.setValue(3)
    panel.start_button.click()
    panel.end_button.click()
    panel.update_button.click()
    assert not panel.update_button.isEnabled()
    reference = StepThrough.from_run(TrainingRun(graph), size=3)
    reference.run_to_end()
    updates = reference.apply_update()
    text = panel.text.toPlainText()
    expected = ["g", *STATE_TERMS[info.cls.__name__], "w"]
    if name == "momentum":
        expected.insert(1, "b_t")  # SGD with momentum 0.9: its buffer
    for update in updates:
        decay = ["w·(1 − lr·λ)"] if name == "adamw" and update.hyperparameters[
            "weight_decay"] else []  # decoupled decay: the weights, not the bias
        assert [t.symbol for t in update.terms] == expected[:1] + decay + expected[1:]
        assert f"{update.title} ({info.cls.__name__})" in text
        for term in update.terms:  # each term's value as nncore computed it
            line = f"  {term.symbol} = {wire_text(term.after)}"  # its formula below it
            assert line + (f"\n      {term.formula}" if term.formula else "") in text, \
                (name, term.symbol)
    for (n, p), (_, q) in zip(panel.step.model.named_parameters(),
                              reference.model.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=n)  # bit for bit
    if name == "adamw":
        assert "w·(1 − lr·λ)" in text  # W1 decays


# ---------------------------------------------------------------------------- what goes wrong
def _step_to(panel, node_id):
    while panel.step.current != node_id:
        panel.forward_button.click()


def test_an_element_that_is_not_indices_or_out_of_range_is_said_in_red(logistic):
    from app.widgets import tone

    w = logistic
    panel = w.stepthrough
    panel.size_spin.setValue(4)
    panel.start_button.click()
    _step_to(panel, w.document.graph.node_by_name("Sigmoid").id)
    panel.element_edit.setText("a, b")
    panel.element_edit.editingFinished.emit()
    assert "'a, b' is not an element" in panel.text.toPlainText()
    assert "'a, b' is not an element" in panel.status.text()
    assert tone("error") in panel.status.styleSheet()
    panel.element_edit.setText("99, 0")
    panel.element_edit.editingFinished.emit()
    assert "element [99, 0] is not in the output of Sigmoid, of shape (4, 1)" \
        in panel.status.text()
    assert not panel.status.text().count("step-through:")
    panel.element_edit.setText("1, 0")  # a good one: the red goes
    panel.element_edit.editingFinished.emit()
    assert panel.status.styleSheet() == "" and "[1, 0]" in panel.text.toPlainText()


def test_opening_another_file_puts_out_the_pass(logistic):
    w = logistic
    panel = w.stepthrough
    panel.start_button.click()
    panel.forward_button.click()
    panel.forward_button.click()
    assert panel.table.rowCount() and panel.text.toPlainText() and w.scene.wire_notes
    assert w.document.undo_stack.count() == 0  # no edit: only the file tells
    assert w.open_file(example_path("digits_mlp"))
    assert panel.step is None and panel._run is None
    assert panel.table.rowCount() == 0 and panel.text.toPlainText() == ""
    assert not w.scene.wire_notes and w.scene.focus is None
    assert "network changed" in panel.status.text()
    panel.start_button.click()  # and Start steps the new network (digits: 64 features)
    assert panel.step is not None and panel.step.x.shape[1] == 64


def test_a_refused_start_leaves_nothing_of_the_earlier_pass(logistic):
    from app.widgets import tone

    w = logistic
    panel = w.stepthrough
    panel.start_button.click()
    panel.forward_button.click()
    panel.forward_button.click()
    assert panel.table.rowCount() and panel.text.toPlainText()
    panel.start_spin.setValue(10**6)  # beyond the training part
    panel.start_button.click()
    assert panel.step is None
    assert panel.table.rowCount() == 0 and panel.text.toPlainText() == ""
    assert w.scene.focus is None and not w.scene.wire_notes
    status = panel.status.text()
    assert status.startswith("Cannot step through: the train part has ") and \
        "step-through:" not in status, status
    assert tone("error") in panel.status.styleSheet()
    # a dataset switch then: the refusal (about the old data) goes too
    from app.editor.commands import SetSettings

    graph = w.document.graph
    w.document.push(SetSettings(graph, {**graph.settings, "dataset": {
        "source": "builtin", "name": "iris"}}))
    assert "Cannot step" not in panel.status.text() and panel.status.styleSheet() == ""


def test_a_nan_while_stepping_names_the_wire_where_it_first_appears(logistic, recwarn):
    w = logistic
    panel = w.stepthrough
    graph = w.document.graph
    panel.start_button.click()
    W = graph.node_by_name("W1").id
    panel._run.model._modules[W].value.data[0, 0] = np.nan  # a broken weight
    panel.start_button.click()  # the same (fresh) weights, now with the NaN
    mm, add = graph.node_by_name("MatMul").id, graph.node_by_name("Add").id
    _step_to(panel, add)
    status = panel.status.text()
    assert "a NaN or infinity first appears in the value of W1.output" in status
    assert "in the gradient" not in status  # nothing stepped back yet
    panel.end_button.click()
    status = panel.status.text()
    assert "in the value of W1.output" in status
    assert "first appears in the gradient of" in status
    wire = panel.step.first_nonfinite(gradients=True)
    assert f"{graph.node(wire[0]).name}.{wire[1]}" in status
    panel.update_button.click()  # a NaN step: applied, shown, no warning
    assert not [r for r in recwarn if issubclass(r.category, RuntimeWarning)], \
        [str(r.message) for r in recwarn]
    assert np.isnan(panel.step.value(mm, "output")).any()  # and it spread


def test_the_dock_opens_as_a_tab_beside_training_in_front_and_full_width(window, qtbot):
    """Side by side, the Training panel and the Step-through were each squeezed to half
    the window (fields cut off); as tabs each has the whole width."""
    from PySide6.QtWidgets import QTabBar

    dock = window.stepthrough_dock
    dock.toggleViewAction().trigger()  # View → Step-through
    qtbot.waitUntil(lambda: not dock.visibleRegion().isEmpty(), timeout=3000)  # in front
    assert dock in window.tabifiedDockWidgets(window.training_dock)
    assert dock.width() >= 0.9 * window.width()
    # its table shows rows, not one (the training panel alone was 250 high)
    qtbot.waitUntil(lambda: dock.height() >= 290, timeout=3000)
    # one tab bar for the pair, and no empty one left drawn elsewhere
    bars = [b for b in window.findChildren(QTabBar) if b.isVisible()
            and "Step-through" in [b.tabText(i) for i in range(b.count())]]
    assert len(bars) == 1
    window.training_dock.raise_()
    qtbot.waitUntil(lambda: not window.training_panel.visibleRegion().isEmpty(), timeout=3000)
    assert window.training_dock.width() >= 0.9 * window.width()
